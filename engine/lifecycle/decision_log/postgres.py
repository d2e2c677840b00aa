"""The PostgreSQL store of the decision log: one shared table for any number of processes and machines.

Each append is one autocommitted transaction of ``INSERT`` s into the per-decision table
(:mod:`.sql`), one row per decision; each thread has its own connection. psycopg is imported only when
a PostgreSQL log is opened, so SQLite-only deployments need no PostgreSQL client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .records import AuditError, DecisionRecord, Query
from .sql import (
    DIGEST_COLUMNS,
    PRUNE_BATCH,
    VERSIONS_TABLE,
    backfill_versions,
    insert,
    prune_statements,
    record_from_row,
    select,
    where,
)

if TYPE_CHECKING:
    import psycopg

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
    facts JSONB NOT NULL,
    digest TEXT
);
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS digest TEXT;
CREATE INDEX IF NOT EXISTS decisions_ruleset_time ON decisions (ruleset, decided_at);
CREATE INDEX IF NOT EXISTS decisions_request ON decisions (request_id);
"""
"""The table, and the migration of a table made before the ``digest`` column (its rows: NULL)."""

#: A version this process writes decisions of for the first time (:meth:`PostgresDecisionLog.append`).
_ADD_VERSION = (
    "INSERT INTO decision_versions (ruleset, version, digest) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)

#: Rows one page of :meth:`PostgresDecisionLog.stream` holds.
PAGE_ROWS = 1000

#: Seconds a new connection may take before it fails (libpq's ``connect_timeout``), unless the URL sets
#: its own: without it an unreachable server holds a decision, or ``/readyz``, for the TCP timeout.
CONNECT_TIMEOUT_S = 5

#: Serialises schema creation when several processes start at once (CREATE IF NOT EXISTS can race).
_PG_SCHEMA_LOCK = 0x466C657473  # "Flets"


def _connect_options(url: str) -> dict[str, Any]:
    """``connect_timeout`` for psycopg, unless the URL names one (the operator's value wins)."""
    from psycopg.conninfo import conninfo_to_dict

    return (
        {} if "connect_timeout" in conninfo_to_dict(url) else {"connect_timeout": CONNECT_TIMEOUT_S}
    )


class PostgresDecisionLog:
    """The decision log in PostgreSQL, shared by any number of server processes and machines."""

    def __init__(self, url: str) -> None:
        import psycopg  # imported here: SQLite-only deployments need no PostgreSQL client

        self._psycopg = psycopg
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._connect_options = _connect_options(url)
        #: The versions this process has written to ``decision_versions`` (or found there).
        self._versions_written: set[tuple[str, str, str]] = set()
        with psycopg.connect(url, **self._connect_options) as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            connection.execute(_PG_SCHEMA)
            made = connection.execute("SELECT to_regclass('decision_versions')").fetchone()
            if (
                made is None or made[0] is None
            ):  # the versions table (.sql), with what the log holds
                connection.execute(VERSIONS_TABLE)
                connection.execute(backfill_versions("decisions"))

    def _connection(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._psycopg.connect(self.url, autocommit=True, **self._connect_options)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def append(self, records: Sequence[DecisionRecord]) -> None:
        """Insert ``records`` in one transaction, committed on return."""
        if not records:
            return
        rows = [_pg_row(r) for r in records]
        new = {
            (r.ruleset, r.version, r.digest) for r in records if r.digest
        } - self._versions_written
        try:
            connection = self._connection()
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(insert("%s", DIGEST_COLUMNS), rows)
                if new:  # the first decisions of a version in this process: rare
                    cursor.executemany(_ADD_VERSION, sorted(new))
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot write the decision log ({exc})") from None
        with self._lock:
            self._versions_written |= new

    def check(self) -> None:
        """Whether a decision could be logged now (for readiness): the server answers.

        :raise AuditError: it does not.
        """
        try:
            self._connection().execute("SELECT 1").fetchall()
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot reach the decision log ({exc})") from None

    def query(self, query: Query) -> list[DecisionRecord]:
        sql, values = select(query, "%s", DIGEST_COLUMNS)
        try:
            with self._connection().cursor() as cursor:
                cursor.execute(sql, values)
                return [record_from_row(row) for row in cursor.fetchall()]
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot read the decision log ({exc})") from None

    def versions(self) -> set[tuple[str, str, str]]:
        """Every ``(rule set, version, digest)`` the log holds a decision of (digests recorded)."""
        try:
            rows = self._connection().execute(
                "SELECT ruleset, version, digest FROM decision_versions"
            )
            return {(str(a), str(b), str(c)) for a, b, c in rows.fetchall()}
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot read the decision log ({exc})") from None

    def stream(self, query: Query) -> Iterator[DecisionRecord]:
        """The records :meth:`query` would return without a limit (at most ``query.limit`` when it
        has one), read :data:`PAGE_ROWS` at a time by ``seq``: memory stays bounded whatever the
        size of the log, and no transaction stays open while the caller works through a page. The
        rows are those up to the last one when the stream starts."""
        clause, values = where(query, "%s")
        sql = (
            f"SELECT seq, {', '.join(DIGEST_COLUMNS)} FROM decisions"
            f"{clause}{' AND ' if clause else ' WHERE '}seq > %s AND seq <= %s "
            f"ORDER BY seq LIMIT {PAGE_ROWS}"
        )
        remaining = query.limit
        try:
            connection = self._connection()
            upto = _first(connection, "SELECT coalesce(max(seq), 0) FROM decisions", ())
            last = -(2**63)
            while remaining is None or remaining > 0:
                page = connection.execute(sql, [*values, last, upto]).fetchall()
                for row in page[:remaining]:
                    yield record_from_row(row[1:])
                if remaining is not None:
                    remaining -= min(len(page), remaining)
                if len(page) < PAGE_ROWS:
                    return
                last = page[-1][0]
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot read the decision log ({exc})") from None

    def prune(self, before: datetime) -> int:
        """Delete the decisions logged before ``before``, :data:`~.sql.PRUNE_BATCH` ``seq`` values
        per transaction (see :func:`~.sql.prune_statements`); how many were deleted.

        :raise AuditError: the server could not be reached or refused.
        """
        first, survey, delete = prune_statements("decisions", "1", "%s")
        removed = 0
        try:
            connection = self._connection()
            low = _first(connection, first, (-(2**63),))
            while low is not None:
                high = low + PRUNE_BATCH
                with connection.transaction():
                    found = connection.execute(survey, (before, before, low, high)).fetchone()
                    rows, old, decisions = found or (0, 0, 0)
                    if old:
                        connection.execute(delete, (low, high, before))
                removed += int(decisions)
                if rows and not old:
                    break
                low = _first(connection, first, (high,))
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot prune the decision log ({exc})") from None
        return removed

    def backlog(self) -> tuple[int, float]:
        """Nothing waits: every append commits to the database before it returns."""
        return 0, 0.0

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def _first(connection: psycopg.Connection[Any], sql: str, values: Sequence[object]) -> Any:
    """The first value of the first row ``sql`` returns (None without a row)."""
    row = connection.execute(sql, values).fetchone()
    return None if row is None else row[0]


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
        record.digest,
    )
