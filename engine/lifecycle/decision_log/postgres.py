"""The PostgreSQL store of the decision log: one shared table for any number of processes and machines.

Each append is one autocommitted transaction of ``INSERT`` s into the per-decision table
(:mod:`.sql`), one row per decision; each thread has its own connection. psycopg is imported only when
a PostgreSQL log is opened, so SQLite-only deployments need no PostgreSQL client.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .records import AuditError, DecisionRecord, Query
from .sql import insert, record_from_row, select

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
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        with psycopg.connect(url) as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            connection.execute(_PG_SCHEMA)

    def _connection(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._local, "connection", None)
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
                cursor.executemany(insert("%s"), rows)
        except self._psycopg.Error as exc:
            self._local.connection = None
            raise AuditError(f"cannot write the decision log ({exc})") from None

    def query(self, query: Query) -> list[DecisionRecord]:
        sql, values = select(query, "%s")
        with self._connection().cursor() as cursor:
            cursor.execute(sql, values)
            return [record_from_row(row) for row in cursor.fetchall()]

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
