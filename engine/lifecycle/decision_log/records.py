"""What the decision log holds: one record per decision, its personal facts masked, and what a query asks.

A record is built from a :class:`~engine.rules.explain.Decision` when it is logged (:func:`record_of`);
facts declared ``personal: true`` never reach a store, as their values are replaced by :data:`MASK`
here. :class:`DecisionBatch` is the records of one request, built only when a store asks for them, and
:func:`facts_column` / :func:`facts_of_column` are the codec of the SQLite store's ``facts`` column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import overload

from ...clock import TOKYO
from ...errors import EngineError
from ...jsontext import dumps_facts
from ...memo import PerObject
from ...rules.explain import Decision
from ...rules.facts import facts_to_json
from ...rules.model import RuleSet
from ...rules.rulebook import ruleset_digest

#: What a personal fact's value is replaced with in the log.
MASK = "***"

#: Most records one query returns unless the caller asks for fewer.
DEFAULT_QUERY_LIMIT = 1000


class AuditError(EngineError):
    """The decision could not be written to the decision log, so it must not be answered."""


@dataclass(frozen=True)
class DecisionRecord:
    """One logged decision, as stored and as returned by queries."""

    request_id: str
    item: int
    decided_at: datetime
    ruleset: str
    version: str
    as_of: date
    outcome: str
    kind: str
    reasons: tuple[str, ...]
    facts: Mapping[str, object]
    #: The content digest of the rule set version that decided (:mod:`engine.format.versions`);
    #: ``None`` for decisions logged before digests were recorded.
    digest: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "item": self.item,
            "decided_at": self.decided_at.isoformat(),
            "ruleset": self.ruleset,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome,
            "kind": self.kind,
            "reasons": list(self.reasons),
            "facts": dict(self.facts),
            "digest": self.digest,
        }


@dataclass(frozen=True)
class Query:
    """Filters for reading the log; every field is optional. ``newest_first`` lists the newest
    records first (the limit then keeps the newest ones)."""

    ruleset: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    request_id: str | None = None
    limit: int | None = DEFAULT_QUERY_LIMIT
    newest_first: bool = False


def start_of_day(day: date) -> datetime:
    """A ``--since DATE`` means from midnight of that day in Tokyo, where the contracts are made."""
    return datetime.combine(day, time(), TOKYO)


# --- records of decisions, personal facts masked --------------------------------------------------


def _personal_names(ruleset: RuleSet) -> frozenset[str]:
    return frozenset(spec.name for spec in ruleset.facts if spec.personal)


#: The ``personal: true`` facts of a rule set, derived once per loaded rule set.
personal_facts = PerObject(_personal_names)


def masked_facts(decision: Decision) -> dict[str, object]:
    """The decision's facts as JSON values, with every ``personal: true`` fact replaced by :data:`MASK`."""
    personal = personal_facts(decision.ruleset)
    plain = facts_to_json(decision.facts)
    return {name: MASK if name in personal else value for name, value in plain.items()}


def record_of(
    decision: Decision, request_id: str, item: int = 0, at: datetime | None = None
) -> DecisionRecord:
    """The log record of ``decision``; ``item`` numbers the decisions of one batch request."""
    return DecisionRecord(
        request_id=request_id,
        item=item,
        decided_at=at or datetime.now(UTC),
        ruleset=decision.ruleset.id,
        version=decision.ruleset.version,
        as_of=decision.as_of,
        outcome=decision.outcome.id,
        kind=decision.kind.value,
        reasons=tuple(r.code for r in decision.reasons),
        facts=masked_facts(decision),
        digest=ruleset_digest(decision.ruleset) or None,
    )


# --- the facts column of the SQLite store ---------------------------------------------------------


def facts_column(
    facts: Sequence[Mapping[str, object]], masked: frozenset[str] = frozenset()
) -> str:
    """The facts of one request's decisions as the JSON text of the log's ``facts`` column, with the
    facts named in ``masked`` replaced by :data:`MASK`.

    Decisions of one rule set normally carry the same facts in the same order, so the names are written
    once and each decision's values as an array: ``{"names": [...], "values": [[...], ...]}``. Written
    as one object per decision, the names made up two thirds of a TV transport batch's row (about 540
    bytes per decision instead of about 170), and every byte is written, parsed and copied again by the
    journal, SQLite's WAL and its checkpoint. Decisions whose facts differ in names or order keep one
    object per decision (``[{...}, ...]``); readers accept both (:func:`facts_of_column`).
    """
    names = tuple(facts[0])
    if any(tuple(one) != names for one in facts):
        return dumps_facts(
            [{n: MASK if n in masked else v for n, v in one.items()} for one in facts]
        )
    values = [list(one.values()) for one in facts]
    for index, name in enumerate(names):
        if name in masked:
            for row in values:
                row[index] = MASK
    return dumps_facts({"names": names, "values": values})


def facts_of_column(parsed: object) -> list[dict[str, object]]:
    """Each decision's facts from a parsed ``facts`` column (either layout of :func:`facts_column`)."""
    if isinstance(parsed, dict):
        names = parsed["names"]
        return [dict(zip(names, row, strict=True)) for row in parsed["values"]]
    if not isinstance(parsed, list):  # not written by facts_column: say so instead of failing later
        raise ValueError(f"decision log facts column is neither layout: {type(parsed).__name__}")
    return parsed


# --- the records of one request, built lazily -----------------------------------------------------


class DecisionBatch(Sequence[DecisionRecord]):
    """The records of one request's decisions, built lazily.

    Behaves as a sequence of :class:`DecisionRecord` for any store. The SQLite store does not build the
    records: it renders the batch's :attr:`decisions` straight into its row (facts JSON shared with the
    response, personal facts masked, one timestamp per request; :func:`.sqlite.request_rows`).
    """

    def __init__(self, decisions: Sequence[Decision], request_id: str, at: datetime) -> None:
        self.decisions = decisions
        self.request_id = request_id
        self.at = at

    def __len__(self) -> int:
        return len(self.decisions)

    @overload
    def __getitem__(self, index: int) -> DecisionRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[DecisionRecord]: ...

    def __getitem__(self, index: int | slice) -> DecisionRecord | list[DecisionRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return record_of(self.decisions[index], self.request_id, index, self.at)

    def __iter__(self) -> Iterator[DecisionRecord]:
        for index in range(len(self.decisions)):
            yield self[index]
