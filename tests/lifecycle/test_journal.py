"""The decision log's write-ahead journal: durable before the answer, moved into SQLite, read meanwhile."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.lifecycle.decision_log import (
    AuditError,
    DecisionRecord,
    Query,
    SQLiteDecisionLog,
    journal,
    sqlite,
)
from engine.lifecycle.decision_log.sqlite import REQUEST_COLUMNS, request_rows

AT = datetime(2025, 4, 1, tzinfo=UTC)


def record(request_id: str, outcome: str = "ok") -> DecisionRecord:
    return DecisionRecord(request_id, 0, AT, "r", "1", AT.date(), outcome, "positive", ("a",), {})


def line(*request_ids: str) -> bytes:
    rows = request_rows([record(r) for r in request_ids])
    return orjson.dumps(rows) + b"\n"


def sqlite_request_ids(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [r[0] for r in connection.execute("SELECT request_id FROM decision_requests")]


def slow_mover(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background thread does not move anything during the test; close() still does."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_INTERVAL", 3600)


def test_queries_see_decisions_still_in_the_journal_and_close_moves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_mover(monkeypatch)
    log = SQLiteDecisionLog(tmp_path / "log.db")
    log.append([record("a")])
    log.append([record("b", "no")])
    assert sqlite_request_ids(tmp_path / "log.db") == []  # not moved yet
    reader = SQLiteDecisionLog(tmp_path / "log.db")  # e.g. the CLI, another process
    assert [r.request_id for r in reader.query(Query())] == ["a", "b"]
    assert [r.request_id for r in reader.query(Query(outcome="no"))] == ["b"]
    assert [r.request_id for r in reader.query(Query(ruleset="other"))] == []
    assert [r.request_id for r in reader.query(Query(since=AT.replace(year=2026)))] == []
    log.close()
    assert sqlite_request_ids(tmp_path / "log.db") == ["a", "b"]
    assert journal.journal_files(tmp_path / "log.db") == []
    assert [r.request_id for r in reader.query(Query())] == ["a", "b"]  # once, not twice


def test_a_moving_round_copies_and_the_reader_never_counts_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_mover(monkeypatch)
    log = SQLiteDecisionLog(tmp_path / "log.db")
    try:
        log.append([record("a")])
        assert log._claimed().journal.copy() is True
        log.append([record("b")])
        assert sqlite_request_ids(tmp_path / "log.db") == ["a"]
        assert [r.request_id for r in log.query(Query())] == ["a", "b"]
        assert log._claimed().journal.copy() is True
        assert log._claimed().journal.copy() is False  # nothing new
        assert [r.request_id for r in log.query(Query())] == ["a", "b"]
    finally:
        log.close()


def test_a_crashed_writers_journal_is_moved_by_the_next_and_a_cut_off_line_dropped(
    tmp_path: Path,
) -> None:
    shard = tmp_path / "log.db"
    SQLiteDecisionLog(shard).close()  # the file and its tables exist
    (tmp_path / "log.db.journal.1").write_bytes(line("a", "b") + line("c"))
    (tmp_path / "log.db.journal.2").write_bytes(line("d") + line("never-acknowledged")[:-7])
    reader = SQLiteDecisionLog(shard)
    assert [r.request_id for r in reader.query(Query())] == ["a", "b", "c", "d"]
    writer = SQLiteDecisionLog(shard)
    writer.append([record("e")])  # claims the shard: moves what the dead writer left first
    assert sqlite_request_ids(shard) == ["a", "b", "c", "d"]
    writer.close()
    assert sqlite_request_ids(shard) == ["a", "b", "c", "d", "e"]
    assert journal.journal_files(shard) == []


def test_a_file_copied_before_a_crash_but_not_deleted_is_not_copied_again(tmp_path: Path) -> None:
    shard = tmp_path / "log.db"
    log = SQLiteDecisionLog(shard)
    log.append([record("a")])
    log.close()  # copied_through is now at least 1
    with sqlite3.connect(shard) as connection:
        done = journal.copied_through(connection)
    (tmp_path / f"log.db.journal.{done}").write_bytes(line("a"))  # as if unlink never happened
    reader = SQLiteDecisionLog(shard)
    assert [r.request_id for r in reader.query(Query())] == ["a"]
    writer = SQLiteDecisionLog(shard)
    writer.append([record("b")])
    writer.close()
    assert sqlite_request_ids(shard) == ["a", "b"]


def test_a_file_moved_while_the_reader_reads_is_read_from_sqlite_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader lists the journal files, then one is copied into SQLite and deleted before the
    reader opens it: its rows come from the SQLite snapshot taken afterwards, once."""
    slow_mover(monkeypatch)
    log = SQLiteDecisionLog(tmp_path / "log.db")
    log.append([record("a")])
    log.append([record("b")])
    real = journal.rows_in
    moved: list[Path] = []

    def moved_meanwhile(path: Path) -> list[list[object]]:
        if not moved:  # the reader's first open: the mover copies and deletes that very file
            moved.append(path)
            monkeypatch.setattr(journal, "rows_in", real)
            log._claimed().journal.copy()
        return real(path)

    monkeypatch.setattr(journal, "rows_in", moved_meanwhile)
    try:
        assert [r.request_id for r in log.query(Query())] == ["a", "b"]
        assert moved and not moved[0].exists()
    finally:
        log.close()


def test_synchronous_full_fsyncs_every_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    log = SQLiteDecisionLog(tmp_path / "log.db", synchronous="full")
    try:
        log.append([record("a")])
        log.append([record("b")])
        assert len(synced) == 2
    finally:
        log.close()
    normal = SQLiteDecisionLog(tmp_path / "other.db")
    synced.clear()
    normal.append([record("c")])
    assert synced == []
    normal.close()


def test_a_write_that_fails_is_an_audit_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    log.append([record("a")])

    real_write = os.write
    calls: list[int] = []

    def full_disk(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))  # the disk fills up part way through the line
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(AuditError, match="No space left"):
        log.append([record("b")])
    monkeypatch.undo()
    log.append([record("c")])  # not glued to the cut-off line
    log.close()
    assert sqlite_request_ids(tmp_path / "log.db") == ["a", "c"]


_ROW = st.tuples(
    st.text(), st.integers(0, 2**53), st.text(), st.text(), st.text(), st.text(),
    st.text(), st.text(), st.text(), st.text(), st.none() | st.text(),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.lists(_ROW, min_size=1, max_size=3), max_size=6))
@example(lines=[[("a", 0, "t", "r", "1", "d", '["ok"]', "[]", "[[]]", '{"x":"é\\"\\n😀"}')]])
@example(lines=[[("a\x00b", 0, "t", "r", "1", "d", "", "", "", "")]])  # SQLite would cut at the NUL
def test_the_copy_into_sqlite_keeps_every_value_its_type_and_the_order(
    tmp_path_factory: pytest.TempPathFactory, lines: list[list[tuple[object, ...]]]
) -> None:
    """SQLite parses the journal's JSON (``journal.insert_from_json``): each value arrives exactly as
    binding the parsed row gave it, including quotes, backslashes, NUL and non-BMP characters."""
    shard = tmp_path_factory.mktemp("copy") / "log.db"
    SQLiteDecisionLog(shard).close()  # the tables
    connection = sqlite3.connect(shard, isolation_level=None, check_same_thread=False)
    writer = journal.Journal(shard, connection, "decision_requests", REQUEST_COLUMNS, "normal")
    try:
        for rows in lines:
            writer.append(rows)
        writer.copy()
        stored = connection.execute(
            f"SELECT {', '.join(REQUEST_COLUMNS)} FROM decision_requests ORDER BY seq"
        ).fetchall()
        types = connection.execute("SELECT DISTINCT typeof(first_item) FROM decision_requests")
        assert {t for (t,) in types} <= {"integer"}
    finally:
        writer.close()  # closes the connection
    # A line journaled before the digest column (ten values) is stored with no digest.
    width = len(REQUEST_COLUMNS)
    assert stored == [(*row, *[None] * (width - len(row))) for rows in lines for row in rows]


def test_the_backlog_counts_rows_until_a_copy_moves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The metrics' queue depth and lag (flets_decision_log_backlog_rows / _lag_seconds)."""
    slow_mover(monkeypatch)
    log = SQLiteDecisionLog(tmp_path / "log.db")
    try:
        assert log.backlog() == (0, 0.0)  # nothing claimed yet
        log.append([record("a")])
        log.append([record("b")])
        rows, lag = log.backlog()
        assert rows == 2 and lag >= 0.0
        assert log._claimed().journal.copy() is True
        assert log.backlog() == (0, 0.0)
        log.append([record("c")])
        assert log.backlog()[0] == 1
    finally:
        log.close()
