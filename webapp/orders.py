"""Quotes and the combined order check: several eligibility decisions and one itemised quote together.

An order is checked as a whole: if any part of it is invalid (an unknown rule set, a bad fact, a bad quote
item) the whole request is refused with every bad field named (``checks.1.facts.prefecture``,
``quote.items.0.params.units``), so an order system never acts on half an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from engine import Decision, EngineError, today_in_tokyo
from engine.messages.language import Lang, Text
from engine.rules.model import OutcomeKind

from .problems import Problem, invalid_fields, prefixed, problem_for_engine_error
from .state import get_rulebook, get_tariffs

#: How a set of decisions sums up: one refusal outweighs an open question, which outweighs a yes.
KIND_ORDER = (OutcomeKind.NEGATIVE, OutcomeKind.UNDECIDABLE, OutcomeKind.POSITIVE)


def quote(request: Mapping[str, Any], as_of: date | None, prefix: str) -> dict[str, Any]:
    """Price a quote request; field errors come back under ``prefix`` (``quote`` in an order)."""
    book = get_tariffs()
    try:
        result: dict[str, Any] = book.quote(dict(request), as_of)
    except EngineError as exc:
        problem = problem_for_engine_error(exc)
        if problem is None:
            raise
        if prefix and problem.slug == "invalid-fields":
            problem = invalid_fields(prefixed(problem.errors, prefix))
        raise problem from None
    return result


def overall_kind(decisions: list[Decision]) -> OutcomeKind:
    """negative if any decision is negative, else undecidable if any is, else positive."""
    kinds = {d.kind for d in decisions}
    return next((k for k in KIND_ORDER if k in kinds), OutcomeKind.POSITIVE)


def _decide_all(checks: list[dict[str, Any]], day: date) -> list[Decision]:
    """Decide every check; collect every bad field of every check before refusing."""
    book = get_rulebook()
    decisions: list[Decision] = []
    errors: dict[str, list[str]] = {}
    for index, check in enumerate(checks):
        try:
            decisions.append(book.decide(check["ruleset"], check["facts"], day))
        except EngineError as exc:
            problem = problem_for_engine_error(exc)
            if problem is None:
                raise
            errors.update(_check_errors(problem, index))
    if errors:
        raise invalid_fields(errors)
    return decisions


def _check_errors(problem: Problem, index: int) -> dict[str, list[str]]:
    """A problem of one check as field errors under ``checks.<index>``."""
    if problem.slug == "invalid-fields":
        return prefixed(problem.errors, f"checks.{index}")
    message = problem.detail.en if isinstance(problem.detail, Text) else problem.detail
    field = f"checks.{index}.ruleset" if problem.slug == "unknown-ruleset" else "as_of"
    return {field: [message]}


def check(body: Mapping[str, Any], raw_quote: Any, lang: Lang) -> dict[str, Any]:
    """Every decision of the order and, when asked for, its quote.

    ``body`` is the validated order; ``raw_quote`` the quote request as sent, for the tariff engine.
    """
    day: date = body["as_of"] or today_in_tokyo()
    decisions = _decide_all(body["checks"], day)
    priced = None
    if body["quote"] is not None:
        quote_day = body["quote"]["as_of"] or body["as_of"]
        priced = quote(raw_quote, quote_day, "quote")
    return {
        "as_of": day.isoformat(),
        "overall": overall_kind(decisions).value,
        "checks": [{"ruleset": d.ruleset.id, "decision": d.to_dict(lang)} for d in decisions],
        "quote": priced,
    }
