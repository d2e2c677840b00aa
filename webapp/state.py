"""The app's engine state, wired in one place, and the only way views reach it.

:func:`init_app` builds one :class:`AppState` per app: the
:class:`~engine.lifecycle.reload.EngineHolder` of the serving rulebook and tariffs (hot reload), the
decision log every decision is written to before it is answered, and the
:class:`~engine.lifecycle.reloader.Reloader` that keeps every worker on the published generation
(it publishes changed folders, follows what other workers published, and logs each reload). Views call
:func:`get_rulebook` / :func:`get_tariffs`; the first call of a request leases the serving bundle
until the request ends, so a hot reload never changes the version under a request.

Settings: ``RULES_DIR`` / ``TARIFFS_DIR`` (default: the bundled folders); ``AUDIT_URL``
(``FLETS_AUDIT_URL``; default ``instance/decisions.sqlite3``, or ``none`` — no log — when
``TESTING``); ``RELOAD_INTERVAL`` seconds between folder scans (0: the folders are not watched, only
``POST /v1/admin/reload`` publishes; default 2, 0 when ``TESTING``); ``FOLLOW_INTERVAL`` seconds
between a worker's looks at the published generation (default 0.5; 0 when ``TESTING``: a process
serving alone, with a store of its own); ``GENERATIONS_DIR`` the folder under which the generation
store of the served folders lives (default: ``flets-generations-<uid>`` in the temp folder);
``RELOAD_WAIT`` seconds the admin reload waits for every worker (default 10);
``LOG_RETENTION_DAYS`` days of decisions to keep (unset or 0: all, the default; else a background
thread prunes older ones every ``LOG_PRUNE_INTERVAL`` seconds, default 3600);
``PUBLISH_POLL_INTERVAL`` seconds between an instance's looks at the shared publish record
(PostgreSQL only; default 1).

The studio publishes through :class:`~engine.lifecycle.publish.Publisher`, recorded in the decision
log's database; every reload refuses files that change a version's content
(:class:`~engine.lifecycle.versions.KnownVersions`: the ledger, the log, the publish record).
"""

from __future__ import annotations

import gc
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g

from engine import Rulebook
from engine.lifecycle.decision_log import (
    AuditError,
    DecisionLog,
    NullDecisionLog,
    Retention,
    log_decisions,
    open_decision_log,
)
from engine.lifecycle.decision_log.retention import PRUNE_INTERVAL
from engine.lifecycle.generations import GenerationStore, Sources, default_store_folder
from engine.lifecycle.plan_cache import open_plan_cache
from engine.lifecycle.publish import DEFAULT_POLL_INTERVAL, Publisher, PublishFollower
from engine.lifecycle.publishes import open_publish_store, published_versions
from engine.lifecycle.reload import Bundle, DecisionObserver, EngineHolder, Lease, ReloadResult
from engine.lifecycle.reloader import DEFAULT_FOLLOW_INTERVAL, DEFAULT_WATCH_INTERVAL, Reloader
from engine.lifecycle.versions import KnownVersions
from engine.messages import Code, Message
from engine.messages.language import Text
from engine.paths import rules_dir, tariffs_dir
from engine.rules.explain import Decision
from engine.rules.plans import use_plan_store
from engine.tariff import TariffBook

from . import metrics
from .logs import current_request_id
from .problems import Problem, problem_response

log = logging.getLogger(__name__)

_STATE_KEY = "flets.state"


@dataclass(frozen=True)
class AppState:
    """What one app decides and logs with, and publishes through (the studio)."""

    holder: EngineHolder
    decision_log: DecisionLog
    reloader: Reloader
    retention: Retention | None = None
    publisher: Publisher | None = None
    publish_follower: PublishFollower | None = None


def init_app(app: Flask) -> None:
    """Open the decision log, load the published generation behind a reloadable holder, start
    watching and following, and release each request's lease when it ends.

    :raises engine.ValidationError: when the rules or tariffs fail check at start-up.
    """
    app.config.setdefault("RELOAD_INTERVAL", 0 if app.testing else DEFAULT_WATCH_INTERVAL)
    app.config.setdefault("FOLLOW_INTERVAL", 0 if app.testing else DEFAULT_FOLLOW_INTERVAL)
    rules = Path(app.config.get("RULES_DIR") or rules_dir())
    tariffs = Path(app.config.get("TARIFFS_DIR") or tariffs_dir())
    default_log = "none" if app.testing else str(Path(app.instance_path) / "decisions.sqlite3")
    keep_days, prune_interval = _retention_settings(app)
    # Decision-table plans built once per machine and shared by the workers (FLETS_PLAN_CACHE).
    use_plan_store(open_plan_cache(app.config.get("PLAN_CACHE")))
    decision_log = open_decision_log(app.config.get("AUDIT_URL") or default_log)
    sources = Sources(rules, tariffs)
    try:
        publishes = open_publish_store(decision_log)
        versions = KnownVersions(sources, decision_log, lambda: published_versions(publishes))
        reloader = _reloader(app, sources, _logger(decision_log), versions)
    except BaseException:
        decision_log.close()
        raise
    retention = None
    if keep_days and not isinstance(decision_log, NullDecisionLog):
        retention = Retention(decision_log, keep_days, prune_interval).start()
    publisher = Publisher(reloader, publishes)
    follower = None
    if publishes.shared:  # PostgreSQL: publishes taken on other instances reach this one
        interval = float(app.config.get("PUBLISH_POLL_INTERVAL") or DEFAULT_POLL_INTERVAL)
        follower = PublishFollower(publisher, interval).start()
    app.extensions[_STATE_KEY] = AppState(
        reloader.holder, decision_log, reloader, retention, publisher, follower
    )
    app.teardown_request(_release_lease)
    app.register_error_handler(AuditError, _decision_not_logged)


def _retention_settings(app: Flask) -> tuple[int, float]:
    """``LOG_RETENTION_DAYS`` (0: keep everything) and ``LOG_PRUNE_INTERVAL`` seconds, read before
    anything is opened.

    :raises ValueError: a setting that is not a whole number of days (or positive seconds).
    """
    days = app.config.get("LOG_RETENTION_DAYS") or 0
    interval = app.config.get("LOG_PRUNE_INTERVAL") or PRUNE_INTERVAL
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ValueError(f"FLETS_LOG_RETENTION_DAYS must be a whole number of days, not {days!r}")
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
        raise ValueError(f"FLETS_LOG_PRUNE_INTERVAL must be a positive number, not {interval!r}")
    return days, float(interval)


def _reloader(
    app: Flask, sources: Sources, observer: DecisionObserver, versions: KnownVersions
) -> Reloader:
    """The first bundle, and the thread that keeps it the published generation.

    A following process (every server worker) shares the store of its folders with the other
    workers; a process that does not follow (``TESTING``) keeps a store of its own.
    """
    watch = float(app.config["RELOAD_INTERVAL"])
    follow = float(app.config["FOLLOW_INTERVAL"])
    if follow <= 0:
        reloader = Reloader.private(sources, observer=observer, watch_interval=watch,
                                    report=_log_reload, versions=versions)  # fmt: skip
    else:
        parent = app.config.get("GENERATIONS_DIR") or Path(tempfile.gettempdir()) / (
            f"flets-generations-{os.getuid()}"
        )
        store = GenerationStore(default_store_folder(sources, Path(parent)))
        reloader = Reloader(sources, store, observer=observer, watch_interval=watch,
                            follow_interval=follow, report=_log_and_settle,
                            versions=versions)  # fmt: skip
    return reloader.start()


def settle_heap() -> None:
    """Collect what a load left behind, then exempt everything that stays from later collections.

    A server worker holds tens of thousands of long-lived objects (the rule sets, their decision
    tables, the generated lookups, the app). Python's oldest-generation collection walks all of them
    every so often while requests are being answered, which showed as the tail of ``evaluate``'s
    latency (docs/benchmarks.md). ``gc.freeze`` moves them out of the collector's sight; before the
    next freeze, ``gc.unfreeze`` gives the previous generation's objects back so that the cycles a
    replaced rulebook leaves behind are still collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _log_and_settle(result: ReloadResult) -> None:
    """A server worker's report of a load: the log line, then :func:`settle_heap` when it was
    installed."""
    _log_reload(result)
    if result.ok:
        settle_heap()


def _log_reload(result: ReloadResult) -> None:
    """One JSON log line per reload: the generation, what changed and how long it took; or why
    it was refused."""
    extra: dict[str, object] = {
        "generation": result.generation,
        "digest": result.digest[:12],
        "trigger": result.trigger,
        "role": result.role,
        "duration_ms": round(result.duration_s * 1000, 1),
        "worker_pid": os.getpid(),
    }
    metrics.observe_reload(result.ok)
    if result.ok:
        log.info("reload", extra={**extra, "changed": dict(result.changed)})
    else:
        errors = [str(d) for d in result.errors]
        log.error("reload refused", extra={**extra, "reason": result.message,
                                           "errors": errors[:50], "error_count": len(errors)})  # fmt: skip


def _logger(decision_log: DecisionLog) -> DecisionObserver:
    """Writes each rulebook's decisions to the log, under the request's id."""

    def record(decisions: list[Decision]) -> None:
        log_decisions(decision_log, decisions, current_request_id() or uuid.uuid4().hex)
        metrics.observe_decisions(decisions)
        metrics.observe_log_backlog(decision_log.backlog)

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
    """503: nothing is answered whose log entry is not durable (the reason goes to the server's log:
    it names files, which are not the client's business)."""
    log.error("decision not answered: %s", exc)
    return problem_response(
        Problem("decision-log-unavailable", Message(Code.DECISION_LOG_UNAVAILABLE))
    )
