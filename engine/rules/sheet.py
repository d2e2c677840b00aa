"""A rule set as a decision table, the way DMN modelers and GoRules show one: rules as rows, facts as
columns, conditions in the cells, then outcome, reason and citation; the static analysis marked on
its rows, the examples that exercise each row, and the rows no example reaches.

:func:`build_sheet` is what the studio's table view shows (``GET /v1/studio/rules/{id}/sheet``, and
the pages server-side). It reads only the model, the analysis (:func:`engine.rules.analysis.analyse`)
and the examples' decisions as the real engine made them (:mod:`engine.rules.coverage`); it decides
nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import Diagnostic
from ..messages.language import Lang
from .analysis import analyse
from .coverage import coverage, reached_rules
from .domain import comparisons
from .evaluate import example_failure
from .explain import Decision
from .model import AllOf, Compare, Condition, Note, RuleSet
from .rulebook import ruleset_digest
from .trace import compare_text, condition_text, operand_json


def _cells(condition: Condition) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The comparisons of a row by fact (those at the top of its ``all``, or the one comparison), and
    the rest shown whole."""
    parts = condition.parts if isinstance(condition, AllOf) else (condition,)
    cells: dict[str, list[dict[str, Any]]] = {}
    other: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Compare):
            cells.setdefault(part.fact, []).append(
                {
                    "op": part.op,
                    "operand": operand_json(part),
                    "text": compare_text(part, with_fact=False),
                    "line": part.location.line,
                }
            )
        else:
            other.append({"text": condition_text(part), "line": _first_line(part)})
    return cells, other


def _first_line(condition: Condition) -> int:
    return next((c.location.line for c in comparisons(condition)), 0)


def _note(note: Note, lang: Lang) -> dict[str, Any]:
    return {"code": note.code, "message": note.message(lang)}


def _mark(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "severity": d.severity, "message": d.message, "line": d.location.line}


def build_sheet(
    ruleset: RuleSet,
    decisions: Sequence[Decision | None],
    lang: Lang = "ja",
    digest: str | None = None,
    findings: Sequence[Diagnostic] | None = None,
) -> dict[str, Any]:
    """The table of ``ruleset`` as JSON data.

    :param decisions: each example's decision by the real engine, in file order (``None``: its facts
        were refused), e.g. :func:`engine.rules.coverage.example_decisions`.
    :param findings: the analysis of this rule set (default: :func:`~engine.rules.analysis.analyse`).
    """
    found = list(analyse(ruleset) if findings is None else findings)
    reached = [None if d is None else reached_rules(d) for d in decisions]
    covered = coverage(ruleset, reached)
    by_rule = {r.id: r for r in covered.rules}
    row_marks: dict[str, list[dict[str, Any]]] = {}
    table_marks: list[dict[str, Any]] = []
    for d in found:
        rule_id = (
            d.path.removeprefix("rules.").split(".", 1)[0] if d.path.startswith("rules.") else ""
        )
        if rule_id in by_rule:
            row_marks.setdefault(rule_id, []).append(_mark(d))
        else:
            table_marks.append(_mark(d))
    rows: list[dict[str, Any]] = []
    for index, rule in enumerate(ruleset.rules):
        cells, other = _cells(rule.condition)
        outcome = ruleset.outcome(rule.outcome)
        rows.append(
            {
                "index": index,
                "id": rule.id,
                "line": rule.location.line,
                "cells": cells,
                "other": other,
                "outcome": outcome.id,
                "kind": outcome.kind.value,
                "outcome_label": outcome.label(lang),
                "reason": _note(rule.reason, lang),
                "citation": rule.reason.cite.to_dict(),
                "marks": row_marks.get(rule.id, []),
                "examples": list(by_rule[rule.id].examples),
                "covered": by_rule[rule.id].covered,
            }
        )
    default = ruleset.outcome(ruleset.default_outcome)
    return {
        "id": ruleset.id,
        "version": ruleset.version,
        "file": ruleset.file,
        "digest": ruleset_digest(ruleset) if digest is None else digest,
        "title": ruleset.title(lang),
        "decide": ruleset.decide,
        "facts": [
            {
                "name": spec.name,
                "type": spec.type.value,
                "label": spec.label(lang),
                "values": list(spec.value_names),
                "used": any(spec.name in row["cells"] for row in rows),
            }
            for spec in ruleset.facts
        ],
        "rows": rows,
        "default": {
            "outcome": default.id,
            "kind": default.kind.value,
            "outcome_label": default.label(lang),
            "reason": _note(ruleset.default_reason, lang),
            "citation": ruleset.default_reason.cite.to_dict(),
            "examples": list(covered.default_examples),
        },
        "examples": [
            _example(ruleset, index, decisions[index] if index < len(decisions) else None)
            for index in range(len(ruleset.examples))
        ],
        "uncovered": [r.id for r in covered.uncovered],
        "coverage": {
            "covered": covered.covered_count,
            "total": len(covered.rules),
            "percent": covered.percent,
        },  # fmt: skip
        "marks": table_marks,
    }


def _example(ruleset: RuleSet, index: int, decision: Decision | None) -> dict[str, Any]:
    example = ruleset.examples[index]
    failure = (
        "facts rejected"
        if decision is None
        else example_failure(
            decision, example.expect_outcome, example.expect_reasons, example.expect_others
        )
    )
    return {
        "index": index,
        "line": example.location.line,
        "note": example.note,
        "facts": dict(example.facts),
        "as_of": example.as_of.isoformat() if example.as_of else None,
        "expect": {"outcome": example.expect_outcome, "reasons": sorted(example.expect_reasons)},
        "rows": [] if decision is None else list(reached_rules(decision)),
        "outcome": None if decision is None else decision.outcome.id,
        "passed": failure is None,
        "failure": failure,
    }
