"""How the SQLite decision log writes: rows rendered straight from decisions, processes taking turns on
a file lock, and WAL checkpoints in a background thread instead of inside a request."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from engine import Rulebook
from engine.lifecycle.decision_log import (
    MASK,
    DecisionBatch,
    DecisionRecord,
    Query,
    SQLiteDecisionLog,
    log_decisions,
    open_decision_log,
)
from engine.lifecycle.decision_log.sqlite import request_rows
from engine.paths import PROJECT_ROOT

FACT_SETS = (
    {"plan": "family", "users": 3, "customer_name": '山田 "太郎"'},
    {"plan": "basic", "users": 1},
    {"plan": "business", "users": 7, "migrated": True},
)


def test_rows_rendered_from_decisions_equal_rows_of_records(book: Rulebook) -> None:
    decisions = [book.decide("plan_change", facts) for facts in FACT_SETS]
    batch = DecisionBatch(decisions, "req-7", datetime(2025, 4, 1, 3, 0, tzinfo=UTC))
    assert request_rows(batch) == request_rows(list(batch))
    assert len(request_rows(batch)) == 1  # one row per request
    assert [record.item for record in batch] == [0, 1, 2]
    assert batch[0].facts["customer_name"] == MASK
    assert "山田" not in repr(request_rows(batch))
    assert batch[-1] == batch[2] and batch[1:] == [batch[1], batch[2]]


def test_one_and_many_decisions_round_trip(book: Rulebook, tmp_path: Path) -> None:
    log = open_decision_log(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        log_decisions(log, [book.decide("plan_change", FACT_SETS[0])], "single")
        log_decisions(log, [book.decide("plan_change", f) for f in FACT_SETS], "batch")
        records = log.query(Query())
    finally:
        log.close()
    assert [(r.request_id, r.item, r.outcome) for r in records] == [
        ("single", 0, "allowed"), ("batch", 0, "allowed"), ("batch", 1, "refused"),
        ("batch", 2, "refused")]  # fmt: skip
    assert records[0].facts == {"plan": "family", "users": 3, "migrated": False,
                                "customer_name": MASK}  # fmt: skip


_WRITER = """
import sys
from datetime import UTC, datetime
from engine.lifecycle.decision_log import DecisionRecord, open_decision_log
log = open_decision_log(sys.argv[1])
for n in range(int(sys.argv[3])):
    record = DecisionRecord(f"{sys.argv[2]}-{n}", 0, datetime.now(UTC), "r", "1", datetime.now(UTC).date(),
                            "ok", "positive", ("a",), {"n": n})
    log.append([record])
log.close()
"""


def test_processes_writing_at_once_each_write_a_shard_and_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    holder = open_decision_log(url)  # holds the first shard while the others write
    holder.append([_record("holder", datetime(2020, 1, 1, tzinfo=UTC))])
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, f"p{i}", "300"], cwd=PROJECT_ROOT)
        for i in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    records = holder.query(Query(limit=None))
    holder.close()
    assert {r.request_id for r in records} == {"holder"} | {
        f"p{i}-{n}" for i in range(3) for n in range(300)
    }
    assert records[0].request_id == "holder"  # merged by time across shards
    assert [r.decided_at for r in records] == sorted(r.decided_at for r in records)
    shards = sorted(p.name for p in tmp_path.glob("shared*.db"))
    assert shards[0] == "shared.1.db" and "shared.db" in shards
    with sqlite3.connect(tmp_path / "shared.db") as connection:  # the holder's shard: its row only
        assert connection.execute("SELECT request_id FROM decision_requests").fetchall() == [
            ("holder",)
        ]


def _record(request_id: str, at: datetime) -> DecisionRecord:
    return DecisionRecord(request_id, 0, at, "r", "1", at.date(), "ok", "positive", ("a",), {})


def test_a_closed_log_frees_its_shard_and_queries_merge_and_limit(tmp_path: Path) -> None:
    first, second = (SQLiteDecisionLog(tmp_path / "log.db") for _ in range(2))
    base = datetime(2025, 4, 1, tzinfo=UTC)
    first.append([_record("a", base)])
    second.append([_record("b", base.replace(hour=1))])  # the same process, another log object
    first.append([_record("c", base.replace(hour=2))])
    assert second._claimed().path.name == "log.1.db"
    assert [r.request_id for r in second.query(Query())] == ["a", "b", "c"]
    assert [r.request_id for r in first.query(Query(limit=2))] == ["a", "b"]
    assert [r.request_id for r in first.query(Query(since=base.replace(hour=1)))] == ["b", "c"]
    first.close()
    third = SQLiteDecisionLog(tmp_path / "log.db")
    third.append([_record("d", base.replace(hour=3))])
    assert third._claimed().path.name == "log.db"  # the first shard was free again
    assert [r.request_id for r in third.query(Query())] == ["a", "b", "c", "d"]
    second.close()
    third.close()


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "flets-decision-log-checkpoint"]


def _decisions_in_database_file(database: Path, copy: Path) -> int:
    """Decisions in the database file alone (a copy without its WAL): what checkpoints have moved there."""
    copy.write_bytes(database.read_bytes())
    with sqlite3.connect(copy) as connection:
        try:
            return int(
                connection.execute(
                    "SELECT coalesce(sum(json_array_length(outcomes)), 0) FROM decision_requests"
                ).fetchone()[0]
            )
        except sqlite3.DatabaseError:  # the table not checkpointed yet (or a copy torn mid-write)
            return 0


def test_checkpoints_run_in_the_background_and_stop_with_the_log(
    book: Rulebook, tmp_path: Path
) -> None:
    before = len(_checkpointers())
    log = SQLiteDecisionLog(tmp_path / "log.db")
    assert len(_checkpointers()) == before  # nothing written yet: no thread
    log_decisions(log, [book.decide("plan_change", f) for f in FACT_SETS], "r")
    assert len(_checkpointers()) == before + 1
    deadline = time.monotonic() + 20
    while _decisions_in_database_file(tmp_path / "log.db", tmp_path / "copy.db") < 3:
        assert time.monotonic() < deadline, "the background checkpoint never ran"
        time.sleep(0.1)
    log.close()
    assert len(_checkpointers()) == before


def test_a_batch_is_one_row_and_queries_see_each_decision(book: Rulebook, tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    try:
        log_decisions(log, [book.decide("plan_change", f) for f in FACT_SETS], "batch")
        log_decisions(log, [book.decide("plan_change", FACT_SETS[1])], "single")
        refused = log.query(Query(outcome="refused"))
        first_two = log.query(Query(limit=2))
        only_single = log.query(Query(request_id="single"))
    finally:
        log.close()
    assert [(r.request_id, r.item) for r in refused] == [("batch", 1), ("batch", 2), ("single", 0)]
    assert [(r.request_id, r.item) for r in first_two] == [("batch", 0), ("batch", 1)]
    assert [(r.request_id, r.item, r.outcome) for r in only_single] == [("single", 0, "refused")]
    assert refused[1].facts == {"plan": "business", "users": 7, "migrated": True,
                                "customer_name": MASK}  # fmt: skip
    with sqlite3.connect(tmp_path / "log.db") as connection:
        assert connection.execute("SELECT count(*) FROM decision_requests").fetchone() == (2,)


def test_records_of_several_requests_become_one_row_each(tmp_path: Path) -> None:
    base = datetime(2025, 4, 1, tzinfo=UTC)
    records = [_record("a", base), _record("b", base),
               DecisionRecord("b", 1, base, "r", "1", base.date(), "no", "negative", (), {"x": 1}),
               DecisionRecord("b", 5, base, "r", "1", base.date(), "ok", "positive", (), {})]  # fmt: skip
    log = SQLiteDecisionLog(tmp_path / "log.db")
    try:
        log.append(records)
        assert log.query(Query(limit=None)) == records
    finally:
        log.close()
    with sqlite3.connect(tmp_path / "log.db") as connection:
        assert connection.execute("SELECT count(*) FROM decision_requests").fetchone() == (3,)


_LEGACY_SCHEMA = """
CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
    item INTEGER NOT NULL, decided_at TEXT NOT NULL, ruleset TEXT NOT NULL, version TEXT NOT NULL,
    as_of TEXT NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL, reasons TEXT NOT NULL,
    facts TEXT NOT NULL);
INSERT INTO decisions (request_id, item, decided_at, ruleset, version, as_of, outcome, kind, reasons,
    facts) VALUES ('old', 0, '2025-03-01T00:00:00+00:00', 'r', '1', '2025-03-01', 'ok', 'positive',
    '["a"]', '{"n": 1}');
"""


def test_a_file_written_before_the_request_rows_is_still_read(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.executescript(_LEGACY_SCHEMA)
    log = SQLiteDecisionLog(tmp_path / "log.db")
    try:
        log.append([_record("new", datetime(2025, 4, 1, tzinfo=UTC))])
        records = log.query(Query(limit=None))
        assert [r.request_id for r in log.query(Query(outcome="ok", ruleset="r"))] == ["old", "new"]
    finally:
        log.close()
    assert [(r.request_id, dict(r.facts)) for r in records] == [("old", {"n": 1}), ("new", {})]


def test_the_wal_starts_over_under_steady_writes(tmp_path: Path) -> None:
    """With requests committing to SQLite all the time, a PASSIVE checkpoint never caught up and the
    WAL grew without bound (about 30 MB/s per worker); with the journal, SQLite's only writer is the
    thread that also checkpoints, so the WAL starts over."""
    log = SQLiteDecisionLog(tmp_path / "log.db")
    log._claimed().mover.interval = 0.02
    base = datetime(2025, 4, 1, tzinfo=UTC)
    wal = tmp_path / "log.db-wal"
    try:
        deadline = time.monotonic() + 1.5
        written = 0
        while time.monotonic() < deadline:
            log.append([_record(f"r{written}", base)])
            written += 1
        assert wal.stat().st_size < written * 4096 / 4  # each commit adds at least one 4 kB page
        assert len(log.query(Query(limit=None))) == written
    finally:
        log.close()
