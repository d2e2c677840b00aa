"""The decision log: every decision recorded with masked personal facts, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from engine import Rulebook
from engine.cli import main
from engine.lifecycle.decision_log import (
    MASK,
    AuditError,
    Query,
    log_decisions,
    open_decision_log,
    record_of,
)
from engine.lifecycle.decision_log.records import facts_column, facts_of_column
from engine.rules.facts import facts_to_json
from webapp import create_app
from webapp.state import app_state

TOKEN = "admin-token"


def test_round_trip_with_personal_facts_masked(book: Rulebook, log_url: str) -> None:
    log = open_decision_log(log_url)
    try:
        decision = book.decide("plan_change", {"plan": "family", "users": 2,
                                               "customer_name": "山田太郎"})  # fmt: skip
        log_decisions(log, [decision], "req-1")
        (record,) = log.query(Query(request_id="req-1"))
    finally:
        log.close()
    assert (record.ruleset, record.version, record.outcome, record.kind) == (
        "plan_change", "1.0", "allowed", "positive")  # fmt: skip
    assert record.reasons == ("family_any",)
    assert record.facts == {"plan": "family", "users": 2, "migrated": False, "customer_name": MASK}
    assert "山田" not in json.dumps(record.to_dict(), ensure_ascii=False)


def test_a_batch_row_names_the_facts_once_and_reads_back_masked(
    book: Rulebook, tmp_path: Path
) -> None:
    log = open_decision_log(f"sqlite:///{tmp_path / 'log.db'}")
    same = [{"plan": "family", "users": n, "customer_name": f"山田{n}"} for n in (1, 2)]
    mixed = [{"plan": "family", "users": 1}, {"plan": "basic", "users": 2, "customer_name": "佐藤"}]
    try:
        log_decisions(log, [book.decide("plan_change", f) for f in same], "same")
        log_decisions(log, [book.decide("plan_change", f) for f in mixed], "mixed")
        found = {(r.request_id, r.item): r.facts for r in log.query(Query())}
    finally:
        log.close()  # moves the journal into SQLite
    assert found[("same", 1)] == {"plan": "family", "users": 2, "migrated": False,
                                  "customer_name": MASK}  # fmt: skip
    assert found[("mixed", 1)]["customer_name"] == MASK and found[("mixed", 0)]["users"] == 1
    with sqlite3.connect(tmp_path / "log.db") as connection:
        (names, values), = connection.execute(
            "SELECT facts -> '$.names', facts -> '$.values' FROM decision_requests"
            " WHERE request_id = 'same'")  # fmt: skip
        (text,) = connection.execute("SELECT group_concat(facts) FROM decision_requests").fetchone()
    assert json.loads(names) == ["plan", "users", "migrated", "customer_name"]
    assert json.loads(values) == [["family", 1, False, MASK], ["family", 2, False, MASK]]
    assert "山田" not in text and "佐藤" not in text


def test_query_filters_by_ruleset_time_and_outcome(book: Rulebook, log_url: str) -> None:
    log = open_decision_log(log_url)
    base = datetime(2025, 4, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    family = book.decide("plan_change", {"plan": "family", "users": 1})
    basic = book.decide("plan_change", {"plan": "basic", "users": 1})
    try:
        log.append([record_of(family, "a", at=base), record_of(basic, "b", at=base + timedelta(days=1)),
                    record_of(family, "c", at=base + timedelta(days=2))])  # fmt: skip
        since = datetime(2025, 4, 2, tzinfo=UTC)
        assert [r.request_id for r in log.query(Query(ruleset="plan_change"))] == ["a", "b", "c"]
        assert [r.request_id for r in log.query(Query(since=since))] == ["b", "c"]
        assert [r.request_id for r in log.query(Query(until=since))] == ["a"]
        assert [r.request_id for r in log.query(Query(outcome="refused"))] == ["b"]
        assert [r.request_id for r in log.query(Query(ruleset="other"))] == []
        assert [r.request_id for r in log.query(Query(limit=2))] == ["a", "b"]
    finally:
        log.close()


def test_sqlite_log_is_in_wal_mode(tmp_path: Path) -> None:
    log = open_decision_log(f"sqlite:///{tmp_path / 'log.db'}?synchronous=full")
    log.close()
    with sqlite3.connect(tmp_path / "log.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_unknown_log_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown decision log URL"):
        open_decision_log("mysql://x")


@pytest.fixture
def app(audit_rules: Path, log_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app({"TESTING": True, "RULES_DIR": str(audit_rules), "AUDIT_URL": log_url,
                              "ADMIN_TOKEN": TOKEN, "LOG_LEVEL": "CRITICAL",
                              "TARIFFS_DIR": str(tmp_path / "none")})  # fmt: skip
    yield application
    app_state(application).holder.close()
    app_state(application).decision_log.close()


def test_every_api_decision_is_logged_and_queryable(app: Flask) -> None:
    client = app.test_client()
    one = client.post("/v1/rulesets/plan_change/evaluate", headers={"X-Request-ID": "order-42"},
                      json={"facts": {"plan": "family", "users": 3, "customer_name": "Sato"}})  # fmt: skip
    assert one.status_code == 200
    batch = client.post("/v1/rulesets/plan_change/evaluate-batch", headers={"X-Request-ID": "b-1"},
                        json={"items": [{"facts": {"plan": "basic", "users": 1}},
                                        {"facts": {"plan": "nope"}},
                                        {"facts": {"plan": "family", "users": 1}}]})  # fmt: skip
    assert batch.status_code == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    found = client.get("/v1/admin/decisions?ruleset=plan_change&since=2000-01-01", headers=auth)
    assert found.status_code == 200
    rows = found.get_json()["decisions"]
    assert [(r["request_id"], r["item"], r["outcome"]) for r in rows] == [
        ("order-42", 0, "allowed"), ("b-1", 0, "refused"), ("b-1", 1, "allowed")]  # fmt: skip
    assert rows[0]["facts"]["customer_name"] == MASK
    bad = client.get("/v1/admin/decisions?since=yesterday", headers=auth)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "since"


def test_a_decision_that_cannot_be_logged_is_not_answered(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(records: object) -> None:
        raise AuditError("cannot write the decision log (disk full)")

    monkeypatch.setattr(app_state(app).decision_log, "append", broken)
    response = app.test_client().post("/v1/rulesets/plan_change/evaluate",
                                      json={"facts": {"plan": "family", "users": 3}})  # fmt: skip
    assert response.status_code == 503
    assert response.get_json()["type"] == "/problems/decision-log-unavailable"
    assert "outcome" not in response.get_json()


def test_cli_log_prints_matching_decisions(
    book: Rulebook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = open_decision_log(url)
    old = datetime(2024, 1, 1, tzinfo=UTC)
    family = book.decide("plan_change", {"plan": "family", "users": 1})
    log.append([record_of(family, "old", at=old), record_of(family, "new")])
    log.close()
    today = date.today().isoformat()
    assert main(["log", "--log", url, "--ruleset", "plan_change", "--since", "2024-06-01",
                 "--json"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["new"]
    assert main(["log", "--log", url, "--until", today]) == 0
    assert "old" in capsys.readouterr().out


_FACT_VALUES = st.one_of(st.booleans(), st.integers(), st.text(), st.dates(),
                         st.lists(st.text(max_size=3), max_size=3).map(tuple))  # fmt: skip
_FACTS = st.dictionaries(st.sampled_from(["a", "b", "氏名", "c"]), _FACT_VALUES, max_size=4)


@given(st.lists(_FACTS, min_size=1, max_size=5), st.frozensets(st.sampled_from(["a", "氏名"])))
def test_the_facts_column_reads_back_what_was_written(
    facts: list[dict[str, object]], masked: frozenset[str]
) -> None:
    """Either layout (names once, or one object per decision) gives back each decision's facts, as JSON
    values, in their order, with the masked names masked."""
    expected = [{n: MASK if n in masked else v for n, v in facts_to_json(f).items()} for f in facts]
    read = facts_of_column(json.loads(facts_column(facts, masked)))
    assert [list(f.items()) for f in read] == [list(f.items()) for f in expected]
