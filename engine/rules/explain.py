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

from ..memo import PerObject
from ..messages.language import Lang, Text
from .domain import comparisons, condition_state
from .facts import facts_json_text, facts_to_json
from .model import Consequence, FactRef, FactValue, Note, Outcome, OutcomeKind, RuleSet


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


def _grounds(reasons: tuple[Reason, ...], outcome: Outcome) -> tuple[Reason, ...]:
    """The reasons that are grounds of ``outcome``: its own rules' (the rest fired for others)."""
    return tuple(r for r in reasons if r.outcome == outcome.id)


def _outcome_gap(outcome: Outcome, lang: Lang) -> dict[str, str] | None:
    return (
        {"missing": outcome.gap.missing(lang), "ask": outcome.gap.ask(lang)}
        if outcome.gap
        else None
    )


def _text(text: Text | None, lang: Lang) -> str | None:
    return text(lang) if text is not None else None


def _resting(ruleset: RuleSet, reason: Reason, unknown: set[str]) -> frozenset[str]:
    """The unknown facts the rule of ``reason`` tests (it fired on their unknown value); none for
    the default."""
    if reason.rule is None or not unknown:
        return frozenset()
    names: set[str] = set()
    for c in comparisons(ruleset.rule(reason.rule).condition):
        names.add(c.fact)
        if isinstance(c.operand, FactRef):
            names.add(c.operand.name)
    return frozenset(names & unknown)


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
            "reasons": _reasons(_grounds(self.reasons, self.outcome), ruleset, lang),
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
            "reasons": _reasons(_grounds(self.reasons, self.outcome), ruleset, lang),
        }


def _variation(ruleset: RuleSet) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Whether some consequence of ``ruleset`` has a ``when``; the facts with an ``unknown_value``
    and that value: what can make two answers with one outcome and one set of fired rules differ."""
    notes = [
        *(c for o in ruleset.outcomes for c in o.consequences),
        *(c for r in ruleset.rules for c in r.consequences),
    ]
    return (
        any(c.when is not None for c in notes),
        tuple((s.name, s.unknown_value) for s in ruleset.facts if s.unknown_value is not None),
    )


_varies = PerObject(_variation)


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
        """The codes of every rule that fired (grounds and others), or the default's."""
        return frozenset(r.code for r in self.reasons)

    @property
    def grounds(self) -> tuple[Reason, ...]:
        """The reasons for the answer: the rules that fired for its outcome (or the default)."""
        return _grounds(self.reasons, self.outcome)

    @property
    def others(self) -> tuple[Reason, ...]:
        """The rules that fired for other outcomes (weaker ones, under ``decide: collect``)."""
        return tuple(r for r in self.reasons if r.outcome != self.outcome.id)

    @cached_property
    def unknown_facts(self) -> tuple[str, ...]:
        """The facts not known, in declaration order: sent as unknown (not among ``facts``), or at
        their ``unknown_value``."""
        facts = self.facts
        return tuple(
            s.name
            for s in self.ruleset.facts
            if s.name not in facts
            or (s.unknown_value is not None and facts[s.name] == s.unknown_value)
        )

    @cached_property
    def told(self) -> tuple[tuple[Consequence, bool], ...]:
        """The consequences told with the answer, each with whether its ``if_unknown`` text is told:
        the outcome's, then those of the rules among the grounds (a code told once), each whose
        ``when`` holds or, while it depends on an unknown fact, has an ``if_unknown`` text."""
        found: dict[str, tuple[Consequence, bool]] = {}
        rs = self.ruleset
        notes = [
            *self.outcome.consequences,
            *(c for r in self.grounds if r.rule is not None for c in rs.rule(r.rule).consequences),
        ]
        for note in notes:
            if note.code in found:
                continue
            state = (
                True
                if note.when is None
                else condition_state(note.when, self.facts, self.unknown_facts)
            )
            if state or (state is None and note.if_unknown is not None):
                found[note.code] = (note, state is None)
        return tuple(found.values())

    @property
    def variant(self) -> tuple[object, ...]:
        """What the answer's JSON depends on beyond its outcome and fired rules: the consequences
        told (and how) and the facts not known (a cache of rendered answers keys on it too).

        Most rule sets tell every consequence unconditionally and have no "not known" value, and
        most requests send every fact: then neither part can vary beyond the outcome and the fired
        rules, and both are skipped (a batch of a thousand decisions renders from the cache)."""
        conditional, unknowable = _varies(self.ruleset)
        told = tuple((n.code, alt) for n, alt in self.told) if conditional else ()
        facts = self.facts
        if len(facts) < len(self.ruleset.facts):  # some sent as unknown
            return (told, self.unknown_facts)
        # Every fact sent: the unknown ones are those at their "not known" value (in order).
        return (told, tuple(name for name, value in unknowable if facts[name] == value))

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

    def _findings(self, lang: Lang) -> dict[str, Any]:
        """The answer apart from its grounds, in the three lists a seller reads: ``confirmed`` (rules
        that fired for other, decided outcomes: conditions that hold), ``to_ask`` (each fact not
        known that the answer read, with the rules that fired on its unknown value: the customer's
        answer is missing, not the sources') and ``gaps`` (what the sources lack: the gaps of
        undecidable outcomes that do not rest on unknown facts alone)."""
        rs, unknown = self.ruleset, set(self.unknown_facts)
        resting = {r.rule: _resting(rs, r, unknown) for r in self.reasons}
        confirmed = [
            r.to_dict(rs, lang)
            for r in self.others
            if rs.outcome(r.outcome).kind is not OutcomeKind.UNDECIDABLE and not resting[r.rule]
        ]
        # A fact at its unknown value is to ask when the answer read it (a rule fired on it, or a
        # consequence is told in its "if any" wording); one sent as unknown always is.
        asked = {n for names in resting.values() for n in names}
        asked |= {c.fact for n, alt in self.told if alt and n.when for c in comparisons(n.when)}
        to_ask = [
            {
                "fact": name,
                "label": rs.fact(name).label(lang),
                "help": _text(rs.fact(name).help, lang),
                "reasons": [r.to_dict(rs, lang) for r in self.reasons if name in resting[r.rule]],
            }
            for name in self.unknown_facts
            if name in asked or name not in self.facts
        ]
        gaps = []
        for o in (
            self.outcome,
            *(rs.outcome(oid) for oid in dict.fromkeys(r.outcome for r in self.others)),
        ):
            own = [r for r in self.reasons if r.outcome == o.id]
            if o is self.outcome and self.partial is not None and self.partial.matters:
                continue  # the unknown facts decide: to ask, not missing from the sources
            if o.gap is None or (own and all(resting[r.rule] for r in own)):
                continue
            gaps.append({"outcome": o.id, "missing": o.gap.missing(lang), "ask": o.gap.ask(lang)})
        return {"confirmed": confirmed, "to_ask": to_ask, "gaps": gaps}

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
            "reasons": [r.to_dict(rs, lang) for r in self.grounds],
            "consequences": [
                {
                    "code": n.code,
                    "message": (n.if_unknown if alt and n.if_unknown else n.message)(lang),
                    "citation": n.cite.to_dict(),
                }
                for n, alt in self.told
            ],
            "gap": (
                {"missing": outcome.gap.missing(lang), "ask": outcome.gap.ask(lang)}
                if outcome.gap
                else None
            ),
            "gaps": self._gaps(lang),
            "findings": self._findings(lang),
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
