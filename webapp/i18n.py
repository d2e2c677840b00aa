"""Language choice: which of Japanese and English a request, a page or a template text is answered in.

Texts come in both languages from where they are written: rule and tariff files, and the message
catalogue (:mod:`engine.messages`) for every error the engine or the web layer reports. Nothing here
translates; a view only picks the language and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from engine.messages.language import LANGUAGES, Lang

DEFAULT_LANG: Lang = "ja"
LANG_COOKIE = "lang"


def as_lang(value: str | None) -> Lang | None:
    """``value`` if it names a supported language, else ``None``."""
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return None


@lru_cache(maxsize=256)
def lang_for(accept_language: str | None) -> Lang:
    """The language for an ``Accept-Language`` header (ja or en), Japanese when absent or unsupported.

    Parsed as Werkzeug parses ``request.accept_languages``; callers send few distinct headers, so the
    answers are cached.
    """
    best = parse_accept_header(accept_language, LanguageAccept).best_match(
        LANGUAGES, default=DEFAULT_LANG
    )
    return as_lang(best) or DEFAULT_LANG


def api_lang() -> Lang:
    """The API's language: ``Accept-Language`` (ja or en), Japanese when absent or unsupported."""
    return lang_for(request.headers.get("Accept-Language"))


def page_lang() -> Lang:
    """The page's language: ``?lang=`` first, then the cookie, then ``Accept-Language``."""
    return (
        as_lang(request.args.get("lang")) or as_lang(request.cookies.get(LANG_COOKIE)) or api_lang()
    )


def one_language(value: Any, lang: Lang) -> Any:
    """``value`` (JSON data) with every text given in both languages — an object holding exactly
    ``ja`` and ``en`` strings, as :meth:`Text.to_dict` writes it — replaced by its text in ``lang``.

    The engines return bilingual texts (a quote's descriptions, warnings, gaps and notes) because
    the language is the caller's choice; the API answers in one, as its decisions do, and picks it
    here, at the edge. It runs on every quote the API answers, so the leaves (most of the values)
    are kept where they are met instead of by a call each: half the time, the same result."""
    if isinstance(value, dict):
        if value.keys() == _BOTH and all(isinstance(v, str) for v in value.values()):
            return value[lang]
        return {
            key: item if type(item) in _LEAVES else one_language(item, lang)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _LEAVES else one_language(item, lang) for item in value]
    return value


_BOTH = frozenset(LANGUAGES)
#: Values :func:`one_language` returns as they are (exact types: a subclass of dict is walked).
_LEAVES = frozenset({str, int, bool, float, type(None)})


def _content_language(response: Response) -> Response:
    """Every answer says its language: a page's (HTML) for pages, else the API's; an answer that set
    it already (a decision, a problem) keeps its own."""
    if "Content-Language" not in response.headers:
        page = response.mimetype == "text/html" or request.blueprint == "pages"
        response.headers["Content-Language"] = page_lang() if page else api_lang()
    return response


def translator() -> Callable[[str, str], str]:
    """``t(ja, en)`` for templates: the text in the page's language."""
    lang = page_lang()
    return lambda ja, en: en if lang == "en" else ja


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"t": translator()})
    app.after_request(_content_language)
