"""The SQLite store of the decision log: one file per writing process, a journal in front of each.

Files, for a log at ``decisions.sqlite3``: the *shards* ``decisions.sqlite3``, ``decisions.1.sqlite3``
…, one per writing process (:class:`_Shard`), each with its ``<shard>.lock`` and its journal files
``<shard>.journal.<n>`` (:mod:`.journal`). Each shard holds the table ``decision_requests``, one row per
request (:data:`_SQLITE_SCHEMA`); :func:`request_rows` renders decisions into that row layout, and a
query reads every shard, SQLite rows and journal alike, and expands the rows into one record per
decision.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from io import BufferedRandom
from pathlib import Path
from typing import Any

import orjson

from ...jsontext import dumps_strings
from ...rules.explain import Reason
from .journal import Journal, copied_through, pending_rows, read_journal
from .records import (
    AuditError,
    DecisionBatch,
    DecisionRecord,
    Query,
    facts_column,
    facts_of_column,
    personal_facts,
)
from .sql import aware, record_from_row, select, where

_SQLITE_SCHEMA = """
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
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_requests_ruleset_time ON decision_requests (ruleset, decided_at);
CREATE INDEX IF NOT EXISTS decision_requests_request ON decision_requests (request_id);
"""
"""One row per request (per run of its decisions that share a rule set version and date): the columns
``outcomes``, ``kinds``, ``reasons`` and ``facts`` are JSON arrays with one entry per decision, items
``first_item``, ``first_item + 1`` …. A batch of 1,000 decisions is one row instead of 1,000, which cut
the log's share of a batch from about 10 µs to about 1 µs per decision (docs/benchmarks.md). Files
written before this layout keep their per-decision ``decisions`` table (:mod:`.sql`); queries read both."""

#: The per-decision table of files written before :data:`_SQLITE_SCHEMA` (read, never written).
_LEGACY_TABLE = "decisions"

#: The columns of a row as the journal holds it (see :func:`request_rows`), in order.
REQUEST_COLUMNS = ("request_id", "first_item", "decided_at", "ruleset", "version", "as_of",
                   "outcomes", "kinds", "reasons", "facts")  # fmt: skip

SYNCHRONOUS_MODES = ("normal", "full")

#: Seconds between two background checkpoints of a SQLite log that has been written to.
CHECKPOINT_INTERVAL = 0.5

#: A process looks no further than this many shards for a free one (a bound, not a target).
MAX_SHARDS = 256

log = logging.getLogger(__name__)


class SQLiteDecisionLog:
    """The decision log in SQLite (WAL): one file per writing process, read together.

    SQLite lets one process write a file at a time. When the server's gunicorn workers shared one
    file, a worker committing while another did met SQLite's busy handler (which polls by sleeping
    1, 2, 5, 10 … ms), and every commit by one worker emptied the other's page cache: the log capped
    the whole server at about a third of its speed and gave it p99 latencies of tens of ms. So each
    writing process claims a *shard*: the first of ``decisions.sqlite3``, ``decisions.1.sqlite3``,
    ``decisions.2.sqlite3`` … whose ``<file>.lock`` it can ``flock`` without waiting, held until it
    closes the log or dies (the kernel then releases it, and a later process reuses the shard). A
    process with no competitor, like the CLI or a single worker, writes the first file, as before.

    A shard's writer appends each request's rows to the shard's journal before the answer
    (:mod:`.journal`); its background thread moves them into the SQLite file. Queries read every
    shard, SQLite rows and journal alike, and merge the records by time (each shard in commit order).
    """

    def __init__(self, path: Path, synchronous: str = "normal", busy_timeout_ms: int = 10_000):
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        self.path = path
        self.synchronous = synchronous
        self.url = f"sqlite:///{path}?synchronous={synchronous}"
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.Lock()  # guards the claim
        self._shard: _Shard | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        first = self._connect(path)
        try:
            first.executescript(_SQLITE_SCHEMA)
        finally:
            first.close()

    def shard_paths(self) -> list[Path]:
        """Every shard file of this log that exists, the first one first."""
        numbered = []
        for candidate in self.path.parent.glob(f"{self.path.stem}.*{self.path.suffix}"):
            middle = candidate.name[
                len(self.path.stem) + 1 : len(candidate.name) - len(self.path.suffix)
            ]
            if middle.isdigit() and candidate.name == _shard_path(self.path, int(middle)).name:
                numbered.append((int(middle), candidate))
        return [self.path, *(p for _, p in sorted(numbered))]

    def _connect(self, path: Path) -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        return connection

    def _claimed(self) -> _Shard:
        """This process's shard, claimed on its first write (again in a forked child)."""
        shard = self._shard
        if shard is None or shard.pid != os.getpid():
            with self._lock:
                shard = self._shard
                if shard is None or shard.pid != os.getpid():
                    shard = _Shard.claim(self.path, self.synchronous, self._connect)
                    self._shard = shard
        return shard

    def append(self, records: Sequence[DecisionRecord]) -> None:
        """Write ``records`` to this process's journal: on return they survive a crash of the
        process (see :mod:`.journal`); one line per call, one row per request."""
        if not records:
            return
        try:
            self._claimed().journal.append(request_rows(records))
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"cannot write the decision log ({exc})") from None

    def query(self, query: Query) -> list[DecisionRecord]:
        """Matching records of every shard, merged by time (a shard's own records in commit order)."""
        found = [self._query_shard(path, query) for path in self.shard_paths()]
        merged = list(heapq.merge(*found, key=lambda record: record.decided_at))
        return merged if query.limit is None else merged[: query.limit]

    def _query_shard(self, path: Path, query: Query) -> list[DecisionRecord]:
        """One shard's records: its journal's and its SQLite rows, from one consistent view."""
        journal = read_journal(path)  # first: see .journal.pending_rows
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("BEGIN")  # one snapshot for the tables and copied_through
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
            records: list[DecisionRecord] = []
            if _LEGACY_TABLE in tables:
                sql, values = select(query, "?")
                rows = connection.execute(sql, _sqlite_values(values))
                records.extend(record_from_row(row) for row in rows)
            logged: Iterable[Sequence[Any]] = ()
            if "decision_requests" in tables:
                logged = _request_rows(connection, query)
            pending = (row for row in pending_rows(journal, copied_through(connection))
                       if _row_matches(row, query))  # fmt: skip
            records.extend(_expanded(itertools.chain(logged, pending), query))
            return records if query.limit is None else records[: query.limit]
        finally:
            connection.close()

    def close(self) -> None:
        """Move everything written into SQLite and give the shard up."""
        with self._lock:
            shard, self._shard = self._shard, None
        if shard is not None and shard.pid == os.getpid():
            shard.release()


# --- shards and their background thread -----------------------------------------------------------


def _shard_path(path: Path, number: int) -> Path:
    """Shard 0 is the log's own file; shard n is ``<stem>.<n><suffix>`` next to it."""
    return path if number == 0 else path.with_name(f"{path.stem}.{number}{path.suffix}")


class _Shard:
    """The shard file a process writes, the ``flock`` that reserves it, its journal and mover."""

    def __init__(
        self,
        path: Path,
        lock_file: BufferedRandom,
        synchronous: str,
        connection: sqlite3.Connection,
    ):
        self.path = path
        self.pid = os.getpid()
        self._lock_file = lock_file
        connection.executescript(_SQLITE_SCHEMA)
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # see _Mover
        self.journal = Journal(path, connection, "decision_requests", REQUEST_COLUMNS, synchronous)
        self.mover = _Mover(self.journal, path, synchronous)

    @classmethod
    def claim(
        cls, path: Path, synchronous: str, connect: Callable[[Path], sqlite3.Connection]
    ) -> _Shard:
        for number in range(MAX_SHARDS):
            shard_path = _shard_path(path, number)
            lock_file = open(shard_path.with_name(shard_path.name + ".lock"), "a+b")  # noqa: SIM115
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock_file.close()  # another process writes this shard
                continue
            try:
                return cls(shard_path, lock_file, synchronous, connect(shard_path))
            except BaseException:
                lock_file.close()
                raise
        raise AuditError(f"no free decision log shard next to {path} (all {MAX_SHARDS} in use)")

    def release(self) -> None:
        self.mover.stop()
        self.journal.close()
        self._lock_file.close()  # closing the file releases the flock


class _Mover:
    """The background thread of a shard's writer: moves its journal into SQLite, then checkpoints.

    Every :data:`CHECKPOINT_INTERVAL` seconds it copies what the journal holds into the SQLite file in
    one transaction (:meth:`.journal.Journal.copy`), then copies SQLite's WAL back into the
    database file (a ``PASSIVE`` checkpoint). SQLite's automatic checkpoint is off: it would run inside
    a copy and fsync there. As this thread is the file's only writer, each checkpoint catches up
    completely and the next commit starts the WAL over (with writers committing all the time, as
    before the journal, a ``PASSIVE`` checkpoint never caught up and the WAL grew by about 30 MB/s per
    worker).
    """

    def __init__(self, journal: Journal, path: Path, synchronous: str) -> None:
        self.journal = journal
        self.path = path
        self.synchronous = synchronous
        self.interval = CHECKPOINT_INTERVAL
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="flets-decision-log-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            while not self._stop.wait(self.interval):
                try:
                    if self.journal.copy():
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception as exc:  # noqa: BLE001 — the journal keeps the rows; next round retries
                    log.warning("decision log: moving the journal into SQLite failed: %s", exc)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 10)


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
    ) == (last.request_id, last.decided_at, last.ruleset, last.version, last.as_of)


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


def _sqlite_values(values: list[object]) -> list[object]:
    return [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in values]


def _request_rows(connection: sqlite3.Connection, query: Query) -> Iterator[Sequence[Any]]:
    """The ``decision_requests`` rows that may hold matches, in commit order.

    The request-level filters run in SQL (on the indexes); the outcome is matched per decision by
    :func:`_expanded`, after a cheap SQL pre-filter on the row's JSON text.
    """
    clause, values = where(
        Query(query.ruleset, query.since, query.until, None, query.request_id), "?"
    )
    if query.outcome is not None:
        clause += (" AND " if clause else " WHERE ") + "instr(outcomes, ?) > 0"
        values.append(dumps_strings([query.outcome])[1:-1])
    yield from connection.execute(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM decision_requests{clause} ORDER BY seq",
        _sqlite_values(values),
    )


def _row_matches(row: Sequence[Any], query: Query) -> bool:
    """:func:`_request_rows`' SQL filters, for a journal row (ISO times in UTC compare as text)."""
    request_id, _item, decided_at, ruleset = row[:4]
    since, until = _sqlite_values([query.since, query.until])
    return (
        (query.ruleset is None or ruleset == query.ruleset)
        and (query.request_id is None or request_id == query.request_id)
        and (since is None or decided_at >= since)
        and (until is None or decided_at < until)
    )


def _expanded(rows: Iterable[Sequence[Any]], query: Query) -> Iterator[DecisionRecord]:
    """One record per decision of request ``rows`` matching ``query``'s outcome, at most its limit."""
    count = 0
    for request_id, first_item, decided_at, ruleset, version, as_of, *arrays in rows:
        at, day = aware(decided_at), date.fromisoformat(as_of)
        outcomes, kinds, reasons = (orjson.loads(a) for a in arrays[:3])
        facts = facts_of_column(orjson.loads(arrays[3]))
        for offset, outcome in enumerate(outcomes):
            if query.outcome is not None and outcome != query.outcome:
                continue
            if query.limit is not None and count >= query.limit:
                return
            count += 1
            yield DecisionRecord(request_id, first_item + offset, at, ruleset, version, day,
                                 outcome, kinds[offset], tuple(reasons[offset]), facts[offset])  # fmt: skip
