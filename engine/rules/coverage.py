"""Which rules a rule set's examples reach, and which rows no example reaches (``flets-elig test
--coverage``, like ``opa test --coverage``; the studio's table marks the same rows).

An example *reaches* a rule when the rule is a reason of the example's decision, as the real engine
decides it: for ``first_match`` the row that decided, for ``collect`` every matching rule. A rule no
example reaches is untested: a change to it would pass ``flets-elig test`` unnoticed. Examples that
end on the default reach no rule; they are listed as the default's.

:func:`coverage` is the pure part (one rule set, what each example reached); :func:`rulebook_coverage`
runs a rulebook's examples through its deciders to get that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import today_in_tokyo
from ..errors import FactsError
from .explain import Decision
from .model import RuleSet
from .rulebook import Rulebook


@dataclass(frozen=True)
class RuleCoverage:
    """One rule and the examples (by index in the file) that reach it."""

    id: str
    line: int
    examples: tuple[int, ...]

    @property
    def covered(self) -> bool:
        return bool(self.examples)


@dataclass(frozen=True)
class Coverage:
    """What one rule set's examples reach."""

    ruleset: RuleSet
    rules: tuple[RuleCoverage, ...]
    #: The examples whose decision is the default (no rule matched).
    default_examples: tuple[int, ...]
    #: The examples whose facts the rule set refused (they reach nothing).
    rejected: tuple[int, ...] = ()

    @property
    def uncovered(self) -> list[RuleCoverage]:
        return [r for r in self.rules if not r.covered]

    @property
    def covered_count(self) -> int:
        return sum(1 for r in self.rules if r.covered)

    @property
    def percent(self) -> float:
        return round(100.0 * self.covered_count / len(self.rules), 1) if self.rules else 100.0

    def to_dict(self) -> dict[str, Any]:
        rs = self.ruleset
        return {
            "id": rs.id,
            "version": rs.version,
            "file": rs.file,
            "covered": self.covered_count,
            "total": len(self.rules),
            "percent": self.percent,
            "rules": [
                {"id": r.id, "line": r.line, "examples": list(r.examples)} for r in self.rules
            ],
            "not_covered": [{"id": r.id, "line": r.line} for r in self.uncovered],
            "default_examples": list(self.default_examples),
            "rejected_examples": list(self.rejected),
        }


def coverage(ruleset: RuleSet, reached: Sequence[Iterable[str] | None]) -> Coverage:
    """The coverage of ``ruleset`` given, for each of its examples in order, the ids of the rules its
    decision reached (empty: the default decided; ``None``: the example's facts were refused)."""
    by_rule: dict[str, list[int]] = {rule.id: [] for rule in ruleset.rules}
    default: list[int] = []
    rejected: list[int] = []
    for index, rules in enumerate(reached):
        if rules is None:
            rejected.append(index)
            continue
        ids = [rule for rule in rules if rule in by_rule]
        if not ids:
            default.append(index)
        for rule in ids:
            by_rule[rule].append(index)
    return Coverage(
        ruleset,
        tuple(RuleCoverage(r.id, r.location.line, tuple(by_rule[r.id])) for r in ruleset.rules),
        tuple(default),
        tuple(rejected),
    )


def reached_rules(decision: Decision) -> tuple[str, ...]:
    """The rules a decision reached: the rule ids among its reasons (none for the default)."""
    return tuple(reason.rule for reason in decision.reasons if reason.rule is not None)


def example_decisions(book: Rulebook, ruleset: RuleSet) -> list[Decision | None]:
    """Each example of ``ruleset`` decided by ``book``'s engine on its own date (``None``: its facts
    were refused); nothing is logged."""
    decider = book.decider_of(ruleset)
    found: list[Decision | None] = []
    for example in ruleset.examples:
        try:
            found.append(decider.decide(example.facts, example.as_of or today_in_tokyo()))
        except FactsError:
            found.append(None)
    return found


def ruleset_coverage(book: Rulebook, ruleset: RuleSet) -> Coverage:
    """The coverage of one loaded rule set, its examples decided by the real engine."""
    decisions = example_decisions(book, ruleset)
    return coverage(ruleset, [None if d is None else reached_rules(d) for d in decisions])


def rulebook_coverage(book: Rulebook, only: Iterable[str] | None = None) -> list[Coverage]:
    """The coverage of every loaded rule set version (or of the ids in ``only``)."""
    wanted = set(only) if only is not None else None
    return [
        ruleset_coverage(book, rs)
        for rs in book.all_rulesets()
        if wanted is None or rs.id in wanted
    ]


def coverage_summary(found: Sequence[Coverage]) -> dict[str, Any]:
    """The JSON report of ``flets-elig test --coverage --json``."""
    covered = sum(c.covered_count for c in found)
    total = sum(len(c.rules) for c in found)
    return {
        "covered": covered,
        "total": total,
        "percent": round(100.0 * covered / total, 1) if total else 100.0,
        "rulesets": [c.to_dict() for c in found],
    }


def render_coverage(found: Sequence[Coverage]) -> str:
    """The text report: one line per rule set, then each rule no example reaches at its line."""
    lines: list[str] = []
    for c in found:
        rs = c.ruleset
        lines.append(
            f"{rs.file}: {rs.key}: {c.covered_count} of {len(c.rules)} rules reached ({c.percent}%)"
        )
        lines.extend(f"  not reached: {rs.file}:{r.line} {r.id}" for r in c.uncovered)
    summary = coverage_summary(found)
    lines.append(
        f"coverage: {summary['covered']} of {summary['total']} rules reached ({summary['percent']}%)"
    )
    return "\n".join(lines)
