"""Impact of a change: replaying decisions against a candidate lists exactly the changed ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from engine import load_rulebook
from engine.cli import main
from engine.lifecycle.decision_log import open_decision_log, record_of
from engine.lifecycle.impact import Case, cases_from_file, replay

ROWS = (("family_any", "{plan: family}", "allowed"),
        ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"))  # fmt: skip
#: The change: basic is allowed up to 4 users only (5–9 users now fall to the default: refused).
CHANGED = (("family_any", "{plan: family}", "allowed"),
           ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 5}]}", "allowed"))  # fmt: skip

FACT_SETS = [{"plan": "basic", "users": u} for u in range(0, 12)] + [
    {"plan": "family", "users": 7}, {"plan": "business", "users": 7}]  # fmt: skip


@pytest.fixture
def folders(tmp_path: Path, make_table: Callable[..., str]) -> tuple[Path, Path]:
    current, candidate = tmp_path / "current", tmp_path / "candidate"
    for folder, rows in ((current, ROWS), (candidate, CHANGED)):
        folder.mkdir()
        (folder / "plan_change.yaml").write_text(make_table(rows=rows), "utf-8")
    return current, candidate


def test_replay_lists_exactly_the_changed_cases(folders: tuple[Path, Path]) -> None:
    current, candidate = (load_rulebook(f) for f in folders)
    cases = [
        Case(f"n{i}", "plan_change", facts, date(2025, 1, 1)) for i, facts in enumerate(FACT_SETS)
    ]
    try:
        report = replay(cases, current, candidate)
    finally:
        current.close()
        candidate.close()
    ((moves, group),) = report.groups().items()
    assert moves == ("allowed", "refused")
    assert sorted(c.case.ref for c in group.examples) == ["n5", "n6", "n7", "n8", "n9"]
    assert (report.replayed, report.unchanged, report.changed, report.problems) == (14, 9, 5, [])
    change = group.examples[0]
    assert (change.old_reasons, change.new_reasons) == (("basic_small",), ("no_row",))


def _logged(tmp_path: Path, folder: Path) -> str:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    book = load_rulebook(folder)
    log = open_decision_log(url)
    try:
        log.append(
            [record_of(book.decide("plan_change", f), f"req-{i}") for i, f in enumerate(FACT_SETS)]
        )
    finally:
        log.close()
        book.close()
    return url


def test_cli_impact_replays_the_log(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current, candidate = folders
    url = _logged(tmp_path, current)
    assert main(["impact", "--rules", str(current), "--candidate", str(candidate), "--log", url,
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert (report["replayed"], report["changed"], report["unchanged"]) == (14, 5, 9)
    (group,) = report["groups"]
    assert (group["from"], group["to"], group["count"]) == ("allowed", "refused", 5)
    assert [e["ref"] for e in group["examples"]] == ["req-5", "req-6", "req-7", "req-8", "req-9"]


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_cli_impact_replays_a_fact_file(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    current, candidate = folders
    path = tmp_path / f"cases.{kind}"
    if kind == "jsonl":
        path.write_text("\n".join(json.dumps({"facts": f}) for f in FACT_SETS), "utf-8")
    else:
        path.write_text("plan,users\n" + "".join(f"{f['plan']},{f['users']}\n" for f in FACT_SETS))
    assert main(["impact", "--rules", str(current), "--candidate", str(candidate), "--facts",
                 str(path), "--ruleset", "plan_change"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith("14 decisions replayed: 9 unchanged, 5 changed, 0 not replayable")
    assert "allowed → refused: 5" in out


def test_fact_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"facts": {}}\n[1]\n', "utf-8")
    with pytest.raises(Exception, match=r"cases.jsonl:2: expected a JSON object"):
        list(cases_from_file(path, "plan_change", date(2025, 1, 1)))


def test_candidate_failing_check_is_reported(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current, candidate = folders
    (candidate / "broken.yaml").write_text("ruleset: [", "utf-8")
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"facts": FACT_SETS[0]}), "utf-8")
    assert main(["impact", "--rules", str(current), "--candidate", str(candidate), "--facts",
                 str(path), "--ruleset", "plan_change"]) == 1  # fmt: skip
    assert "broken.yaml:1" in capsys.readouterr().err


def test_admin_impact_endpoint(folders: tuple[Path, Path], tmp_path: Path) -> None:
    from webapp import create_app
    from webapp.state import app_state

    current, candidate = folders
    app = create_app({"TESTING": True, "RULES_DIR": str(current), "ADMIN_TOKEN": "t",
                      "AUDIT_URL": f"sqlite:///{tmp_path / 'log.db'}", "IMPACT_ROOT": str(tmp_path),
                      "TARIFFS_DIR": str(tmp_path / "none"), "LOG_LEVEL": "CRITICAL"})  # fmt: skip
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    try:
        for facts in FACT_SETS:
            assert (
                client.post("/v1/rulesets/plan_change/evaluate", json={"facts": facts}).status_code
                == 200
            )
        response = client.post("/v1/admin/impact", headers=auth, json={"candidate": "candidate"})
        assert response.status_code == 200, response.get_json()
        report = response.get_json()
        assert (report["changed"], report["groups"][0]["count"]) == (5, 5)
        given = client.post("/v1/admin/impact", headers=auth, json={
            "candidate": "candidate", "ruleset": "plan_change",
            "cases": [{"facts": {"plan": "basic", "users": 6}}, {"facts": {"plan": "basic", "users": 1}}]})  # fmt: skip
        assert given.get_json()["changed"] == 1
        escape = client.post("/v1/admin/impact", headers=auth, json={"candidate": "../../etc"})
        assert escape.status_code == 422
        assert escape.get_json()["errors"][0]["field"] == "candidate"
    finally:
        app_state(app).holder.close()
        app_state(app).decision_log.close()
