"""The SQLite store of the decision log: one file per writing process, a journal in front of each.

Files, for a log at ``decisions.sqlite3``: the *shards* ``decisions.sqlite3``, ``decisions.1.sqlite3``
…, one per writing process (:class:`_Shard`), each with its ``<shard>.lock`` and its journal files
``<shard>.journal.<n>`` (:mod:`.journal`). Each shard holds the table ``decision_requests``, one row per
request (:mod:`.rows`); a query reads every shard, SQLite rows and journal alike, and expands the rows
into one record per decision.

The folder is the operator's: it is created when the log is opened (at start-up), never while the
service runs. If it disappears, every write is refused (the caller answers 503) and :meth:`check`
fails (the service reports not ready) until it is back; then the next write or check claims a shard
again, and the files the lost journal left are moved into SQLite by its next writer.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from io import BufferedRandom
from pathlib import Path
from typing import Any

from .journal import BrokenJournal, Journal, copied_through, pending_rows, read_journal
from .records import AuditError, DecisionRecord, Query
from .rows import (
    LEGACY_TABLE,
    REQUEST_COLUMNS,
    SCHEMA,
    expanded,
    matching_rows,
    migrate,
    paged_rows,
    request_filter,
    request_rows,
    row_matches,
    sqlite_values,
)
from .sql import COLUMNS, PRUNE_BATCH, prune_statements, record_from_row, select, where

__all__ = ["REQUEST_COLUMNS", "SQLiteDecisionLog", "request_rows"]

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
            first.executescript(SCHEMA)
            migrate(first)
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

    # -- writing ---------------------------------------------------------------------------------

    def _claimed(self) -> _Shard:
        """This process's shard: claimed on its first write (again in a forked child, and again
        after its journal broke, once the folder is back).

        :raise AuditError: no shard can be claimed (the folder is gone, or not writable).
        """
        shard = self._shard
        if shard is not None and shard.pid == os.getpid() and shard.journal.broken is None:
            return shard
        with self._lock:
            shard = self._shard
            if shard is not None and shard.pid == os.getpid():
                if shard.journal.broken is None:
                    return shard
                self._shard = None
                shard.abandon()
            try:
                shard = _Shard.claim(self.path, self.synchronous, self._connect)
            except (sqlite3.Error, OSError) as exc:
                raise AuditError(f"cannot write the decision log ({exc})") from None
            self._shard = shard
            return shard

    def _written(self, action: Callable[[Journal], None]) -> None:
        """Run ``action`` on this process's journal; when the journal turns out broken, once more on
        a new one (the folder may be back already: then nothing is refused).

        :raise AuditError: the journal broke twice, or cannot be written, or no shard can be claimed.
        """
        for attempt in (1, 2):
            shard = self._claimed()
            try:
                action(shard.journal)
                return
            except BrokenJournal as exc:
                log.error("decision log: %s; starting a new journal", exc)
                if attempt == 2:
                    raise AuditError(f"cannot write the decision log ({exc})") from None
            except (sqlite3.Error, OSError) as exc:
                raise AuditError(f"cannot write the decision log ({exc})") from None

    def append(self, records: Sequence[DecisionRecord]) -> None:
        """Write ``records`` to this process's journal: on return they survive a crash of the
        process and are in the log's folder (see :mod:`.journal`); one line per call, one row per
        request.

        :raise AuditError: they could not be written durably (the caller must not answer).
        """
        if not records:
            return
        rows = request_rows(records)
        self._written(lambda journal: journal.append(rows))

    def backlog(self) -> tuple[int, float]:
        """This process's rows not yet copied into SQLite, and the oldest one's age in seconds."""
        shard = self._shard
        if shard is None or shard.pid != os.getpid():
            return 0, 0.0
        return shard.journal.backlog()

    def check(self) -> None:
        """Whether a decision could be logged now: a shard is claimed and its files are in the log's
        folder (for readiness; a lost folder is noticed here even without traffic).

        :raise AuditError: it could not.
        """
        self._written(lambda journal: journal.check())

    # -- reading ---------------------------------------------------------------------------------

    def query(self, query: Query) -> list[DecisionRecord]:
        """Matching records of every shard, merged by time (a shard's own records in commit order)."""
        try:
            found = [self._query_shard(path, query) for path in self.shard_paths()]
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the decision log ({exc})") from None
        merged = list(
            heapq.merge(*found, key=lambda record: record.decided_at, reverse=query.newest_first)
        )
        return merged if query.limit is None else merged[: query.limit]

    def versions(self) -> set[tuple[str, str, str]]:
        """Every ``(rule set, version, digest)`` the log holds a decision of (digests recorded)."""
        found: set[tuple[str, str, str]] = set()
        try:
            for path in self.shard_paths():
                journal = read_journal(path)
                connection = sqlite3.connect(path, isolation_level=None)
                try:
                    connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
                    connection.execute("BEGIN")
                    tables = _tables(connection)
                    if "decision_versions" in tables:  # kept by a trigger (rows.VERSIONS_SCHEMA)
                        found.update(connection.execute(
                            "SELECT ruleset, version, digest FROM decision_versions"))  # fmt: skip
                    elif "decision_requests" in tables:  # a shard no writer has opened since
                        found.update(connection.execute(
                            "SELECT DISTINCT ruleset, version, digest FROM decision_requests "
                            "WHERE digest IS NOT NULL"))  # fmt: skip
                    for row in pending_rows(journal, copied_through(connection)):
                        if len(row) > 10 and row[10]:
                            found.add((str(row[3]), str(row[4]), str(row[10])))
                finally:
                    connection.close()
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the decision log ({exc})") from None
        return found

    def _query_shard(self, path: Path, query: Query) -> list[DecisionRecord]:
        """One shard's records: its journal's and its SQLite rows, from one consistent view."""
        journal = read_journal(path)  # first: see .journal.pending_rows
        connection = sqlite3.connect(path, isolation_level=None)
        logged: Iterator[Sequence[Any]] = iter(())
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("BEGIN")  # one snapshot for the tables and copied_through
            tables = _tables(connection)
            legacy: list[DecisionRecord] = []
            if LEGACY_TABLE in tables:
                sql, values = select(query, "?")
                legacy_rows = connection.execute(sql, sqlite_values(values))
                legacy.extend(record_from_row(row) for row in legacy_rows)
            if "decision_requests" in tables:
                logged = matching_rows(connection, query)
            pending = [row for row in pending_rows(journal, copied_through(connection))
                       if row_matches(row, query)]  # fmt: skip
            if query.newest_first:  # the journal's rows are the newest, the legacy rows the oldest
                records = [*expanded(itertools.chain(reversed(pending), logged), query), *legacy]
            else:
                records = [*legacy, *expanded(itertools.chain(logged, pending), query)]
            return records if query.limit is None else records[: query.limit]
        finally:
            if isinstance(logged, Generator):
                logged.close()  # a limit may leave its statement unfinished: end it while open
            connection.close()

    def stream(self, query: Query) -> Iterator[DecisionRecord]:
        """The records :meth:`query` would return without a limit (at most ``query.limit`` when
        it has one), read a page at a time: memory stays bounded whatever the size of the log.

        Each shard's rows are those of the moment the stream starts (the journal and one snapshot
        that fixes the last row, then pages of rows up to that row); the shards are merged by time.
        """
        merged = heapq.merge(
            *(self._stream_shard(path, query) for path in self.shard_paths()),
            key=lambda record: record.decided_at,
        )
        return merged if query.limit is None else itertools.islice(merged, query.limit)

    def _stream_shard(self, path: Path, query: Query) -> Iterator[DecisionRecord]:
        everything = Query(query.ruleset, query.since, query.until, query.outcome,
                           query.request_id, None)  # fmt: skip
        try:
            journal = read_journal(path)  # first: see .journal.pending_rows
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the decision log ({exc})") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("BEGIN")  # the last row of each table and copied_through, together
            last = {table: connection.execute(f"SELECT coalesce(max(seq), 0) FROM {table}")
                    .fetchone()[0] for table in _tables(connection)
                    if table in (LEGACY_TABLE, "decision_requests")}  # fmt: skip
            copied = copied_through(connection)
            connection.execute("COMMIT")
            if LEGACY_TABLE in last:
                clause, values = where(everything, "?")
                legacy = paged_rows(connection, LEGACY_TABLE, COLUMNS,
                                    (clause, sqlite_values(values)), last[LEGACY_TABLE])  # fmt: skip
                yield from (record_from_row(row) for row in legacy)
            logged: Iterable[Sequence[Any]] = ()
            if "decision_requests" in last:
                logged = paged_rows(connection, "decision_requests", REQUEST_COLUMNS,
                                    request_filter(everything), last["decision_requests"])  # fmt: skip
            pending = (row for row in pending_rows(journal, copied) if row_matches(row, everything))
            yield from expanded(itertools.chain(logged, pending), everything)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the decision log ({exc})") from None
        finally:
            connection.close()

    # -- retention -------------------------------------------------------------------------------

    def prune(self, before: datetime) -> int:
        """Delete the decisions logged before ``before`` from every shard; how many were deleted.

        Rows still in a journal (the last half second's) are left. Each shard is pruned in batches
        of :data:`~.sql.PRUNE_BATCH` rows, one short transaction each, so the shard's writer (whose
        requests only append to the journal anyway) never waits long. SQLite reuses the freed pages:
        the files stop growing once the retention window is full, but do not shrink.

        :raise AuditError: a shard could not be pruned.
        """
        cutoff = before.astimezone(UTC).isoformat()
        removed = 0
        try:
            for path in self.shard_paths():
                removed += self._prune_shard(path, cutoff)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot prune the decision log ({exc})") from None
        return removed

    def _prune_shard(self, path: Path, cutoff: str) -> int:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            tables = _tables(connection)
            counts = (("decision_requests", "json_array_length(outcomes)"), (LEGACY_TABLE, "1"))
            return sum(_prune_table(connection, table, counted, cutoff)
                       for table, counted in counts if table in tables)  # fmt: skip
        finally:
            connection.close()

    def close(self) -> None:
        """Move everything written into SQLite and give the shard up."""
        with self._lock:
            shard, self._shard = self._shard, None
        if shard is not None and shard.pid == os.getpid():
            shard.release()


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }


def _prune_table(connection: sqlite3.Connection, table: str, counted: str, cutoff: str) -> int:
    """Delete ``table``'s rows decided before ``cutoff`` in ``seq`` ranges (see
    :func:`~.sql.prune_statements`); the decisions they held (``counted`` per row)."""
    first, survey, delete = prune_statements(table, counted, "?")
    removed = 0
    low = connection.execute(first, (-(2**63),)).fetchone()[0]
    while low is not None:
        high = low + PRUNE_BATCH
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows, old, decisions = connection.execute(
                survey, (cutoff, cutoff, low, high)
            ).fetchone()
            if old:
                connection.execute(delete, (low, high, cutoff))
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        removed += decisions
        if rows and not old:
            break
        low = connection.execute(first, (high,)).fetchone()[0]
    return int(removed)


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
        connection.executescript(SCHEMA)
        migrate(connection)
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
            connection = None
            try:
                connection = connect(shard_path)
                return cls(shard_path, lock_file, synchronous, connection)
            except BaseException:
                if connection is not None:
                    connection.close()
                lock_file.close()
                raise
        raise AuditError(f"no free decision log shard next to {path} (all {MAX_SHARDS} in use)")

    def release(self) -> None:
        self.mover.stop()
        self.journal.close()
        self._lock_file.close()  # closing the file releases the flock

    def abandon(self) -> None:
        """Give a broken shard up without waiting: its thread closes the journal on its way out,
        and the claim is released at once so a new journal can take the shard."""
        self.journal.break_off("the shard was given up")
        self.mover.stop(wait=False)
        self._lock_file.close()


class _Mover:
    """The background thread of a shard's writer: moves its journal into SQLite, then checkpoints.

    Every :data:`CHECKPOINT_INTERVAL` seconds it copies what the journal holds into the SQLite file in
    one transaction (:meth:`.journal.Journal.copy`), then copies SQLite's WAL back into the
    database file (a ``PASSIVE`` checkpoint). SQLite's automatic checkpoint is off: it would run inside
    a copy and fsync there. As this thread is the file's only writer, each checkpoint catches up
    completely and the next commit starts the WAL over (with writers committing all the time, as
    before the journal, a ``PASSIVE`` checkpoint never caught up and the WAL grew by about 30 MB/s per
    worker). Each round also notices a journal whose folder is gone: it then stops, and closes the
    journal without copying (its files, if they still exist, are left for the next writer).
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
        checkpoints: sqlite3.Connection | None = None  # opened on first use: the folder may be gone
        try:
            while not self._stop.wait(self.interval):
                try:
                    if self.journal.copy():
                        if checkpoints is None:
                            checkpoints = self._connect()
                        checkpoints.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except BrokenJournal as exc:
                    log.error("decision log: %s; refusing decisions until it is back", exc)
                    break
                except Exception as exc:  # noqa: BLE001 — the journal keeps the rows; next round retries
                    log.warning("decision log: moving the journal into SQLite failed: %s", exc)
        finally:
            if checkpoints is not None:
                checkpoints.close()
            if self.journal.broken is not None:
                self.journal.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        return connection

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        if wait and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 10)
