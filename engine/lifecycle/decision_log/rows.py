"""The SQLite store's row: one per request, how decisions are written into it and read back out.

:data:`SCHEMA` is a shard's table; :func:`request_rows` renders decisions into its rows (what the journal
holds, line by line); :func:`expanded` turns rows back into one record per decision. Reads either take
the rows of one snapshot (:func:`matching_rows`, for queries with a limit) or walk them a page at a time
(:func:`paged_rows`, for replaying the whole log in bounded memory).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ...jsontext import dumps_strings
from ...rules.explain import Reason
from ...rules.rulebook import ruleset_digest
from .records import (
    DecisionBatch,
    DecisionRecord,
    Query,
    facts_column,
    facts_of_column,
    personal_facts,
)
from .sql import VERSIONS_TABLE, aware, backfill_versions, where

SCHEMA = """
CREATE TABLE IF NOT EXISTS decision_requests (
    seq INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    first_item INTEGER NOT NULL,
    decided_at TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    version TEXT NOT NULL,
    as_of TEXT NOT NULL,
    outcomes TEXT NOT NULL,
    kinds TEXT NOT NULL,
    reasons TEXT NOT NULL,
    facts TEXT NOT NULL,
    digest TEXT
);
CREATE INDEX IF NOT EXISTS decision_requests_ruleset_time ON decision_requests (ruleset, decided_at);
CREATE INDEX IF NOT EXISTS decision_requests_request ON decision_requests (request_id);
"""
"""One row per request (per run of its decisions that share a rule set version and date): the columns
``outcomes``, ``kinds``, ``reasons`` and ``facts`` are JSON arrays with one entry per decision, items
``first_item``, ``first_item + 1`` …. A batch of 1,000 decisions is one row instead of 1,000, which cut
the log's share of a batch from about 10 µs to about 1 µs per decision (docs/benchmarks.md). Files
written before this layout keep their per-decision ``decisions`` table (:mod:`.sql`); queries read both."""


#: The versions table (:data:`.sql.VERSIONS_TABLE`), kept by a trigger as rows are copied in from the
#: journal (in SQLite's own code, in the copier's thread).
VERSIONS_SCHEMA = f"""
{VERSIONS_TABLE} WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS decision_requests_version AFTER INSERT ON decision_requests
WHEN NEW.digest IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO decision_versions (ruleset, version, digest)
    VALUES (NEW.ruleset, NEW.version, NEW.digest);
END;
"""


def migrate(connection: sqlite3.Connection) -> None:
    """Bring a shard written by an earlier version up to :data:`SCHEMA` (run after it): the
    ``digest`` column (NULL in the rows logged before it), and the versions table with what the
    shard already holds."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(decision_requests)")}
    if "digest" not in columns:
        try:
            connection.execute("ALTER TABLE decision_requests ADD COLUMN digest TEXT")
        except sqlite3.OperationalError as exc:  # another process added it meanwhile
            if "duplicate column" not in str(exc):
                raise
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decision_versions'"
    ).fetchone()
    if exists is None:  # two processes may both get here: both statements are idempotent
        connection.executescript(VERSIONS_SCHEMA)
        connection.execute(backfill_versions("decision_requests"))


#: The per-decision table of files written before :data:`SCHEMA` (read, never written).
LEGACY_TABLE = "decisions"

#: The columns of a row as the journal holds it (see :func:`request_rows`), in order.
REQUEST_COLUMNS = ("request_id", "first_item", "decided_at", "ruleset", "version", "as_of",
                   "outcomes", "kinds", "reasons", "facts", "digest")  # fmt: skip


# --- writing: one row per request -----------------------------------------------------------------


def request_rows(records: Sequence[DecisionRecord]) -> list[tuple[object, ...]]:
    """The rows of ``records``: one per run of consecutive items of one request, rule set version,
    date and time.

    A :class:`~.records.DecisionBatch` whose decisions share their rule set and date (every batch a
    request makes) is rendered straight from its decisions, without the intermediate records, into the
    row its records would give: the facts JSON shared with the response, personal facts masked in the
    column, the reason codes of each distinct reasons tuple rendered once.
    """
    if isinstance(records, DecisionBatch):
        row = _batch_row(records)
        if row is not None:
            return [row]
    rows: list[tuple[object, ...]] = []
    run: list[DecisionRecord] = []
    for record in records:
        if run and not _continues(run[-1], record):
            rows.append(_records_row(run))
            run = []
        run.append(record)
    if run:
        rows.append(_records_row(run))
    return rows


def _continues(last: DecisionRecord, record: DecisionRecord) -> bool:
    return record.item == last.item + 1 and (
        record.request_id,
        record.decided_at,
        record.ruleset,
        record.version,
        record.as_of,
        record.digest,
    ) == (last.request_id, last.decided_at, last.ruleset, last.version, last.as_of, last.digest)


def _records_row(run: Sequence[DecisionRecord]) -> tuple[object, ...]:
    first = run[0]
    return _row(
        request_id=first.request_id,
        first_item=first.item,
        at=first.decided_at,
        ruleset=first.ruleset,
        version=first.version,
        as_of=first.as_of,
        outcomes=[r.outcome for r in run],
        kinds=[r.kind for r in run],
        reasons=[dumps_strings(r.reasons) for r in run],
        facts=facts_column([r.facts for r in run]),  # masked when the records were made
        digest=first.digest,
    )


def _batch_row(batch: DecisionBatch) -> tuple[object, ...] | None:
    """The one row of ``batch``, or None when its decisions differ in rule set or date."""
    decisions = batch.decisions
    if not decisions:
        return None
    first = decisions[0]
    if any(d.ruleset is not first.ruleset or d.as_of != first.as_of for d in decisions):
        return None
    rs, codes = first.ruleset, _ReasonCodes()
    return _row(
        request_id=batch.request_id,
        first_item=0,
        at=batch.at,
        ruleset=rs.id,
        version=rs.version,
        as_of=first.as_of,
        outcomes=[d.outcome.id for d in decisions],
        kinds=[d.outcome.kind.value for d in decisions],
        reasons=[codes.json(d.reasons) for d in decisions],
        facts=facts_column([d.facts for d in decisions], personal_facts(rs)),
        digest=ruleset_digest(rs) or None,
    )


def _row(
    *,
    request_id: str,
    first_item: int,
    at: datetime,
    ruleset: str,
    version: str,
    as_of: date,
    outcomes: list[str],
    kinds: list[str],
    reasons: list[str],
    facts: str,
    digest: str | None,
) -> tuple[object, ...]:
    """A row in the order of :data:`REQUEST_COLUMNS`; ``reasons`` holds each decision's codes as JSON."""
    return (
        request_id,
        first_item,
        at.astimezone(UTC).isoformat(),
        ruleset,
        version,
        as_of.isoformat(),
        dumps_strings(outcomes),
        dumps_strings(kinds),
        f"[{','.join(reasons)}]",
        facts,
        digest,
    )


class _ReasonCodes:
    """The JSON list of reason codes of each distinct reasons tuple of one batch (table answers share
    their tuples, so a batch renders only a handful)."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[tuple[Reason, ...], str]] = {}

    def json(self, reasons: tuple[Reason, ...]) -> str:
        seen = self._seen.get(id(reasons))
        if seen is None or seen[0] is not reasons:
            seen = (reasons, dumps_strings([r.code for r in reasons]))
            self._seen[id(reasons)] = seen
        return seen[1]


# --- reading: rows expanded into records ----------------------------------------------------------


def sqlite_values(values: list[object]) -> list[object]:
    return [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in values]


def request_filter(query: Query) -> tuple[str, list[object]]:
    """``query``'s filters on ``decision_requests`` as a ``WHERE`` clause and its values.

    The request-level filters run in SQL (on the indexes); the outcome is matched per decision by
    :func:`expanded`, after a cheap SQL pre-filter on the row's JSON text.
    """
    clause, values = where(
        Query(query.ruleset, query.since, query.until, None, query.request_id), "?"
    )
    if query.outcome is not None:
        clause += (" AND " if clause else " WHERE ") + "instr(outcomes, ?) > 0"
        values.append(dumps_strings([query.outcome])[1:-1])
    return clause, sqlite_values(values)


def matching_rows(connection: sqlite3.Connection, query: Query) -> Iterator[Sequence[Any]]:
    """The ``decision_requests`` rows that may hold matches, in commit order (one statement)."""
    clause, values = request_filter(query)
    order = " DESC" if query.newest_first else ""
    yield from connection.execute(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM decision_requests{clause} ORDER BY seq{order}",
        values,
    )


#: A page of :func:`paged_rows` holds at most this many rows …
PAGE_ROWS = 500
#: … or this many characters of row text, whichever comes first (a batch's row holds up to 5,000
#: decisions: the characters bound the page, the rows bound the statement).
PAGE_CHARS = 4_000_000


def paged_rows(
    connection: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    filtered: tuple[str, list[object]],
    upto: int,
) -> Iterator[Sequence[Any]]:
    """The rows of ``table`` (``columns``) matching ``filtered`` (a clause and its values) with
    ``seq <= upto``, in commit order, read a page at a time.

    Each page is one statement that steps until the page is full and is then closed, so no snapshot
    is held while the caller works through the page: a replay that takes minutes neither holds the
    whole log in memory nor keeps the shard's writer from checkpointing (a reader's open snapshot
    stops SQLite from starting its WAL over). ``NOT INDEXED`` walks the table in ``seq`` order, so a
    page costs its own rows, whatever the filters.
    """
    clause, values = filtered
    sql = (
        f"SELECT seq, {', '.join(columns)} FROM {table} NOT INDEXED"
        f"{clause}{' AND ' if clause else ' WHERE '}seq > ? AND seq <= ? ORDER BY seq"
    )
    last = -(2**63)
    while True:
        page: list[Sequence[Any]] = []
        chars, full = 0, False
        cursor = connection.execute(sql, [*values, last, upto])
        try:
            for row in cursor:
                page.append(row)
                chars += sum(len(v) for v in row if isinstance(v, str))
                if len(page) >= PAGE_ROWS or chars >= PAGE_CHARS:
                    full = True
                    break
        finally:
            cursor.close()
        for row in page:
            yield row[1:]
        if not full:
            return
        last = page[-1][0]


def row_matches(row: Sequence[Any], query: Query) -> bool:
    """:func:`request_filter`, for a journal row (ISO times in UTC compare as text)."""
    request_id, _item, decided_at, ruleset = row[:4]
    since, until = sqlite_values([query.since, query.until])
    return (
        (query.ruleset is None or ruleset == query.ruleset)
        and (query.request_id is None or request_id == query.request_id)
        and (since is None or decided_at >= since)
        and (until is None or decided_at < until)
    )


def expanded(rows: Iterable[Sequence[Any]], query: Query) -> Iterator[DecisionRecord]:
    """One record per decision of request ``rows`` matching ``query``'s outcome, at most its limit
    (with ``newest_first``, each row's decisions last first: the rows come newest first then).
    Rows journaled before the ``digest`` column have one value less."""
    count = 0
    for request_id, first_item, decided_at, ruleset, version, as_of, *arrays in rows:
        at, day = aware(decided_at), date.fromisoformat(as_of)
        outcomes, kinds, reasons = (orjson.loads(a) for a in arrays[:3])
        facts = facts_of_column(orjson.loads(arrays[3]))
        digest = arrays[4] if len(arrays) > 4 else None
        offsets = range(len(outcomes))
        for offset in reversed(offsets) if query.newest_first else offsets:
            outcome = outcomes[offset]
            if query.outcome is not None and outcome != query.outcome:
                continue
            if query.limit is not None and count >= query.limit:
                return
            count += 1
            yield DecisionRecord(request_id, first_item + offset, at, ruleset, version, day,
                                 outcome, kinds[offset], tuple(reasons[offset]), facts[offset],
                                 digest)  # fmt: skip
