"""Impact of a change: replay past decisions (or a file of fact sets) against a candidate rules folder.

Each case is decided twice — by the rules now in force and by the candidate — on the same ``as_of``
date, and the report groups the cases whose outcome or reasons change by ``old → new`` outcome, with
examples. A policy owner runs it before publishing a change (``flets-elig impact --candidate DIR``) or
an operator asks the server (``POST /v1/admin/impact``).

Replaying the decision log replays the *logged* facts: facts declared ``personal: true`` were masked
when logged, so they are left out and replayed with their defaults. The ``flets-elig impact`` command
is :mod:`engine.cli.impact`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import EngineError, FactsError
from ..rules.explain import Decision
from ..rules.rulebook import Rulebook
from .decision_log import MASK, DecisionRecord, Query, all_records, open_decision_log

#: How many example cases each change group lists.
EXAMPLES_PER_GROUP = 5


@dataclass(frozen=True)
class Case:
    """One fact set to replay: where it comes from, which rule set, which date."""

    ref: str  # the request id (log) or "file:line" (fact file)
    ruleset: str
    facts: Mapping[str, object]
    as_of: date
    logged_outcome: str | None = None


@dataclass(frozen=True)
class Change:
    """One case whose answer differs between the current and the candidate rules."""

    case: Case
    old_outcome: str
    new_outcome: str
    old_reasons: tuple[str, ...]
    new_reasons: tuple[str, ...]
    old_version: str
    new_version: str

    def to_dict(self) -> dict[str, object]:
        return {
            "ref": self.case.ref,
            "ruleset": self.case.ruleset,
            "as_of": self.case.as_of.isoformat(),
            "facts": dict(self.case.facts),
            "old": {"outcome": self.old_outcome, "reasons": list(self.old_reasons),
                    "version": self.old_version},
            "new": {"outcome": self.new_outcome, "reasons": list(self.new_reasons),
                    "version": self.new_version},
        }  # fmt: skip


@dataclass
class ImpactReport:
    """Every replayed case's verdict: unchanged, changed (grouped old → new), or not replayable."""

    replayed: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)
    problems: list[tuple[Case, str]] = field(default_factory=list)

    def groups(self) -> dict[tuple[str, str], list[Change]]:
        """Changes by ``(old outcome, new outcome)``, largest group first."""
        grouped: dict[tuple[str, str], list[Change]] = {}
        for change in self.changes:
            grouped.setdefault((change.old_outcome, change.new_outcome), []).append(change)
        return dict(sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    def to_dict(self, examples: int = EXAMPLES_PER_GROUP) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "changed": len(self.changes),
            "not_replayable": len(self.problems),
            "groups": [
                {
                    "from": old,
                    "to": new,
                    "count": len(items),
                    "examples": [c.to_dict() for c in items[:examples]],
                }
                for (old, new), items in self.groups().items()
            ],
            "problems": [
                {"ref": case.ref, "ruleset": case.ruleset, "problem": why}
                for case, why in self.problems
            ],
        }

    def render(self, examples: int = EXAMPLES_PER_GROUP) -> str:
        """The report as text for the terminal."""
        lines = [
            f"{self.replayed} decisions replayed: {self.unchanged} unchanged, "
            f"{len(self.changes)} changed, {len(self.problems)} not replayable"
        ]
        for (old, new), items in self.groups().items():
            label = f"{old} → {new}" if old != new else f"{old} (reasons change)"
            lines.append(f"\n{label}: {len(items)}")
            for change in items[:examples]:
                lines.append(
                    f"  {change.case.ref} {change.case.ruleset} as_of {change.case.as_of}: "
                    f"{sorted(change.old_reasons)} → {sorted(change.new_reasons)}"
                )
                lines.append(
                    f"    facts: {json.dumps(dict(change.case.facts), ensure_ascii=False)}"
                )
        for case, why in self.problems[:examples]:
            lines.append(f"not replayable: {case.ref} {case.ruleset}: {why}")
        return "\n".join(lines)


def _decide(book: Rulebook, case: Case) -> Decision:
    return book.decider(case.ruleset, case.as_of).decide(dict(case.facts), case.as_of)


def replay(cases: Iterable[Case], current: Rulebook, candidate: Rulebook) -> ImpactReport:
    """Decide every case with both rulebooks and collect the differences.

    Uses the deciders directly, so replays are never written to the decision log.
    """
    report = ImpactReport()
    for case in cases:
        report.replayed += 1
        try:
            old = _decide(current, case)
            new = _decide(candidate, case)
        except FactsError as exc:
            report.problems.append((case, f"facts rejected: {exc.fields}"))
            continue
        except EngineError as exc:
            report.problems.append((case, str(exc)))
            continue
        old_reasons = tuple(r.code for r in old.reasons)
        new_reasons = tuple(r.code for r in new.reasons)
        if old.outcome.id == new.outcome.id and set(old_reasons) == set(new_reasons):
            report.unchanged += 1
            continue
        report.changes.append(Change(case, old.outcome.id, new.outcome.id, old_reasons,
                                     new_reasons, old.ruleset.version, new.ruleset.version))  # fmt: skip
    return report


# --- where cases come from -------------------------------------------------------------------------


def cases_from_log(records: Iterable[DecisionRecord]) -> Iterator[Case]:
    """Logged decisions as cases; masked personal facts are left out, so their defaults apply."""
    for record in records:
        facts = {k: v for k, v in record.facts.items() if v != MASK}
        yield Case(record.request_id if not record.item else f"{record.request_id}#{record.item}",
                   record.ruleset, facts, record.as_of, record.outcome)  # fmt: skip


class FactFileError(EngineError):
    """A CSV/JSONL file of fact sets is unreadable; the message names the line."""


def cases_from_file(path: Path, default_ruleset: str | None, default_as_of: date) -> Iterator[Case]:
    """Fact sets from ``.jsonl`` (one object per line) or ``.csv`` (one column per fact).

    A line may carry ``ruleset`` and ``as_of`` beside the facts (JSONL: ``{"ruleset": …, "as_of": …,
    "facts": {…}}``; CSV: columns ``ruleset`` and ``as_of``); otherwise the defaults apply. CSV cells
    are read as JSON when they parse (``true``, ``3``, ``["tv"]``) and as text otherwise.
    """
    rows = _jsonl_rows(path) if path.suffix == ".jsonl" else _csv_rows(path)
    for line, row in rows:
        ruleset = row.pop("ruleset", None) or default_ruleset
        as_of_raw = row.pop("as_of", None)
        facts = row.pop("facts", None) if "facts" in row else row
        where = f"{path.name}:{line}"
        if not isinstance(ruleset, str):
            raise FactFileError(f"{where}: no rule set (add a ruleset column or pass --ruleset)")
        if not isinstance(facts, dict):
            raise FactFileError(f"{where}: facts must be an object")
        try:
            as_of = date.fromisoformat(as_of_raw) if as_of_raw else default_as_of
        except (TypeError, ValueError):
            raise FactFileError(f"{where}: as_of {as_of_raw!r} is not YYYY-MM-DD") from None
        yield Case(where, ruleset, facts, as_of)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise FactFileError(f"{path.name}:{number}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise FactFileError(f"{path.name}:{number}: expected a JSON object")
            yield number, row


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            yield number, {k: _cell(v) for k, v in row.items() if k and v not in (None, "")}


def _cell(text: str) -> object:
    try:
        value: object = json.loads(text)
    except ValueError:
        return text
    return value if not isinstance(value, float) else text


def only(cases: Iterable[Case], rulesets: Sequence[str]) -> Iterator[Case]:
    """The cases of the named rule sets (all when none are named)."""
    wanted = set(rulesets)
    return (c for c in cases if not wanted or c.ruleset in wanted)


def load_cases(
    log_url: str, facts_file: Path | None, query: Query, ruleset: str | None, as_of: date
) -> list[Case]:
    """The cases to replay: the fact file when one is given, else the decision log at ``log_url``."""
    if facts_file is not None:
        return list(cases_from_file(facts_file, ruleset, as_of))
    log = open_decision_log(log_url)
    try:
        return list(cases_from_log(all_records(log, query)))
    finally:
        log.close()
