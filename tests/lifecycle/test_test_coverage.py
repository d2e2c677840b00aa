"""``flets-elig test --coverage [--json]``: which rules the examples reach, and the rows none does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli import main


def test_coverage_lists_the_rows_no_example_reaches(
    write_table: Callable[..., Path], rules_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table's only example ends on the default: every row is unreached, and said so at its line."""
    path = write_table()
    text = path.read_text(encoding="utf-8")
    assert main(["test", "--no-tariffs", "--coverage", "--json", str(rules_folder)]) == 0
    report = json.loads(capsys.readouterr().out)
    [found] = report["coverage"]["rulesets"]
    assert (found["covered"], found["total"]) == (0, 3)
    assert found["default_examples"] == [0]
    lines = {row["id"]: row["line"] for row in found["not_covered"]}
    assert lines == {
        rule: next(n for n, line in enumerate(text.splitlines(), 1) if f"id: {rule}" in line)
        for rule in ("basic_small", "family_any", "business_migrated")
    }
    assert main(["test", "--no-tariffs", "--coverage", str(rules_folder)]) == 0
    out = capsys.readouterr().out
    assert f"not reached: {found['file']}:{lines['family_any']} family_any" in out
    assert "0 of 3 rules reached (0.0%)" in out


def test_an_example_reaching_a_row_covers_it(
    write_table: Callable[..., Path], rules_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_table()
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  - note: family\n    facts: {plan: family, users: 3}\n"
        + "    expect: {outcome: allowed, reasons: [family_any]}\n",
        encoding="utf-8",
    )
    assert main(["test", "--no-tariffs", "--coverage", "--json", str(rules_folder)]) == 0
    [found] = json.loads(capsys.readouterr().out)["coverage"]["rulesets"]
    assert [r["id"] for r in found["not_covered"]] == ["basic_small", "business_migrated"]
    assert next(r for r in found["rules"] if r["id"] == "family_any")["examples"] == [1]
