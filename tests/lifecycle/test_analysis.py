"""Static analysis in ``check``: never-firing rules, shadowed rows (overlap) and gaps, with lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import Diagnostic
from engine.format.loader import parse_yaml
from engine.paths import rules_dir
from engine.rules.analysis import MAX_CASES, analyse, check_first_match
from engine.rules.model import RuleSet
from engine.rules.rulebook import read_rulesets, rule_files
from engine.rules.validate import build_ruleset

BASIC_FEW = "{all: [{plan: basic}, {fact: users, at_most: 4}]}"


def ruleset_of(text: str) -> RuleSet:
    return build_ruleset(parse_yaml(text, "t.yaml"), "t.yaml")


def by_code(diagnostics: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == code]


def test_reference_table_has_a_gap_but_no_overlap(make_table: Callable[..., str]) -> None:
    text = make_table()
    found = analyse(ruleset_of(text))
    assert by_code(found, "shadowed-row") == []
    assert by_code(found, "never-fires") == []
    (gap,) = by_code(found, "table-gap")
    assert gap.severity == "warning"
    assert "4 of 12 fact combinations match no row" in gap.message
    assert "plan = basic, 10 ≤ users ≤ 100; plan = business, migrated = false" in gap.message
    assert "'refused' (negative)" in gap.message


def test_shadowed_row_is_an_error_at_its_line(
    make_table: Callable[..., str], find_line: Callable[[str, str], int]
) -> None:
    rows = (*_rows(), ("basic_very_small", BASIC_FEW, "refused"))
    text = make_table(rows=rows)
    (shadowed,) = by_code(analyse(ruleset_of(text)), "shadowed-row")
    assert shadowed.severity == "error"
    assert shadowed.location.line == find_line(text, "- id: basic_very_small")
    assert "'basic_small' (line " + str(find_line(text, "- id: basic_small")) in shadowed.message


def test_row_covered_by_several_earlier_rows_is_shadowed(make_table: Callable[..., str]) -> None:
    rows = (
        ("low", "{fact: users, less_than: 50}", "allowed"),
        ("high", "{fact: users, at_least: 50}", "allowed"),
        ("anything_family", "{plan: family}", "refused"),
    )
    found = by_code(analyse(ruleset_of(make_table(rows=rows))), "shadowed-row")
    assert [d.path for d in found] == ["rules.anything_family"]
    assert "'low'" in found[0].message and "'high'" in found[0].message


def test_partial_overlap_is_not_reported(make_table: Callable[..., str]) -> None:
    rows = (*_rows(), ("few_users", "{fact: users, less_than: 3}", "refused"))
    found = analyse(ruleset_of(make_table(rows=rows)))
    assert by_code(found, "shadowed-row") == []


def test_complete_table_has_no_gap(make_table: Callable[..., str]) -> None:
    rows = (*_rows(), ("anything_else", "{fact: plan, in: [basic, business]}", "refused"))
    assert by_code(analyse(ruleset_of(make_table(rows=rows))), "table-gap") == []


def test_gap_answered_by_an_undecidable_default_is_declared_not_reported(
    make_table: Callable[..., str],
) -> None:
    assert by_code(analyse(ruleset_of(make_table(default="unknown"))), "table-gap") == []


def test_contradictory_rule_never_fires(
    make_table: Callable[..., str], find_line: Callable[[str, str], int]
) -> None:
    when = "{all: [{fact: users, less_than: 5}, {fact: users, greater_than: 7}]}"
    text = make_table(rows=(*_rows(), ("impossible", when, "refused")))
    (never,) = by_code(analyse(ruleset_of(text)), "never-fires")
    assert never.severity == "error"
    assert never.location.line == find_line(text, "- id: impossible")


def test_comparison_outside_the_declared_range_is_flagged(make_table: Callable[..., str]) -> None:
    text = make_table(rows=(*_rows(), ("crowd", "{fact: users, greater_than: 100}", "refused")))
    found = analyse(ruleset_of(text))
    assert [d.path for d in by_code(found, "comparison-never-holds")] == ["rules.crowd.when"]
    assert by_code(found, "never-fires")[0].path == "rules.crowd"


def test_unused_fact_is_a_warning(make_table: Callable[..., str]) -> None:
    (unused,) = by_code(analyse(ruleset_of(make_table())), "unused-fact")
    assert unused.path == "facts.customer_name" and unused.severity == "warning"


def test_table_too_large_is_skipped_and_said_so(make_table: Callable[..., str]) -> None:
    found = check_first_match(ruleset_of(make_table()), max_cases=3)
    assert [d.code for d in found] == ["analysis-skipped"]
    assert MAX_CASES > 3


def test_bundled_rules_have_no_analysis_errors() -> None:
    rulesets, _ = read_rulesets(rule_files(rules_dir()))
    errors = [d for rs in rulesets for d in analyse(rs) if d.severity == "error"]
    assert errors == []


def test_check_command_reports_overlap_and_gap_with_lines(
    write_table: Callable[..., Path],
    find_line: Callable[[str, str], int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_table(rows=(*_rows(), ("basic_very_small", BASIC_FEW, "refused")))
    text = path.read_text(encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    row_line = find_line(text, "- id: basic_very_small")
    first_line = find_line(text, "- id: basic_small")
    assert f"{path}:{row_line}:5: shadowed-row: row 'basic_very_small' is unreachable" in out
    assert f"{path}:{first_line}:5: warning: table-gap: " in out
    assert "1 errors" in out


def _rows() -> tuple[tuple[str, str, str], ...]:
    return (
        ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),
        ("family_any", "{plan: family}", "allowed"),
        ("business_migrated", "{all: [{plan: business}, {migrated: true}]}", "refused"),
    )
