"""Decisions and their explanation: every reason with its message and the clause it comes from.

A decision made with facts still unknown carries a :class:`Partial` (the outcomes still possible, each
with the conditions on the unknown facts that lead to it), and one asked ``what if`` carries its
:class:`Change` list; both are computed by :mod:`engine.rules.partial` and only shown here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from ..messages.language import Lang, Text
from .facts import facts_json_text, facts_to_json
from .model import FactValue, Note, Outcome, OutcomeKind, RuleSet


@dataclass(frozen=True)
class Reason:
    """Why the answer is what it is: one fired rule (or the default), cited."""

    code: str
    rule: str | None  # None when the rule set's default answered
    outcome: str
    note: Note
    line: int

    def to_dict(self, ruleset: RuleSet, lang: Lang) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "outcome": self.outcome,
            "message": self.note.message(lang),
            "citation": self.note.cite.to_dict(),
            "source": f"{ruleset.file}:{self.line}" if self.line else ruleset.file,
        }


@dataclass(frozen=True)
class FactCondition:
    """Which values of one fact a branch or a change stands for, in the rule set's own labels.

    ``values`` are JSON values (an enum's value names, ``true``/``false``, ``{"min", "max"}`` ranges
    of a number or date, lists for a list fact); ``labels`` say the same for people. ``other`` names
    the fact this one is compared with when the condition is a relation between two unknown facts
    (``values`` then are ``lt``, ``eq``, ``gt``, ``ne``).
    """

    fact: str
    values: tuple[Any, ...]
    labels: tuple[Text, ...]
    other: str | None = None

    def to_dict(self, ruleset: RuleSet, lang: Lang) -> dict[str, Any]:
        body: dict[str, Any] = {"fact": self.fact, "label": ruleset.fact(self.fact).label(lang)}
        if self.other is not None:
            body["other"] = self.other
            body["other_label"] = ruleset.fact(self.other).label(lang)
        body["values"] = list(self.values)
        body["labels"] = [label(lang) for label in self.labels]
        return body


def _reasons(reasons: tuple[Reason, ...], ruleset: RuleSet, lang: Lang) -> list[dict[str, Any]]:
    return [r.to_dict(ruleset, lang) for r in reasons]


def _outcome_gap(outcome: Outcome, lang: Lang) -> dict[str, str] | None:
    return (
        {"missing": outcome.gap.missing(lang), "ask": outcome.gap.ask(lang)}
        if outcome.gap
        else None
    )


@dataclass(frozen=True)
class Possible:
    """An outcome still possible while some facts are unknown: when (on those facts) it is the
    answer, and every rule that fires on the way there."""

    outcome: Outcome
    when: tuple[FactCondition, ...]
    reasons: tuple[Reason, ...]

    def to_dict(self, ruleset: RuleSet, lang: Lang) -> dict[str, Any]:
        return {
            "outcome": self.outcome.id,
            "kind": self.outcome.kind.value,
            "label": self.outcome.label(lang),
            "when": [c.to_dict(ruleset, lang) for c in self.when],
            "reasons": _reasons(self.reasons, ruleset, lang),
            "gap": _outcome_gap(self.outcome, lang),
        }

    def to_compact(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.id,
            "kind": self.outcome.kind.value,
            "when": [{"fact": c.fact, "values": list(c.values)} for c in self.when],
        }


@dataclass(frozen=True)
class Partial:
    """What a decision with unknown facts still leaves open.

    ``possible`` is sorted by precedence; when it holds one outcome, the unknown facts did not matter
    and the decision is that outcome. ``note`` says which of the two it is, for people.
    """

    unknown: tuple[str, ...]
    possible: tuple[Possible, ...]
    note: Text

    @property
    def matters(self) -> bool:
        return len({p.outcome.id for p in self.possible}) > 1


@dataclass(frozen=True)
class Change:
    """Facts set to other values, and the outcome the rules then give (``set`` holds valid values a
    caller can send as they are; ``to`` says which values each one stands for)."""

    set: tuple[tuple[str, FactValue], ...]
    to: tuple[FactCondition, ...]
    outcome: Outcome
    reasons: tuple[Reason, ...]

    def to_dict(self, ruleset: RuleSet, lang: Lang) -> dict[str, Any]:
        return {
            "set": facts_to_json(dict(self.set)),
            "to": [c.to_dict(ruleset, lang) for c in self.to],
            "outcome": self.outcome.id,
            "kind": self.outcome.kind.value,
            "label": self.outcome.label(lang),
            "reasons": _reasons(self.reasons, ruleset, lang),
        }


@dataclass(frozen=True)
class Decision:
    """The answer for one set of facts under one version of one rule set.

    ``partial`` is set when some facts were unknown (``facts`` then holds the known ones only; such an
    answer decides nothing on the customer's facts and is not logged); ``changes`` when a what-if was
    asked.
    """

    ruleset: RuleSet
    outcome: Outcome
    reasons: tuple[Reason, ...]
    fired: tuple[str, ...]
    facts: dict[str, Any]
    as_of: date
    partial: Partial | None = None
    changes: tuple[Change, ...] | None = None
    #: Answered from the load-time decision table rather than asserted live (an operations metric:
    #: the answer is the same either way, so it takes no part in equality).
    from_table: bool = field(default=False, compare=False)

    @property
    def kind(self) -> OutcomeKind:
        return self.outcome.kind

    @property
    def reason_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons)

    @cached_property
    def facts_json(self) -> str:
        """The facts as compact JSON text, rendered once for both the response and the decision log."""
        return facts_json_text(self.facts)

    def _gaps(self, lang: Lang) -> list[dict[str, str]]:
        """Every gap behind the answer: the answer's own, then those of undecidable reasons that a
        stronger outcome outranked (a refusal does not make a missing clause less missing)."""
        others = dict.fromkeys(r.outcome for r in self.reasons if r.outcome != self.outcome.id)
        outcomes = (self.outcome, *(self.ruleset.outcome(oid) for oid in others))
        return [
            {"outcome": o.id, "missing": o.gap.missing(lang), "ask": o.gap.ask(lang)}
            for o in outcomes
            if o.gap is not None
        ]

    def to_dict(self, lang: Lang = "ja") -> dict[str, Any]:
        """The JSON body clients get; texts in ``lang``, citations always."""
        rs, outcome = self.ruleset, self.outcome
        return {
            "ruleset": rs.id,
            "version": rs.version,
            "effective_from": rs.effective_from.isoformat(),
            "effective_to": rs.effective_to.isoformat() if rs.effective_to else None,
            "region": rs.region,
            "as_of": self.as_of.isoformat(),
            "outcome": outcome.id,
            "kind": outcome.kind.value,
            "label": outcome.label(lang),
            "reasons": [r.to_dict(rs, lang) for r in self.reasons],
            "consequences": [
                {"code": n.code, "message": n.message(lang), "citation": n.cite.to_dict()}
                for n in outcome.consequences
            ],
            "gap": (
                {"missing": outcome.gap.missing(lang), "ask": outcome.gap.ask(lang)}
                if outcome.gap
                else None
            ),
            "gaps": self._gaps(lang),
            "fired_rules": list(self.fired),
            "facts": facts_to_json(self.facts),
            **self._extras(lang),
        }

    def _extras(self, lang: Lang) -> dict[str, Any]:
        """``unknown``, ``unknown_matters``, ``unknown_note`` and ``possible`` for a partial answer,
        ``changes`` for a what-if; nothing for a plain decision (its JSON is as it always was)."""
        extra: dict[str, Any] = {}
        rs, partial = self.ruleset, self.partial
        if partial is not None:
            extra["unknown"] = list(partial.unknown)
            extra["unknown_matters"] = partial.matters
            extra["unknown_note"] = partial.note(lang)
            extra["possible"] = [p.to_dict(rs, lang) for p in partial.possible]
            gap = _outcome_gap(self.outcome, lang)
            if gap is not None and partial.matters:  # the facts to confirm, by name
                extra["gap"] = {**gap, "facts": list(partial.unknown)}
        if self.changes is not None:
            extra["changes"] = [c.to_dict(rs, lang) for c in self.changes]
        return extra
