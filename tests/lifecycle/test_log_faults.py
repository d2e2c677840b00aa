"""The decision log under faults: no answer without a durable log entry, and readiness says so.

A removed log folder used to leave the workers appending to unlinked journal files and answering 200
(300 of 300 decisions lost) while ``/readyz`` stayed 200. Now every such decision is refused with
503 ``decision-log-unavailable``, ``/readyz`` answers 503 until the folder is back, and the service
resumes by itself when it is.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from engine.lifecycle.decision_log import (
    AuditError,
    DecisionRecord,
    Query,
    SQLiteDecisionLog,
    journal,
    open_decision_log,
    sqlite,
)

AT = datetime(2025, 4, 1, tzinfo=UTC)
FACTS = {"plan": "family", "users": 3}
EVALUATE = "/v1/rulesets/plan_change/evaluate"


def record(request_id: str) -> DecisionRecord:
    return DecisionRecord(request_id, 0, AT, "r", "1", AT.date(), "ok", "positive", ("a",), {})


def logged_ids(path: Path) -> list[str]:
    log = open_decision_log(str(path))
    try:
        return [r.request_id for r in log.query(Query(limit=None))]
    finally:
        log.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "log"


@pytest.fixture
def slow_mover(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background thread moves nothing during the test (what it would do is called directly)."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_INTERVAL", 3600)


# --- the store ------------------------------------------------------------------------------------


def test_a_removed_folder_refuses_every_write_until_it_is_back(folder: Path) -> None:
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    try:
        log.append([record("before")])
        shutil.rmtree(folder)
        for name in ("gone-1", "gone-2"):
            with pytest.raises(AuditError):
                log.append([record(name)])
        with pytest.raises(AuditError):
            log.check()
        assert not folder.exists()  # the operator's folder is not silently made again
        folder.mkdir()
        log.check()
        log.append([record("back")])
    finally:
        log.close()
    assert logged_ids(folder / "decisions.sqlite3") == ["back"]


def test_a_folder_removed_and_made_again_refuses_nothing(folder: Path) -> None:
    """The append finds its journal gone after the write, starts a new one and writes again."""
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    try:
        log.append([record("before")])
        shutil.rmtree(folder)
        folder.mkdir()
        log.append([record("after")])
    finally:
        log.close()
    assert logged_ids(folder / "decisions.sqlite3") == ["after"]


def test_a_renamed_folder_is_noticed_and_keeps_what_it_holds(
    folder: Path, slow_mover: None
) -> None:
    """The refused decision's line went to the renamed folder's journal before the check: a refused
    decision may be logged, an answered one always is."""
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    moved = folder.with_name("moved")
    try:
        log.append([record("before")])
        folder.rename(moved)
        with pytest.raises(AuditError):
            log.append([record("after")])
    finally:
        log.close()
    assert logged_ids(moved / "decisions.sqlite3") == ["before", "after"]
    assert not folder.exists()


def test_a_removed_sqlite_file_loses_no_acknowledged_decision(
    folder: Path, slow_mover: None
) -> None:
    """The journal still holds what the deleted file had not received: a new shard moves it."""
    shard = folder / "decisions.sqlite3"
    log = SQLiteDecisionLog(shard)
    try:
        log.append([record("a")])
        log.append([record("b")])
        for path in folder.glob("decisions.sqlite3*"):
            if ".journal." not in path.name:
                path.unlink()
        log.check()  # notices the file is gone and starts over on a new one
        log.append([record("c")])
    finally:
        log.close()
    assert logged_ids(shard) == ["a", "b", "c"]


def test_a_journal_file_that_cannot_be_started_breaks_the_journal(
    folder: Path, slow_mover: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed switch to a new journal file used to leave the writer appending to a file the copy
    treated as closed (and deleted). Now the journal is broken, writes are refused, nothing is lost."""
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    try:
        log.append([record("a")])
        writer = log._claimed().journal
        real_open = os.open

        def no_more_files(path: Any, flags: int, mode: int = 0o777) -> int:
            if ".journal." in str(path):
                raise OSError(24, "Too many open files")
            return real_open(path, flags, mode)

        monkeypatch.setattr(journal.os, "open", no_more_files)
        with pytest.raises(journal.BrokenJournal):
            writer.copy()
        with pytest.raises(AuditError, match="Too many open files"):
            log.append([record("b")])
        monkeypatch.undo()
        log.append([record("c")])
    finally:
        log.close()
    assert logged_ids(folder / "decisions.sqlite3") == ["a", "c"]


def test_the_background_thread_notices_a_lost_folder_without_traffic(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "CHECKPOINT_INTERVAL", 0.05)
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    try:
        log.append([record("a")])
        writer = log._claimed().journal
        shutil.rmtree(folder)
        deadline = time.monotonic() + 5
        while writer.broken is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.broken is not None
    finally:
        log.close()


# --- the service, in process ----------------------------------------------------------------------


@pytest.fixture
def app_with_log(audit_rules: Path, folder: Path, tmp_path: Path) -> Iterator[Flask]:
    from webapp import create_app
    from webapp.state import app_state

    app = create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "LOG_LEVEL": "CRITICAL",
                      "AUDIT_URL": str(folder / "decisions.sqlite3"),
                      "TARIFFS_DIR": str(tmp_path / "none")})  # fmt: skip
    yield app
    app_state(app).holder.close()
    app_state(app).decision_log.close()


def test_readiness_follows_the_decision_log(app_with_log: Flask, folder: Path) -> None:
    client = app_with_log.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"rules": "ok", "decision_log": "ok"}
    shutil.rmtree(folder)
    not_ready = client.get("/readyz", headers={"Accept-Language": "en"})
    assert not_ready.status_code == 503
    body = not_ready.get_json()
    assert body["type"] == "/problems/not-ready"
    assert body["checks"] == {"rules": "ok", "decision_log": "unavailable"}
    assert body["detail"] == "The decision log cannot be written, so no decision can be answered."
    refused = client.post(EVALUATE, json={"facts": FACTS}, headers={"Accept-Language": "ja"})
    assert refused.status_code == 503
    problem = refused.get_json()
    assert problem["type"] == "/problems/decision-log-unavailable"
    assert problem["detail"].startswith("判定記録を保存できないため")
    assert "outcome" not in problem and str(folder) not in refused.get_data(as_text=True)
    folder.mkdir()
    assert client.get("/readyz").status_code == 200
    assert client.post(EVALUATE, json={"facts": FACTS}).status_code == 200


def test_readiness_follows_a_postgresql_log(
    audit_rules: Path, postgres_url: str, postgres_server: str, tmp_path: Path
) -> None:
    """A database that takes no connections: every decision 503, not ready; ready again after."""
    import psycopg

    from webapp import create_app
    from webapp.state import app_state

    app = create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "LOG_LEVEL": "CRITICAL",
                      "AUDIT_URL": postgres_url, "TARIFFS_DIR": str(tmp_path / "none")})  # fmt: skip
    client = app.test_client()
    name = postgres_url.rsplit("/", 1)[1]

    def admit(allowed: bool) -> None:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")
            if not allowed:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s", (name,))  # fmt: skip

    try:
        assert client.get("/readyz").status_code == 200
        admit(False)
        assert client.get("/readyz").status_code == 503
        assert client.post(EVALUATE, json={"facts": FACTS}).status_code == 503
        admit(True)
        assert client.get("/readyz").status_code == 200
        answered = client.post(EVALUATE, json={"facts": FACTS}, headers={"X-Request-ID": "pg-back"})
        assert answered.status_code == 200
        logged = app_state(app).decision_log.query(Query(request_id="pg-back"))
        assert [r.request_id for r in logged] == ["pg-back"]
    finally:
        admit(True)
        app_state(app).holder.close()
        app_state(app).decision_log.close()


# --- the real server, two workers -----------------------------------------------------------------


def _post(url: str, request_id: str) -> requests.Response:
    # Connection: close spreads the requests over both workers.
    return requests.post(f"{url}{EVALUATE}", json={"facts": FACTS}, timeout=5,
                         headers={"X-Request-ID": request_id, "Connection": "close"})  # fmt: skip


def _ready(url: str) -> requests.Response:
    return requests.get(f"{url}/readyz", timeout=5, headers={"Connection": "close"})


def _wait_until_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if _ready(url).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


@pytest.mark.slow
def test_a_real_server_never_answers_a_decision_its_lost_log_folder_did_not_keep(
    write_table: Callable[..., Path],
    tmp_path: Path,
    free_tcp_port: int,
    two_worker_server: Callable[..., subprocess.Popen[bytes]],
) -> None:
    write_table(rows=(("family_any", "{plan: family}", "allowed"),))
    folder = tmp_path / "log"
    database = folder / "decisions.sqlite3"
    url = f"http://127.0.0.1:{free_tcp_port}"
    server = two_worker_server(database, "--graceful-timeout", "10", log_level="CRITICAL")
    answers: dict[str, requests.Response] = {}
    try:
        deadline = time.monotonic() + 60
        _wait_until_ready(url, deadline)
        n = 0
        while not (folder / "decisions.1.sqlite3.lock").exists():
            # Until both workers have started (each claims a shard at its first decision): a worker
            # still starting would create the folder again, as the service does at start-up.
            assert time.monotonic() < deadline, "the second worker did not start"
            assert _post(url, f"before-{n}").status_code == 200
            n += 1
        shutil.rmtree(folder)
        for n in range(300):
            answers[f"gone-{n}"] = _post(url, f"gone-{n}")
        readiness = [_ready(url) for _ in range(10)]
        folder.mkdir()
        _wait_until_ready(url, time.monotonic() + 10)
        for n in range(100):
            answers[f"back-{n}"] = _post(url, f"back-{n}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the workers move their journals into SQLite
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    logged = set(logged_ids(database))
    unlogged_yes = [rid for rid, answer in answers.items()
                    if answer.status_code == 200 and rid not in logged]  # fmt: skip
    assert unlogged_yes == []
    gone = [answers[f"gone-{n}"] for n in range(300)]
    assert {a.status_code for a in gone} == {503}
    assert {a.json()["type"] for a in gone} == {"/problems/decision-log-unavailable"}
    assert [r.status_code for r in readiness] == [503] * 10
    assert {r.json()["checks"]["decision_log"] for r in readiness} == {"unavailable"}
    back = [answers[f"back-{n}"] for n in range(100)]
    assert [a.status_code for a in back] == [200] * 100
    assert {f"back-{n}" for n in range(100)} <= logged


def test_a_reader_of_a_lost_folder_gets_an_audit_error(folder: Path) -> None:
    log = SQLiteDecisionLog(folder / "decisions.sqlite3")
    shutil.rmtree(folder)
    try:
        with pytest.raises(AuditError):
            log.query(Query())
        with pytest.raises(AuditError):
            list(log.stream(Query()))
    finally:
        log.close()
