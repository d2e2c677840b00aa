"""The app's engine state, wired in one place, and the only way views reach it.

:func:`init_app` builds one :class:`AppState` per app: the
:class:`~engine.lifecycle.reload.EngineHolder` of the serving rulebook and tariffs (hot reload), the
decision log every decision is written to before it is answered, and the folder watcher. Views call
:func:`get_rulebook` / :func:`get_tariffs`; the first call of a request leases the serving bundle
until the request ends, so a hot reload never changes the version under a request.

Settings: ``RULES_DIR`` / ``TARIFFS_DIR`` (default: the bundled folders); ``AUDIT_URL``
(``FLETS_AUDIT_URL``; default ``instance/decisions.sqlite3``, or ``none`` — no log — when
``TESTING``); ``RELOAD_INTERVAL`` seconds between folder scans (0: no watcher; default 2, 0 when
``TESTING``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g

from engine import Rulebook
from engine.lifecycle.decision_log import AuditError, DecisionLog, log_decisions, open_decision_log
from engine.lifecycle.reload import (
    Bundle,
    DecisionObserver,
    EngineHolder,
    FolderWatcher,
    Lease,
    load_bundle,
)
from engine.messages.language import Text
from engine.paths import rules_dir, tariffs_dir
from engine.rules.explain import Decision
from engine.tariff import TariffBook

from .observability import current_request_id
from .problems import Problem, problem_response

log = logging.getLogger(__name__)

_STATE_KEY = "flets.state"


@dataclass(frozen=True)
class AppState:
    """What one app decides and logs with."""

    holder: EngineHolder
    decision_log: DecisionLog
    watcher: FolderWatcher | None


def init_app(app: Flask) -> None:
    """Open the decision log, load the bundle behind a reloadable holder, start the watcher, and
    release each request's lease when it ends.

    :raises engine.ValidationError: when the rules or tariffs fail check at start-up.
    """
    app.config.setdefault("RELOAD_INTERVAL", 0 if app.testing else 2.0)
    rules = Path(app.config.get("RULES_DIR") or rules_dir())
    tariffs = Path(app.config.get("TARIFFS_DIR") or tariffs_dir())
    default_log = "none" if app.testing else str(Path(app.instance_path) / "decisions.sqlite3")
    decision_log = open_decision_log(app.config.get("AUDIT_URL") or default_log)
    try:
        holder = EngineHolder(lambda: load_bundle(rules, tariffs), _logger(decision_log))
    except BaseException:
        decision_log.close()
        raise
    interval = float(app.config["RELOAD_INTERVAL"])
    watcher = FolderWatcher(holder, [rules, tariffs], interval).start() if interval > 0 else None
    app.extensions[_STATE_KEY] = AppState(holder, decision_log, watcher)
    app.teardown_request(_release_lease)
    app.register_error_handler(AuditError, _decision_not_logged)


def _logger(decision_log: DecisionLog) -> DecisionObserver:
    """Writes each rulebook's decisions to the log, under the request's id."""

    def record(decisions: list[Decision]) -> None:
        log_decisions(decision_log, decisions, current_request_id() or uuid.uuid4().hex)

    return record


def app_state(app: Flask) -> AppState:
    """The state :func:`init_app` built for ``app``."""
    state: AppState = app.extensions[_STATE_KEY]
    return state


def current_state() -> AppState:
    """The state of the app serving this request."""
    return app_state(current_app)


def _request_bundle() -> Bundle:
    """The bundle this request decides with: leased on first use, kept until the request ends."""
    lease: Lease | None = g.get("flets_lease")
    if lease is None:
        lease = current_state().holder.acquire()
        g.flets_lease = lease
    return lease.bundle


def get_rulebook() -> Rulebook:
    """The rulebook serving this request (the same version for the whole request)."""
    return _request_bundle().rulebook


def loaded_tariffs() -> TariffBook | None:
    """The tariff book serving this request, or ``None`` when the service runs without a tariff
    folder."""
    return _request_bundle().tariffs


def get_tariffs() -> TariffBook:
    """The tariff book serving this request; 503 ``not-ready`` when no tariffs are loaded."""
    book = loaded_tariffs()
    if book is None:
        raise Problem(
            "not-ready",
            Text("料金表が読み込まれていません。", "No tariffs are loaded in this service."),
        )
    return book


def _release_lease(_exc: BaseException | None) -> None:
    lease: Lease | None = g.pop("flets_lease", None)
    if lease is not None:
        lease.release()


def _decision_not_logged(exc: AuditError) -> Response:
    log.error("decision not answered: %s", exc)
    return problem_response(Problem("decision-log-unavailable", str(exc)))
