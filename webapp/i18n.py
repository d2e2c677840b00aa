"""Language choice and the few texts the web layer writes itself (titles, field messages).

Rule texts come in both languages from the rule files; this module only covers what the web app adds:
problem titles and marshmallow's English field messages, translated where we know them. An unknown message
stays in English rather than being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from engine.format.common import LANGUAGES, Lang

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


def _range_ja(match: re.Match[str]) -> str:
    parts = []
    if match.group("min"):
        parts.append(f"{match.group('min')}以上")
    if match.group("max"):
        parts.append(f"{match.group('max')}以下")
    return "".join(parts) + "の値にしてください。"


_EXACT_JA: dict[str, str] = {
    "Missing data for required field.": "必須の項目です。",
    "Unknown field.": "定義されていない項目です。",
    "Not a valid boolean.": "true または false で指定してください。",
    "Not a valid integer.": "整数で指定してください。",
    "Not a valid string.": "文字列で指定してください。",
    "Not a valid date.": "日付（YYYY-MM-DD）で指定してください。",
    "Not a valid list.": "配列で指定してください。",
    "Not a valid mapping type.": "オブジェクトで指定してください。",
    "Invalid input type.": "入力の型が正しくありません。",
    "Items must not repeat.": "同じ値を重ねて指定できません。",
    "Facts must be a JSON object.": "facts は JSON オブジェクトで指定してください。",
    "Field may not be null.": "null は指定できません。",
    "Shorter than minimum length 1.": "1件以上指定してください。",
}

_PATTERNS_JA: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), lambda m: f"次のいずれかを指定してください: {m['choices']}。"),
    (
        re.compile(
            r"^Must be (?:greater than or equal to (?P<min>-?\d+))?(?: and )?"
            r"(?:less than or equal to (?P<max>-?\d+))?\.$"
        ),
        _range_ja,
    ),
    (re.compile(r"^Rule set '(?P<id>[^']*)' does not exist\.$"), lambda m: f"判定ルール '{m['id']}' はありません。"),
    (re.compile(r"^No version of '(?P<id>[^']*)' is in force on (?P<day>[\d-]+)\.$"),
     lambda m: f"{m['day']} に有効な '{m['id']}' の版はありません。"),
    (re.compile(r"^Longer than maximum length (?P<n>\d+)\.$"), lambda m: f"{m['n']}件（文字）以内にしてください。"),
]  # fmt: skip


def translate_message(message: str, lang: Lang) -> str:
    """marshmallow's English message in ``lang`` (unchanged for English or when not known)."""
    if lang == "en":
        return message
    if message in _EXACT_JA:
        return _EXACT_JA[message]
    for pattern, render in _PATTERNS_JA:
        match = pattern.match(message)
        if match:
            return render(match)
    return message


def translator() -> Callable[[str, str], str]:
    """``t(ja, en)`` for templates: the text in the page's language."""
    lang = page_lang()
    return lambda ja, en: en if lang == "en" else ja


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"t": translator()})
