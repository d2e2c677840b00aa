"""Rule sets as JSON: what ``GET /v1/rulesets`` and ``GET /v1/rulesets/<id>`` return.

Texts are given in both languages (they are metadata a client may show either way); dates as ISO strings.
Examples are shaped exactly like an evaluate request, so a client can send them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from engine.format.common import Citation, Gap
from engine.rules.facts import facts_json_schema
from engine.rules.model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Consequence,
    Example,
    FactRef,
    Note,
    Outcome,
    Parameter,
    RuleSet,
)
from engine.rules.partial.search import MAX_ALTERNATIVES, MAX_CHANGED_FACTS


def json_value(value: object) -> Any:
    """A YAML-loaded value as JSON (dates as ISO strings, tuples as lists), recursively."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def version_info(rs: RuleSet) -> dict[str, Any]:
    return {
        "version": rs.version,
        "effective_from": rs.effective_from.isoformat(),
        "effective_to": rs.effective_to.isoformat() if rs.effective_to else None,
    }


def ruleset_summary(rs: RuleSet, versions: Sequence[RuleSet]) -> dict[str, Any]:
    """Identity of the version in force plus every loaded version."""
    return {
        "id": rs.id,
        "title": rs.title.to_dict(),
        "region": rs.region,
        **version_info(rs),
        "versions": [version_info(v) for v in versions],
    }


def _cite(cite: Citation | None) -> dict[str, str | None] | None:
    return cite.to_dict() if cite else None


def _note(note: Note) -> dict[str, Any]:
    return {"code": note.code, "message": note.message.to_dict(), "citation": note.cite.to_dict()}


def condition_json(condition: Condition) -> dict[str, Any]:
    """A condition as data: ``{fact, op, value}`` (``value`` a constant, or ``{"fact": name}``), or
    ``{all: […]}``, ``{any: […]}``, ``{not: …}``."""
    if isinstance(condition, Compare):
        operand = condition.operand
        value = {"fact": operand.name} if isinstance(operand, FactRef) else json_value(operand)
        return {"fact": condition.fact, "op": condition.op, "value": value}
    if isinstance(condition, AllOf):
        return {"all": [condition_json(p) for p in condition.parts]}
    if isinstance(condition, AnyOf):
        return {"any": [condition_json(p) for p in condition.parts]}
    return {"not": condition_json(condition.part)}


def _consequence(note: Consequence) -> dict[str, Any]:
    """A consequence: told when ``when`` holds (always without one); while a fact it needs is not
    known, ``if_unknown`` is told instead (nothing without it)."""
    return {
        **_note(note),
        "when": None if note.when is None else condition_json(note.when),
        "if_unknown": None if note.if_unknown is None else note.if_unknown.to_dict(),
    }


def _gap(gap: Gap | None) -> dict[str, Any] | None:
    return {"missing": gap.missing.to_dict(), "ask": gap.ask.to_dict()} if gap else None


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "kind": outcome.kind.value,
        "label": outcome.label.to_dict(),
        "consequences": [_consequence(n) for n in outcome.consequences],
        "gap": _gap(outcome.gap),
    }


def _parameter(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "type": p.type.value,
        "value": json_value(p.value),
        "provenance": p.provenance,
        "label": p.label.to_dict(),
        "note": p.note,
        "citation": _cite(p.cite),
    }


def partial_answers(rs: RuleSet) -> dict[str, Any]:
    """What a caller needs for ``unknown`` facts and ``?explain=whatif`` (engine.rules.partial): the
    facts to ask (never to leave to their default), the facts a what-if never changes, each enum's
    "not known yet" value, and the what-if's bounds. The same marks are in ``facts_schema``."""
    return {
        "ask": [f.name for f in rs.facts if f.ask],
        "fixed": [f.name for f in rs.facts if f.fixed],
        "unknown_values": {f.name: f.unknown_value for f in rs.facts if f.unknown_value},
        "max_changed_facts": MAX_CHANGED_FACTS,
        "max_alternatives": MAX_ALTERNATIVES,
    }


def example_request(example: Example) -> dict[str, Any]:
    """The evaluate request body that reproduces ``example``."""
    body: dict[str, Any] = {"facts": json_value(example.facts)}
    if example.as_of:
        body["as_of"] = example.as_of.isoformat()
    return body


def ruleset_detail(rs: RuleSet, versions: Sequence[RuleSet]) -> dict[str, Any]:
    """Everything a client needs to call and explain a rule set."""
    return {
        **ruleset_summary(rs, versions),
        "description": rs.description.to_dict() if rs.description else None,
        "sources": [{"file": s.file, "title": s.title} for s in rs.sources],
        "readings": [
            {
                "id": r.id,
                "citation": r.cite.to_dict(),
                "passage": r.passage,
                "chosen": r.chosen.to_dict(),
                "other": r.other.to_dict(),
            }
            for r in rs.readings
        ],
        "parameters": [_parameter(p) for p in rs.parameters],
        "decide": rs.decide,
        "precedence": list(rs.precedence),
        "default_outcome": rs.default_outcome,
        "default": _note(rs.default_reason),
        "facts_schema": facts_json_schema(rs),
        "rules": [
            {
                "id": rule.id,
                "outcome": rule.outcome,
                "reason": rule.reason.code,
                "message": rule.reason.message.to_dict(),
                "citation": rule.reason.cite.to_dict(),
                "source": f"{rs.file}:{rule.location.line}",
                "consequences": [_consequence(n) for n in rule.consequences],
            }
            for rule in rs.rules
        ],
        "outcomes": [_outcome(o) for o in rs.outcomes],
        "partial_answers": partial_answers(rs),
        "examples": [
            {
                "note": ex.note,
                "request": example_request(ex),
                "expect": {"outcome": ex.expect_outcome, "reasons": sorted(ex.expect_reasons)},
            }
            for ex in rs.examples
        ],
    }
