"""The per-rule trace agrees with the real engine: the rules it finds matching are exactly the rules
durable_rules fires, over every bundled rule set's examples and random facts drawn from every class
of every fact; and each comparison's status is what :func:`engine.rules.domain.holds` says.

Also the coverage of the bundled examples (which rules they reach) and the table built from it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Rulebook
from engine.rules.coverage import coverage, example_decisions, reached_rules, ruleset_coverage
from engine.rules.domain import comparisons, holds, partition
from engine.rules.model import FactValue, RuleSet
from engine.rules.sheet import build_sheet
from engine.rules.trace import RuleTrace, matching, trace, trace_rule


def _fired_live(
    book: Rulebook, rs: RuleSet, facts: dict[str, FactValue], day: date
) -> tuple[str, ...]:
    decider = book.decider_of(rs)
    [decision] = decider.decide_normalized_live([facts], day)
    return decision.fired


def _check_statuses(traced: list[RuleTrace], facts: dict[str, FactValue]) -> None:
    for rule_trace in traced:
        for found in rule_trace.conditions:
            if found.status != "unknown":
                assert (found.status == "held") == holds(found.compare, facts)


def test_the_trace_matches_what_the_engine_fires_for_every_bundled_example(
    bundled_rulebook: Rulebook,
) -> None:
    checked = 0
    for rs in bundled_rulebook.all_rulesets():
        decider = bundled_rulebook.decider_of(rs)
        for example in rs.examples:
            day = example.as_of or date(2025, 6, 1)
            facts = decider.normalize(example.facts, day)
            traced = trace(rs, facts)
            assert matching(traced) == _fired_live(bundled_rulebook, rs, facts, day), (
                rs.key, example.note,
            )  # fmt: skip
            _check_statuses(traced, facts)
            checked += 1
    assert checked > 300


def _domain_values(rs: RuleSet) -> dict[str, list[FactValue]]:
    """Every sample of every class of every fact (the values that tell the rules apart)."""
    compares = [c for rule in rs.rules for c in comparisons(rule.condition)]
    return {
        spec.name: [s for cls in partition(spec, compares).classes for s in cls.samples]
        for spec in rs.facts
    }


@pytest.fixture(scope="module")
def domains(bundled_rulebook: Rulebook) -> list[tuple[RuleSet, dict[str, list[FactValue]]]]:
    return [(rs, _domain_values(rs)) for rs in bundled_rulebook.all_rulesets()]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_the_trace_matches_the_engine_on_random_facts(
    bundled_rulebook: Rulebook, domains: list[tuple[RuleSet, dict[str, list[FactValue]]]],
    data: st.DataObject,
) -> None:  # fmt: skip
    rs, values = data.draw(st.sampled_from(domains))
    facts = {
        name: data.draw(st.sampled_from(options), label=name) for name, options in values.items()
    }
    day = date(2025, 6, 1)
    traced = trace(rs, facts)
    assert matching(traced) == _fired_live(bundled_rulebook, rs, facts, day)
    _check_statuses(traced, facts)


def test_unknown_facts_make_the_rule_unknown_unless_another_part_decides(
    bundled_rulebook: Rulebook,
) -> None:
    rs = bundled_rulebook.versions("passport_continuation")[-1]
    rule = rs.rules[0]
    parts = list(comparisons(rule.condition))
    everything_unknown = trace_rule(rule, 0, {})
    assert {c.status for c in everything_unknown.conditions} == {"unknown"}
    assert everything_unknown.status == "unknown" and not everything_unknown.matched
    assert len(everything_unknown.conditions) == len(parts)


def test_coverage_names_the_rows_no_example_reaches(bundled_rulebook: Rulebook) -> None:
    rs = bundled_rulebook.versions("passport_continuation")[-1]
    found = ruleset_coverage(bundled_rulebook, rs)
    decisions = example_decisions(bundled_rulebook, rs)
    reached = [None if d is None else reached_rules(d) for d in decisions]
    for index, rules in enumerate(reached):
        for rule_id in rules or ():
            assert index in next(r.examples for r in found.rules if r.id == rule_id)
    # Without the examples that reach the first row, that row (only) is not covered.
    first = rs.rules[0].id
    fewer = [None if rules is None else () if first in rules else rules for rules in reached]
    without = coverage(rs, fewer)
    assert first in [r.id for r in without.uncovered]
    assert without.covered_count == found.covered_count - 1
    # the pure function: an example that reached nothing is the default's; a refused one is listed
    pure = coverage(rs, [(), None, (first,)])
    assert pure.default_examples == (0,) and pure.rejected == (1,)
    assert pure.rules[0].examples == (2,) and pure.percent < 100


def test_the_sheet_marks_rows_examples_and_analysis(bundled_rulebook: Rulebook) -> None:
    rs = bundled_rulebook.versions("passport_continuation")[-1]
    sheet = build_sheet(rs, example_decisions(bundled_rulebook, rs), "en")
    assert [row["id"] for row in sheet["rows"]] == [r.id for r in rs.rules]
    assert sheet["uncovered"] == [] and all(row["covered"] for row in sheet["rows"])
    assert all(example["passed"] for example in sheet["examples"])
    first = sheet["rows"][0]
    assert first["citation"] == rs.rules[0].reason.cite.to_dict()
    cell_facts = {fact for row in sheet["rows"] for fact in row["cells"]}
    assert cell_facts <= {spec.name for spec in rs.facts} and cell_facts
    assert sheet["digest"].startswith("sha256:")
