"""SQL both stores share: a :class:`~.records.Query` as a ``WHERE`` clause, and the per-decision table.

The per-decision ``decisions`` table (one row per decision, the columns :data:`COLUMNS`) is the
PostgreSQL store's schema. SQLite files written before the SQLite store kept one row per request
(:mod:`.sqlite`) hold the same table; the SQLite store still reads it, so such a file stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from .records import DecisionRecord, Query

#: The columns of the per-decision table, in the order of a :class:`~.records.DecisionRecord`.
COLUMNS = (
    "request_id", "item", "decided_at", "ruleset", "version", "as_of", "outcome", "kind",
    "reasons", "facts",
)  # fmt: skip
#: :data:`COLUMNS` and the version's content digest (PostgreSQL; SQLite files written before the
#: request rows have no digest).
DIGEST_COLUMNS = (*COLUMNS, "digest")

#: Every ``(rule set, version, digest)`` a log holds decisions of, which the version discipline
#: (:mod:`engine.lifecycle.versions`) reads at every start and reload of every worker: ``SELECT
#: DISTINCT`` over the decisions themselves cost about 2 s per million rows. Each store fills it as it
#: writes (:mod:`.rows` for SQLite, :mod:`.postgres`). A version stays when its decisions are pruned:
#: its content was fixed by serving it.
VERSIONS_TABLE = """CREATE TABLE IF NOT EXISTS decision_versions (
    ruleset TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (ruleset, version, digest)
)"""


def backfill_versions(table: str) -> str:
    """SQL that puts the versions of the rows of ``table`` (decisions logged before the versions table
    existed) into it; running it again changes nothing."""
    return (
        "INSERT INTO decision_versions (ruleset, version, digest) "
        f"SELECT DISTINCT ruleset, version, digest FROM {table} WHERE digest IS NOT NULL "
        "ON CONFLICT DO NOTHING"
    )


def where(query: Query, mark: str) -> tuple[str, list[object]]:
    """``query``'s filters as a ``WHERE`` clause (empty when it has none) and its values, with
    ``mark`` as the driver's placeholder (``?`` or ``%s``)."""
    clauses: list[str] = []
    values: list[object] = []
    for column, value in (("ruleset", query.ruleset), ("outcome", query.outcome),
                          ("request_id", query.request_id)):  # fmt: skip
        if value is not None:
            clauses.append(f"{column} = {mark}")
            values.append(value)
    if query.since is not None:
        clauses.append(f"decided_at >= {mark}")
        values.append(query.since)
    if query.until is not None:
        clauses.append(f"decided_at < {mark}")
        values.append(query.until)
    clause = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return clause, values


def select(query: Query, mark: str, columns: Sequence[str] = COLUMNS) -> tuple[str, list[object]]:
    """The per-decision table's rows matching ``query``, in commit order (newest first with
    ``newest_first``), at most its limit."""
    clause, values = where(query, mark)
    order = "DESC" if query.newest_first else ""
    sql = f"SELECT {', '.join(columns)} FROM decisions{clause} ORDER BY seq {order}".rstrip()
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return sql, values


def insert(mark: str, columns: Sequence[str] = COLUMNS) -> str:
    """One row of the per-decision table, its values in the order of ``columns``."""
    return (
        f"INSERT INTO decisions ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    )


#: Most ``seq`` values one prune transaction covers, so no writer waits long behind it.
PRUNE_BATCH = 1000


def prune_statements(table: str, counted: str, mark: str) -> tuple[str, str, str]:
    """The statements of a prune of ``table`` in ``seq`` ranges, oldest first: the first ``seq`` at
    or after a value; what a range ``[low, high)`` holds (its rows, its rows decided before the
    cutoff, and the decisions those hold: ``counted`` per row); and the delete of those rows.

    Walking ``seq`` (the primary key) needs no index on the time. A store's rows are in commit
    order, which is time order (up to a clock set back), so the walk stops at the first range that
    has rows and none before the cutoff: a prune costs what it deletes, not the size of the log.
    """
    first = f"SELECT min(seq) FROM {table} WHERE seq >= {mark}"
    survey = (
        f"SELECT count(*), coalesce(sum(CASE WHEN decided_at < {mark} THEN 1 ELSE 0 END), 0), "
        f"coalesce(sum(CASE WHEN decided_at < {mark} THEN {counted} ELSE 0 END), 0) "
        f"FROM {table} WHERE seq >= {mark} AND seq < {mark}"
    )
    delete = f"DELETE FROM {table} WHERE seq >= {mark} AND seq < {mark} AND decided_at < {mark}"
    return first, survey, delete


def record_from_row(row: Sequence[Any]) -> DecisionRecord:
    """The record of a per-decision row, as PostgreSQL (typed values) or SQLite (text) returns it;
    with :data:`DIGEST_COLUMNS` or :data:`COLUMNS`."""
    request_id, item, decided_at, ruleset, version, as_of, outcome, kind, reasons, facts = row[:10]
    return DecisionRecord(
        request_id=request_id,
        item=item,
        decided_at=decided_at if isinstance(decided_at, datetime) else aware(decided_at),
        ruleset=ruleset,
        version=version,
        as_of=as_of if isinstance(as_of, date) else date.fromisoformat(as_of),
        outcome=outcome,
        kind=kind,
        reasons=tuple(reasons if isinstance(reasons, list) else json.loads(reasons)),
        facts=facts if isinstance(facts, dict) else json.loads(facts),
        digest=row[10] if len(row) > 10 else None,
    )


def aware(text: str) -> datetime:
    """An ISO time as stored; a time without a zone is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
