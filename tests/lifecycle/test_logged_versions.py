"""The versions the decision log holds decisions of, read at every start without scanning the log.

The version discipline (:mod:`engine.lifecycle.versions`) asks the log, at every start and reload of
every worker, which ``(rule set, version, digest)`` it holds decisions of. ``SELECT DISTINCT`` over the
decisions cost about 2 s per million rows; both stores now keep those versions in a small table
(``decision_versions``), filled as decisions are written, made with what an older log already holds,
and kept when the decisions themselves are pruned.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine import Rulebook
from engine.lifecycle.decision_log import Query, log_decisions, open_decision_log
from engine.lifecycle.decision_log.rows import SCHEMA

from .test_publish import FACTS


def _versions_table(url: str) -> set[tuple[str, str, str]]:
    """What the store's versions table holds, read directly."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return set(connection.execute("SELECT ruleset, version, digest FROM decision_versions"))
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT ruleset, version, digest FROM decision_versions")
        return {(str(a), str(b), str(c)) for a, b, c in rows.fetchall()}


def test_the_versions_are_kept_as_decisions_are_written_and_stay_when_they_are_pruned(
    book: Rulebook, log_url: str
) -> None:
    decision = book.decide("plan_change", FACTS)
    log = open_decision_log(log_url)
    try:
        for request in ("a", "b", "c"):
            log_decisions(log, [decision], request)
        assert len(log.query(Query(limit=None))) == 3
        record = log.query(Query(limit=1))[0]
        assert record.digest is not None
        expected = {("plan_change", record.version, record.digest)}
        assert log.versions() == expected
    finally:
        log.close()  # SQLite: the journal is copied in, so the table is complete
    assert _versions_table(log_url) == expected
    log = open_decision_log(log_url)
    try:
        assert log.prune(datetime.now(UTC) + timedelta(days=1)) == 3
        assert log.query(Query(limit=None)) == []
        assert log.versions() == expected  # served once: its content stays fixed
    finally:
        log.close()


def test_two_writers_of_one_log_record_a_version_once(book: Rulebook, log_url: str) -> None:
    decision = book.decide("plan_change", FACTS)
    first, second = open_decision_log(log_url), open_decision_log(log_url)
    try:
        log_decisions(first, [decision], "one")
        log_decisions(second, [decision], "two")
        assert len(first.versions()) == 1
    finally:
        first.close()
        second.close()
    assert len(_versions_table(log_url)) == 1


OLD = ("plan_change", "0.9", "sha256:old")


def _assert_old_and_new_versions(book: Rulebook, url: str) -> None:
    """Opened again, the log of ``url`` (holding one decision of :data:`OLD`, logged before the
    versions table) names it among its versions, with one it logs now."""
    log = open_decision_log(url.removeprefix("sqlite:///"))
    try:
        log_decisions(log, [book.decide("plan_change", FACTS)], "new")
        versions = log.versions()
        assert OLD in versions and len(versions) == 2
    finally:
        log.close()
    assert OLD in _versions_table(url)


def test_a_sqlite_log_from_before_the_table_gets_it_with_what_it_holds(
    book: Rulebook, tmp_path: Path
) -> None:
    path = tmp_path / "decisions.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)  # the request rows' table, without the versions table
    connection.execute(
        "INSERT INTO decision_requests (request_id, first_item, decided_at, ruleset, version, as_of,"
        " outcomes, kinds, reasons, facts, digest) VALUES ('old', 0, '2025-01-01T00:00:00+00:00',"
        " 'plan_change', '0.9', '2025-01-01', '[\"allowed\"]', '[\"positive\"]', '[[\"x\"]]',"
        ' \'{"names": ["plan"], "values": [["family"]]}\', \'sha256:old\')'
    )
    connection.commit()
    connection.close()
    _assert_old_and_new_versions(book, f"sqlite:///{path}")


def test_a_postgres_log_from_before_the_table_gets_it_with_what_it_holds(
    book: Rulebook, postgres_url: str
) -> None:
    import psycopg

    log = open_decision_log(postgres_url)  # today's schema, then back to before the table
    log.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("DROP TABLE decision_versions")
        connection.execute(
            "INSERT INTO decisions (request_id, item, decided_at, ruleset, version, as_of, outcome,"
            " kind, reasons, facts, digest) VALUES ('old', 0, now() - interval '1 day',"
            " 'plan_change', '0.9', '2025-01-01', 'allowed', 'positive', '[]', '{}', 'sha256:old')"
        )
    _assert_old_and_new_versions(book, postgres_url)
