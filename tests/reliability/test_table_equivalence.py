"""The decision table (engine/rules/table.py) answers exactly as live durable_rules evaluation does.

Property tests over every rule file in rules/: random facts — valid values near every threshold the
rules use, missing optional facts, wrong types, unknown fields — decided through the table path and the
live path must give equal decisions (same outcome, reasons, fired rules, normalised facts with the same
types, same as-of date) or the same FactsError fields.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Decision, FactsError, Rulebook
from engine.rules.domain import comparisons, constants
from engine.rules.evaluate import Decider
from engine.rules.model import FactSpec, FactType, RuleSet

DAY_STRATEGY = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))


def constants_of(ruleset: RuleSet, fact: str) -> list[Any]:
    """Every constant the rule set compares ``fact`` with (values near them land on every class)."""
    return [
        value
        for rule in ruleset.rules
        for compare in comparisons(rule.condition)
        if compare.fact == fact
        for value in constants(compare)
    ]


def near(values: list[Any], step: Any) -> list[Any]:
    return [w for v in values if not isinstance(v, str) for w in (v - step, v, v + step)]


def valid_value(ruleset: RuleSet, spec: FactSpec) -> st.SearchStrategy[Any]:
    consts = constants_of(ruleset, spec.name)
    match spec.type:
        case FactType.BOOL:
            return st.booleans()
        case FactType.ENUM:
            return st.sampled_from(spec.value_names)
        case FactType.INT | FactType.MONEY:
            low = spec.minimum if spec.minimum is not None else -(10**6)
            high = spec.maximum if spec.maximum is not None else 10**6
            edges = [v for v in near(consts, 1) + [low, high] if low <= v <= high]
            return st.one_of(st.sampled_from(edges), st.integers(low, high))
        case FactType.DATE:
            days = near(consts, timedelta(days=1)) or [date(2024, 1, 1)]
            as_date = st.one_of(st.sampled_from(days), DAY_STRATEGY)
            return st.one_of(as_date.map(date.isoformat), as_date)
        case FactType.ENUM_LIST:
            return st.lists(st.sampled_from(spec.value_names), unique=True)
        case FactType.STRING:
            strings = [c for c in consts if isinstance(c, str)] or ["x"]
            return st.one_of(st.sampled_from(strings), st.text(max_size=8))
    raise AssertionError(spec.type)


JUNK = st.one_of(
    st.none(), st.integers(-3, 3), st.booleans(), st.floats(allow_nan=False), st.text(max_size=4),
    st.lists(st.integers(0, 2), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.just("2024-13-01"), st.just("2024-1-1"), st.just(["tokyo", "tokyo"]),
)  # fmt: skip


#: Rule sets by key, so strategies take a short key (a RuleSet's repr is tens of kB).
REGISTRY: dict[str, RuleSet] = {}


def raw_facts(ruleset: RuleSet) -> st.SearchStrategy[dict[str, Any]]:
    REGISTRY[ruleset.key] = ruleset
    return _raw_facts(ruleset.key)


@st.composite
def _raw_facts(draw: st.DrawFn, key: str) -> dict[str, Any]:
    ruleset = REGISTRY[key]
    facts: dict[str, Any] = {}
    for spec in ruleset.facts:
        roll = draw(st.integers(0, 19))
        if roll == 0 or (roll < 4 and not spec.required):
            continue  # missing: the default (or, when required, an error)
        facts[spec.name] = draw(JUNK) if roll == 19 else draw(valid_value(ruleset, spec))
    if draw(st.integers(0, 29)) == 0:
        facts[draw(st.sampled_from(["unknown_field", "sid", "__d"]))] = 1
    return facts


def outcome_of(result: Decision | FactsError) -> Any:
    """Everything a decision says, with fact value types (True must not pass for 1)."""
    if isinstance(result, FactsError):
        return ("error", result.fields)
    facts = tuple((k, type(v).__name__, v) for k, v in result.facts.items())
    reasons = tuple((r.code, r.rule, r.outcome, r.line) for r in result.reasons)
    return (result.ruleset.key, result.outcome.id, reasons, result.fired, facts, result.as_of)


def decide(decider: Decider, raw: Any, day: date, live: bool) -> Any:
    try:
        return outcome_of(decider.decide_live(raw, day) if live else decider.decide(raw, day))
    except FactsError as exc:
        return outcome_of(exc)


def tabled_deciders(book: Rulebook) -> list[Decider]:
    return [d for d in book._deciders.values() if d.table is not None]


def test_most_bundled_rule_sets_have_a_table(bundled_rulebook: Rulebook) -> None:
    ids = {d.ruleset.id for d in tabled_deciders(bundled_rulebook)}
    assert "tv_application" in ids
    assert len(ids) >= len(bundled_rulebook.ids()) // 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), day=DAY_STRATEGY)
def test_table_equals_live_on_every_rule_file(
    bundled_rulebook: Rulebook, data: st.DataObject, day: date
) -> None:
    for decider in tabled_deciders(bundled_rulebook):
        batch = [data.draw(raw_facts(decider.ruleset)) for _ in range(4)]
        for raw in batch:
            assert decide(decider, raw, day, live=False) == decide(decider, raw, day, live=True), (
                raw
            )
        table_batch = [outcome_of(r) for r in decider.decide_many(batch, day)]
        live_batch = [outcome_of(r) for r in decider.decide_many_live(batch, day)]
        assert table_batch == live_batch


def test_table_answers_the_rule_set_examples(bundled_rulebook: Rulebook) -> None:
    for decider in tabled_deciders(bundled_rulebook):
        for example in decider.ruleset.examples:
            day = example.as_of or decider.ruleset.effective_from
            assert decide(decider, example.facts, day, False) == decide(
                decider, example.facts, day, True
            )


def test_fact_comparisons_keep_a_rule_set_live(sample_book: Rulebook) -> None:
    """The sample compares two facts (fee > limit): no table, every decision is live."""
    assert tabled_deciders(sample_book) == []


@pytest.fixture
def sample_without_fact_refs(sample_text: str, write_rules: Any) -> Any:
    """The sample rule set minus its fact-to-fact comparison: ints, dates, enums and lists by constants."""
    text = sample_text.replace(
        "{fact: fee, greater_than: {fact: limit}}", "{fact: fee, greater_than: 1000}"
    )
    assert text != sample_text
    from engine import load_rulebook

    book = load_rulebook(write_rules(text, "sample.yaml"))
    yield book
    book.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), day=DAY_STRATEGY)
def test_table_equals_live_on_ints_dates_and_lists(
    sample_without_fact_refs: Rulebook, data: st.DataObject, day: date
) -> None:
    (decider,) = sample_without_fact_refs._deciders.values()
    assert decider.table is not None
    raw = data.draw(raw_facts(decider.ruleset))
    assert decide(decider, raw, day, live=False) == decide(decider, raw, day, live=True), raw
