"""The decision log: every decision appended durably before its answer leaves the service.

A record holds the request id, the time, the rule set id and version, the facts (with facts declared
``personal: true`` masked), the outcome and the reason codes (:mod:`.records`). Two stores share one
interface, :class:`DecisionLog`:

* :class:`~.sqlite.SQLiteDecisionLog` (the default): embedded files in WAL mode, one per writing
  process (``decisions.sqlite3``, ``decisions.1.sqlite3`` …), queried together. Each append is one line
  written to the shard's journal before :meth:`~DecisionLog.append` returns (:mod:`.journal`), so an
  acknowledged decision survives a crash of the server process (``kill -9``); a background thread
  moves the journal into SQLite. By default (``synchronous=NORMAL``) the line is in the operating
  system's hands, not yet on disk, so a power cut or kernel crash may lose the last few decisions, as
  with SQLite's own NORMAL commits. ``synchronous=FULL`` (``?synchronous=full`` in the URL) fsyncs
  every append and survives power loss too, at the cost measured in ``docs/lifecycle.md``.
* :class:`~.postgres.PostgresDecisionLog`: for several server processes or machines sharing one log
  (``postgresql://…`` URL, psycopg 3). Each append is an autocommitted ``INSERT``.

:func:`open_decision_log` picks the store from a URL. Every store can say whether it could log a
decision now (:meth:`DecisionLog.check`, for readiness), stream its records in bounded memory (for
replays), and delete what is older than a date (retention: :meth:`DecisionLog.prune` and
:mod:`.retention`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from ...rules.explain import Decision
from .postgres import PostgresDecisionLog
from .records import (
    DEFAULT_QUERY_LIMIT,
    MASK,
    AuditError,
    DecisionBatch,
    DecisionRecord,
    Query,
    record_of,
    start_of_day,
)
from .retention import Retention, retention_cutoff
from .sqlite import SQLiteDecisionLog

__all__ = [
    "DEFAULT_QUERY_LIMIT",
    "MASK",
    "AuditError",
    "DecisionBatch",
    "DecisionLog",
    "DecisionRecord",
    "NullDecisionLog",
    "PostgresDecisionLog",
    "Query",
    "Retention",
    "SQLiteDecisionLog",
    "all_records",
    "log_decisions",
    "open_decision_log",
    "record_of",
    "retention_cutoff",
    "start_of_day",
]


class DecisionLog(Protocol):
    """Where decisions are appended; implementations commit before :meth:`append` returns.

    :meth:`append` and :meth:`check` raise :class:`AuditError` when a decision cannot be logged
    durably: the caller must not answer it, and must not report ready.
    """

    url: str

    def append(self, records: Sequence[DecisionRecord]) -> None: ...

    def check(self) -> None: ...

    def query(self, query: Query) -> list[DecisionRecord]: ...

    def stream(self, query: Query) -> Iterator[DecisionRecord]: ...

    def prune(self, before: datetime) -> int: ...

    def versions(self) -> set[tuple[str, str, str]]: ...

    def backlog(self) -> tuple[int, float]:
        """Entries written but not yet in the store's database and the oldest one's age (seconds):
        ``(0, 0.0)`` for a store that writes its database directly."""
        ...

    def close(self) -> None: ...


class NullDecisionLog:
    """No decision log (``none``): for tools and tests that must not write one."""

    url = "none"

    def append(self, records: Sequence[DecisionRecord]) -> None:
        return None

    def check(self) -> None:
        return None

    def query(self, query: Query) -> list[DecisionRecord]:
        return []

    def stream(self, query: Query) -> Iterator[DecisionRecord]:
        return iter(())

    def prune(self, before: datetime) -> int:
        return 0

    def versions(self) -> set[tuple[str, str, str]]:
        return set()

    def backlog(self) -> tuple[int, float]:
        return 0, 0.0

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


def all_records(log: DecisionLog, query: Query) -> Iterator[DecisionRecord]:
    """Every record matching ``query``, whatever its limit, streamed a page at a time (for replaying
    the log: 4.7 million decisions read at once took 2.6 GB)."""
    return log.stream(
        Query(query.ruleset, query.since, query.until, query.outcome, query.request_id, None)
    )


def logged_versions(log: DecisionLog) -> set[tuple[str, str, str]]:
    """Every ``(rule set, version, digest)`` ``log`` holds a decision of: the versions whose content
    the log fixed (:mod:`engine.lifecycle.versions`)."""
    return log.versions()
