"""Quotes and the combined order check: several eligibility decisions and one itemised quote together.

An order is checked as a whole: if any part of it is invalid (an unknown rule set, a bad fact, a bad quote
item, a bad envelope) the whole request is refused with every bad field of every part named in one
answer (``checks.1.facts.prefecture`` and ``quote.items.0.params.units`` together), so an order system
fixes its order once, and never acts on half an answer. Nothing of a refused order is logged: its
decisions are made first and logged only once the whole order is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import ValidationError

from engine import Decision, EngineError, Rulebook, UnknownRuleSetError, today_in_tokyo
from engine.messages.language import Lang
from engine.rules.model import OutcomeKind

from .problems import (
    FieldErrors,
    Problem,
    flatten_messages,
    invalid_fields,
    prefixed,
    problem_for_engine_error,
    remember_sent,
    with_sent,
)
from .schemas import MAX_ORDER_CHECKS, ORDER_REQUEST
from .state import get_rulebook, get_tariffs

#: How a set of decisions sums up: one refusal outweighs an open question, which outweighs a yes.
KIND_ORDER = (OutcomeKind.NEGATIVE, OutcomeKind.UNDECIDABLE, OutcomeKind.POSITIVE)

Errors = dict[str, list[str]]


def quote(request: Mapping[str, Any], as_of: date | None, prefix: str) -> dict[str, Any]:
    """Price a quote request; field errors come back under ``prefix`` (``quote`` in an order).

    The quote is the tariff engine's, texts in both languages (the API picks one at its edge)."""
    priced, errors = _price(request, as_of, prefix)
    if errors:
        raise invalid_fields(errors)
    assert priced is not None
    return priced


def _price(
    request: object, as_of: date | None, prefix: str
) -> tuple[dict[str, Any] | None, Errors]:
    """The quote, or every bad field of the request (under ``prefix``), each remembering the value
    refused so that the answer can suggest the closest allowed one."""
    book = get_tariffs()
    try:
        result: dict[str, Any] = book.quote(
            dict(request) if isinstance(request, Mapping) else request, as_of
        )
    except EngineError as exc:
        problem = problem_for_engine_error(exc)
        if problem is None or problem.slug != "invalid-fields":
            raise problem or exc from None
        errors = remember_sent(problem.errors, request)
        return None, prefixed(errors, prefix) if prefix else dict(errors)
    return result, {}


def overall_kind(decisions: list[Decision]) -> OutcomeKind:
    """negative if any decision is negative, else undecidable if any is, else positive."""
    kinds = {d.kind for d in decisions}
    return next((k for k in KIND_ORDER if k in kinds), OutcomeKind.POSITIVE)


def _decide(book: Rulebook, index: int, check: Mapping[str, Any], day: date) -> Decision | Errors:
    """One check decided (not logged yet), or its errors under ``checks.<index>``."""
    try:
        return book.decider(check["ruleset"], day).decide(check["facts"], day)
    except UnknownRuleSetError as exc:
        refused = with_sent(exc.message, exc.ruleset_id, exc.known)
        return {f"checks.{index}.ruleset": [refused]}
    except EngineError as exc:
        problem = problem_for_engine_error(exc)
        if problem is None:
            raise
        return _check_errors(problem, index)


def _check_errors(problem: Problem, index: int) -> Errors:
    """A problem of one check as field errors under ``checks.<index>`` (a version not in force on
    the order's date: ``as_of``)."""
    if problem.slug == "invalid-fields":
        return prefixed(problem.errors, f"checks.{index}")
    return {name: list(messages) for name, messages in problem.errors.items()}


def _decide_all(checks: list[Mapping[str, Any]], day: date) -> tuple[list[Decision], Errors]:
    """Decide every check; collect every bad field of every check."""
    book = get_rulebook()
    decisions: list[Decision] = []
    errors: Errors = {}
    for index, check in enumerate(checks):
        found = _decide(book, index, check, day)
        if isinstance(found, Decision):
            decisions.append(found)
        else:
            _merge(errors, found)
    return decisions, errors


def _merge(errors: Errors, more: FieldErrors) -> None:
    """Add ``more``, each message once (a check's ``as_of`` is every check's)."""
    for name, messages in more.items():
        known = errors.setdefault(name, [])
        known.extend(m for m in messages if m not in known)


@dataclass(frozen=True)
class DecidedOrder:
    """An order decided, logged and priced: its decision date, decisions and quote (bilingual)."""

    day: date
    decisions: list[Decision]
    quote: dict[str, Any] | None


def decide_order(body: Mapping[str, Any], raw_quote: Any) -> DecidedOrder:
    """Every decision of the order and, when asked for, its quote; the decisions are logged once
    the whole order is answered (the sales page reads the decisions themselves, for their what-ifs).

    ``body`` is the validated order; ``raw_quote`` the quote request as sent, for the tariff engine.
    :raises Problem: 422 naming every bad field of every check and of the quote.
    """
    day: date = body["as_of"] or today_in_tokyo()
    decisions, errors = _decide_all(body["checks"], day)
    priced = None
    if body["quote"] is not None:
        quote_day = body["quote"]["as_of"] or body["as_of"]
        priced, quote_errors = _price(raw_quote, quote_day, "quote")
        _merge(errors, quote_errors)
    if errors:
        raise invalid_fields(errors)
    get_rulebook().record(decisions)
    return DecidedOrder(day, decisions, priced)


def check(body: Mapping[str, Any], raw_quote: Any, lang: Lang) -> dict[str, Any]:
    """:func:`decide_order`, as the API answers it."""
    order = decide_order(body, raw_quote)
    return {
        "as_of": order.day.isoformat(),
        "overall": overall_kind(order.decisions).value,
        "checks": [{"ruleset": d.ruleset.id, "decision": d.to_dict(lang)} for d in order.decisions],
        "quote": order.quote,
    }


def check_order(data: Any, lang: Lang) -> dict[str, Any]:
    """:func:`check` of an order as sent: a bad envelope is refused together with every error the
    engines find in the parts of the order that can be read."""
    try:
        body: dict[str, Any] = ORDER_REQUEST.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()  # type: ignore[no-untyped-call]
        errors: Errors = flatten_messages(messages)
        _merge(errors, _readable_parts_errors(data, errors))
        raise invalid_fields(errors) from None
    return check(body, data.get("quote"), lang)


def _readable_parts_errors(data: Any, envelope: Errors) -> Errors:
    """What the rules and the tariffs refuse in the checks and the quote of an order whose envelope
    is bad, for each part whose own envelope is fine (its fields not named already)."""
    if not isinstance(data, Mapping):
        return {}
    day = _date_or_none(data.get("as_of")) or today_in_tokyo()
    errors: Errors = {}
    checks = data.get("checks")
    if isinstance(checks, list) and len(checks) <= MAX_ORDER_CHECKS:
        book = get_rulebook()
        for index, item in enumerate(checks):
            readable = (
                isinstance(item, Mapping)
                and isinstance(item.get("ruleset"), str)
                and isinstance(item.get("facts"), Mapping)
            )
            if readable and not _names(envelope, f"checks.{index}"):
                found = _decide(book, index, item, day)
                if not isinstance(found, Decision):
                    _merge(errors, found)
    raw_quote = data.get("quote")
    if isinstance(raw_quote, Mapping):
        as_of = None if raw_quote.get("as_of") is not None else day
        _, quote_errors = _price(raw_quote, as_of, "quote")
        _merge(errors, {k: v for k, v in quote_errors.items() if k not in envelope})
    return errors


def _names(errors: Errors, path: str) -> bool:
    return any(name == path or name.startswith(f"{path}.") for name in errors)


def _date_or_none(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
