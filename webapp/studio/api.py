"""The studio's JSON API (``/v1/studio``): read, check, simulate, preview and publish rule sets and
tariffs. The contract is docs/studio-api.md; the engine behind it is :mod:`engine.lifecycle.drafts`,
:mod:`engine.lifecycle.publish`, :mod:`engine.rules.trace`, :mod:`engine.rules.sheet`.

Who may call (:func:`current_identity`): the admin token (an editor named ``admin``), the named
editor tokens of ``STUDIO_EDITORS`` (``"alice=token1,bob=token2"``), the read-only
``STUDIO_VIEW_TOKEN`` (a viewer), or a studio session the pages opened with :func:`sign_in` (then
every POST carries the session's CSRF token in ``X-CSRF-Token``). Viewers may read, check, simulate
and preview; publishing and rolling back need an editor, whose name the publish record keeps.

Bodies are read strictly (an unknown key is a 422 naming it: a misspelt ``reason`` must not publish
without one), and so are query parameters (400 naming any a view does not read).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, request
from marshmallow import ValidationError as InvalidRequest

from engine.clock import today_in_tokyo
from engine.errors import Diagnostic, ValidationError
from engine.lifecycle.decision_log import Query, all_records, start_of_day
from engine.lifecycle.drafts import (
    DraftCheck,
    load_rule_draft,
    load_tariff_draft,
    with_example,
)
from engine.lifecycle.impact import Case, cases_from_log, only, replay
from engine.lifecycle.publish import (
    PublishConflict,
    Publisher,
    PublishRefused,
    PublishResult,
    file_digest,
    valid_file_name,
)
from engine.messages import Code, Message
from engine.messages.language import Lang
from engine.messages.schema import CodedSchema
from engine.rules.coverage import example_decisions
from engine.rules.evaluate import example_failure
from engine.rules.explain import Decision
from engine.rules.model import RuleSet
from engine.rules.rulebook import Rulebook, ruleset_digest
from engine.rules.sheet import build_sheet
from engine.rules.trace import trace
from engine.tariff import run_examples
from engine.tariff.book import UnknownTariffError

from ..admin import refuse_unknown_parameters
from ..auth import bearer_token, no_store
from ..i18n import api_lang
from ..inputs import read_json
from ..problems import Problem, flatten_messages, invalid_fields
from ..state import current_state, get_rulebook, loaded_tariffs
from .bodies import (
    CheckBody,
    ExampleBody,
    ImpactBody,
    PublishBody,
    RollbackBody,
    SimulateBody,
)
from .identity import (
    CSRF_HEADER,
    STUDIO_EDITORS,
    STUDIO_VIEW_TOKEN,
    Identity,
    check_csrf_header,
    current_identity,
    sign_in,
    sign_out,
    tokens_configured,
)

bp = Blueprint("studio_api", __name__, url_prefix="/v1/studio")

KINDS = ("rules", "tariffs")


@bp.before_request
def _require_identity() -> None:
    given = bearer_token(request.headers.get("Authorization"))
    who = current_identity()
    if who is None:
        if given is None and not tokens_configured():
            raise Problem("forbidden", Message(Code.STUDIO_API_CLOSED))
        if given is None:
            raise Problem("unauthorized", Message(Code.STUDIO_API_TOKEN_NEEDED))
        raise Problem("forbidden", Message(Code.STUDIO_API_TOKEN_WRONG))
    if given is None and request.method == "POST":
        check_csrf_header()
    refuse_unknown_parameters(_QUERY_PARAMETERS.get(request.endpoint or "", frozenset()))


bp.after_request(no_store)


def _editor() -> Identity:
    who = current_identity()
    if who is None or not who.may_publish:
        raise Problem("forbidden", Message(Code.STUDIO_API_EDITOR_ONLY))
    return who


# -- requests ----------------------------------------------------------------------------------


def _load(schema: CodedSchema) -> dict[str, Any]:
    try:
        body: dict[str, Any] = schema.load(read_json())
    except InvalidRequest as exc:
        raise invalid_fields(flatten_messages(exc.normalized_messages())) from None  # type: ignore[no-untyped-call]
    return body


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Problem("not-found", Message(Code.STUDIO_API_NO_KIND, kind=kind))
    return kind


# -- what is served --------------------------------------------------------------------------


def _served_rulesets(ident: str) -> list[RuleSet]:
    return get_rulebook().versions(ident)  # 404 unknown-ruleset


def _served_file(kind: str, ident: str, version: str | None) -> dict[str, Any]:
    """The served version of ``ident`` (``version``, or today's, else the newest) as a file."""
    if kind == "rules":
        book = get_rulebook()
        versions = book.versions(ident)
        rs = next((v for v in versions if v.version == version), None) if version else None
        rs = rs or book.shown_version(ident)
        if version and rs.version != version:
            raise Problem(
                "not-found", Message(Code.STUDIO_API_NO_VERSION, id=ident, version=version)
            )
        folder = current_state().reloader.sources.rules
        name = rs.file.rsplit("/", 1)[-1]
        return _file_body(kind, ident, rs.version, folder / name, name, ruleset_digest(rs),
                          rs.effective_from, rs.effective_to, rs.file)  # fmt: skip
    tariffs = loaded_tariffs()
    found = tariffs.versions(ident) if tariffs else []
    if not found:
        raise UnknownTariffError(ident, tariffs.ids() if tariffs else ())
    today = today_in_tokyo()
    tariff = next((t for t in found if t.version == version), None) if version else None
    tariff = tariff or next((t for t in reversed(found) if t.in_force(today)), found[-1])
    if version and tariff.version != version:
        raise Problem("not-found", Message(Code.STUDIO_API_NO_VERSION, id=ident, version=version))
    tariff_folder = current_state().reloader.sources.tariffs
    assert tariff_folder is not None and tariffs is not None
    name = tariff.file.rsplit("/", 1)[-1]
    return _file_body(kind, ident, tariff.version, tariff_folder / name, name, tariffs.digest(tariff),
                      tariff.effective_from, tariff.effective_to, tariff.file)  # fmt: skip


def _file_body(
    kind: str, ident: str, version: str, path: Path, name: str, digest: str,
    start: date, end: date | None, label: str,
) -> dict[str, Any]:  # fmt: skip
    """The served version's file: its text as it is in the folder now, the served content's
    ``digest`` and the digest of that ``text`` (``text_digest``, what a publish's ``base_digest``
    is compared with; the two differ only while the folder holds a change not served yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = None
    return {"kind": kind, "id": ident, "version": version, "file": label, "name": name,
            "digest": digest, "text_digest": file_digest(path), "text": text,
            "effective_from": start.isoformat(),
            "effective_to": end.isoformat() if end else None}  # fmt: skip


@bp.get("/<kind>")
def list_files(kind: str) -> Response:
    lang = api_lang()
    today = today_in_tokyo()
    items: list[dict[str, Any]] = []
    if _kind(kind) == "rules":
        book = get_rulebook()
        for ident in book.ids():
            versions = book.versions(ident)
            items.append({"id": ident, "title": versions[-1].title(lang), "versions": [
                {"version": rs.version, "file": rs.file, "name": rs.file.rsplit("/", 1)[-1],
                 "digest": ruleset_digest(rs), "effective_from": rs.effective_from.isoformat(),
                 "effective_to": rs.effective_to.isoformat() if rs.effective_to else None,
                 "in_force": rs.in_force(today)} for rs in versions]})  # fmt: skip
    else:
        tariffs = loaded_tariffs()
        for ident in tariffs.ids() if tariffs else []:
            assert tariffs is not None
            shown = tariffs.versions(ident)
            items.append({"id": ident, "title": shown[-1].title(lang), "versions": [
                {"version": t.version, "file": t.file, "name": t.file.rsplit("/", 1)[-1],
                 "digest": tariffs.digest(t), "effective_from": t.effective_from.isoformat(),
                 "effective_to": t.effective_to.isoformat() if t.effective_to else None,
                 "in_force": t.in_force(today)} for t in shown]})  # fmt: skip
    return jsonify({"kind": kind, "items": items})


@bp.get("/<kind>/<ident>")
def get_file(kind: str, ident: str) -> Response:
    return jsonify(_served_file(_kind(kind), ident, request.args.get("version") or None))


# -- drafts --------------------------------------------------------------------------------


def _publisher() -> Publisher:
    publisher = current_state().publisher
    assert publisher is not None
    return publisher


def _file_name(kind: str, ident: str, given: str | None) -> str:
    """The file a draft replaces: ``given`` (a plain YAML name) or the served version's file."""
    if given is not None:
        if not valid_file_name(given):
            raise invalid_fields({"file": [Message(Code.STUDIO_API_FILE_NAME)]})
        return given
    try:
        return str(_served_file(kind, ident, None)["name"])
    except Problem:
        return f"{ident}.yaml"  # a new rule set or tariff


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {"line": d.location.line, "col": d.location.column, "code": d.code,
            "severity": d.severity, "message": d.message, "path": d.path,
            "text": str(d)}  # fmt: skip


def _check_json(check: DraftCheck) -> dict[str, Any]:
    ordered = sorted(check.diagnostics, key=lambda d: (d.location, d.code))
    errors = sum(1 for d in ordered if d.severity == "error")
    return {"ok": check.ok, "id": check.id, "version": check.version, "digest": check.digest,
            "errors": errors, "warnings": len(ordered) - errors,
            "diagnostics": [diagnostic_json(d) for d in ordered]}  # fmt: skip


def _refused(diagnostics: Iterable[Diagnostic]) -> Problem:
    ordered = sorted(diagnostics, key=lambda d: (d.location, d.code))
    errors: dict[str, list[str]] = {}
    for d in ordered:
        errors.setdefault(f"{d.location.file}:{d.location.line}", []).append(
            f"{d.code}: {d.message}"
        )
    count = sum(1 for d in ordered if d.severity == "error")
    return Problem("reload-refused", Message(Code.STUDIO_API_DRAFT_FAILS, count=count),
                   errors, extra={"diagnostics": [diagnostic_json(d) for d in ordered]})  # fmt: skip


@bp.post("/<kind>/<ident>/check")
def check(kind: str, ident: str) -> Response:
    body = _load(CheckBody())
    name = _file_name(_kind(kind), ident, body["file"])
    return jsonify(_check_json(_publisher().check(kind, body["text"], name)))


def _draft_rulebook(ident: str, body: dict[str, Any]) -> Rulebook | None:
    """The draft's own rulebook (``None``: no draft, use the served one)."""
    if body.get("text") is None:
        return None
    name = _file_name("rules", ident, body.get("file"))
    try:
        return load_rule_draft(body["text"], name, current_state().reloader.sources.rules)
    except ValidationError as exc:
        raise _refused(exc.errors) from None


def _decided(ident: str, body: dict[str, Any]) -> tuple[dict[str, Any], Decision]:
    """Decide the body's facts with the draft or the served rule set (nothing is logged): the
    simulator's answer with its trace, and the decision."""
    if body.get("facts") is None:
        raise invalid_fields({"facts": [Message(Code.STUDIO_API_SEND_FACTS)]})
    lang: Lang = body.get("lang") or api_lang()
    draft = _draft_rulebook(ident, body)
    book = draft or get_rulebook()
    try:
        day = body.get("as_of") or today_in_tokyo()
        decider = book.decider(ident, day)
        facts = decider.normalize(body["facts"], day)
        decision = decider.decide(body["facts"], day)  # a Decider calls no observer: not logged
        traces = trace(decider.ruleset, facts)
        reasons = {r.rule for r in decision.reasons}
        answer = decision.to_dict(lang)
        found = {
            "decision": answer,
            "version": decider.ruleset.version,
            "matched": [t.rule.id for t in traces if t.matched],
            "trace": [t.to_dict(t.rule.id in reasons) for t in traces],
            "facts": answer.get("facts"),
        }
        return found, decision
    finally:
        if draft is not None:
            draft.close()


@bp.post("/<kind>/<ident>/simulate")
def simulate(kind: str, ident: str) -> Response:
    body = _load(SimulateBody())
    if _kind(kind) == "tariffs":
        return jsonify({"quote": _quote(ident, body)})
    return jsonify(_decided(ident, body)[0])


def _quote(ident: str, body: dict[str, Any]) -> dict[str, Any]:
    request_body = dict(body.get("request") or {})
    if not request_body:
        raise invalid_fields({"request": [Message(Code.STUDIO_API_SEND_REQUEST)]})
    book = loaded_tariffs()
    draft = None
    if body.get("text") is not None:
        folder = current_state().reloader.sources.tariffs
        if folder is None:
            raise Problem("not-ready", Message(Code.STUDIO_API_NO_TARIFFS))
        name = _file_name("tariffs", ident, body.get("file"))
        try:
            draft = load_tariff_draft(body["text"], name, folder)
        except ValidationError as exc:
            raise _refused(exc.errors) from None
    chosen = draft or book
    if chosen is None:
        raise Problem("not-ready", Message(Code.STUDIO_API_NO_TARIFFS))
    quote: dict[str, Any] = chosen.quote(request_body, body.get("as_of"))
    return quote


@bp.post("/<kind>/<ident>/examples")
def add_example(kind: str, ident: str) -> Response:
    """The draft with the simulated case appended as an example expecting today's answer."""
    body = _load(ExampleBody())
    if body.get("text") is None:
        raise invalid_fields({"text": [Message(Code.STUDIO_API_SEND_DRAFT)]})
    if _kind(kind) == "rules":
        decision = _decided(ident, body)[1]
        example: dict[str, Any] = {"note": body["note"], "facts": body["facts"],
                                   "expect": {"outcome": decision.outcome.id,
                                              "reasons": sorted(decision.reason_codes)}}  # fmt: skip
        if body.get("as_of"):
            example["as_of"] = body["as_of"].isoformat()
    else:
        quote = _quote(ident, body)
        request_body = dict(body["request"])
        if body.get("as_of"):
            request_body["as_of"] = body["as_of"].isoformat()
        example = {"note": body["note"], "request": request_body,
                   "expect": {"totals": quote.get("totals")}}  # fmt: skip
    text = with_example(body["text"], example)
    name = _file_name(kind, ident, body.get("file"))
    return jsonify({"text": text, "example": example,
                    "check": _check_json(_publisher().check(kind, text, name))})  # fmt: skip


@bp.post("/<kind>/<ident>/impact")
def impact(kind: str, ident: str) -> Response:
    body = _load(ImpactBody())
    if _kind(kind) == "tariffs":
        folder = current_state().reloader.sources.tariffs
        name = _file_name(kind, ident, body["file"])
        try:
            book = load_tariff_draft(body["text"], name, folder) if folder else None
        except ValidationError as exc:
            raise _refused(exc.errors) from None
        failures = run_examples(book) if book else []
        return jsonify({"log": None, "examples": {"failed": len(failures), "failures": failures}})
    draft = _draft_rulebook(ident, body)
    assert draft is not None
    try:
        if body["cases"] is not None:
            cases: Iterable[Case] = [
                Case(f"cases[{i}]", ident, c["facts"], c["as_of"] or today_in_tokyo())
                for i, c in enumerate(body["cases"])
            ]
        else:
            since = body["since"]
            query = Query(ruleset=ident, since=start_of_day(since) if since else None)
            cases = only(cases_from_log(all_records(current_state().decision_log, query)), [ident])
        report = replay(cases, get_rulebook(), draft, body["examples"])
        results = []
        for rs in draft.all_rulesets():
            for index, decision in enumerate(example_decisions(draft, rs)):
                example = rs.examples[index]
                failure = ("facts rejected" if decision is None else
                           example_failure(decision, example.expect_outcome, example.expect_reasons))  # fmt: skip
                results.append({"index": index, "line": example.location.line,
                                "note": example.note, "passed": failure is None,
                                "failure": failure})  # fmt: skip
    finally:
        draft.close()
    passed = sum(1 for r in results if r["passed"])
    return jsonify({"log": report.to_dict(body["examples"]),
                    "examples": {"passed": passed, "failed": len(results) - passed,
                                 "results": results}})  # fmt: skip


# -- the table -------------------------------------------------------------------------------


def draft_check(
    ident: str, text: str, file: str | None = None
) -> tuple[RuleSet | None, list[Diagnostic]]:
    """A draft of ``ident`` checked as ``flets-elig check`` checks a file: its rule set (``None`` when
    it does not validate) and every diagnostic. Validated, not gated by the analysis: a draft's
    shadowed or never-firing rows are what its table must mark."""
    checked = _publisher().check("rules", text, _file_name("rules", ident, file))
    return checked.ruleset, list(checked.diagnostics)


def draft_ruleset(ident: str, text: str, file: str | None = None) -> RuleSet:
    """:func:`draft_check`'s rule set. :raises Problem: ``reload-refused`` with every diagnostic."""
    ruleset, diagnostics = draft_check(ident, text, file)
    if ruleset is None:
        raise _refused(diagnostics)
    return ruleset


def sheet_of(ident: str, version: str | None = None, text: str | None = None,
             lang: Lang = "ja", file: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The table data of a served version of ``ident`` or of a draft (the pages call this too)."""
    if text is not None:
        rs = draft_ruleset(ident, text, file)
        draft = Rulebook([rs])
        try:
            return build_sheet(rs, example_decisions(draft, rs), lang)
        finally:
            draft.close()
    book = get_rulebook()
    versions = book.versions(ident)
    chosen = next((v for v in versions if v.version == version), None) if version else None
    if version and chosen is None:
        raise Problem("not-found", Message(Code.STUDIO_API_NO_VERSION, id=ident, version=version))
    shown = chosen or book.shown_version(ident)
    return build_sheet(shown, example_decisions(book, shown), lang)


@bp.get("/rules/<ident>/sheet")
def get_sheet(ident: str) -> Response:
    return jsonify(sheet_of(ident, request.args.get("version") or None, lang=api_lang()))


@bp.post("/rules/<ident>/sheet")
def draft_sheet(ident: str) -> Response:
    body = _load(CheckBody())
    return jsonify(sheet_of(ident, text=body["text"], lang=api_lang(), file=body["file"]))


# -- publishing ------------------------------------------------------------------------------


def _publish_response(result: PublishResult) -> Response:
    if result.unchanged or result.publish is None or result.reload is None:
        return jsonify({"unchanged": True, "publish": None, "reload": None})
    reloader = current_state().reloader
    wait = float(current_app.config.get("RELOAD_WAIT", 10.0))
    everywhere, workers = reloader.wait_for_workers(result.reload.generation, wait)
    reload_body = {**result.reload.to_dict(), "converged": everywhere,
                   "workers": [w.to_dict() for w in workers]}  # fmt: skip
    body = {"unchanged": False, "publish": result.publish.to_dict(), "reload": reload_body}
    return make_response(jsonify(body), 201)


def _publishing(action: Any) -> Response:
    try:
        return _publish_response(action())
    except PublishRefused as exc:
        if exc.diagnostics:
            raise _refused(exc.diagnostics) from None
        if exc.why == "no-rollback":
            raise Problem("invalid-fields", Message(Code.STUDIO_API_NO_ROLLBACK)) from None
        if exc.why == "no-folder":
            raise Problem("not-ready", Message(Code.STUDIO_API_NO_TARIFFS)) from None
        raise Problem("reload-refused", Message(Code.RELOAD_REFUSED, reason=exc.message)) from None
    except PublishConflict as exc:
        raise Problem("conflict", Message(Code.STUDIO_API_CONFLICT),
                      extra={"current_digest": exc.current}) from None  # fmt: skip


@bp.post("/<kind>/<ident>/publish")
def publish(kind: str, ident: str) -> Response:
    who = _editor()
    body = _load(PublishBody())
    name = _file_name(_kind(kind), ident, body["file"])
    return _publishing(lambda: _publisher().publish(
        kind, ident, body["text"], name, who=who.name, reason=body["reason"],
        base_digest=body["base_digest"]))  # fmt: skip


@bp.post("/<kind>/<ident>/rollback")
def rollback(kind: str, ident: str) -> Response:
    who = _editor()
    body = _load(RollbackBody())
    return _publishing(lambda: _publisher().rollback(
        _kind(kind), ident, who=who.name, reason=body["reason"], to=body["to"]))  # fmt: skip


@bp.get("/publishes")
def publishes() -> Response:
    limit_text = request.args.get("limit", "50")
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        raise invalid_fields({"limit": [Message(Code.STUDIO_API_LIMIT, max=1000)]})
    kind = request.args.get("kind") or None
    if kind is not None:
        _kind(kind)
    found = _publisher().store.recent(kind, request.args.get("id") or None, int(limit_text))
    return jsonify({"publishes": [p.to_dict() for p in found]})


@bp.get("/publishes/<int:seq>")
def one_publish(seq: int) -> Response:
    found = _publisher().store.get(seq) if seq < 2**63 else None
    if found is None:
        raise Problem("not-found", Message(Code.STUDIO_API_NO_PUBLISH, seq=seq))
    return jsonify(found.to_dict(with_text=True))


#: The query parameters each view reads (any other is a 400 naming it).
_QUERY_PARAMETERS = {
    "studio_api.get_file": frozenset({"version"}),
    "studio_api.get_sheet": frozenset({"version"}),
    "studio_api.publishes": frozenset({"kind", "id", "limit"}),
}

__all__ = [
    "CSRF_HEADER",
    "STUDIO_EDITORS",
    "STUDIO_VIEW_TOKEN",
    "Identity",
    "bp",
    "current_identity",
    "file_digest",
    "sheet_of",
    "sign_in",
    "sign_out",
]
