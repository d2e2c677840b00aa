"""The admin API: hot reload, status, the decision log and impact reports.

* ``POST /v1/admin/reload`` — publish the folders now as the generation every worker serves; 200
  once every worker serves it, 202 when one has not within ``RELOAD_WAIT`` seconds (the body says
  which), or 422 with the errors while the previous generation keeps serving;
* ``GET /v1/admin/status`` — serving versions, load time, the published generation and each
  worker's, last reload and last refused reload;
* ``GET /v1/admin/decisions`` — query the decision log (``ruleset``, ``since``, ``until``,
  ``outcome``, ``request_id``, ``limit``, ``order``: ``asc``, oldest first, the default, or
  ``desc``, newest first — with ``limit``, the newest ones);
* ``POST /v1/admin/impact`` — replay logged decisions (or given fact sets) against a candidate
  folder.

Every call needs the admin token (:mod:`webapp.auth`); the engine state it acts on is
:mod:`webapp.state`'s. Queries and bodies are read by the schemas of :mod:`webapp.admin_schemas`
(a JSON body first by :func:`webapp.inputs.read_json`); a bad one is refused with its first problem,
in the order the fields are read, one case at a time. A query parameter a call does not read is
a 400 naming it (:func:`refuse_unknown_parameters`): a misspelt filter never silently lists everything.
``IMPACT_ROOT`` is the folder candidate rules folders must live in (default: the parent of the rules
folder).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, request
from marshmallow import ValidationError as InvalidRequest

from engine.clock import today_in_tokyo
from engine.errors import ValidationError
from engine.lifecycle.decision_log import Query, all_records, start_of_day
from engine.lifecycle.impact import Case, cases_from_log, only, replay
from engine.lifecycle.reload import load_bundle
from engine.messages import Code, Message
from engine.messages.language import Text
from engine.paths import rules_dir

from .admin_schemas import DECISION_QUERY, IMPACT_REQUEST
from .auth import ADMIN_BLUEPRINT, no_store, require_admin
from .inputs import read_json
from .openapi import documented
from .problems import Problem, flatten_messages, invalid_fields
from .state import current_state, get_rulebook

bp = Blueprint(ADMIN_BLUEPRINT, __name__, url_prefix="/v1/admin")
bp.before_request(require_admin)


def refuse_unknown_parameters(allowed: Collection[str]) -> None:
    """400 ``bad-request`` naming every query parameter of this request not in ``allowed``."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise Problem(
            "bad-request",
            Message(Code.UNKNOWN_QUERY_PARAMETERS, names=", ".join(unknown)),
            {name: [Message(Code.UNKNOWN_QUERY_PARAMETER)] for name in unknown},
        )


@bp.before_request
def _known_parameters() -> None:
    """After the token: only the parameters the called view reads."""
    reads = DECISION_QUERY.fields if request.endpoint == f"{ADMIN_BLUEPRINT}.decisions" else {}
    refuse_unknown_parameters(reads)


_INVALID_DATE = Message(Code.ADMIN_INVALID_DATE)
#: The detail of the 422 for each field that can be wrong (``_schema``: the body as a whole).
_DETAILS = {
    "_schema": Message(Code.ADMIN_SEND_OBJECT),
    "candidate": Message(Code.ADMIN_NAME_CANDIDATE),
    "since": _INVALID_DATE,
    "until": _INVALID_DATE,
    "limit": Message(Code.ADMIN_INVALID_LIMIT),
    "cases": Message(Code.ADMIN_INVALID_CASES),
    "order": Message(Code.ADMIN_ORDER),
}


bp.after_request(no_store)


#: Seconds ``POST /v1/admin/reload`` waits for every worker to serve the new generation.
#: (With its own load, it stays well under gunicorn's 30 s worker timeout.)
DEFAULT_RELOAD_WAIT = 10.0


@bp.post("/reload")
@documented("Publish the rules and tariffs now", "admin", errors=("Unprocessable",),
            also=((202, "Published; a worker had not loaded it in time (converged: false)."),))  # fmt: skip
def reload() -> Response:
    """Publish the rules and tariffs now, and answer once every worker serves them (202 when one
    has not within ``RELOAD_WAIT`` seconds); the previous generation keeps serving when they fail
    check."""
    reloader = current_state().reloader
    result = reloader.reload(trigger="admin")
    if not result.ok:
        errors: dict[str, list[str]] = {}
        for d in result.errors:
            errors.setdefault(f"{d.location.file}:{d.location.line}", []).append(
                f"{d.code}: {d.message}"
            )
        raise Problem(
            "reload-refused",
            Message(Code.RELOAD_REFUSED, reason=result.message),
            errors or {"files": [result.message]},
            extra={"serving_generation": result.generation},
        )
    wait = float(current_app.config.get("RELOAD_WAIT", DEFAULT_RELOAD_WAIT))
    everywhere, workers = reloader.wait_for_workers(result.generation, wait)
    body = {
        **result.to_dict(),
        "workers": [w.to_dict() for w in workers],
        "converged": everywhere,
        "status": reloader.status(),
    }
    return make_response(jsonify(body), 200 if everywhere else 202)


@bp.get("/status")
def status() -> Response:
    state = current_state()
    body = state.reloader.status()
    body["decision_log"] = _redacted(state.decision_log.url)
    interval = state.reloader.watch_interval
    body["watcher"] = {"interval": interval} if interval > 0 else None
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
@documented("Query the decision log", "admin", query=DECISION_QUERY, errors=("Unprocessable",))
def decisions() -> Response:
    """Logged decisions, oldest first (``order=desc``: newest first), filtered by the query
    parameters."""
    try:
        query: Query = DECISION_QUERY.load(request.args)
    except InvalidRequest as exc:
        raise _refusal(exc, ("since", "until", "limit", "order")) from None
    records = current_state().decision_log.query(query)
    return jsonify({"count": len(records), "decisions": [r.to_dict() for r in records]})


@bp.post("/impact")
@documented("Replay decisions against candidate rules", "admin", body=IMPACT_REQUEST,
            errors=("Unprocessable",))  # fmt: skip
def impact() -> Response:
    """Replay logged decisions (or the given ``cases``) against the ``candidate`` rules folder.

    Body: ``{"candidate": "<folder>", "ruleset"?: id, "since"?: date, "cases"?: [{"ruleset", "facts",
    "as_of"?}], "examples"?: n}``. The candidate folder must lie under ``IMPACT_ROOT``.
    """
    body = _impact_request(read_json() if request.is_json else None)
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
        report = replay(cases, get_rulebook(), candidate.rulebook, body["examples"])
    finally:
        candidate.close()
    return jsonify(report.to_dict())


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
    """The candidate folder ``name`` names under the impact root; 422 naming ``candidate`` when there
    is none (a name the file system cannot even look up, too long for it, included)."""
    root = Path(current_app.config.get("IMPACT_ROOT") or Path(rules_dir()).resolve().parent)
    try:
        folder = (root / name).resolve()
        found = folder.is_relative_to(root.resolve()) and folder.is_dir()
    except (OSError, ValueError):  # ENAMETOOLONG, ELOOP …; a NUL (the schema refuses it first)
        found = False
    if not found:
        raise Problem(
            "invalid-fields",
            Message(Code.ADMIN_NO_CANDIDATE_FOLDER),
            {"candidate": [Message(Code.ADMIN_NOT_UNDER_ROOT, name=name)]},
        )
    return folder


def _impact_cases(body: dict[str, Any]) -> Iterable[Case]:
    """The given cases, or else the logged decisions (of ``ruleset``, since ``since``), streamed
    from the log a page at a time while they are replayed (bounded memory, however long the log)."""
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
    return only(cases_from_log(records), [ruleset] if ruleset else [])
