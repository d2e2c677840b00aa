"""Deciding: facts → normalised facts → durable_rules → hit policy → explained decision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ..errors import FactsError
from .compiler import CompiledRuleSet
from .explain import Decision, Reason
from .facts import FactNormalizer
from .model import FactValue, Rule, RuleSet
from .runtime import DurableRuntime
from .table import DecisionTable


def combine(ruleset: RuleSet, matched: Sequence[Rule]) -> tuple[str, tuple[Reason, ...]]:
    """Apply the rule set's hit policy to the rules the engine fired (given in file order).

    ``first_match``: the first matching row decides and is the reason. ``collect``: the strongest
    outcome by ``precedence`` decides, and every matching rule is a reason. No match: the default.
    """
    if not matched:
        note = ruleset.default_reason
        return ruleset.default_outcome, (Reason(note.code, None, ruleset.default_outcome, note, 0),)
    if ruleset.decide == "first_match":
        matched = matched[:1]
        outcome = matched[0].outcome
    else:
        present = {rule.outcome for rule in matched}
        outcome = next(o for o in ruleset.precedence if o in present)
    reasons = tuple(
        Reason(rule.reason.code, rule.id, rule.outcome, rule.reason, rule.location.line)
        for rule in matched
    )
    return outcome, reasons


class Decider:
    """Decides for one compiled rule set; built once at load time, used for every request."""

    def __init__(self, compiled: CompiledRuleSet, runtime: DurableRuntime) -> None:
        self.ruleset = compiled.ruleset
        self.compiled = compiled
        self._compiled = compiled
        self._runtime = runtime
        self._normalizer = FactNormalizer(compiled.ruleset)
        self._order = {rule.id: i for i, rule in enumerate(compiled.ruleset.rules)}
        # Issue 5 fast path (engine/table.py): answers durable_rules gave at load time for every class
        # of facts; None when this rule set must always be evaluated live.
        self.table = DecisionTable.build(compiled, runtime, self._explain)

    def normalize(self, raw: object, as_of: date) -> dict[str, FactValue]:
        return self._normalizer.normalize(raw, as_of)

    def decide(self, raw: object, as_of: date) -> Decision:
        """One decision. :raises FactsError: when the facts do not fit the fact schema."""
        if self.table is not None:
            decision = self.table.decide(raw, as_of)
            if decision is not None:
                return decision
        return self.decide_live(raw, as_of)

    def decide_live(self, raw: object, as_of: date) -> Decision:
        """One decision asserted through durable_rules now (what the table's answers must equal)."""
        facts = self.normalize(raw, as_of)
        fired = self._runtime.fire(self.ruleset.key, self._compiled.encode(facts))
        return self._explain(facts, fired, as_of)

    def decide_many(self, items: Sequence[object], as_of: date) -> list[Decision | FactsError]:
        """Many decisions in one engine turn; an item with bad facts yields its error, not a failure."""
        if self.table is None:
            return self.decide_many_live(items, as_of)
        table_decide = self.table.decide
        found: list[Decision | FactsError | None] = [table_decide(raw, as_of) for raw in items]
        missing = [i for i, d in enumerate(found) if d is None]
        if missing:
            live = self.decide_many_live([items[i] for i in missing], as_of)
            for i, result in zip(missing, live, strict=True):
                found[i] = result
        return found  # type: ignore[return-value]  # every None was filled above

    def decide_many_live(self, items: Sequence[object], as_of: date) -> list[Decision | FactsError]:
        """Like :meth:`decide_many`, every item asserted through durable_rules now."""
        normalized: list[dict[str, FactValue] | FactsError] = []
        for raw in items:
            try:
                normalized.append(self.normalize(raw, as_of))
            except FactsError as exc:
                normalized.append(exc)
        good = [f for f in normalized if not isinstance(f, FactsError)]
        fired_all = iter(
            self._runtime.fire_many(self.ruleset.key, [self._compiled.encode(f) for f in good])
        )
        return [
            item if isinstance(item, FactsError) else self._explain(item, next(fired_all), as_of)
            for item in normalized
        ]

    def decide_normalized_live(
        self, facts: Sequence[dict[str, FactValue]], as_of: date
    ) -> list[Decision]:
        """Decisions for fact sets already normalised (every declared fact, valid values), asserted
        through durable_rules now: what partial answers (:mod:`engine.rules.partial`) ask of a rule
        set without a table."""
        fired_all = self._runtime.fire_many(
            self.ruleset.key, [self._compiled.encode(f) for f in facts]
        )
        return [self._explain(f, fired, as_of) for f, fired in zip(facts, fired_all, strict=True)]

    def _explain(self, facts: dict[str, FactValue], fired: frozenset[str], as_of: date) -> Decision:
        rule_by_action = self._compiled.rule_by_action
        matched = sorted((rule_by_action[a] for a in fired), key=lambda r: self._order[r.id])
        outcome_id, reasons = combine(self.ruleset, matched)
        return Decision(
            ruleset=self.ruleset,
            outcome=self.ruleset.outcome(outcome_id),
            reasons=reasons,
            fired=tuple(r.id for r in matched),
            facts=facts,
            as_of=as_of,
        )


def example_failure(
    decision: Decision,
    expect_outcome: str,
    expect: frozenset[str],
    expect_others: frozenset[str] | None = None,
) -> str | None:
    """Why a decision does not meet an example's expectation, or None when it does.

    ``expect`` are the grounds (the codes of the expected outcome's rules, :class:`Example`'s
    ``expect_reasons``); ``expect_others``, when given, the codes of the rules expected to fire for
    other outcomes."""
    problems: list[str] = []
    if decision.outcome.id != expect_outcome:
        problems.append(f"outcome {decision.outcome.id!r}, expected {expect_outcome!r}")
    checks = [("reasons", frozenset(r.code for r in decision.grounds), expect)]
    if expect_others is not None:
        checks.append(("other rules", frozenset(r.code for r in decision.others), expect_others))
    for name, got, wanted in checks:
        if got != wanted:
            missing, extra = sorted(wanted - got), sorted(got - wanted)
            detail = ", ".join(
                part
                for part in (
                    f"missing {missing}" if missing else "",
                    f"extra {extra}" if extra else "",
                )
                if part
            )
            problems.append(f"{name} {sorted(got)} ({detail})")
    return "; ".join(problems) or None


def describe_facts(raw: Any) -> str:
    """Short one-line rendering of an example's facts for test-runner output."""
    if isinstance(raw, dict):
        return ", ".join(f"{k}={v}" for k, v in raw.items())
    return repr(raw)
