"""The per-rule trace of one fact set: for every rule, which of its conditions held, failed or were
unknown — what the studio's simulator shows beside the answer, like OPA's ``--explain``.

The trace does not decide anything itself. It evaluates each comparison with THE meaning of a
comparison, :func:`engine.rules.domain.holds` (the one the compiler implements in durable_rules and the
analysis uses), so it can only disagree with the engine where the compiler does, which
``tests/reliability/test_compiler_differential.py`` rules out; ``tests/engine/test_trace.py`` checks
that the rules the trace finds matching are exactly the rules the engine fired, over every bundled
rule set's examples and random facts.

A comparison whose fact (or fact operand) has no value — an optional fact sent without one and
declared without a default — is ``unknown``; ``all``/``any``/``not`` combine the three values as
Kleene's logic does (``all`` fails when one part failed, else is unknown when one part is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .domain import holds
from .facts import facts_to_json
from .model import AllOf, AnyOf, Compare, Condition, FactRef, FactValue, NotOf, Rule, RuleSet

Status = Literal["held", "failed", "unknown"]

#: How each operator reads in a cell or a trace line.
OPERATOR_TEXT: Mapping[str, str] = {
    "is": "=", "is_not": "≠", "in": "in", "not_in": "not in",
    "lt": "<", "le": "≤", "gt": ">", "ge": "≥",
    "includes": "includes", "excludes": "excludes", "only_from": "only from",
    "not_only_from": "not only from", "is_empty": "is empty", "not_empty": "is not empty",
}  # fmt: skip


def operand_json(compare: Compare) -> object:
    """The operand as JSON: a constant, a list, ``{"fact": name}`` for another fact, or ``None``."""
    operand = compare.operand
    if isinstance(operand, FactRef):
        return {"fact": operand.name}
    if isinstance(operand, tuple):
        return list(operand)
    if isinstance(operand, date):
        return operand.isoformat()
    return operand


def operand_text(compare: Compare) -> str:
    """The operand as people read it (``relocation``, ``[a, b]``, ``2025-04-01``, another fact's name)."""
    operand = compare.operand
    if isinstance(operand, FactRef):
        return operand.name
    if isinstance(operand, tuple):
        return "[" + ", ".join(map(str, operand)) + "]"
    if isinstance(operand, date):
        return operand.isoformat()
    if isinstance(operand, bool):
        return str(operand).lower()
    return "" if operand is None else str(operand)


def compare_text(compare: Compare, with_fact: bool = True) -> str:
    """``change_type = relocation``; without the fact, ``= relocation`` (a table cell)."""
    words = [compare.fact] if with_fact else []
    words.append(OPERATOR_TEXT[compare.op])
    if compare.operand is not None:
        words.append(operand_text(compare))
    return " ".join(words)


def condition_text(condition: Condition) -> str:
    """A whole condition on one line: ``all of (…)``, ``any of (…)``, ``not (…)``."""
    match condition:
        case Compare():
            return compare_text(condition)
        case AllOf(parts):
            return "all of (" + "; ".join(condition_text(p) for p in parts) + ")"
        case AnyOf(parts):
            return "any of (" + "; ".join(condition_text(p) for p in parts) + ")"
        case NotOf(part):
            return f"not ({condition_text(part)})"
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover


@dataclass(frozen=True)
class ConditionTrace:
    """One comparison of a rule, evaluated: its fact's value and whether it held."""

    compare: Compare
    value: object
    status: Status
    #: ``not``-nesting depth parity: a comparison under an odd number of ``not`` counts against the rule.
    negated: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "fact": self.compare.fact,
            "op": self.compare.op,
            "operand": operand_json(self.compare),
            "value": self.value,
            "status": self.status,
            "negated": self.negated,
            "text": compare_text(self.compare),
            "line": self.compare.location.line,
        }


@dataclass(frozen=True)
class RuleTrace:
    """One rule, evaluated: whether it matches (``None``: unknown) and each of its comparisons."""

    rule: Rule
    index: int
    status: Status
    conditions: tuple[ConditionTrace, ...]

    @property
    def matched(self) -> bool:
        return self.status == "held"

    def to_dict(self, decides: bool = False) -> dict[str, object]:
        return {
            "rule": self.rule.id,
            "index": self.index,
            "line": self.rule.location.line,
            "matched": self.matched,
            "status": self.status,
            "decides": decides,
            "outcome": self.rule.outcome,
            "conditions": [c.to_dict() for c in self.conditions],
        }


def _and(values: Sequence[Status]) -> Status:
    if "failed" in values:
        return "failed"
    return "unknown" if "unknown" in values else "held"


def _or(values: Sequence[Status]) -> Status:
    if "held" in values:
        return "held"
    return "unknown" if "unknown" in values else "failed"


_NOT: Mapping[Status, Status] = {"held": "failed", "failed": "held", "unknown": "unknown"}


class _Tracer:
    def __init__(self, facts: Mapping[str, FactValue | None]) -> None:
        self.facts = facts
        self.plain = facts_to_json({k: v for k, v in facts.items() if v is not None})
        self.found: list[ConditionTrace] = []

    def compare(self, compare: Compare, negated: bool) -> Status:
        names = [compare.fact]
        if isinstance(compare.operand, FactRef):
            names.append(compare.operand.name)
        status: Status
        if any(self.facts.get(name) is None for name in names):
            status = "unknown"
        else:
            known = {name: self.facts[name] for name in names}
            status = "held" if holds(compare, known) else "failed"  # type: ignore[arg-type]
        self.found.append(ConditionTrace(compare, self.plain.get(compare.fact), status, negated))
        return status

    def condition(self, condition: Condition, negated: bool = False) -> Status:
        match condition:
            case Compare():
                return self.compare(condition, negated)
            case AllOf(parts):
                return _and([self.condition(p, negated) for p in parts])
            case AnyOf(parts):
                return _or([self.condition(p, negated) for p in parts])
            case NotOf(part):
                return _NOT[self.condition(part, not negated)]
        raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover


def trace_rule(rule: Rule, index: int, facts: Mapping[str, FactValue | None]) -> RuleTrace:
    """``rule`` evaluated on ``facts`` (normalised, by fact name): every comparison, none skipped."""
    tracer = _Tracer(facts)
    status = tracer.condition(rule.condition)
    return RuleTrace(rule, index, status, tuple(tracer.found))


def trace(ruleset: RuleSet, facts: Mapping[str, FactValue | None]) -> list[RuleTrace]:
    """Every rule of ``ruleset`` evaluated on ``facts`` (normalised, e.g. by
    :meth:`engine.rules.evaluate.Decider.normalize`), in file order."""
    return [trace_rule(rule, index, facts) for index, rule in enumerate(ruleset.rules)]


def matching(traces: Sequence[RuleTrace]) -> tuple[str, ...]:
    """The ids of the rules that match, in file order: what the engine fires."""
    return tuple(t.rule.id for t in traces if t.matched)
