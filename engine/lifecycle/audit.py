"""The decision log: every decision appended durably before its answer leaves the service.

A record holds the request id, the time, the rule set id and version, the facts (with facts declared
``personal: true`` masked), the outcome and the reason codes. Two stores share one interface:

* :class:`SQLiteDecisionLog` (the default): embedded files in WAL mode, one per writing process
  (``decisions.sqlite3``, ``decisions.1.sqlite3`` …), queried together. Each append is one line written
  to the shard's journal before :meth:`~DecisionLog.append` returns (:mod:`engine.lifecycle.journal`), so an
  acknowledged decision survives a crash of the server process (``kill -9``); a background thread
  moves the journal into SQLite. By default (``synchronous=NORMAL``) the line is in the operating
  system's hands, not yet on disk, so a power cut or kernel crash may lose the last few decisions, as
  with SQLite's own NORMAL commits. ``synchronous=FULL`` (``?synchronous=full`` in the URL) fsyncs
  every append and survives power loss too, at the cost measured in ``docs/lifecycle.md``.
* :class:`PostgresDecisionLog`: for several server processes or machines sharing one log
  (``postgresql://…`` URL, psycopg 3). Each append is an autocommitted ``INSERT``.

:func:`open_decision_log` picks the store from a URL.
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import itertools
import json
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Protocol, overload
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import orjson

from ..errors import EngineError
from ..jsontext import dumps_facts, dumps_strings
from ..memo import PerObject
from ..paths import PROJECT_ROOT
from ..rules.explain import Decision, Reason
from ..rules.facts import facts_to_json
from ..rules.model import RuleSet
from .journal import Journal, copied_through, pending_rows, read_journal

#: What a personal fact's value is replaced with in the log.
MASK = "***"

#: Most records one query returns unless the caller asks for fewer.
DEFAULT_QUERY_LIMIT = 1000

TOKYO = ZoneInfo("Asia/Tokyo")

COLUMNS = (
    "request_id", "item", "decided_at", "ruleset", "version", "as_of", "outcome", "kind",
    "reasons", "facts",
)  # fmt: skip


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
        }


def _personal_names(ruleset: RuleSet) -> frozenset[str]:
    return frozenset(spec.name for spec in ruleset.facts if spec.personal)


#: The ``personal: true`` facts of a rule set, derived once per loaded rule set.
personal_facts = PerObject(_personal_names)


def masked_facts(decision: Decision) -> dict[str, object]:
    """The decision's facts as JSON values, with every ``personal: true`` fact replaced by :data:`MASK`."""
    personal = personal_facts(decision.ruleset)
    plain = facts_to_json(decision.facts)
    return {name: MASK if name in personal else value for name, value in plain.items()}


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
    )


def start_of_day(day: date) -> datetime:
    """A ``--since DATE`` means from midnight of that day in Tokyo, where the contracts are made."""
    return datetime.combine(day, time(), TOKYO)


@dataclass(frozen=True)
class Query:
    """Filters for reading the log; every field is optional."""

    ruleset: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    request_id: str | None = None
    limit: int | None = DEFAULT_QUERY_LIMIT


class DecisionBatch(Sequence[DecisionRecord]):
    """The records of one request's decisions, built lazily.

    Behaves as a sequence of :class:`DecisionRecord` for any store; the SQLite store instead asks for
    :meth:`sqlite_rows`, which renders each decision straight into its row (facts JSON shared with the
    response, personal facts masked, one timestamp per request) without building the records.
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

    def sqlite_rows(self) -> list[tuple[object, ...]]:
        """Exactly ``_sqlite_rows(list(self))``, rendered without the intermediate records: one row,
        as every decision of a request shares its rule set version and date."""
        decisions = self.decisions
        first = decisions[0]
        if any(d.ruleset is not first.ruleset or d.as_of != first.as_of for d in decisions):
            return _sqlite_rows(list(self))
        rs = first.ruleset
        codes = _ReasonCodes()
        return [(
            self.request_id, 0, self.at.astimezone(UTC).isoformat(), rs.id, rs.version,
            first.as_of.isoformat(),
            dumps_strings([d.outcome.id for d in decisions]),
            dumps_strings([d.outcome.kind.value for d in decisions]),
            f"[{','.join([codes.json(d.reasons) for d in decisions])}]",
            facts_column([d.facts for d in decisions], personal_facts(rs)),
        )]  # fmt: skip


class _ReasonCodes:
    """The JSON list of reason codes of each distinct reasons tuple of one batch (table answers share
    their tuples, so a batch renders only a handful)."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[tuple[Reason, ...], str]] = {}

    def json(self, reasons: tuple[Reason, ...]) -> str:
        seen = self._seen.get(id(reasons))
        if seen is None or seen[0] is not reasons:
            seen = (reasons, _codes_json([r.code for r in reasons]))
            self._seen[id(reasons)] = seen
        return seen[1]


def _codes_json(codes: list[str] | tuple[str, ...]) -> str:
    return dumps_strings(codes)


class DecisionLog(Protocol):
    """Where decisions are appended; implementations commit before :meth:`append` returns."""

    url: str

    def append(self, records: Sequence[DecisionRecord]) -> None: ...

    def query(self, query: Query) -> list[DecisionRecord]: ...

    def close(self) -> None: ...


# --- SQL shared by both stores ---------------------------------------------------------------------


def _where(query: Query, mark: str) -> tuple[str, list[object]]:
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
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return where, values


def _select(query: Query, mark: str) -> tuple[str, list[object]]:
    where, values = _where(query, mark)
    sql = f"SELECT {', '.join(COLUMNS)} FROM decisions{where} ORDER BY seq"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return sql, values


def _insert(mark: str) -> str:
    return (
        f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    )


# --- SQLite ----------------------------------------------------------------------------------------

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
written before this layout keep their per-decision ``decisions`` table; queries read both."""

#: The per-decision table of files written before :data:`_SQLITE_SCHEMA` (read, never written).
_LEGACY_TABLE = "decisions"

#: The columns of a row as the journal holds it (see :func:`_sqlite_rows`), in order.
_SQLITE_COLUMNS = ("request_id", "first_item", "decided_at", "ruleset", "version", "as_of",
                   "outcomes", "kinds", "reasons", "facts")  # fmt: skip

SYNCHRONOUS_MODES = ("normal", "full")

#: Seconds between two background checkpoints of a SQLite log that has been written to.
CHECKPOINT_INTERVAL = 0.5


log = logging.getLogger(__name__)


class _Mover:
    """The background thread of a shard's writer: moves its journal into SQLite, then checkpoints.

    Every :data:`CHECKPOINT_INTERVAL` seconds it copies what the journal holds into the SQLite file in
    one transaction (:meth:`engine.lifecycle.journal.Journal.copy`), then copies SQLite's WAL back into the
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
    (:mod:`engine.lifecycle.journal`); its background thread moves them into the SQLite file. Queries read every
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
        process (see :mod:`engine.lifecycle.journal`); one line per call, one row per request."""
        if not records:
            return
        rows = (
            records.sqlite_rows() if isinstance(records, DecisionBatch) else _sqlite_rows(records)
        )
        try:
            self._claimed().journal.append(rows)
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"cannot write the decision log ({exc})") from None

    def query(self, query: Query) -> list[DecisionRecord]:
        """Matching records of every shard, merged by time (a shard's own records in commit order)."""
        found = [self._query_shard(path, query) for path in self.shard_paths()]
        merged = list(heapq.merge(*found, key=lambda record: record.decided_at))
        return merged if query.limit is None else merged[: query.limit]

    def _query_shard(self, path: Path, query: Query) -> list[DecisionRecord]:
        """One shard's records: its journal's and its SQLite rows, from one consistent view."""
        journal = read_journal(path)  # first: see engine.lifecycle.journal.pending_rows
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("BEGIN")  # one snapshot for the tables and copied_through
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
            records: list[DecisionRecord] = []
            if _LEGACY_TABLE in tables:
                sql, values = _select(query, "?")
                rows = connection.execute(sql, _sqlite_values(values))
                records.extend(_record_from_row(row) for row in rows)
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


def _shard_path(path: Path, number: int) -> Path:
    """Shard 0 is the log's own file; shard n is ``<stem>.<n><suffix>`` next to it."""
    return path if number == 0 else path.with_name(f"{path.stem}.{number}{path.suffix}")


#: A process looks no further than this many shards for a free one (a bound, not a target).
MAX_SHARDS = 256


class _Shard:
    """The shard file a process writes, the ``flock`` that reserves it, its journal and mover."""

    def __init__(
        self, path: Path, lock_file: Any, synchronous: str, connection: sqlite3.Connection
    ):
        self.path = path
        self.pid = os.getpid()
        self._lock_file = lock_file
        connection.executescript(_SQLITE_SCHEMA)
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # see _Mover
        self.journal = Journal(path, connection, "decision_requests", _SQLITE_COLUMNS, synchronous)
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


def _sqlite_rows(records: Sequence[DecisionRecord]) -> list[tuple[object, ...]]:
    """The rows of ``records``: one per run of consecutive items of one request, rule set version,
    date and time."""
    rows: list[tuple[object, ...]] = []
    run: list[DecisionRecord] = []
    for record in records:
        if run and not _continues(run[-1], record):
            rows.append(_sqlite_row(run))
            run = []
        run.append(record)
    if run:
        rows.append(_sqlite_row(run))
    return rows


def _continues(last: DecisionRecord, record: DecisionRecord) -> bool:
    return record.item == last.item + 1 and (
        record.request_id,
        record.decided_at,
        record.ruleset,
        record.version,
        record.as_of,
    ) == (last.request_id, last.decided_at, last.ruleset, last.version, last.as_of)


def _sqlite_row(run: Sequence[DecisionRecord]) -> tuple[object, ...]:
    first = run[0]
    return (
        first.request_id,
        first.item,
        first.decided_at.astimezone(UTC).isoformat(),
        first.ruleset,
        first.version,
        first.as_of.isoformat(),
        dumps_strings([r.outcome for r in run]),
        dumps_strings([r.kind for r in run]),
        f"[{','.join(_codes_json(list(r.reasons)) for r in run)}]",
        facts_column([r.facts for r in run]),
    )


def _sqlite_values(values: list[object]) -> list[object]:
    return [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in values]


def _request_rows(connection: sqlite3.Connection, query: Query) -> Iterator[Sequence[Any]]:
    """The ``decision_requests`` rows that may hold matches, in commit order.

    The request-level filters run in SQL (on the indexes); the outcome is matched per decision by
    :func:`_expanded`, after a cheap SQL pre-filter on the row's JSON text.
    """
    where, values = _where(Query(query.ruleset, query.since, query.until, None, query.request_id),
                           "?")  # fmt: skip
    if query.outcome is not None:
        where += (" AND " if where else " WHERE ") + "instr(outcomes, ?) > 0"
        values.append(dumps_strings([query.outcome])[1:-1])
    yield from connection.execute(
        f"SELECT {', '.join(_SQLITE_COLUMNS)} FROM decision_requests{where} ORDER BY seq",
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
        at, day = _aware(decided_at), date.fromisoformat(as_of)
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


def _record_from_row(row: Sequence[Any]) -> DecisionRecord:
    request_id, item, decided_at, ruleset, version, as_of, outcome, kind, reasons, facts = row
    return DecisionRecord(
        request_id=request_id,
        item=item,
        decided_at=decided_at if isinstance(decided_at, datetime) else _aware(decided_at),
        ruleset=ruleset,
        version=version,
        as_of=as_of if isinstance(as_of, date) else date.fromisoformat(as_of),
        outcome=outcome,
        kind=kind,
        reasons=tuple(reasons if isinstance(reasons, list) else json.loads(reasons)),
        facts=facts if isinstance(facts, dict) else json.loads(facts),
    )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- PostgreSQL ------------------------------------------------------------------------------------

_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    ruleset TEXT NOT NULL,
    version TEXT NOT NULL,
    as_of DATE NOT NULL,
    outcome TEXT NOT NULL,
    kind TEXT NOT NULL,
    reasons JSONB NOT NULL,
    facts JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_ruleset_time ON decisions (ruleset, decided_at);
CREATE INDEX IF NOT EXISTS decisions_request ON decisions (request_id);
"""

#: Serialises schema creation when several processes start at once (CREATE IF NOT EXISTS can race).
_PG_SCHEMA_LOCK = 0x466C657473  # "Flets"


class PostgresDecisionLog:
    """The decision log in PostgreSQL, shared by any number of server processes and machines."""

    def __init__(self, url: str) -> None:
        import psycopg  # imported here: SQLite-only deployments need no PostgreSQL client

        self._psycopg = psycopg
        self.url = url
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        with psycopg.connect(url) as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            connection.execute(_PG_SCHEMA)

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._psycopg.connect(self.url, autocommit=True)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def append(self, records: Sequence[DecisionRecord]) -> None:
        """Insert ``records`` in one transaction, committed on return."""
        if not records:
            return
        rows = [_pg_row(r) for r in records]
        try:
            connection = self._connection()
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(_insert("%s"), rows)
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot write the decision log ({exc})") from None

    def query(self, query: Query) -> list[DecisionRecord]:
        sql, values = _select(query, "%s")
        with self._connection().cursor() as cursor:
            cursor.execute(sql, values)
            return [_record_from_row(row) for row in cursor.fetchall()]

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def _pg_row(record: DecisionRecord) -> tuple[object, ...]:
    from psycopg.types.json import Jsonb

    return (
        record.request_id,
        record.item,
        record.decided_at,
        record.ruleset,
        record.version,
        record.as_of,
        record.outcome,
        record.kind,
        Jsonb(list(record.reasons)),
        Jsonb(dict(record.facts)),
    )


# --- choosing a store ------------------------------------------------------------------------------


class NullDecisionLog:
    """No decision log (``none``): for tools and tests that must not write one."""

    url = "none"

    def append(self, records: Sequence[DecisionRecord]) -> None:
        return None

    def query(self, query: Query) -> list[DecisionRecord]:
        return []

    def close(self) -> None:
        return None


def open_decision_log(url: str) -> DecisionLog:
    """Open the decision log named by ``url``.

    ``postgresql://…`` or ``postgres://…``: PostgreSQL. ``sqlite:///abs/path.db`` or a plain file
    path: SQLite, with ``?synchronous=full`` to fsync every commit. ``none``: no log.

    :raises ValueError: for a URL of an unknown kind.
    """
    if url.strip().lower() == "none":
        return NullDecisionLog()
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresDecisionLog(url)
    if parts.scheme == "sqlite":
        options = parse_qs(parts.query)
        synchronous = options.get("synchronous", ["normal"])[0].lower()
        return SQLiteDecisionLog(Path(parts.path), synchronous)
    if parts.scheme in ("", "file"):
        return SQLiteDecisionLog(Path(parts.path if parts.scheme else url))
    raise ValueError(
        f"unknown decision log URL {url!r}: use sqlite:///path, postgresql://… or none"
    )


def log_decisions(log: DecisionLog, decisions: Iterable[Decision], request_id: str) -> None:
    """Append the decisions of one request (numbered 0, 1, … within a batch) in one commit."""
    log.append(DecisionBatch(list(decisions), request_id, datetime.now(UTC)))


def all_records(log: DecisionLog, query: Query) -> list[DecisionRecord]:
    """Every record matching ``query``, whatever its limit (for replaying the log)."""
    return log.query(
        Query(query.ruleset, query.since, query.until, query.outcome, query.request_id, None)
    )


# --- command line: flets-elig log ------------------------------------------------------------------


def default_log_url() -> str:
    """``$FLETS_AUDIT_URL``, else the SQLite file the server writes by default."""
    return os.environ.get("FLETS_AUDIT_URL") or str(PROJECT_ROOT / "instance" / "decisions.sqlite3")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def cmd_log(args: argparse.Namespace) -> int:
    """Print logged decisions, oldest first, one JSON object per line (or a table)."""
    query = Query(
        ruleset=args.ruleset,
        since=start_of_day(args.since) if args.since else None,
        until=start_of_day(args.until) if args.until else None,
        outcome=args.outcome,
        request_id=args.request_id,
        limit=args.limit,
    )
    try:
        log = open_decision_log(args.log or default_log_url())
    except (ValueError, EngineError, OSError) as exc:
        print(f"--log: {exc}", file=sys.stderr)
        return 2
    try:
        records = log.query(query)
    finally:
        log.close()
    for record in records:
        if args.json:
            print(json.dumps(record.to_dict(), ensure_ascii=False))
        else:
            print(f"{record.decided_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} {record.request_id} "
                  f"{record.ruleset}@{record.version} {record.outcome} {','.join(record.reasons)}")  # fmt: skip
    print(f"{len(records)} decisions", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``flets-elig log`` to the command line."""
    cmd = subparsers.add_parser("log", help="query the decision log")
    cmd.add_argument("--ruleset", help="only this rule set")
    cmd.add_argument("--since", type=_day, help="from this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--until", type=_day, help="before this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--outcome", help="only this outcome id")
    cmd.add_argument("--request-id", help="only this request")
    cmd.add_argument("--limit", type=int, default=DEFAULT_QUERY_LIMIT)
    cmd.add_argument("--log", help="sqlite:///path, a file path or postgresql://… (default: "
                     "$FLETS_AUDIT_URL or instance/decisions.sqlite3)")  # fmt: skip
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.set_defaults(func=cmd_log)
