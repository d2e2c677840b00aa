"""The publish record: who published which file, when, why, what changed, and its digest.

Every publish from the studio (:mod:`engine.lifecycle.publish`) is one row, kept in the decision
log's database next to the decisions, so the audit trail of what was answered and of what changed the
answers is in one place: the table ``publishes`` in the SQLite log's first file, or in the PostgreSQL
database. With no decision log (``none``) the record lives in the process's memory only.

With PostgreSQL the record is also how a publish reaches every server instance sharing the database:
each instance polls for rows newer than the last it saw (:meth:`PublishStore.after`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from .decision_log import AuditError, DecisionLog, PostgresDecisionLog, SQLiteDecisionLog

_COLUMNS = ("kind", "id", "version", "previous_version", "file", "digest", "previous_digest",
            "who", "reason", "at", "diff", "text", "previous_text", "rollback_of", "origin")  # fmt: skip

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS publishes (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL, previous_version TEXT,
    file TEXT NOT NULL, digest TEXT NOT NULL, previous_digest TEXT, who TEXT NOT NULL,
    reason TEXT NOT NULL, at TEXT NOT NULL, diff TEXT NOT NULL, text TEXT NOT NULL,
    previous_text TEXT, rollback_of INTEGER, origin TEXT NOT NULL
);
"""
_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS publishes (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL, previous_version TEXT,
    file TEXT NOT NULL, digest TEXT NOT NULL, previous_digest TEXT, who TEXT NOT NULL,
    reason TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, diff TEXT NOT NULL, text TEXT NOT NULL,
    previous_text TEXT, rollback_of BIGINT, origin TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Publish:
    """One publish: ``file`` is the file's name in its folder; ``origin`` the instance that took it."""

    kind: str
    id: str
    version: str
    previous_version: str | None
    file: str
    digest: str
    previous_digest: str | None
    who: str
    reason: str
    at: datetime
    diff: str
    text: str
    previous_text: str | None
    rollback_of: int | None = None
    origin: str = ""
    seq: int = 0

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        body = asdict(self)
        body["at"] = self.at.isoformat()
        if not with_text:
            body.pop("text")
            body.pop("previous_text")
        body.pop("origin")
        return body

    def values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _COLUMNS)


def _from_row(row: Sequence[Any]) -> Publish:
    seq, *values = row
    fields = dict(zip(_COLUMNS, values, strict=True))
    at = fields["at"]
    fields["at"] = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return Publish(**fields, seq=int(seq))


class PublishStore(Protocol):
    shared: bool

    def add(self, publish: Publish) -> Publish: ...

    def recent(self, kind: str | None, ident: str | None, limit: int) -> list[Publish]: ...

    def get(self, seq: int) -> Publish | None: ...

    def after(self, seq: int) -> list[Publish]: ...

    def last_seq(self) -> int: ...

    def versions(self) -> list[tuple[str, str, str, str]]: ...


class MemoryPublishStore:
    """The record of a service without a decision log: this process's publishes only."""

    shared = False

    def __init__(self) -> None:
        self._rows: list[Publish] = []
        self._lock = threading.Lock()

    def add(self, publish: Publish) -> Publish:
        with self._lock:
            stored = replace(publish, seq=len(self._rows) + 1)
            self._rows.append(stored)
            return stored

    def recent(self, kind: str | None, ident: str | None, limit: int) -> list[Publish]:
        with self._lock:
            rows = [p for p in reversed(self._rows) if _matches(p, kind, ident)]
        return rows[:limit]

    def get(self, seq: int) -> Publish | None:
        with self._lock:
            return self._rows[seq - 1] if 0 < seq <= len(self._rows) else None

    def after(self, seq: int) -> list[Publish]:
        with self._lock:
            return self._rows[seq:]

    def last_seq(self) -> int:
        with self._lock:
            return len(self._rows)

    def versions(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return [_version_of(p.kind, p.id, p.version, p.digest, p.seq) for p in self._rows]


def _version_of(
    kind: str, ident: str, version: str, digest: str, seq: int
) -> tuple[str, str, str, str]:
    return kind, f"{ident}@{version}", digest, f"publish {seq}"


_VERSIONS_SQL = "SELECT kind, id, version, digest, seq FROM publishes ORDER BY seq"


def _matches(p: Publish, kind: str | None, ident: str | None) -> bool:
    return (kind is None or p.kind == kind) and (ident is None or p.id == ident)


def _where(kind: str | None, ident: str | None, mark: str) -> tuple[str, list[object]]:
    clauses: list[str] = []
    values: list[object] = []
    for column, value in (("kind", kind), ("id", ident)):
        if value is not None:
            clauses.append(f"{column} = {mark}")
            values.append(value)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), values


class SQLitePublishStore:
    """The record in the SQLite log's first file (publishes are rare: written directly, not
    through the decisions' journal)."""

    shared = False

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as connection:
            connection.executescript(_SQLITE_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute("PRAGMA journal_mode = WAL")
        return connection

    def _rows(self, sql: str, values: Sequence[object]) -> list[Publish]:
        try:
            connection = self._connect()
            try:
                return [_from_row(row) for row in connection.execute(sql, values)]
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the publish record ({exc})") from None

    def add(self, publish: Publish) -> Publish:
        values = list(publish.values())
        values[_COLUMNS.index("at")] = publish.at.astimezone(UTC).isoformat()
        try:
            connection = self._connect()
            try:
                with connection:
                    cursor = connection.execute(
                        f"INSERT INTO publishes ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                        values,
                    )
                seq = int(cursor.lastrowid or 0)
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise AuditError(f"cannot write the publish record ({exc})") from None
        return replace(publish, seq=seq)

    def recent(self, kind: str | None, ident: str | None, limit: int) -> list[Publish]:
        clause, values = _where(kind, ident, "?")
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes{clause} ORDER BY seq DESC LIMIT ?"
        return self._rows(sql, [*values, limit])

    def get(self, seq: int) -> Publish | None:
        found = self._rows(f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes WHERE seq = ?", [seq])
        return found[0] if found else None

    def after(self, seq: int) -> list[Publish]:
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes WHERE seq > ? ORDER BY seq"
        return self._rows(sql, [seq])

    def last_seq(self) -> int:
        found = self.recent(None, None, 1)
        return found[0].seq if found else 0

    def versions(self) -> list[tuple[str, str, str, str]]:
        try:
            connection = self._connect()
            try:
                return [_version_of(*row) for row in connection.execute(_VERSIONS_SQL)]
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read the publish record ({exc})") from None


class PostgresPublishStore:
    """The record in PostgreSQL: shared by every instance using the database (``shared``), which
    each instance polls to apply the publishes others took."""

    shared = True

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.url = url
        with psycopg.connect(url, connect_timeout=5) as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (0x466C657474,))
            connection.execute(_PG_SCHEMA)

    def _run(self, sql: str, values: Sequence[object]) -> list[Publish]:
        try:
            with self._psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                return [_from_row(row) for row in connection.execute(sql, values).fetchall()]
        except self._psycopg.Error as exc:
            raise AuditError(f"cannot reach the publish record ({exc})") from None

    def add(self, publish: Publish) -> Publish:
        sql = (
            f"INSERT INTO publishes ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING seq, {', '.join(_COLUMNS)}"
        )
        return self._run(sql, publish.values())[0]

    def recent(self, kind: str | None, ident: str | None, limit: int) -> list[Publish]:
        clause, values = _where(kind, ident, "%s")
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes{clause} ORDER BY seq DESC LIMIT %s"
        return self._run(sql, [*values, limit])

    def get(self, seq: int) -> Publish | None:
        found = self._run(f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes WHERE seq = %s", [seq])
        return found[0] if found else None

    def after(self, seq: int) -> list[Publish]:
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM publishes WHERE seq > %s ORDER BY seq"
        return self._run(sql, [seq])

    def last_seq(self) -> int:
        try:
            with self._psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                row = connection.execute("SELECT coalesce(max(seq), 0) FROM publishes").fetchone()
                return int(row[0]) if row else 0
        except self._psycopg.Error as exc:
            raise AuditError(f"cannot reach the publish record ({exc})") from None

    def versions(self) -> list[tuple[str, str, str, str]]:
        try:
            with self._psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                rows = connection.execute(_VERSIONS_SQL).fetchall()
        except self._psycopg.Error as exc:
            raise AuditError(f"cannot reach the publish record ({exc})") from None
        return [_version_of(*row) for row in rows]


def open_publish_store(decision_log: DecisionLog) -> PublishStore:
    """The publish record in ``decision_log``'s database (memory when there is none)."""
    if isinstance(decision_log, PostgresDecisionLog):
        return PostgresPublishStore(decision_log.url)
    if isinstance(decision_log, SQLiteDecisionLog):
        return SQLitePublishStore(decision_log.path)
    return MemoryPublishStore()


def published_versions(store: PublishStore) -> list[tuple[str, str, str, str]]:
    """``(kind, id@version, digest, where)`` of every publish, oldest first (the versions whose
    content a publish fixed, :mod:`engine.lifecycle.versions`)."""
    return store.versions()
