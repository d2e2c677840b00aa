"""The catalogue: the messages the service writes for people, in Japanese and English, by code.

A :class:`Code` never changes once published, whatever its texts become. Each text is a ``str.format``
template whose ``{names}`` are the message's parameters; both languages name the same parameters (checked
at import, so a catalogue that lacks a text or a parameter cannot load). The English texts are the ones
the API has always returned, byte for byte; clients and tests compare them.

The Japanese is written for a sales person to read out to a customer: polite, short, and naming what to
do. The Japanese texts clients already saw are kept as they were, including ``too_long``'s 件（文字）
(marshmallow checks a list's and a string's length with one validator; the texts for a length between
two bounds, new, are split by field kind instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter
from typing import Final

from .codes import Code
from .language import LANGUAGES, Text, has_space_between_japanese
from .texts import pages, requests

__all__ = ["CATALOGUE", "PARAMETERS", "Code"]


def _merged(*parts: Mapping[Code, Text]) -> dict[Code, Text]:
    """One catalogue from the parts; a code with texts in two parts is refused."""
    merged: dict[Code, Text] = {}
    for part in parts:
        twice = sorted(code.value for code in part if code in merged)
        if twice:
            raise ValueError(f"message codes with texts in two places: {', '.join(twice)}")
        merged.update(part)
    return merged


CATALOGUE: Final[Mapping[Code, Text]] = _merged(requests.TEXTS, pages.TEXTS)


def _parameters(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name)


def _check(catalogue: Mapping[Code, Text]) -> dict[Code, frozenset[str]]:
    """Each code's parameter names; refuses a catalogue with a code missing, the languages disagreeing
    or a half-width space between Japanese characters (Japanese is read aloud to customers)."""
    missing = [code.value for code in Code if code not in catalogue]
    if missing:
        raise LookupError(f"message codes without texts: {', '.join(missing)}")
    params: dict[Code, frozenset[str]] = {}
    for code, text in catalogue.items():
        names = {lang: _parameters(text(lang)) for lang in LANGUAGES}
        if not all(text(lang).strip() for lang in LANGUAGES) or len(set(names.values())) != 1:
            raise ValueError(f"message {code.value}: the texts must name the same parameters")
        if has_space_between_japanese(text.ja):
            raise ValueError(
                f"message {code.value}: a half-width space between Japanese characters"
            )
        params[code] = names["en"]
    return params


#: The parameters each code's texts name, so a message missing one fails where it is made, not shown.
PARAMETERS: Final[Mapping[Code, frozenset[str]]] = _check(CATALOGUE)
