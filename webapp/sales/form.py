"""A situation's form: its checks' questions and its quote items' inputs, and what a submission says.

The page asks each question once (``same_as``), asks the checks that apply only when a page answer
says so (``when``) on the same page, and prices the tariff items the seller ticks. Field names are
``<ruleset>.<fact>`` and ``q<n>.<param>``; errors come back under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine import today_in_tokyo
from engine.messages.language import Lang
from engine.rules.model import FactType, RuleSet
from engine.tariff.book import TariffBook
from engine.tariff.model import Item, Tariff

from ..forms import (
    ASKED_FIELD,
    UNCONFIRMED,
    FormData,
    FormField,
    as_of_from_form,
    fact_fields,
    facts_from_form,
    param_fields,
    params_from_form,
)
from ..state import get_rulebook, get_tariffs
from .situations import SELLER_TERMS, CheckSpec, QuoteSpec, Situation, When

#: Errors of one form: field name (``tv_application.prefecture``, ``q0.month``, ``__as_of``) → texts.
FieldErrors = Mapping[str, list[str]]


@dataclass(frozen=True)
class CheckForm:
    spec: CheckSpec
    ruleset: RuleSet
    fields: list[FormField]
    prefix: str


@dataclass(frozen=True)
class QuoteForm:
    spec: QuoteSpec
    index: int
    tariff: Tariff
    item: Item
    fields: list[FormField]
    included: bool
    skip: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"q{self.index}."

    @property
    def include_name(self) -> str:
        return f"q{self.index}"


@dataclass(frozen=True)
class SituationForm:
    situation: Situation
    checks: list[CheckForm]
    quotes: list[QuoteForm]
    as_of: str = ""
    as_of_errors: list[Any] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        fields = [f for c in self.checks for f in c.fields] + [
            f for q in self.quotes for f in q.fields
        ]
        return bool(self.as_of_errors) or any(f.errors for f in fields)


def tariff_shown(book: TariffBook, tariff_id: str, day: date | None = None) -> Tariff:
    """The version of a tariff the page describes: in force on ``day`` (today), else the newest."""
    versions = book.versions(tariff_id)
    today = day or today_in_tokyo()
    return next((t for t in reversed(versions) if t.in_force(today)), versions[-1])


def seller_skip(item: Item, spec: QuoteSpec) -> tuple[str, ...]:
    """The parameters not asked because the item takes them in the seller's terms."""
    terms = {**SELLER_TERMS, **spec.instead}
    return tuple(p for term, replaced in terms.items() if term in item.params for p in replaced)


def _scoped(errors: FieldErrors, prefix: str) -> dict[str, list[str]]:
    return {k[len(prefix) :]: v for k, v in errors.items() if k.startswith(prefix)}


def build_form(
    situation: Situation,
    lang: Lang,
    data: FormData | None = None,
    errors: FieldErrors | None = None,
    day: date | None = None,
) -> SituationForm:
    """The form of ``situation``, filled from ``data`` with ``errors`` next to their fields."""
    errors = errors or {}
    book = get_rulebook()
    checks = []
    for spec in situation.checks:
        rs = book.shown_version(spec.ruleset, day)
        prefix = situation.prefix(spec.ruleset)
        fields = fact_fields(rs, lang, data, _scoped(errors, prefix), prefix, spec.same_as)
        checks.append(CheckForm(spec, rs, fields, prefix))
    tariffs = get_tariffs()
    quotes = []
    for index, wanted in enumerate(situation.quotes):
        tariff = tariff_shown(tariffs, wanted.tariff, day)
        item = tariff.items[wanted.item]
        skip = seller_skip(item, wanted)
        prefix = f"q{index}."
        fields = param_fields(item, lang, prefix, data, _scoped(errors, prefix), skip)
        included = data is not None and bool(data.getlist(f"q{index}"))
        quotes.append(QuoteForm(wanted, index, tariff, item, fields, included, skip))
    as_of = "" if data is None else next(iter(data.getlist("__as_of")), "")
    return SituationForm(situation, checks, quotes, as_of, list(errors.get("__as_of", [])))


# --- what a submission says -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRequest:
    spec: CheckSpec
    facts: dict[str, object]
    unknown: list[str]
    #: The form field that asks each fact.
    fields: dict[str, str]


@dataclass(frozen=True)
class Submission:
    as_of: date | None
    as_of_errors: list[str]
    checks: list[CheckRequest]
    #: The quote request items, and for each the page's quote index (for its errors).
    quote_items: list[dict[str, Any]]
    quote_indexes: list[int]


def applies(situation: Situation, when: When | None, data: FormData) -> bool:
    return when is None or when.value in data.getlist(
        situation.field(f"{when.ruleset}.{when.fact}")
    )


def _shared(
    situation: Situation,
    rs: RuleSet,
    spec: CheckSpec,
    data: FormData,
    facts: dict[str, object],
    unknown: list[str],
) -> None:
    """The facts answered by another check's question (``same_as``)."""
    asked = set(data.getlist(ASKED_FIELD))
    for fact, reference in spec.same_as.items():
        other = situation.field(reference)
        sent = [v for v in data.getlist(other) if v != ""]
        fact_spec = rs.fact(fact)
        if (
            sent
            and sent[0] != UNCONFIRMED
            and not (other in asked and sent[0] == fact_spec.unknown_value)
        ):
            text = sent[0]
            if fact_spec.type is FactType.BOOL:
                facts[fact] = {"true": True, "false": False}.get(text, text)
            else:
                facts[fact] = text
        elif other in asked and (fact_spec.ask or fact_spec.unknown_value is not None):
            unknown.append(fact)


def read_submission(form: SituationForm, data: FormData) -> Submission:
    """The checks (those that apply) and quote items a submitted form asks for."""
    as_of, as_of_errors = as_of_from_form(data)
    checks = []
    situation = form.situation
    for check in form.checks:
        if not applies(situation, check.spec.when, data):
            continue
        facts, unknown = facts_from_form(check.ruleset, data, check.prefix, check.spec.same_as)
        _shared(situation, check.ruleset, check.spec, data, facts, unknown)
        fields = {s.name: check.prefix + s.name for s in check.ruleset.facts}
        fields.update({f: situation.field(r) for f, r in check.spec.same_as.items()})
        checks.append(CheckRequest(check.spec, facts, unknown, fields))
    items: list[dict[str, Any]] = []
    indexes: list[int] = []
    for quote in form.quotes:
        if not data.getlist(quote.include_name) or not applies(situation, quote.spec.when, data):
            continue
        params = params_from_form(quote.item, data, quote.prefix, quote.skip)
        items.append({"tariff": quote.spec.tariff, "item": quote.spec.item, "params": params})
        indexes.append(quote.index)
    return Submission(as_of, as_of_errors, checks, items, indexes)
