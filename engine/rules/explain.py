"""Decisions and their explanation: every reason with its message and the clause it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from ..messages.language import Lang
from .facts import facts_json_text, facts_to_json
from .model import Note, Outcome, OutcomeKind, RuleSet


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
class Decision:
    """The answer for one set of facts under one version of one rule set."""

    ruleset: RuleSet
    outcome: Outcome
    reasons: tuple[Reason, ...]
    fired: tuple[str, ...]
    facts: dict[str, Any]
    as_of: date

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
        ids = dict.fromkeys([self.outcome.id, *(r.outcome for r in self.reasons)])
        outcomes = (self.ruleset.outcome(oid) for oid in ids)
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
        }
