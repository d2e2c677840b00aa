"""Running the examples every tariff file carries: each request is quoted and compared with ``expect``.

``expect`` lists only the fields it checks: ``totals`` (a subset of the quote's totals), ``lines`` (one
entry per quote line, in order, each a subset of that line) or ``errors`` (the exact set of field paths
a bad request must be refused with).
"""

from __future__ import annotations

from typing import Any

from .book import QuoteRequestError, TariffBook
from .model import Example, Tariff


def run_examples(book: TariffBook) -> list[str]:
    """Every example of every tariff; returns one message per failure (empty when all pass)."""
    return [
        failure
        for tariff in book.tariffs
        for example in tariff.examples
        if (failure := run_example(book, tariff, example)) is not None
    ]


def run_example(book: TariffBook, tariff: Tariff, example: Example) -> str | None:
    """One example's failure message, or None when the quote matches ``expect``."""
    where = f"{example.location}: {tariff.id} example {example.note!r}"
    expected_errors = example.expect.get("errors")
    try:
        quote = book.quote(dict(example.request))
    except QuoteRequestError as exc:
        if expected_errors is not None and sorted(exc.fields) == sorted(expected_errors):
            return None
        return f"{where}: request refused: {exc.fields}"
    if expected_errors is not None:
        return f"{where}: expected errors {expected_errors}, got a quote"
    problems = mismatches(
        {key: value for key, value in example.expect.items()},
        {key: quote[key] for key in example.expect if key in quote},
        "",
    )
    missing = [key for key in example.expect if key not in quote]
    problems.extend(f"{key}: not in the quote" for key in missing)
    return f"{where}: " + "; ".join(problems) if problems else None


def mismatches(expected: Any, actual: Any, path: str) -> list[str]:
    """Where ``actual`` differs from ``expected``; mappings compare only the expected keys."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected a mapping, got {actual!r}"]
        return [
            problem
            for key, value in expected.items()
            for problem in mismatches(value, actual.get(key, _MISSING), f"{path}.{key}")
        ]
    if isinstance(expected, list) and expected and isinstance(expected[0], dict):
        if not isinstance(actual, list) or len(actual) != len(expected):
            count = len(actual) if isinstance(actual, list) else actual
            return [f"{path}: expected {len(expected)} entries, got {count}"]
        return [
            problem
            for index, (want, got) in enumerate(zip(expected, actual, strict=True))
            for problem in mismatches(want, got, f"{path}[{index}]")
        ]
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


_MISSING = object()
