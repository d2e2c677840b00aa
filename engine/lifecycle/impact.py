"""Impact of a change: replay past decisions (or a file of fact sets) against a candidate rules folder.

Each case is decided twice — by the rules now in force and by the candidate — on the same ``as_of``
date, and the report groups the cases whose outcome or reasons change by ``old → new`` outcome, with
examples. A policy owner runs it before publishing a change (``flets-elig impact --candidate DIR``) or
an operator asks the server (``POST /v1/admin/impact``).

Cases are streamed: a replay holds one case at a time and a report of counts with a few examples
per group (:class:`ImpactReport`), so replaying millions of logged decisions takes bounded memory.

Replaying the decision log replays the *logged* facts: facts declared ``personal: true`` were masked
when logged, so they are left out and replayed with their defaults. The ``flets-elig impact`` command
is :mod:`engine.cli.impact`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
#: Most examples a report keeps per group, whatever is asked: with the counts, they are all a report
#: holds, so replaying millions of decisions takes the memory of one case at a time.
MAX_EXAMPLES = 100
#: Most cases a report lists as not replayable (all of them are counted).
MAX_PROBLEMS = 100


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
class Group:
    """The changes from one outcome to another: how many, and the first few as examples."""

    count: int = 0
    examples: list[Change] = field(default_factory=list)


@dataclass
class ImpactReport:
    """Every replayed case counted as unchanged, changed (grouped old → new) or not replayable, with
    the first ``examples`` changes of each group and the first :data:`MAX_PROBLEMS` problems.

    Only counts and those examples are kept, so the report's size does not grow with the cases.
    """

    examples: int = EXAMPLES_PER_GROUP
    replayed: int = 0
    unchanged: int = 0
    changed: int = 0
    not_replayable: int = 0
    changes: dict[tuple[str, str], Group] = field(default_factory=dict)
    problems: list[tuple[Case, str]] = field(default_factory=list)

    def add_change(self, change: Change) -> None:
        self.changed += 1
        group = self.changes.setdefault((change.old_outcome, change.new_outcome), Group())
        group.count += 1
        if len(group.examples) < self.examples:
            group.examples.append(change)

    def add_problem(self, case: Case, why: str) -> None:
        self.not_replayable += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((case, why))

    def groups(self) -> dict[tuple[str, str], Group]:
        """Changes by ``(old outcome, new outcome)``, largest group first."""
        return dict(sorted(self.changes.items(), key=lambda kv: (-kv[1].count, kv[0])))

    def to_dict(self, examples: int | None = None) -> dict[str, Any]:
        """The report as JSON, with at most ``examples`` examples per group (default: all kept)."""
        shown = self.examples if examples is None else examples
        return {
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "not_replayable": self.not_replayable,
            "groups": [
                {
                    "from": old,
                    "to": new,
                    "count": group.count,
                    "examples": [c.to_dict() for c in group.examples[:shown]],
                }
                for (old, new), group in self.groups().items()
            ],
            "problems": [
                {"ref": case.ref, "ruleset": case.ruleset, "problem": why}
                for case, why in self.problems
            ],
        }

    def render(self, examples: int | None = None) -> str:
        """The report as text for the terminal."""
        shown = self.examples if examples is None else examples
        lines = [
            f"{self.replayed} decisions replayed: {self.unchanged} unchanged, "
            f"{self.changed} changed, {self.not_replayable} not replayable"
        ]
        for (old, new), group in self.groups().items():
            label = f"{old} → {new}" if old != new else f"{old} (reasons change)"
            lines.append(f"\n{label}: {group.count}")
            for change in group.examples[:shown]:
                lines.append(
                    f"  {change.case.ref} {change.case.ruleset} as_of {change.case.as_of}: "
                    f"{sorted(change.old_reasons)} → {sorted(change.new_reasons)}"
                )
                lines.append(
                    f"    facts: {json.dumps(dict(change.case.facts), ensure_ascii=False)}"
                )
        for case, why in self.problems[:shown]:
            lines.append(f"not replayable: {case.ref} {case.ruleset}: {why}")
        return "\n".join(lines)


def _decide(book: Rulebook, case: Case) -> Decision:
    return book.decider(case.ruleset, case.as_of).decide(dict(case.facts), case.as_of)


def replay(
    cases: Iterable[Case],
    current: Rulebook,
    candidate: Rulebook,
    examples: int = EXAMPLES_PER_GROUP,
) -> ImpactReport:
    """Decide every case with both rulebooks and count the differences, keeping ``examples`` (at
    most :data:`MAX_EXAMPLES`) changes per group.

    ``cases`` are taken one at a time (a stream from the log is never held whole). Uses the deciders
    directly, so replays are never written to the decision log.
    """
    report = ImpactReport(examples=max(0, min(examples, MAX_EXAMPLES)))
    for case in cases:
        report.replayed += 1
        try:
            old = _decide(current, case)
            new = _decide(candidate, case)
        except FactsError as exc:
            report.add_problem(case, f"facts rejected: {exc.fields}")
            continue
        except EngineError as exc:
            report.add_problem(case, str(exc))
            continue
        old_reasons = tuple(r.code for r in old.reasons)
        new_reasons = tuple(r.code for r in new.reasons)
        if old.outcome.id == new.outcome.id and set(old_reasons) == set(new_reasons):
            report.unchanged += 1
            continue
        report.add_change(Change(case, old.outcome.id, new.outcome.id, old_reasons,
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


@contextmanager
def open_cases(
    log_url: str, facts_file: Path | None, query: Query, ruleset: str | None, as_of: date
) -> Iterator[Iterator[Case]]:
    """The cases to replay, one at a time: the fact file's lines when one is given, else the
    decision log at ``log_url`` (opened here, so a bad URL fails at once; read a page at a time;
    closed on leaving the block). A bad line of a fact file fails when it is reached.

    :raise ValueError, OSError, EngineError: the decision log cannot be opened.
    """
    if facts_file is not None:
        yield cases_from_file(facts_file, ruleset, as_of)
        return
    log = open_decision_log(log_url)
    try:
        yield cases_from_log(all_records(log, query))
    finally:
        log.close()
