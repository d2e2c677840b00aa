"""Retention: old decisions are deleted on demand (``flets-elig log prune``) or by the service, from
every SQLite shard (request rows and the older per-decision rows) and from PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from engine.cli import main
from engine.lifecycle.decision_log import (
    DecisionRecord,
    Query,
    Retention,
    SQLiteDecisionLog,
    open_decision_log,
    postgres,
    retention_cutoff,
    sqlite,
    start_of_day,
)

TODAY = date(2025, 6, 30)
#: Days before TODAY the test decisions were logged at (noon, Tokyo), oldest first.
AGES = (400, 45, 31, 30, 29, 1, 0)


def at(age: int) -> datetime:
    return start_of_day(TODAY - timedelta(days=age)) + timedelta(hours=12)


def records(age: int, count: int = 1) -> list[DecisionRecord]:
    """``count`` decisions of one request (a batch when more than one), ``age`` days old."""
    moment = at(age)
    return [DecisionRecord(f"d{age}", item, moment.astimezone(UTC), "r", "1", moment.date(), "ok",
                           "positive", ("a",), {"n": item}) for item in range(count)]  # fmt: skip


def fill(url: str) -> None:
    """One request per age; the 45-day-old one a batch of 3. SQLite: two shards (two writers)."""
    first, second = open_decision_log(url), open_decision_log(url)
    try:
        for index, age in enumerate(AGES):
            (first if index % 2 else second).append(records(age, 3 if age == 45 else 1))
    finally:
        first.close()
        second.close()


def ages_left(url: str) -> list[int]:
    log = open_decision_log(url)
    try:
        return sorted({int(r.request_id[1:]) for r in log.query(Query(limit=None))}, reverse=True)
    finally:
        log.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prune two ``seq`` values per transaction, so the tests walk several batches."""
    monkeypatch.setattr(sqlite, "PRUNE_BATCH", 2)
    monkeypatch.setattr(postgres, "PRUNE_BATCH", 2)


def test_keeping_30_days_deletes_what_is_older_from_every_store(
    log_url: str, tmp_path: Path, small_batches: None
) -> None:
    fill(log_url)
    if log_url.startswith("sqlite"):
        assert (tmp_path / "decisions.1.sqlite3").exists()  # both shards hold some
    log = open_decision_log(log_url)
    try:
        cutoff = retention_cutoff(30, TODAY)
        assert cutoff == start_of_day(date(2025, 5, 31))
        assert log.prune(cutoff) == 1 + 3 + 1  # 400, 45 (a batch of 3), 31 days old
        assert log.prune(cutoff) == 0
    finally:
        log.close()
    assert ages_left(log_url) == [30, 29, 1, 0]


def test_prune_deletes_the_rows_of_files_written_before_the_request_rows(tmp_path: Path) -> None:
    """A SQLite file from before one row per request keeps its per-decision table: pruned too."""
    path = tmp_path / "decisions.sqlite3"
    SQLiteDecisionLog(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE decisions (seq INTEGER PRIMARY KEY, request_id TEXT, item INTEGER, "
            "decided_at TEXT, ruleset TEXT, version TEXT, as_of TEXT, outcome TEXT, kind TEXT, "
            "reasons TEXT, facts TEXT)"
        )
        for age in (40, 10):
            moment = at(age).astimezone(UTC)
            connection.execute(
                "INSERT INTO decisions (request_id, item, decided_at, ruleset, version, as_of, "
                "outcome, kind, reasons, facts) VALUES (?, 0, ?, 'r', '1', ?, 'ok', 'positive', "
                "'[]', '{}')",
                (f"d{age}", moment.isoformat(), moment.date().isoformat()),
            )
    log = SQLiteDecisionLog(path)
    try:
        assert log.prune(retention_cutoff(30, TODAY)) == 1
        assert [r.request_id for r in log.query(Query())] == ["d10"]
    finally:
        log.close()


def test_prune_stops_at_the_first_batch_with_nothing_old(
    tmp_path: Path, small_batches: None
) -> None:
    """The walk costs what it deletes: rows after the first batch holding no old row are not read
    (a clock set back may leave an older row to a later prune, never delete a newer one)."""
    url = str(tmp_path / "decisions.sqlite3")
    writer = open_decision_log(url)
    for age in (40, 39, 5, 4, 3, 2, 50):  # the last one: logged while the clock was set back
        writer.append(records(age))
    writer.close()
    log = open_decision_log(url)
    try:
        assert log.prune(retention_cutoff(30, TODAY)) == 2
    finally:
        log.close()
    assert ages_left(url) == [50, 5, 4, 3, 2]


def test_cli_prune_by_date_and_by_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'decisions.sqlite3'}"
    fill(url)
    assert main(["log", "prune", "--log", url, "--before", "2025-01-01"]) == 0
    assert capsys.readouterr().out == (
        "1 decisions logged before 2025-01-01 (Tokyo time) deleted\n"
    )
    assert ages_left(url) == [45, 31, 30, 29, 1, 0]
    # Today is long after TODAY: keeping 30 days (from the environment, as the service does)
    # deletes everything the test logged.
    monkeypatch.setenv("FLETS_LOG_RETENTION_DAYS", "30")
    assert main(["log", "--log", url, "prune"]) == 0
    assert capsys.readouterr().out.startswith("8 decisions logged before ")
    assert ages_left(url) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--before", "2999-01-01"], "is after today"),
        (["--keep-days", "0"], "at least 1"),
        ([], "name --before DATE or --keep-days N"),
    ],
)
def test_cli_prune_refuses_what_would_delete_today_or_names_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("FLETS_LOG_RETENTION_DAYS", raising=False)
    url = str(tmp_path / "decisions.sqlite3")
    assert main(["log", "prune", "--log", url, *arguments]) == 2
    assert message in capsys.readouterr().err


def test_the_retention_thread_prunes_now_and_then(log_url: str) -> None:
    fill(log_url)
    log = open_decision_log(log_url)
    retention = Retention(log, days=30, interval=0.1, today=lambda: TODAY).start()
    try:
        deadline = time.monotonic() + 10
        while ages_left(log_url) != [30, 29, 1, 0] and time.monotonic() < deadline:
            time.sleep(0.05)
        log.append(records(60))  # logged late (a clock set back): the next round deletes it
        while 60 in ages_left(log_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ages_left(log_url) == [30, 29, 1, 0]
    finally:
        retention.stop()
        log.close()


def test_the_service_prunes_when_a_retention_is_set(audit_rules: Path, tmp_path: Path) -> None:
    from webapp import create_app
    from webapp.state import app_state

    url = str(tmp_path / "decisions.sqlite3")
    fill(url)  # all of it older than 30 days before the real today
    app = create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "AUDIT_URL": url,
                      "TARIFFS_DIR": str(tmp_path / "none"), "LOG_LEVEL": "CRITICAL",
                      "LOG_RETENTION_DAYS": 30, "LOG_PRUNE_INTERVAL": 0.1})  # fmt: skip
    state = app_state(app)
    try:
        assert state.retention is not None and state.retention.days == 30
        deadline = time.monotonic() + 10
        while ages_left(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ages_left(url) == []
    finally:
        if state.retention is not None:
            state.retention.stop()
        state.holder.close()
        state.decision_log.close()


@pytest.mark.parametrize("days", [-1, "thirty", True])
def test_a_bad_retention_setting_stops_the_service_from_starting(
    audit_rules: Path, tmp_path: Path, days: object
) -> None:
    from webapp import create_app

    with pytest.raises(ValueError, match="FLETS_LOG_RETENTION_DAYS"):
        create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "LOG_RETENTION_DAYS": days,
                    "TARIFFS_DIR": str(tmp_path / "none"), "LOG_LEVEL": "CRITICAL",
                    "AUDIT_URL": str(tmp_path / "decisions.sqlite3")})  # fmt: skip


def test_no_retention_by_default(audit_rules: Path, tmp_path: Path) -> None:
    from webapp import create_app
    from webapp.state import app_state

    app = create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "LOG_LEVEL": "CRITICAL",
                      "AUDIT_URL": str(tmp_path / "decisions.sqlite3"),
                      "TARIFFS_DIR": str(tmp_path / "none")})  # fmt: skip
    state = app_state(app)
    try:
        assert state.retention is None
    finally:
        state.holder.close()
        state.decision_log.close()
