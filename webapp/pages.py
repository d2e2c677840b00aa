"""The sales workspace: pick what the customer wants, answer its questions, hand over the answer.

Server-rendered and usable without JavaScript. Japanese first; ``?lang=en`` switches to English and is
remembered in a cookie. The start page groups the situations of :mod:`webapp.sales.situations` by
product and by what the customer wants; each situation page runs every check and the quote of the
order in one answer (:mod:`webapp.sales.answer`), with a reference, a permalink that shows the recorded
answer again (:mod:`webapp.sales.records`) and a print view. Every rule set also has its own page.
Who may use it and the CSRF token of every form are :mod:`webapp.security`'s: its guard runs before
every view here, so a refused request decides nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from engine.messages import Code, Message, localized
from engine.messages.catalogue import CATALOGUE
from engine.messages.language import Text

from .i18n import LANG_COOKIE, as_lang, page_lang
from .logs import current_request_id
from .problems import Problem
from .sales import situation_title, source_titles, start_page
from .sales.answer import FormProblem, answer
from .sales.form import build_form, read_submission
from .sales.records import encode_quote, recorded_answer, records_of
from .sales.situations import BY_ID, Situation, When, single_check
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


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    """``msg(code, **params)``: a catalogue text in the page's language; ``localize(message)``."""
    lang = page_lang()

    def msg(code: str, **params: object) -> Markup:
        """Parameters are escaped (Markup ones, e.g. a macro's output, are kept as they are)."""
        return Markup(CATALOGUE[Code(code.lower())](lang)).format(**params)

    def localize(message: object) -> str:
        """A form error (a coded message, a bilingual text or plain text) in the page's language."""
        if isinstance(message, Text):
            return message(lang)
        return localized(message, lang) if isinstance(message, str) else str(message)

    def quoted(labels: list[str]) -> Markup:
        """Value labels in quotation marks, joined by "or"."""
        marks = ("「", "」") if lang == "ja" else ("\u201c", "\u201d")
        return msg("sales_or").join(
            Markup("{}{}{}").format(marks[0], label, marks[1]) for label in labels
        )

    def when_text(when: When, code: str = "sales_quote_only_if") -> Markup:
        """When a check or a quote item applies, in the words of the question it depends on."""
        spec = get_rulebook().shown_version(when.ruleset).fact(when.fact)
        value = next((v.label(lang) for v in spec.values if v.value == when.value), None)
        if value is None:
            value = msg("sales_yes") if when.value == "true" else msg("sales_no")
        return msg(code, fact=spec.label(lang), value=value)

    return {"msg": msg, "localize": localize, "quoted": quoted, "when_text": when_text,
            "yen": lambda n: f"{n:,}"}  # fmt: skip


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
    """The start page: situations by product and by what the customer wants, with search."""
    lang = page_lang()
    query = request.args.get("q", "").strip()[:100]
    page = start_page(lang, query)
    return render_template("index.html", lang=lang, page=page, query=query)


# --- situation pages ------------------------------------------------------------------------------


def _situation(situation_id: str) -> Situation:
    found = BY_ID.get(situation_id)
    if found is None:
        raise Problem("not-found", Message(Code.SALES_SITUATION_NOT_FOUND, situation=situation_id))
    return found


def _action(situation: Situation) -> str:
    if situation.title is None:
        return url_for("pages.check_submit", ruleset_id=situation.checks[0].ruleset)
    return url_for("pages.situation_submit", situation_id=situation.id)


def _render(situation: Situation, status: int = 200, **context: Any) -> Response:
    lang = page_lang()
    context.setdefault("form", build_form(situation, lang))
    html = render_template(
        "situation.html",
        lang=lang,
        situation=situation,
        title=situation_title(situation, lang),
        action=_action(situation),
        sources=source_titles(),
        **context,
    )
    return make_response(html, status)


def _submit(situation: Situation) -> Response:
    """Answer the whole order; on bad input show the form with the messages next to the fields (422)."""
    lang = page_lang()
    blank = build_form(situation, lang)
    sub = read_submission(blank, request.form)
    try:
        result = answer(sub, lang, current_request_id())
    except FormProblem as problem:
        form = build_form(situation, lang, request.form, problem.errors)
        return _render(situation, 422, form=form, general=problem.errors.get("__general", []))
    form = build_form(situation, lang, request.form)
    permalink = print_link = None
    if result.reference is not None:
        quoted_items = encode_quote(sub.quote_items) or None
        permalink, print_link = _links(result.reference, situation.id, quoted_items)
    return _render(situation, form=form, result=result, permalink=permalink, print_link=print_link)


@bp.get("/s/<situation_id>")
def situation_form(situation_id: str) -> Response:
    return _render(_situation(situation_id))


@bp.post("/s/<situation_id>")
def situation_submit(situation_id: str) -> Response:
    return _submit(_situation(situation_id))


@bp.get("/checks/<ruleset_id>")
def check_form(ruleset_id: str) -> Response:
    get_rulebook().versions(ruleset_id)  # 404 for an unknown rule set
    return _render(single_check(ruleset_id))


@bp.post("/checks/<ruleset_id>")
def check_submit(ruleset_id: str) -> Response:
    get_rulebook().versions(ruleset_id)
    return _submit(single_check(ruleset_id))


# --- recorded answers -----------------------------------------------------------------------------


@bp.get("/answers/<reference>")
def recorded(reference: str) -> Response:
    """A recorded answer again, from the decision log (``?view=print``: the sheet to hand over)."""
    lang = page_lang()
    records = records_of(reference[:128])
    if not records:
        raise Problem("not-found", Message(Code.SALES_RECORD_NOT_FOUND, reference=reference[:128]))
    situation = BY_ID.get(request.args.get("s", "")) or single_check(records[0].ruleset)
    result, unexplained = recorded_answer(records, request.args.get("q"), lang)
    printing = request.args.get("view") == "print"
    permalink, print_link = _links(reference, request.args.get("s"), request.args.get("q"))
    html = render_template(
        "print.html" if printing else "recorded.html",
        lang=lang,
        situation=situation,
        title=situation_title(situation, lang),
        result=result,
        unexplained=unexplained,
        recorded_at=records[0].decided_at,
        sources=source_titles(),
        permalink=permalink,
        print_link=print_link,
        form_link=_form_link(situation),
    )
    return make_response(html)


def _links(reference: str, situation_id: str | None, quote: str | None) -> tuple[str, str]:
    """The permalink of a recorded answer (absolute, to hand over) and its print view."""
    permalink = url_for(
        "pages.recorded", reference=reference, s=situation_id, q=quote, _external=True
    )
    printed = url_for("pages.recorded", reference=reference, s=situation_id, q=quote, view="print")
    return permalink, printed


def _form_link(situation: Situation) -> str:
    if situation.title is None:
        return url_for("pages.check_form", ruleset_id=situation.checks[0].ruleset)
    return url_for("pages.situation_form", situation_id=situation.id)
