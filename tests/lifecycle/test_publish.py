"""Publishing in process: the decision log's digest column added to logs written before it (SQLite
and PostgreSQL), a reload refusing the folder puts the previous file back, the publish record on
both stores, newest first both ways, and an instance applying a publish another one took."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import Rulebook
from engine.lifecycle.decision_log import Query, log_decisions, open_decision_log
from engine.lifecycle.generations import Sources
from engine.lifecycle.publish import Publisher, PublishFollower, PublishRefused, file_digest
from engine.lifecycle.publishes import (
    MemoryPublishStore,
    Publish,
    PublishStore,
    open_publish_store,
)
from engine.lifecycle.reloader import Reloader
from engine.rules.rulebook import ruleset_digest

ALLOW = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)
REFUSE = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"),)
FACTS = {"plan": "basic", "users": 3}

#: The request-row table as it was before the digest column.
OLD_SCHEMA = """
CREATE TABLE decision_requests (
    seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL, first_item INTEGER NOT NULL,
    decided_at TEXT NOT NULL, ruleset TEXT NOT NULL, version TEXT NOT NULL, as_of TEXT NOT NULL,
    outcomes TEXT NOT NULL, kinds TEXT NOT NULL, reasons TEXT NOT NULL, facts TEXT NOT NULL
);
"""


def test_a_sqlite_log_written_before_digests_gains_the_column(
    book: Rulebook, tmp_path: Path
) -> None:
    path = tmp_path / "decisions.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript(OLD_SCHEMA)
    connection.execute(
        "INSERT INTO decision_requests (request_id, first_item, decided_at, ruleset, version, as_of,"
        " outcomes, kinds, reasons, facts) VALUES ('old', 0, '2025-01-01T00:00:00+00:00',"
        " 'plan_change', '1.0', '2025-01-01', '[\"allowed\"]', '[\"positive\"]', '[[\"x\"]]',"
        ' \'{"names": ["plan"], "values": [["family"]]}\')'
    )
    connection.commit()
    connection.close()
    log = open_decision_log(str(path))
    try:
        log_decisions(log, [book.decide("plan_change", FACTS)], "new")
        records = {r.request_id: r for r in log.query(Query())}
        assert records["old"].digest is None
        assert records["new"].digest == ruleset_digest(book.versions("plan_change")[0])
        assert log.versions() == {("plan_change", "1.0", records["new"].digest)}
    finally:
        log.close()
    # once moved into SQLite too
    log = open_decision_log(str(path))
    try:
        assert [r.digest is None for r in log.query(Query())] == [True, False]
    finally:
        log.close()


def test_a_postgres_log_written_before_digests_gains_the_column(
    book: Rulebook, postgres_url: str
) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE decisions (seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL,"
            " item INTEGER NOT NULL, decided_at TIMESTAMPTZ NOT NULL, ruleset TEXT NOT NULL,"
            " version TEXT NOT NULL, as_of DATE NOT NULL, outcome TEXT NOT NULL, kind TEXT NOT NULL,"
            " reasons JSONB NOT NULL, facts JSONB NOT NULL)"
        )
        connection.execute(
            "INSERT INTO decisions (request_id, item, decided_at, ruleset, version, as_of, outcome,"
            " kind, reasons, facts) VALUES ('old', 0, now() - interval '1 day', 'plan_change',"
            " '1.0', '2025-01-01', 'allowed', 'positive', '[]', '{}')"
        )
    log = open_decision_log(postgres_url)
    try:
        log_decisions(log, [book.decide("plan_change", FACTS)], "new")
        oldest = log.query(Query())
        newest = log.query(Query(newest_first=True, limit=1))
        assert [r.request_id for r in oldest] == ["old", "new"]
        assert oldest[0].digest is None and oldest[1].digest
        assert [r.request_id for r in newest] == ["new"]
        assert log.versions() == {("plan_change", "1.0", oldest[1].digest)}
    finally:
        log.close()


def _record(seq_hint: str, version: str) -> Publish:
    return Publish("rules", "plan_change", version, None, "plan_change.yaml", f"sha256:{seq_hint}",
                   None, "alice", "why", datetime.now(UTC), "", "text", None)  # fmt: skip


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PublishStore]:
    if request.param == "memory":
        yield MemoryPublishStore()
        return
    url = (
        str(tmp_path / "decisions.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    log = open_decision_log(url)
    try:
        yield open_publish_store(log)
    finally:
        log.close()


def test_the_publish_record(store: PublishStore) -> None:
    first = store.add(_record("a", "1.1"))
    second = store.add(_record("b", "1.2"))
    assert second.seq > first.seq and store.last_seq() == second.seq
    assert [p.version for p in store.recent("rules", "plan_change", 10)] == ["1.2", "1.1"]
    assert store.recent("tariffs", None, 10) == []
    got = store.get(first.seq)
    assert got is not None and (got.who, got.reason, got.text) == ("alice", "why", "text")
    assert [p.version for p in store.after(first.seq)] == ["1.2"]
    assert store.versions() == [
        ("rules", "plan_change@1.1", "sha256:a", f"publish {first.seq}"),
        ("rules", "plan_change@1.2", "sha256:b", f"publish {second.seq}"),
    ]


@pytest.fixture
def publisher(
    write_table: Callable[..., Path], rules_folder: Path, tmp_path: Path
) -> Iterator[Publisher]:
    write_table(rows=ALLOW, version="1.0")
    reloader = Reloader.private(Sources(rules_folder, tmp_path / "none"))
    yield Publisher(reloader, MemoryPublishStore())
    reloader.close()


def test_a_reload_refusing_the_folder_puts_the_previous_file_back(
    publisher: Publisher, rules_folder: Path, make_table: Callable[..., str]
) -> None:
    before = (rules_folder / "plan_change.yaml").read_text(encoding="utf-8")
    # Another file of the folder breaks after the service loaded it: the draft passes its own
    # check, but the folder does not.
    (rules_folder / "other.yaml").write_text("ruleset: [", encoding="utf-8")
    with pytest.raises(PublishRefused) as refused:
        publisher.publish("rules", "plan_change", make_table(rows=REFUSE, version="1.1"),
                          "plan_change.yaml", who="alice", reason="r")  # fmt: skip
    assert refused.value.why == "reload"
    assert [d.code for d in refused.value.diagnostics] == ["yaml-syntax"]
    assert (rules_folder / "plan_change.yaml").read_text(encoding="utf-8") == before
    assert publisher.store.last_seq() == 0
    with publisher.reloader.holder.lease() as bundle:
        assert bundle.rulebook.decide("plan_change", FACTS).ruleset.version == "1.0"


def test_an_instance_applies_a_publish_taken_elsewhere(
    publisher: Publisher, rules_folder: Path, make_table: Callable[..., str]
) -> None:
    follower = PublishFollower(publisher, interval=0)
    text = make_table(rows=REFUSE, version="1.1")
    elsewhere = Publish("rules", "plan_change", "1.1", "1.0", "plan_change.yaml", "", None, "bob",
                        "r", datetime.now(UTC), "", text, None, origin="another-instance")  # fmt: skip
    from engine.format.loader import parse_yaml
    from engine.format.versions import content_digest

    digest = content_digest(parse_yaml(text, "x"))
    publisher.store.add(Publish(**{**elsewhere.__dict__, "digest": digest}))
    assert follower.poll() == 1
    assert file_digest(rules_folder / "plan_change.yaml") == digest
    with publisher.reloader.holder.lease() as bundle:
        decision = bundle.rulebook.decide("plan_change", FACTS)
        assert (decision.ruleset.version, decision.outcome.id) == ("1.1", "refused")
    assert follower.poll() == 0  # seen; and its own publishes are never applied again
    publisher.publish("rules", "plan_change", make_table(rows=ALLOW, version="1.2"),
                      "plan_change.yaml", who="alice", reason="back")  # fmt: skip
    assert follower.poll() == 0
