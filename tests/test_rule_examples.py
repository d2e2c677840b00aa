"""Every example in every bundled rule file, run through the real engine (one test each)."""

from __future__ import annotations

import pytest

from engine import Rulebook
from engine.paths import rules_dir
from engine.rules.rulebook import ExampleResult, read_rulesets, rule_files


def _example_ids() -> list[tuple[str, str, int]]:
    """The examples' ids, from the files alone: collection only reads and validates them (no compiling,
    no decision tables), so `pytest -k one_test` does not pay for a full load."""
    rulesets, _ = read_rulesets(rule_files(rules_dir()))
    return [(rs.id, rs.version, i) for rs in rulesets for i in range(len(rs.examples))]


@pytest.fixture(scope="module")
def example_results(bundled_rulebook: Rulebook) -> dict[tuple[str, int], ExampleResult]:
    return {(r.ruleset.key, r.index): r for r in bundled_rulebook.run_examples()}


@pytest.mark.parametrize(("ruleset_id", "version", "index"), _example_ids())
def test_rule_set_example(
    example_results: dict[tuple[str, int], ExampleResult], ruleset_id: str, version: str, index: int
) -> None:
    result = example_results[(f"{ruleset_id}@{version}", index)]
    assert result.passed, f"{result.where} {result.note}: {result.failure}"


def test_bundled_rules_load_without_errors(bundled_rulebook: Rulebook) -> None:
    assert bundled_rulebook.ids(), "no rule sets bundled"
