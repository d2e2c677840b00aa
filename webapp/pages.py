"""The sales page: pick a check, fill the form generated from its facts, read the cited answer.

Server-rendered and usable without JavaScript. Japanese first; ``?lang=en`` switches to English and is
remembered in a cookie. The page asks the same engine the API asks, through the same rulebook accessor.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, render_template, request

from engine import FactsError, NoVersionInForceError
from engine.messages import localized
from engine.messages.language import Lang
from engine.rules.model import RuleSet

from .forms import AS_OF_FIELD, as_of_from_form, facts_from_form, form_fields
from .i18n import LANG_COOKIE, as_lang, page_lang
from .page_quotes import quote_for_decision
from .problems import message_lists, problem_for_engine_error
from .state import get_rulebook

bp = Blueprint("pages", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.after_request
def remember_language(response: Response) -> Response:
    """Keep an explicit ``?lang=`` choice for the next pages."""
    chosen = as_lang(request.args.get("lang"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR, samesite="Lax")
    return response


@bp.get("/")
def index() -> str:
    book = get_rulebook()
    rulesets = [book.shown_version(rid) for rid in book.ids()]
    return render_template("index.html", rulesets=rulesets, lang=page_lang())


def _translated(errors: dict[str, list[str]], lang: Lang) -> dict[str, list[str]]:
    return {k: [localized(m, lang) for m in v] for k, v in errors.items()}


def _source_titles(rs: RuleSet) -> dict[str, str]:
    return {s.file: s.title for s in rs.sources}


def _render_check(rs: RuleSet, lang: Lang, status: int = 200, **context: Any) -> Response:
    context.setdefault("fields", form_fields(rs, lang))
    html = render_template(
        "check.html",
        ruleset=rs,
        lang=lang,
        as_of_field=AS_OF_FIELD,
        source_titles=_source_titles(rs),
        **context,
    )
    return make_response(html, status)


@bp.get("/checks/<ruleset_id>")
def check_form(ruleset_id: str) -> Response:
    rs = get_rulebook().shown_version(ruleset_id)
    return _render_check(rs, page_lang())


def _invalid(
    rs: RuleSet,
    lang: Lang,
    fact_errors: dict[str, list[str]] | None = None,
    as_of_errors: list[str] | None = None,
) -> Response:
    """The form again, each message next to its field, with a summary on top (HTTP 422)."""
    fields = form_fields(rs, lang, request.form, _translated(fact_errors or {}, lang))
    return _render_check(
        rs,
        lang,
        422,
        fields=fields,
        as_of=request.form.get(AS_OF_FIELD, ""),
        as_of_errors=[localized(m, lang) for m in as_of_errors or []],
        has_errors=True,
    )


@bp.post("/checks/<ruleset_id>")
def check_submit(ruleset_id: str) -> Response:
    """Decide from the submitted form; on bad input show the form with the messages (422)."""
    lang = page_lang()
    book = get_rulebook()
    rs = book.shown_version(ruleset_id)
    as_of, as_of_errors = as_of_from_form(request.form)
    if as_of_errors:
        return _invalid(rs, lang, as_of_errors=as_of_errors)
    try:
        decision = book.decide(ruleset_id, facts_from_form(rs, request.form), as_of)
    except FactsError as exc:
        return _invalid(rs, lang, fact_errors=message_lists(exc.fields))
    except NoVersionInForceError as exc:
        problem = problem_for_engine_error(exc)
        return _invalid(rs, lang, as_of_errors=list(problem.errors["as_of"]) if problem else [])
    return _render_check(
        decision.ruleset,
        lang,
        fields=form_fields(decision.ruleset, lang, request.form),
        as_of=request.form.get(AS_OF_FIELD, ""),
        result=decision.to_dict(lang),
        quote=quote_for_decision(decision, lang),
    )
