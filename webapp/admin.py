"""The admin API: hot reload, status, the decision log and impact reports.

* ``POST /v1/admin/reload`` — reload now; 200 with the new generation, or 422 with the errors while
  the previous version keeps serving;
* ``GET /v1/admin/status`` — serving versions, load time, last reload and last refused reload;
* ``GET /v1/admin/decisions`` — query the decision log (``ruleset``, ``since``, ``until``,
  ``outcome``, ``request_id``, ``limit``);
* ``POST /v1/admin/impact`` — replay logged decisions (or given fact sets) against a candidate
  folder.

Every call needs the admin token (:mod:`webapp.auth`); the engine state it acts on is
:mod:`webapp.state`'s. Queries and bodies are read by the schemas of :mod:`webapp.schemas`; a bad
one is refused with its first problem, in the order the fields are read, one case at a time.
``IMPACT_ROOT`` is the folder candidate rules folders must live in (default: the parent of the rules
folder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError as InvalidRequest

from engine.clock import today_in_tokyo
from engine.errors import ValidationError
from engine.lifecycle.decision_log import Query, all_records, start_of_day
from engine.lifecycle.impact import Case, cases_from_log, only, replay
from engine.lifecycle.reload import load_bundle
from engine.messages.language import Text
from engine.paths import rules_dir

from .auth import ADMIN_BLUEPRINT, require_admin
from .problems import Problem, flatten_messages, invalid_fields
from .schemas import DECISION_QUERY, IMPACT_REQUEST
from .state import current_state, get_rulebook

bp = Blueprint(ADMIN_BLUEPRINT, __name__, url_prefix="/v1/admin")
bp.before_request(require_admin)

_INVALID_DATE = Text("日付が不正です。", "Invalid date.")
#: The detail of the 422 for each field that can be wrong (``_schema``: the body as a whole).
_DETAILS = {
    "_schema": Text("JSON オブジェクトを送ってください。", "Send a JSON object."),
    "candidate": Text("候補フォルダを指定してください。", "Name the candidate."),
    "since": _INVALID_DATE,
    "until": _INVALID_DATE,
    "limit": Text("件数が不正です。", "Invalid limit."),
    "cases": Text("cases が不正です。", "Invalid cases."),
}


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


@bp.post("/reload")
def reload() -> Response:
    """Reload the rules and tariffs now; the previous version keeps serving when they fail check."""
    holder = current_state().holder
    result = holder.reload(trigger="admin")
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
    return jsonify({**result.to_dict(), "status": holder.status()})


@bp.get("/status")
def status() -> Response:
    state = current_state()
    body = state.holder.status()
    body["decision_log"] = _redacted(state.decision_log.url)
    body["watcher"] = {"interval": state.watcher.interval} if state.watcher else None
    return jsonify(body)


def _redacted(url: str) -> str:
    """The log URL without a password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


@bp.get("/decisions")
def decisions() -> Response:
    """Logged decisions, oldest first, filtered by the query parameters."""
    try:
        query: Query = DECISION_QUERY.load(request.args)
    except InvalidRequest as exc:
        raise _refusal(exc, ("since", "until", "limit")) from None
    records = current_state().decision_log.query(query)
    return jsonify({"count": len(records), "decisions": [r.to_dict() for r in records]})


@bp.post("/impact")
def impact() -> Response:
    """Replay logged decisions (or the given ``cases``) against the ``candidate`` rules folder.

    Body: ``{"candidate": "<folder>", "ruleset"?: id, "since"?: date, "cases"?: [{"ruleset", "facts",
    "as_of"?}], "examples"?: n}``. The candidate folder must lie under ``IMPACT_ROOT``.
    """
    body = _impact_request(request.get_json(silent=True))
    candidate_dir = _candidate_folder(body["candidate"])
    cases = _impact_cases(body)
    try:
        candidate = load_bundle(candidate_dir)
    except ValidationError as exc:
        errors = {
            f"{d.location.file}:{d.location.line}": [f"{d.code}: {d.message}"] for d in exc.errors
        }
        raise Problem(
            "reload-refused",
            Text("候補のルールが check を通りません。", "The candidate rules fail check."),
            errors,
        ) from None
    try:
        report = replay(cases, get_rulebook(), candidate.rulebook)
    finally:
        candidate.close()
    return jsonify(report.to_dict(body["examples"]))


def _impact_request(data: Any) -> dict[str, Any]:
    """The loaded body; a missing candidate folder is named before a bad ``since`` or case."""
    try:
        body: dict[str, Any] = IMPACT_REQUEST.load(data)
    except InvalidRequest as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        problem = _first_problem(exc, ("_schema", "candidate"))
        if problem is None:
            _candidate_folder(valid["candidate"])
            problem = _refusal(exc, ("since", "cases"))
        raise problem from None
    return body


def _first_problem(exc: InvalidRequest, names: Iterable[str]) -> Problem | None:
    """The 422 for the first of ``names`` that failed to load (of ``cases``, the first bad case)."""
    errors = _messages(exc)
    for name in names:
        if name in errors:
            found = errors[name]
            if isinstance(found, Mapping):  # {index: that case's messages}
                found = {min(found): found[min(found)]}
            return Problem("invalid-fields", _DETAILS[name], flatten_messages({name: found}))
    return None


def _refusal(exc: InvalidRequest, names: Iterable[str]) -> Problem:
    """The 422 for the first of ``names`` that failed, else for every field that did."""
    return _first_problem(exc, names) or invalid_fields(flatten_messages(_messages(exc)))


def _messages(exc: InvalidRequest) -> dict[str, Any]:
    messages: dict[str, Any] = exc.normalized_messages()  # type: ignore[no-untyped-call]
    return messages


def _candidate_folder(name: str) -> Path:
    root = Path(current_app.config.get("IMPACT_ROOT") or Path(rules_dir()).resolve().parent)
    folder = (root / name).resolve()
    if not folder.is_relative_to(root.resolve()) or not folder.is_dir():
        raise Problem(
            "invalid-fields",
            Text("候補フォルダがありません。", "No such candidate folder."),
            {"candidate": [f"{name!r} is not a folder under the impact root."]},
        )
    return folder


def _impact_cases(body: dict[str, Any]) -> list[Case]:
    """The given cases, or else the logged decisions (of ``ruleset``, since ``since``)."""
    if body["cases"] is not None:
        return [
            Case(
                f"cases[{index}]", case["ruleset"], case["facts"], case["as_of"] or today_in_tokyo()
            )
            for index, case in enumerate(body["cases"])
        ]
    ruleset: str | None = body["ruleset"]
    since = start_of_day(body["since"]) if body["since"] else None
    records = all_records(current_state().decision_log, Query(ruleset=ruleset, since=since))
    return list(only(cases_from_log(records), [ruleset] if ruleset else []))
