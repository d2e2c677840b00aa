"""The sales page: pick a check, fill the form generated from its facts, read the cited answer.

Server-rendered and usable without JavaScript. Japanese first; ``?lang=en`` switches to English and is
remembered in a cookie. The page asks the same engine the API asks, through the same rulebook accessor.
Who may use it and the CSRF token of every form are :mod:`webapp.security`'s: its guard runs before
every view here, so a refused request decides nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from engine import FactsError, NoVersionInForceError
from engine.messages import Code, Message, localized
from engine.messages.language import Lang
from engine.rules.model import RuleSet

from .forms import AS_OF_FIELD, as_of_from_form, facts_from_form, form_fields
from .i18n import LANG_COOKIE, as_lang, page_lang
from .page_quotes import quote_for_decision
from .problems import message_lists, problem_for_engine_error
from .security import page_access_code, page_guard, safe_next, sign_in, sign_out
from .state import get_rulebook

bp = Blueprint("pages", __name__)
bp.before_request(page_guard)

ONE_YEAR = 365 * 24 * 3600
#: The sign-in form's fields: the access code, and the page to return to.
CODE_FIELD, NEXT_FIELD = "access_code", "next"


@bp.after_request
def remember_language(response: Response) -> Response:
    """Keep an explicit ``?lang=`` choice for the next pages (a cookie scripts cannot read, sent on
    links from other sites, ``Secure`` over https)."""
    chosen = as_lang(request.args.get("lang"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR, samesite="Lax", httponly=True,
                            secure=request.is_secure)  # fmt: skip
    return response


def _signin_page(status: int = 200, error: str | None = None) -> Response:
    lang = page_lang()
    target = safe_next(request.values.get(NEXT_FIELD))
    html = render_template("signin.html", lang=lang, next=target, code_field=CODE_FIELD,
                           next_field=NEXT_FIELD, error=error)  # fmt: skip
    return make_response(html, status)


@bp.get("/signin")
def signin() -> BaseResponse:
    """The access-code form; with no code configured there is nothing to sign in to."""
    if page_access_code() is None:
        return redirect(safe_next(request.args.get(NEXT_FIELD)), 303)
    return _signin_page()


@bp.post("/signin")
def signin_submit() -> BaseResponse:
    """Sign in with the access code (403 and the form again when it is wrong)."""
    if page_access_code() is None or sign_in(request.form.get(CODE_FIELD, "")):
        return redirect(safe_next(request.form.get(NEXT_FIELD)), 303)
    return _signin_page(403, localized(Message(Code.ACCESS_CODE_WRONG), page_lang()))


@bp.post("/signout")
def signout() -> BaseResponse:
    sign_out()
    return redirect(url_for("pages.signin"), 303)


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
