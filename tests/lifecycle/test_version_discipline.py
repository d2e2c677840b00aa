"""Version discipline: a changed file under a version already used is refused in every path — check
(the ledger), the folder watcher, the admin reload, a restart against the decision log — naming the
version to bump; the decision log records the digest; the admin decisions query lists newest first
and refuses parameters it does not read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.cli import main
from engine.errors import ValidationError
from engine.format.versions import LOCK_FILE, content_digest, next_version, read_lock
from engine.lifecycle.decision_log import Query, open_decision_log
from engine.lifecycle.generations import Sources
from engine.lifecycle.reloader import Reloader
from engine.rules.rulebook import check_rule_files, rule_files
from webapp import create_app
from webapp.state import app_state

from .conftest import ADMIN_TOKEN, table_app

TOKEN = ADMIN_TOKEN
FACTS = {"plan": "basic", "users": 3}
ALLOW = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)
REFUSE = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"),)


def errors_of(folder: Path) -> list[str]:
    _rulesets, diagnostics = check_rule_files(rule_files(folder))
    return [str(d) for d in diagnostics if d.severity == "error"]


def test_the_digest_ignores_comments_and_layout_but_not_values() -> None:
    assert content_digest({"a": 1, "b": [1, 2]}) == content_digest({"b": [1, 2], "a": 1})
    assert content_digest({"a": 1, "b": [1, 2]}) != content_digest({"a": 1, "b": [2, 1]})
    assert content_digest({"a": "1"}) != content_digest({"a": 1})
    assert next_version("1.1.0") == "1.1.1"
    assert next_version("1.0", ["1.1"]) == "1.2"
    assert next_version("2") == "3"


def test_check_refuses_a_changed_file_under_a_locked_version(
    write_table: Callable[..., Path], rules_folder: Path, find_line: Callable[[str, str], int]
) -> None:
    path = write_table(rows=ALLOW, version="1.0")
    assert main(["lock", "--rules", str(rules_folder), "--tariffs", str(rules_folder)]) == 0
    entries, _ = read_lock(rules_folder)
    assert list(entries) == ["plan_change@1.0"]
    # A comment and a blank line change nothing the digest sees.
    path.write_text("# reviewed\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert errors_of(rules_folder) == []
    path = write_table(rows=REFUSE, version="1.0")
    found = errors_of(rules_folder)
    line = find_line(path.read_text(encoding="utf-8"), "version:")
    assert len(found) == 1
    assert f"plan_change.yaml:{line}:1: version-not-bumped:" in found[0]
    assert "set `version: 1.1`" in found[0] and LOCK_FILE in found[0]
    # lock refuses too, and never rewrites a locked line
    assert main(["lock", "--rules", str(rules_folder), "--tariffs", str(rules_folder)]) == 1
    write_table(rows=REFUSE, version="1.1")
    assert errors_of(rules_folder) == []
    assert main(["lock", "--rules", str(rules_folder), "--tariffs", str(rules_folder)]) == 0
    assert set(read_lock(rules_folder)[0]) == {"plan_change@1.0", "plan_change@1.1"}


def test_the_folder_watcher_refuses_a_changed_file_under_the_served_version(
    write_table: Callable[..., Path], rules_folder: Path, tmp_path: Path
) -> None:
    write_table(rows=ALLOW, version="1.0")
    reloader = Reloader.private(Sources(rules_folder, tmp_path / "none"), watch_interval=1)
    try:
        write_table(rows=REFUSE, version="1.0")
        result = reloader.check_folders()
        assert result is not None and not result.ok
        assert [d.code for d in result.errors] == ["version-not-bumped"]
        assert "set `version: 1.1`" in result.errors[0].message
        with reloader.holder.lease() as bundle:
            assert bundle.rulebook.decide("plan_change", FACTS).outcome.id == "allowed"
        write_table(rows=REFUSE, version="1.1")
        result = reloader.check_folders()
        assert result is not None and result.ok
        with reloader.holder.lease() as bundle:
            decision = bundle.rulebook.decide("plan_change", FACTS)
            assert (decision.outcome.id, decision.ruleset.version) == ("refused", "1.1")
        # Going back to 1.0 with 1.1's rows is refused too (the watcher refused these very files
        # already, so only a reload validates them again); the next free version is 1.2.
        write_table(rows=REFUSE, version="1.0")
        assert reloader.check_folders() is None
        result = reloader.reload()
        assert [d.code for d in result.errors] == ["version-not-bumped"]
        assert "set `version: 1.2`" in result.errors[0].message
    finally:
        reloader.close()


@pytest.fixture
def app(write_table: Callable[..., Path], rules_folder: Path, tmp_path: Path) -> Iterator[Flask]:
    write_table(rows=ALLOW, version="1.0")
    yield from table_app(rules_folder, tmp_path,
                         AUDIT_URL=f"sqlite:///{tmp_path / 'log' / 'decisions.sqlite3'}")  # fmt: skip


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def admin(client: FlaskClient, method: str, path: str) -> tuple[int, Any]:
    response = client.open(
        f"/v1/admin/{path}", method=method, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    return response.status_code, response.get_json()


def test_the_admin_reload_refuses_a_changed_file_under_the_served_version(
    client: FlaskClient, write_table: Callable[..., Path]
) -> None:
    write_table(rows=REFUSE, version="1.0")
    status, body = admin(client, "POST", "reload")
    assert status == 422, body
    assert body["type"] == "/problems/reload-refused"
    [(where, messages)] = [(e["field"], e["message"]) for e in body["errors"]]
    assert where.endswith("plan_change.yaml:2")
    assert messages.startswith("version-not-bumped:") and "version: 1.1" in messages
    answer = client.post("/v1/rulesets/plan_change/evaluate", json={"facts": FACTS}).get_json()
    assert (answer["outcome"], answer["version"]) == ("allowed", "1.0")


def test_the_log_records_the_digest_and_a_restart_refuses_changed_content_under_a_logged_version(
    app: Flask, client: FlaskClient, write_table: Callable[..., Path], rules_folder: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    for _ in range(3):
        assert (
            client.post("/v1/rulesets/plan_change/evaluate", json={"facts": FACTS}).status_code
            == 200
        )
    listed = client.get("/v1/rulesets/plan_change").get_json()
    status, body = admin(client, "GET", "decisions?limit=2&order=desc")
    assert status == 200
    decisions = body["decisions"]
    assert isinstance(decisions, list) and len(decisions) == 2
    digest = decisions[0]["digest"]
    assert isinstance(digest, str) and digest.startswith("sha256:")
    assert listed["version"] == decisions[0]["version"] == "1.0"
    state = app_state(app)
    state.reloader.close()
    state.decision_log.close()
    log = open_decision_log(str(tmp_path / "log" / "decisions.sqlite3"))
    try:
        assert log.versions() == {("plan_change", "1.0", digest)}
        every = log.query(Query(limit=None))
        assert [r.digest for r in every] == [digest] * 3
    finally:
        log.close()
    # Another process, which never served 1.0, still cannot serve other content as 1.0.
    write_table(rows=REFUSE, version="1.0")
    with pytest.raises(ValidationError) as refused:
        create_app({"TESTING": True, "RULES_DIR": str(rules_folder), "LOG_LEVEL": "CRITICAL",
                    "TARIFFS_DIR": str(tmp_path / "none"),
                    "AUDIT_URL": f"sqlite:///{tmp_path / 'log' / 'decisions.sqlite3'}"})  # fmt: skip
    [problem] = refused.value.errors
    assert problem.code == "version-not-bumped" and "the decision log" in problem.message


def test_decisions_newest_first_and_unknown_parameters(client: FlaskClient) -> None:
    for users in (1, 2, 3):
        facts = {"plan": "basic", "users": users}
        assert (
            client.post("/v1/rulesets/plan_change/evaluate", json={"facts": facts}).status_code
            == 200
        )
    _, oldest = admin(client, "GET", "decisions?limit=2")
    _, newest = admin(client, "GET", "decisions?limit=2&order=desc")
    assert [d["facts"]["users"] for d in oldest["decisions"]] == [1, 2]
    assert [d["facts"]["users"] for d in newest["decisions"]] == [3, 2]
    status, body = admin(client, "GET", "decisions?limt=2&ordr=desc")
    assert status == 400
    assert sorted(e["field"] for e in body["errors"]) == ["limt", "ordr"]
    assert "limt, ordr" in str(body["detail"])
    status, body = admin(client, "GET", "decisions?order=sideways")
    assert status == 422 and [e["field"] for e in body["errors"]] == ["order"]
    status, body = admin(client, "GET", "status?verbose=1")
    assert status == 400 and [e["field"] for e in body["errors"]] == ["verbose"]


def test_the_log_command_lists_newest_first_with_each_versions_digest(
    write_table: Callable[..., Path], rules_folder: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from engine import load_rulebook
    from engine.lifecycle.decision_log import log_decisions
    from engine.rules.rulebook import ruleset_digest

    write_table(rows=ALLOW, version="1.0")
    book = load_rulebook(rules_folder)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = open_decision_log(url)
    try:
        for name in ("first", "second"):
            log_decisions(log, [book.decide("plan_change", FACTS)], name)
    finally:
        log.close()
    digest = ruleset_digest(book.versions("plan_change")[0])
    book.close()
    assert main(["log", "--log", url, "--newest-first", "--limit", "1"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert " second plan_change@1.0 (" + digest.removeprefix("sha256:")[:12] + ") allowed" in line
