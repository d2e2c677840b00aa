"""Rule lifecycle in the server: hot reload, the decision log, impact reports, and who may do what.

``init_app`` puts an :class:`engine.lifecycle.reload.EngineHolder` (rulebook + tariffs) and the decision log in
``app.extensions``, leases the serving bundle for each request (a reload mid-request does not change
the version a request uses), starts the folder watcher, and registers the admin blueprint:

* ``POST /v1/admin/reload`` — reload now; 200 with the new generation, or 422 with the errors while
  the previous version keeps serving;
* ``GET /v1/admin/status`` — serving versions, load time, last reload and last refused reload;
* ``GET /v1/admin/decisions`` — query the decision log (``ruleset``, ``since``, ``until``, ``outcome``,
  ``request_id``, ``limit``);
* ``POST /v1/admin/impact`` — replay logged decisions (or given fact sets) against a candidate folder.

Every admin call needs ``Authorization: Bearer <ADMIN_TOKEN>`` (``FLETS_ADMIN_TOKEN``); with no token
configured the admin API is closed (403). Decision calls (every other ``POST /v1/…``) are open unless
``DECISION_TOKEN`` (``FLETS_DECISION_TOKEN``) is set.

Settings: ``AUDIT_URL`` (``FLETS_AUDIT_URL``; default ``instance/decisions.sqlite3``, or ``none`` —
no log — when ``TESTING``), ``RELOAD_INTERVAL`` seconds between folder scans (0: no watcher), ``IMPACT_ROOT`` the folder
candidate rules folders must live in (default: the parent of the rules folder).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from engine.clock import today_in_tokyo
from engine.errors import ValidationError
from engine.format.common import Text
from engine.lifecycle.audit import (
    DEFAULT_QUERY_LIMIT,
    AuditError,
    DecisionLog,
    Query,
    all_records,
    log_decisions,
    open_decision_log,
    start_of_day,
)
from engine.lifecycle.impact import Case, cases_from_log, only, replay
from engine.lifecycle.reload import Bundle, EngineHolder, FolderWatcher, Lease, load_bundle
from engine.paths import rules_dir, tariffs_dir
from engine.rules.explain import Decision

from .observability import current_request_id
from .problems import Problem, problem_response

ENGINE_KEY = "flets.engine"
AUDIT_KEY = "flets.audit"
WATCHER_KEY = "flets.watcher"

#: Most fact sets one impact request may carry.
MAX_IMPACT_CASES = 10_000

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")


# --- setup -----------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Load the bundle behind a reloadable holder, open the decision log, wire leases and routes.

    :raises engine.ValidationError: when the rules or tariffs fail check at start-up.
    """
    app.config.setdefault("ADMIN_TOKEN", None)
    app.config.setdefault("DECISION_TOKEN", None)
    app.config.setdefault("RELOAD_INTERVAL", 0 if app.testing else 2.0)
    rules = Path(app.config.get("RULES_DIR") or rules_dir())
    tariffs = Path(app.config.get("TARIFFS_DIR") or tariffs_dir())
    default_log = "none" if app.testing else str(Path(app.instance_path) / "decisions.sqlite3")
    audit = open_decision_log(app.config.get("AUDIT_URL") or default_log)
    holder = EngineHolder(lambda: load_bundle(rules, tariffs), observer=_observer(audit))
    app.extensions[AUDIT_KEY] = audit
    app.extensions[ENGINE_KEY] = holder
    interval = float(app.config["RELOAD_INTERVAL"])
    if interval > 0:
        app.extensions[WATCHER_KEY] = FolderWatcher(holder, [rules, tariffs], interval).start()
    app.before_request(_guard_decisions)
    app.teardown_request(_release_lease)
    app.register_error_handler(AuditError, _audit_failed)
    app.register_blueprint(bp)


def _observer(audit: DecisionLog) -> Any:
    def record(decisions: list[Decision]) -> None:
        log_decisions(audit, decisions, current_request_id() or uuid.uuid4().hex)

    return record


def engine_holder_of(app: Flask) -> EngineHolder:
    holder: EngineHolder = app.extensions[ENGINE_KEY]
    return holder


def engine_holder() -> EngineHolder:
    return engine_holder_of(current_app)


def decision_log() -> DecisionLog:
    audit: DecisionLog = current_app.extensions[AUDIT_KEY]
    return audit


def request_bundle() -> Bundle:
    """The bundle this request decides with: leased on first use, kept until the request ends."""
    lease: Lease | None = g.get("flets_lease")
    if lease is None:
        lease = engine_holder().acquire()
        g.flets_lease = lease
    return lease.bundle


def _release_lease(_exc: BaseException | None) -> None:
    lease: Lease | None = g.pop("flets_lease", None)
    if lease is not None:
        lease.release()


def _audit_failed(exc: AuditError) -> Response:
    log.error("decision not answered: %s", exc)
    return problem_response(Problem("decision-log-unavailable", str(exc)))


# --- authentication --------------------------------------------------------------------------------


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; nothing matches when no token is configured."""
    return bool(expected) and hmac.compare_digest(given.encode(), str(expected).encode())


def require_token(expected: str | None, what: str) -> None:
    """401 without a bearer token, 403 with a wrong one or when no token is configured."""
    given = bearer_token(request.headers.get("Authorization"))
    if given is None:
        raise Problem(
            "unauthorized",
            Text(f"{what}には Bearer トークンが必要です。", f"{what} needs a bearer token."),
        )
    if not token_matches(given, expected):
        raise Problem("forbidden", Text("トークンが正しくありません。", "The token is not valid."))


@bp.before_request
def _require_admin() -> None:
    require_token(current_app.config.get("ADMIN_TOKEN"), "admin API")


def _guard_decisions() -> None:
    """With ``DECISION_TOKEN`` set, every ``POST /v1/…`` outside the admin API needs it too."""
    token = current_app.config.get("DECISION_TOKEN")
    path = request.path
    if (
        token
        and request.method == "POST"
        and path.startswith("/v1/")
        and request.blueprint != "admin"
    ):
        require_token(token, "decision API")


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


# --- views -----------------------------------------------------------------------------------------


@bp.post("/reload")
def reload() -> Response:
    """Reload the rules and tariffs now; the previous version keeps serving when they fail check."""
    result = engine_holder().reload(trigger="admin")
    if not result.ok:
        errors: dict[str, list[str]] = {}
        for d in result.errors:
            errors.setdefault(f"{d.location.file}:{d.location.line}", []).append(
                f"{d.code}: {d.message}"
            )
        raise Problem(
            "reload-refused",
            Text(
                f"読み込みを中止しました（{result.message}）。",
                f"Reload refused ({result.message}).",
            ),
            errors or {"files": [result.message]},
            extra={"serving_generation": result.generation},
        )
    return jsonify({**result.to_dict(), "status": engine_holder().status()})


@bp.get("/status")
def status() -> Response:
    holder = engine_holder()
    body = holder.status()
    body["decision_log"] = _redacted(decision_log().url)
    watcher = current_app.extensions.get(WATCHER_KEY)
    body["watcher"] = {"interval": watcher.interval} if watcher else None
    return jsonify(body)


def _redacted(url: str) -> str:
    """The log URL without a password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def _query_date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return datetime.fromisoformat(raw) if "T" in raw else start_of_day(date.fromisoformat(raw))
    except ValueError:
        raise Problem("invalid-fields", Text("日付が不正です。", "Invalid date."),
                      {name: [f"{raw!r} is not a date YYYY-MM-DD or an ISO date-time."]}) from None  # fmt: skip


def _query_limit() -> int:
    raw = request.args.get("limit", str(DEFAULT_QUERY_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= DEFAULT_QUERY_LIMIT * 10:
        raise Problem("invalid-fields", Text("件数が不正です。", "Invalid limit."),
                      {"limit": [f"Must be a whole number from 1 to {DEFAULT_QUERY_LIMIT * 10}."]})  # fmt: skip
    return int(raw)


@bp.get("/decisions")
def decisions() -> Response:
    """Logged decisions, oldest first, filtered by the query parameters."""
    query = Query(
        ruleset=request.args.get("ruleset") or None,
        since=_query_date("since"),
        until=_query_date("until"),
        outcome=request.args.get("outcome") or None,
        request_id=request.args.get("request_id") or None,
        limit=_query_limit(),
    )
    records = decision_log().query(query)
    return jsonify({"count": len(records), "decisions": [r.to_dict() for r in records]})


@bp.post("/impact")
def impact() -> Response:
    """Replay logged decisions (or the given ``cases``) against the ``candidate`` rules folder.

    Body: ``{"candidate": "<folder>", "ruleset"?: id, "since"?: date, "cases"?: [{"ruleset", "facts",
    "as_of"?}], "examples"?: n}``. The candidate folder must lie under ``IMPACT_ROOT``.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem("invalid-fields", Text("JSON オブジェクトを送ってください。", "Send a JSON object."),
                      {"body": ["Expected a JSON object."]})  # fmt: skip
    candidate_dir = _candidate_folder(body.get("candidate"))
    cases = _impact_cases(body)
    try:
        candidate = load_bundle(candidate_dir)
    except ValidationError as exc:
        errors = {f"{d.location.file}:{d.location.line}": [f"{d.code}: {d.message}"]
                  for d in exc.errors}  # fmt: skip
        raise Problem("reload-refused", Text("候補のルールが check を通りません。",
                      "The candidate rules fail check."), errors) from None  # fmt: skip
    try:
        report = replay(cases, request_bundle().rulebook, candidate.rulebook)
    finally:
        candidate.close()
    examples = body.get("examples", 5)
    return jsonify(report.to_dict(examples if isinstance(examples, int) and examples >= 0 else 5))


def _candidate_folder(raw: object) -> Path:
    root = Path(current_app.config.get("IMPACT_ROOT") or Path(rules_dir()).resolve().parent)
    if not isinstance(raw, str) or not raw:
        raise Problem("invalid-fields", Text("候補フォルダを指定してください。", "Name the candidate."),
                      {"candidate": ["Missing the candidate rules folder."]})  # fmt: skip
    folder = (root / raw).resolve()
    if not folder.is_relative_to(root.resolve()) or not folder.is_dir():
        raise Problem("invalid-fields", Text("候補フォルダがありません。", "No such candidate folder."),
                      {"candidate": [f"{raw!r} is not a folder under the impact root."]})  # fmt: skip
    return folder


def _impact_cases(body: dict[str, Any]) -> list[Case]:
    ruleset = body.get("ruleset")
    rulesets = [ruleset] if isinstance(ruleset, str) and ruleset else []
    raw_cases = body.get("cases")
    if raw_cases is None:
        since = body.get("since")
        try:
            start = start_of_day(date.fromisoformat(since)) if isinstance(since, str) else None
        except ValueError:
            raise Problem("invalid-fields", Text("日付が不正です。", "Invalid date."),
                          {"since": [f"{since!r} is not a date YYYY-MM-DD."]}) from None  # fmt: skip
        records = all_records(decision_log(), Query(ruleset=rulesets[0] if rulesets else None,
                                                    since=start))  # fmt: skip
        return list(only(cases_from_log(records), rulesets))
    if not isinstance(raw_cases, list) or len(raw_cases) > MAX_IMPACT_CASES:
        raise Problem("invalid-fields", Text("cases が不正です。", "Invalid cases."),
                      {"cases": [f"A list of at most {MAX_IMPACT_CASES} cases."]})  # fmt: skip
    return [_case(i, item, rulesets) for i, item in enumerate(raw_cases)]


def _case(index: int, item: object, rulesets: list[str]) -> Case:
    problems: dict[str, list[str]] = {}
    entry = item if isinstance(item, dict) else {}
    ruleset = entry.get("ruleset") or (rulesets[0] if rulesets else None)
    facts = entry.get("facts")
    as_of_raw = entry.get("as_of")
    as_of = today_in_tokyo()
    if not isinstance(ruleset, str):
        problems[f"cases.{index}.ruleset"] = ["Missing the rule set id."]
    if not isinstance(facts, dict):
        problems[f"cases.{index}.facts"] = ["Expected an object of facts."]
    if as_of_raw is not None:
        try:
            as_of = date.fromisoformat(str(as_of_raw))
        except ValueError:
            problems[f"cases.{index}.as_of"] = [f"{as_of_raw!r} is not a date YYYY-MM-DD."]
    if problems:
        raise Problem("invalid-fields", Text("cases が不正です。", "Invalid cases."), problems)
    assert isinstance(ruleset, str) and isinstance(facts, dict)
    return Case(f"cases[{index}]", ruleset, facts, as_of)
