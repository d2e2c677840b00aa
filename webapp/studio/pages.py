"""The policy-owner studio's pages at ``/studio``: every rule set as a table, the editor, the
simulator, the impact preview and publishing.

Server-rendered first: the start page and each rule set's table read without JavaScript. The editor
(CodeMirror 6, bundled from ``webapp/assets/studio.js`` by ``make assets``) and the simulator, impact
preview, publish and history panels are driven by that script against the studio's JSON API
(``/v1/studio/…``, docs/studio-api.md), authenticated by the page's session and its CSRF token.

Who may enter is the studio API's rule (:func:`webapp.studio.api.current_identity`: the admin token or a
named editor's token edits and publishes, ``STUDIO_VIEW_TOKEN`` only reads and simulates); the sign-in
here opens that session (:func:`webapp.studio.api.sign_in`). Without it every page answers 401 with the
sign-in form, never the studio. The studio's pages alone may run this origin's script
(:func:`webapp.security.studio_content_security_policy`, with a nonce per page for the editor's style
sheet).

Japanese first, ``?lang=en`` for English, as on the sales page; messages come from the catalogue.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from engine.clock import today_in_tokyo
from engine.format.sources import SEEDS
from engine.lifecycle.coverage import bundled_coverage
from engine.messages import Code, Message
from engine.messages.language import Lang, Text
from engine.paths import bundled_dir, rules_dir, tariffs_dir
from engine.rules.coverage import example_decisions
from engine.rules.model import RuleSet
from engine.rules.rulebook import Rulebook, ruleset_digest
from engine.rules.sheet import build_sheet
from engine.tariff import TariffBook
from engine.tariff.model import Tariff

from ..auth import ADMIN_TOKEN
from ..forms import fact_fields, facts_from_form
from ..i18n import page_lang
from ..pages import page_helpers, remember_language
from ..security import CSP_NONCE, check_csrf, safe_next
from ..state import get_rulebook, loaded_tariffs
from . import api
from .labels import cell_text

bp = Blueprint("studio_pages", __name__, url_prefix="/studio")
bp.after_request(remember_language)
# msg(), localize(): the sales page's template helpers, which its form fields (_fields.html) use.
bp.context_processor(page_helpers)

#: The sign-in form's fields (as on the sales page).
CODE_FIELD, NEXT_FIELD = "access_code", "next"
#: The rule-file JSON Schema the editor completes from (docs/rule-format.schema.json).
SCHEMA_FILE = bundled_dir("docs") / "rule-format.schema.json"
_OPEN_ENDPOINTS = frozenset({"studio_pages.signin", "studio_pages.signin_submit",
                             "studio_pages.signout"})  # fmt: skip


def _text(code: Code, lang: Lang, **params: object) -> str:
    return Message(code, **params).render(lang)


def _studio_open() -> bool:
    """Whether any studio token is configured: with none, nobody can enter."""
    config = current_app.config
    return any(config.get(key) for key in (ADMIN_TOKEN, api.STUDIO_EDITORS, api.STUDIO_VIEW_TOKEN))


def _signin_page(status: int, error: str | None = None) -> Response:
    lang = page_lang()
    closed = not _studio_open()
    html = render_template(
        "studio/signin.html",
        lang=lang,
        next=safe_next(request.values.get(NEXT_FIELD) or request.path),
        code_field=CODE_FIELD,
        next_field=NEXT_FIELD,
        error=error,
        notice=_text(Code.STUDIO_CLOSED if closed else Code.STUDIO_SIGN_IN_NEEDED, lang),
    )
    return make_response(html, status)


@bp.before_request
def guard() -> BaseResponse | None:
    """No studio without a sign-in: 401 and the sign-in form in its place. Every POST carries the
    session's CSRF token."""
    g.setdefault(CSP_NONCE, secrets.token_urlsafe(16))
    if request.method == "POST":
        check_csrf()
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    if api.current_identity() is None:
        return _signin_page(401)
    return None


@bp.get("/signin")
def signin() -> BaseResponse:
    if api.current_identity() is not None:
        return redirect(safe_next(request.args.get(NEXT_FIELD) or url_for(".index")), 303)
    return _signin_page(200)


@bp.post("/signin")
def signin_submit() -> BaseResponse:
    """Sign in with the admin token (edit) or the read-only token (view); 403 and the form again."""
    if api.sign_in(request.form.get(CODE_FIELD, "")) is not None:
        return redirect(safe_next(request.form.get(NEXT_FIELD) or url_for(".index")), 303)
    return _signin_page(403, _text(Code.ACCESS_CODE_WRONG, page_lang()))


@bp.post("/signout")
def signout() -> BaseResponse:
    api.sign_out()
    return redirect(url_for(".signin"), 303)


# -- what the pages show -------------------------------------------------------------------------


def rule_sheet(rs: RuleSet, lang: Lang, book: Rulebook | None = None) -> dict[str, Any]:
    """The table view's data, the studio API's sheet (docs/studio-api.md): the model, the analysis
    and each example decided by ``book`` (default: the serving engine; a draft's own rulebook for a
    draft) (:func:`engine.rules.sheet.build_sheet`)."""
    book = book or get_rulebook()
    found = build_sheet(rs, example_decisions(book, rs), lang, digest=ruleset_digest(rs))
    # The default answers what no row matches: a last row without conditions.
    found["default"] = {"id": "", "line": 0, "cells": {}, "other": [], "marks": [],
                        "covered": True, **found["default"]}  # fmt: skip
    return found


def _tariff_digest(book: TariffBook | None, tariff: Tariff) -> str:
    return book.digest(tariff) if book is not None else ""


def _rule_rows(lang: Lang) -> list[dict[str, Any]]:
    book = get_rulebook()
    rows = []
    for rid in book.ids():
        rs = book.shown_version(rid)
        found = rule_sheet(rs, lang)
        rows.append(
            {
                "ruleset": rs,
                "versions": [v.version for v in book.versions(rid)],
                "digest": ruleset_digest(rs),
                "findings": len(found["marks"]) + sum(len(r["marks"]) for r in found["rows"]),
                "rules": len(found["rows"]),
                "uncovered": len(found["uncovered"]),
                "examples": len(rs.examples),
            }
        )
    return rows


def _tariff_rows() -> list[dict[str, Any]]:
    tariffs = loaded_tariffs()
    if tariffs is None:
        return []
    rows = []
    for tid in tariffs.ids():
        versions = tariffs.versions(tid)
        shown = _shown_tariff(versions)
        rows.append(
            {
                "tariff": shown,
                "versions": [t.version for t in versions],
                "digest": _tariff_digest(tariffs, shown),
                "figures": len(shown.figures),
                "items": len(shown.items),
                "examples": len(shown.examples),
            }
        )
    return rows


def _shown_tariff(versions: list[Tariff]) -> Tariff:
    """The version to show: the one in force today, else the newest (as for rule sets)."""
    today = today_in_tokyo()
    return next((t for t in reversed(versions) if t.in_force(today)), versions[-1])


def _page(template: str, **context: Any) -> str:
    lang = page_lang()
    who = api.current_identity()
    may_publish = who is not None and who.may_publish
    return render_template(
        f"studio/{template}",
        lang=lang,
        who=who,
        may_publish=may_publish,
        view_only_note=None if may_publish else _text(Code.STUDIO_VIEW_ONLY, lang),
        **context,
    )


@bp.get("/")
def index() -> str:
    """Every rule set and tariff: version, digest, analysis findings and coverage."""
    return _page("index.html", rules=_rule_rows(page_lang()), tariffs=_tariff_rows())


def _file_text(folder: Path, file: str) -> str:
    """The file as it is in the served folder (the editor's starting draft)."""
    path = folder / Path(file).name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _rules_folder() -> Path:
    return Path(current_app.config.get("RULES_DIR") or rules_dir())


def _tariffs_folder() -> Path:
    return Path(current_app.config.get("TARIFFS_DIR") or tariffs_dir())


def _js_messages(lang: Lang) -> dict[str, str]:
    """The catalogue texts the script shows, with ``{name}`` left for it to fill."""
    names = {
        Code.STUDIO_CHECKING: {},
        Code.STUDIO_CHECK_CLEAN: {"warnings": "{warnings}"},
        Code.STUDIO_CHECK_ERRORS: {"errors": "{errors}", "warnings": "{warnings}"},
        Code.STUDIO_EXAMPLE_ADDED: {},
        Code.STUDIO_PUBLISHED: {"version": "{version}"},
        Code.STUDIO_PUBLISH_REFUSED: {},
        Code.STUDIO_REASON_NEEDED: {},
        Code.STUDIO_UNCHANGED: {},
        Code.STUDIO_REQUEST_FAILED: {"status": "{status}"},
        Code.STUDIO_ROLLED_BACK: {"version": "{version}"},
        Code.STUDIO_IMPACT_SUMMARY: {"replayed": "{replayed}", "changed": "{changed}"},
        Code.STUDIO_IMPACT_NO_LOG: {},
        Code.STUDIO_EXAMPLES_SUMMARY: {"passed": "{passed}", "failed": "{failed}"},
        Code.STUDIO_NO_PUBLISHES: {},
    }
    return {code.value: _text(code, lang, **params) for code, params in names.items()}


#: Words the script puts beside what it draws (the trace's marks for screen readers, the quote's
#: columns, the history's diff).
_LABELS: dict[str, Text] = {
    "held": Text("成立", "held"),
    "failed": Text("不成立", "failed"),
    "unknown": Text("不明（値なし）", "unknown (no value)"),
    "diff": Text("差分", "Changes"),
    "item": Text("項目", "Item"),
    "quantity": Text("数量", "Qty"),
    "amount": Text("税抜", "Before tax"),
    "total_excluded": Text("税抜合計", "Total before tax"),
    "tax": Text("消費税", "Consumption tax"),
    "total_included": Text("税込合計", "Total with tax"),
    "yen": Text("円", "yen"),
    "reload": Text("公開した版の表を見る", "See the table of the published version"),
}


def _studio_data(kind: str, item_id: str, version: str, digest: str, lang: Lang) -> dict[str, str]:
    """What the script needs, as ``data-`` attributes of the studio's root element."""
    return {
        "kind": kind,
        "id": item_id,
        "version": version,
        "digest": digest,
        "lang": lang,
        "api": f"/v1/studio/{kind}/{item_id}",
        "publishes": "/v1/studio/publishes",
        "facts-url": url_for(".form_facts", ruleset_id=item_id) if kind == "rules" else "",
        "schema": url_for(".rule_schema") if kind == "rules" else "",
        "messages": json.dumps(_js_messages(lang), ensure_ascii=False),
        "nonce": str(g.get(CSP_NONCE, "")),
        "labels": json.dumps({k: v(lang) for k, v in _LABELS.items()}, ensure_ascii=False),
    }


@bp.get("/rules/<ruleset_id>")
def ruleset_page(ruleset_id: str) -> str:
    """The table of one rule set, with the editor, simulator, impact and publish panels."""
    lang = page_lang()
    rs = get_rulebook().shown_version(ruleset_id)
    return _ruleset_page(rs, rs, rule_sheet(rs, lang), _file_text(_rules_folder(), rs.file), lang)


@bp.post("/rules/<ruleset_id>/draft")
def draft_table_page(ruleset_id: str) -> tuple[str, int]:
    """The page with the table of the draft in the editor (its ``text`` field), the draft kept in the
    editor: a policy owner sees what an edit does to the table before publishing it. A draft that does
    not validate keeps the published version's table, with the findings listed (422)."""
    check_csrf()
    lang = page_lang()
    served = get_rulebook().shown_version(ruleset_id)
    text = request.form.get("text", "")
    draft, diagnostics = api.draft_check(ruleset_id, text, Path(served.file).name)
    if draft is None:
        errors = sum(1 for d in diagnostics if d.severity == "error")
        note = _text(Code.STUDIO_DRAFT_TABLE_REFUSED, lang, count=errors)
        page = _ruleset_page(served, served, rule_sheet(served, lang), text, lang, draft_note=note,
                             draft_findings=[str(d) for d in diagnostics])  # fmt: skip
        return page, 422
    book = Rulebook([draft])
    try:
        sheet = rule_sheet(draft, lang, book)
    finally:
        book.close()
    note = _text(Code.STUDIO_DRAFT_TABLE, lang, version=draft.version)
    return _ruleset_page(draft, served, sheet, text, lang, draft_note=note), 200


def _ruleset_page(
    shown: RuleSet, served: RuleSet, sheet: dict[str, Any], text: str, lang: Lang, **extra: Any
) -> str:
    """The rule set page with ``shown``'s table (the served version or a draft of it)."""
    digest = ruleset_digest(served)
    return _page(
        "ruleset.html",
        ruleset=served,
        sheet=sheet,
        digest=digest,
        text=text,
        file_name=Path(served.file).name,
        fields=fact_fields(shown, lang),
        coverage_note=(
            _text(Code.STUDIO_UNCOVERED, lang, count=len(sheet["uncovered"]))
            if sheet["uncovered"]
            else _text(Code.STUDIO_ALL_COVERED, lang)
        ),
        no_script=_text(Code.STUDIO_NO_SCRIPT, lang),
        data=_studio_data("rules", served.id, served.version, digest, lang),
        source_titles={s.file: s.title for s in shown.sources},
        cell_text=lambda fact, cell: cell_text(shown, fact, cell, lang),
        draft_url=url_for(".draft_table_page", ruleset_id=served.id),
        **extra,
    )


@bp.post("/rules/<ruleset_id>/facts")
def form_facts(ruleset_id: str) -> Response:
    """The simulator's form as facts (the sales form's own reading of it), for the script to send
    to the simulate endpoint; facts left unanswered are left out (the trace shows them unknown)."""
    rs = get_rulebook().shown_version(ruleset_id)
    facts, unknown = facts_from_form(rs, request.form)
    return jsonify({"facts": facts, "unknown": unknown})


@bp.get("/tariffs/<tariff_id>")
def tariff_page(tariff_id: str) -> str:
    """One tariff: figures with provenance, items, examples, the editor and a quote simulator."""
    lang = page_lang()
    tariffs = loaded_tariffs()
    versions = tariffs.versions(tariff_id) if isinstance(tariffs, TariffBook) else []
    if not versions:
        abort(404)
    shown = _shown_tariff(versions)
    digest = _tariff_digest(tariffs, shown)
    first_item = next(iter(shown.items), "")
    sample = {"items": [{"tariff": shown.id, "item": first_item, "params": {}}]}
    if shown.examples:
        sample = dict(shown.examples[0].request)
    return _page(
        "tariff.html",
        tariff=shown,
        digest=digest,
        text=_file_text(_tariffs_folder(), shown.file),
        file_name=Path(shown.file).name,
        sample=json.dumps(sample, ensure_ascii=False, indent=2),
        no_script=_text(Code.STUDIO_NO_SCRIPT, lang),
        data=_studio_data("tariffs", shown.id, shown.version, digest, lang),
    )


@bp.get("/clauses")
def clauses() -> str:
    """Every clause of every source document with its status and what cites it, each citer linked to
    its rule set's table row or its tariff (docs/clause-index.md): where a policy owner starts when a
    clause is revised."""
    found = bundled_coverage(rules=_rules_folder(), tariffs=_tariffs_folder())
    return _page("clauses.html", coverage=found, titles=SEEDS)


@bp.get("/rule-format.schema.json")
def rule_schema() -> Response:
    """The rule-file JSON Schema the editor's completion reads."""
    if not SCHEMA_FILE.is_file():
        abort(404)
    response = Response(SCHEMA_FILE.read_text(encoding="utf-8"), mimetype="application/schema+json")
    response.cache_control.max_age = 300
    return response
