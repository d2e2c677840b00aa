"""Texts a quote serves read in their own language: no English sentence inside a Japanese text (the
late-interest warning once carried one), no half-width space between two Japanese characters, and no
English text that calls the source documents "the seed"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine.paths import PROJECT_ROOT
from engine.tariff import QuoteRequestError, load_tariffs

BOOK = load_tariffs(PROJECT_ROOT / "tariffs")
ENGLISH_RUN = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")
JAPANESE = r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"
SPACED = re.compile(rf"{JAPANESE} {JAPANESE}")


def _texts(value: Any, lang: str) -> Iterator[str]:
    """Every ``{ja, en}`` text's ``lang`` side anywhere in a JSON value."""
    if isinstance(value, dict):
        if isinstance(value.get("ja"), str) and isinstance(value.get("en"), str):
            yield value[lang]
        for inner in value.values():
            yield from _texts(inner, lang)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner, lang)


def _served() -> Iterator[tuple[str, Any]]:
    for tariff in BOOK.tariffs:
        yield f"{tariff.id} describe", BOOK.describe(tariff.id, tariff.effective_from)
        for example in tariff.examples:
            try:
                yield f"{tariff.id}: {example.note}", BOOK.quote(dict(example.request))
            except QuoteRequestError:
                continue


SERVED = list(_served())


@pytest.mark.parametrize(("where", "served"), SERVED, ids=[w for w, _ in SERVED])
def test_japanese_texts_carry_no_english_sentence_or_spaces(where: str, served: Any) -> None:
    for ja in _texts(served, "ja"):
        assert not ENGLISH_RUN.search(ja), (where, ja)
        assert not SPACED.search(ja), (where, ja)


@pytest.mark.parametrize(("where", "served"), SERVED, ids=[w for w, _ in SERVED])
def test_english_texts_do_not_say_seed(where: str, served: Any) -> None:
    for en in _texts(served, "en"):
        assert "seed" not in en.lower(), (where, en)
