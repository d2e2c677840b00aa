"""Language choice: which of Japanese and English a request, a page or a template text is answered in.

Texts come in both languages from where they are written: rule and tariff files, and the message
catalogue (:mod:`engine.messages`) for every error the engine or the web layer reports. Nothing here
translates; a view only picks the language and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from flask import Flask, request
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


def translator() -> Callable[[str, str], str]:
    """``t(ja, en)`` for templates: the text in the page's language."""
    lang = page_lang()
    return lambda ja, en: en if lang == "en" else ja


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"t": translator()})
