"""The studio's JSON API (docs/studio-api.md) with the Flask test client: who may call, reading a
file with its digest, checking a draft (diagnostics as ``check`` prints them, version discipline),
simulating with a per-rule trace, adding an example, the impact preview, publishing with the bump
enforced, the publish record, rollback, and the table data."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.paths import tariffs_dir
from webapp import create_app
from webapp.state import app_state

ADMIN, ALICE, VIEWER = "admin-token-1", "alice-token-2", "viewer-token-3"

TABLE = """\
# A small first-match table for the studio's tests.
ruleset: plan_change
version: "{version}"
title: {{ja: プラン変更, en: Plan change}}
region: ntt_west
effective_from: 2024-01-01
effective_to: null
sources:
  - {{file: 001_ded95cce339fcddd.txt, title: ガイド}}
facts:
  plan:
    type: enum
    label: {{ja: プラン, en: Plan}}
    values: [basic, family, business]
  users:
    type: int
    label: {{ja: 利用者数, en: Users}}
    min: 0
    max: 100
outcomes:
  allowed: {{kind: positive, label: {{ja: 可, en: Allowed}}}}
  refused: {{kind: negative, label: {{ja: 不可, en: Refused}}}}
  unknown:
    kind: undecidable
    label: {{ja: 判断不可, en: Cannot be decided}}
    gap: {{missing: {{ja: 規定なし, en: No clause}}, ask: {{ja: 窓口, en: The desk}}}}
decide: first_match
default:
  outcome: unknown
  reason: no_row
  message: {{ja: 該当行なし, en: No row}}
  cite: {{source: 001_ded95cce339fcddd.txt, clause: 表}}
rules:
  - id: basic_small
    when: {{all: [{{plan: basic}}, {{fact: users, less_than: 10}}]}}
    outcome: {basic}
    reason: basic_small
    message: {{ja: 行, en: Row}}
    cite: {{source: 001_ded95cce339fcddd.txt, clause: 表 1}}
  - id: family_any
    when: {{plan: family}}
    outcome: allowed
    reason: family_any
    message: {{ja: 行, en: Row}}
    cite: {{source: 001_ded95cce339fcddd.txt, clause: 表 2}}
examples:
  - note: family
    facts: {{plan: family, users: 3}}
    expect: {{outcome: allowed, reasons: [family_any]}}
"""
SMALL_BASIC = {"plan": "basic", "users": 3}


def table(version: str = "1.0", basic: str = "allowed") -> str:
    return TABLE.format(version=version, basic=basic)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    rules, tariffs = tmp_path / "rules", tmp_path / "tariffs"
    rules.mkdir()
    (rules / "plan_change.yaml").write_text(table(), encoding="utf-8")
    shutil.copytree(tariffs_dir(), tariffs, ignore=shutil.ignore_patterns("*.lock"))
    return rules, tariffs


@pytest.fixture
def app(folders: tuple[Path, Path], tmp_path: Path) -> Iterator[Flask]:
    rules, tariffs = folders
    application = create_app(
        {
            "TESTING": True,
            "RULES_DIR": str(rules),
            "TARIFFS_DIR": str(tariffs),
            "ADMIN_TOKEN": ADMIN,
            "STUDIO_EDITORS": f"alice={ALICE}",
            "STUDIO_VIEW_TOKEN": VIEWER,
            "AUDIT_URL": f"sqlite:///{tmp_path / 'log' / 'decisions.sqlite3'}",
            "LOG_LEVEL": "CRITICAL",
        }  # fmt: skip
    )
    yield application
    state = app_state(application)
    state.reloader.close()
    state.decision_log.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def call(
    client: FlaskClient, method: str, path: str, token: str | None = ALICE, **json: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.open(
        f"/v1/studio/{path}",
        method=method,
        headers=headers,
        json=json if method == "POST" else None,
    )
    return response.status_code, response.get_json()


def evaluate(client: FlaskClient, facts: dict[str, object]) -> dict[str, Any]:
    response = client.post("/v1/rulesets/plan_change/evaluate", json={"facts": facts})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_who_may_call(client: FlaskClient, app: Flask) -> None:
    assert call(client, "GET", "rules", token=None)[0] == 401
    status, body = call(client, "GET", "rules", token="wrong")
    assert status == 403 and body["type"] == "/problems/forbidden"
    assert call(client, "GET", "rules", token=VIEWER)[0] == 200
    assert call(client, "POST", "rules/plan_change/check", token=VIEWER, text=table())[0] == 200
    status, body = call(client, "POST", "rules/plan_change/publish", token=VIEWER,
                        text=table("1.1"), reason="r")  # fmt: skip
    assert status == 403 and body["type"] == "/problems/forbidden"
    status, body = call(client, "GET", "rules?verbose=1")
    assert status == 400 and [e["field"] for e in body["errors"]] == ["verbose"]
    app.config.update(ADMIN_TOKEN=None, STUDIO_EDITORS=None, STUDIO_VIEW_TOKEN=None)
    assert call(client, "GET", "rules", token=None)[0] == 403


def test_a_session_signed_in_by_the_pages_needs_its_csrf_token(app: Flask) -> None:
    from webapp.studio import api

    client = app.test_client()
    with app.test_request_context("/studio/signin"):
        from flask import session

        assert api.sign_in("wrong") is None
        who = api.sign_in(ALICE)
        assert who is not None and (who.name, who.role, who.may_publish) == (
            "alice",
            "editor",
            True,
        )
        held, csrf = dict(session), session["csrf"]
    with client.session_transaction() as stored:
        stored.update(held)
    assert client.get("/v1/studio/rules").status_code == 200
    assert (
        client.post("/v1/studio/rules/plan_change/check", json={"text": table()}).status_code == 400
    )
    ok = client.post("/v1/studio/rules/plan_change/check", json={"text": table()},
                     headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert ok.status_code == 200
    app.config["STUDIO_EDITORS"] = "alice=a-new-token"  # changing the token signs the session out
    assert client.get("/v1/studio/rules").status_code == 401


def test_reading_a_file_gives_its_text_and_digest(
    client: FlaskClient, folders: tuple[Path, Path]
) -> None:
    status, listed = call(client, "GET", "rules")
    assert status == 200
    [item] = listed["items"]
    [version] = item["versions"]
    assert (item["id"], version["version"], version["in_force"]) == ("plan_change", "1.0", True)
    status, body = call(client, "GET", "rules/plan_change")
    assert status == 200
    assert body["text"] == (folders[0] / "plan_change.yaml").read_text(encoding="utf-8")
    assert body["digest"] == version["digest"] == body["text_digest"]
    assert body["digest"].startswith("sha256:")
    assert body["name"] == "plan_change.yaml"
    assert call(client, "GET", "rules/plan_change?version=9.9")[0] == 404
    assert call(client, "GET", "rules/no_such_rules")[0] == 404
    status, tariff = call(client, "GET", "tariffs/passport_id_purchases")
    assert status == 200 and tariff["digest"].startswith("sha256:") and "tariff:" in tariff["text"]
    assert call(client, "GET", "songs")[0] == 404


def test_check_prints_what_the_command_prints_and_enforces_the_bump(client: FlaskClient) -> None:
    typo = table("1.1").replace(
        "outcome: allowed\n    reason: family_any", "outcome: alowed\n    reason: family_any"
    )
    status, body = call(client, "POST", "rules/plan_change/check", text=typo)
    assert status == 200 and not body["ok"] and body["errors"] >= 1
    found = next(d for d in body["diagnostics"] if d["severity"] == "error")
    line = next(n for n, text in enumerate(typo.splitlines(), 1) if "alowed" in text)
    assert found["line"] == line and found["col"] > 1
    # exactly the line `flets-elig check` prints: file:line:col: code: message [field path]
    assert found["text"].endswith(
        f"rules/plan_change.yaml:{line}:{found['col']}: {found['code']}: {found['message']}"
        f" [{found['path']}]"
    )
    status, body = call(client, "POST", "rules/plan_change/check", text=table("1.0", "refused"))
    assert status == 200 and not body["ok"]
    [refusal] = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert refusal["code"] == "version-not-bumped" and "version: 1.1" in refusal["message"]
    assert refusal["line"] == 3
    status, body = call(client, "POST", "rules/plan_change/check", text=table("1.1", "refused"))
    assert status == 200 and body["ok"], body
    assert (body["id"], body["version"]) == ("plan_change", "1.1")
    assert call(client, "POST", "rules/plan_change/check", text="")[0] == 422
    assert call(client, "POST", "rules/plan_change/check", text=table(), extra=1)[0] == 422


def test_simulate_answers_with_a_trace_live_and_for_a_draft(client: FlaskClient) -> None:
    status, body = call(client, "POST", "rules/plan_change/simulate", facts=SMALL_BASIC, lang="en")
    assert status == 200, body
    assert body["decision"]["outcome"] == "allowed" and body["matched"] == ["basic_small"]
    first, second = body["trace"]
    assert (first["rule"], first["matched"], first["decides"]) == ("basic_small", True, True)
    assert [c["status"] for c in first["conditions"]] == ["held", "held"]
    assert [c["text"] for c in first["conditions"]] == ["plan = basic", "users < 10"]
    assert second["matched"] is False and second["conditions"][0]["status"] == "failed"
    status, body = call(client, "POST", "rules/plan_change/simulate", facts=SMALL_BASIC,
                        text=table("1.1", "refused"))  # fmt: skip
    assert status == 200 and body["decision"]["outcome"] == "refused" and body["version"] == "1.1"
    status, body = call(client, "POST", "rules/plan_change/simulate", facts={"plan": "gold"})
    assert status == 422 and body["errors"][0]["field"].startswith("facts.")
    status, body = call(client, "POST", "rules/plan_change/simulate", facts=SMALL_BASIC,
                        text=table().replace("decide: first_match", "decide: sometimes"))  # fmt: skip
    assert status == 422 and body["type"] == "/problems/reload-refused"
    # Nothing simulated is logged.
    assert app_log_count(client) == 0


def app_log_count(client: FlaskClient) -> int:
    response = client.get("/v1/admin/decisions", headers={"Authorization": f"Bearer {ADMIN}"})
    count: int = response.get_json()["count"]
    return count


def test_adding_an_example_expects_the_drafts_answer(client: FlaskClient) -> None:
    draft = table("1.1")
    status, body = call(client, "POST", "rules/plan_change/examples", text=draft,
                        facts=SMALL_BASIC, note="basic, three users")  # fmt: skip
    assert status == 200, body
    assert body["text"].startswith(draft)
    assert body["example"]["expect"] == {"outcome": "allowed", "reasons": ["basic_small"]}
    assert body["check"]["ok"], body["check"]
    status, sheet = call(client, "POST", "rules/plan_change/sheet", text=body["text"])
    assert status == 200
    assert [e["passed"] for e in sheet["examples"]] == [True, True]
    assert sheet["uncovered"] == []
    status, body = call(client, "POST", "tariffs/passport_id_purchases/examples",
                        text=call(client, "GET", "tariffs/passport_id_purchases")[1]["text"],
                        note="three months", request={"as_of": "2025-04-01", "items": [
                            {"tariff": "passport_id_purchases", "item": "monthly_flat",
                             "params": {"monthly_price": 500, "purchased_on": "2025-01-15",
                                        "cancelled_on": "2025-03-10"}}]})  # fmt: skip
    assert status == 200, body
    assert body["example"]["expect"]["totals"]["amount_tax_included"] == 1500


def test_the_impact_preview_replays_the_log_and_the_examples(client: FlaskClient) -> None:
    for users in (1, 2, 30):
        evaluate(client, {"plan": "basic", "users": users})
    evaluate(client, {"plan": "family", "users": 1})
    status, body = call(client, "POST", "rules/plan_change/impact", text=table("1.1", "refused"))
    assert status == 200, body
    log = body["log"]
    assert (log["replayed"], log["changed"]) == (4, 2)
    [group] = log["groups"]
    assert (group["from"], group["to"], group["count"]) == ("allowed", "refused", 2)
    assert sorted(e["facts"]["users"] for e in group["examples"]) == [1, 2]
    assert body["examples"] == {"passed": 1, "failed": 0, "results": body["examples"]["results"]}
    cases = [{"facts": {"plan": "basic", "users": 5}}, {"facts": {"plan": "family", "users": 5}}]
    status, body = call(client, "POST", "rules/plan_change/impact", text=table("1.1", "refused"),
                        cases=cases)  # fmt: skip
    assert status == 200, body
    assert (body["log"]["replayed"], body["log"]["changed"]) == (2, 1)
    broken = table("1.1").replace("family_any]}", "basic_small]}")
    status, body = call(client, "POST", "rules/plan_change/impact", text=broken)
    assert status == 200 and body["examples"]["failed"] == 1


def test_publish_enforces_the_bump_writes_the_folder_and_is_recorded(
    client: FlaskClient, folders: tuple[Path, Path]
) -> None:
    rules = folders[0]
    assert evaluate(client, SMALL_BASIC)["outcome"] == "allowed"
    opened = call(client, "GET", "rules/plan_change")[1]
    # No reason: refused. No bump: refused with the diagnostic, nothing written.
    assert call(client, "POST", "rules/plan_change/publish", text=table("1.0", "refused"))[0] == 422
    status, body = call(client, "POST", "rules/plan_change/publish", text=table("1.0", "refused"),
                        reason="basic is refused now")  # fmt: skip
    assert status == 422 and body["type"] == "/problems/reload-refused"
    assert [d["code"] for d in body["diagnostics"]] == ["version-not-bumped"]
    assert (rules / "plan_change.yaml").read_text(encoding="utf-8") == table()
    # A stale draft: 409.
    status, body = call(client, "POST", "rules/plan_change/publish", text=table("1.1", "refused"),
                        reason="r", base_digest="sha256:" + "0" * 64)  # fmt: skip
    assert status == 409 and body["current_digest"] == opened["digest"]
    # With the bump: written, reloaded, served.
    status, body = call(client, "POST", "rules/plan_change/publish", text=table("1.1", "refused"),
                        reason="basic is refused now", base_digest=opened["digest"])  # fmt: skip
    assert status == 201, body
    assert (rules / "plan_change.yaml").read_text(encoding="utf-8") == table("1.1", "refused")
    published = body["publish"]
    assert (published["who"], published["version"], published["previous_version"]) == (
        "alice",
        "1.1",
        "1.0",
    )
    assert (
        published["reason"] == "basic is refused now"
        and published["previous_digest"] == opened["digest"]
    )
    assert '-version: "1.0"' in published["diff"] and '+version: "1.1"' in published["diff"]
    assert body["reload"]["ok"] and body["reload"]["converged"]
    answer = evaluate(client, SMALL_BASIC)
    assert (answer["outcome"], answer["version"]) == ("refused", "1.1")
    # The same content again is no publish.
    status, body = call(
        client, "POST", "rules/plan_change/publish", text=table("1.1", "refused"), reason="again"
    )
    assert status == 200 and body["unchanged"] is True
    # Listed, newest first, with the texts on the record itself.
    status, listed = call(client, "GET", "publishes?kind=rules&id=plan_change", token=VIEWER)
    assert status == 200 and [p["version"] for p in listed["publishes"]] == ["1.1"]
    status, one = call(client, "GET", f"publishes/{published['seq']}")
    assert one["text"] == table("1.1", "refused") and one["previous_text"] == table()
    assert call(client, "GET", "publishes?limit=0")[0] == 422
    assert call(client, "GET", "publishes?limit=%C2%B2")[0] == 422
    assert call(client, "GET", f"publishes/{2**70}")[0] == 404
    assert call(client, "GET", "publishes?kind=songs")[0] == 404
    # Rollback: the previous content again, as a new version, recorded as a rollback.
    status, body = call(client, "POST", "rules/plan_change/rollback", token=ADMIN, reason="undo")
    assert status == 201, body
    rolled = body["publish"]
    assert (rolled["version"], rolled["rollback_of"], rolled["who"]) == (
        "1.2",
        published["seq"],
        "admin",
    )
    answer = evaluate(client, SMALL_BASIC)
    assert (answer["outcome"], answer["version"]) == ("allowed", "1.2")
    assert (rules / "plan_change.yaml").read_text(encoding="utf-8") == table("1.2")
    # Every decision names the digest of the version that gave it.
    response = client.get("/v1/admin/decisions?order=desc&limit=3",
                          headers={"Authorization": f"Bearer {ADMIN}"})  # fmt: skip
    digests = [(d["version"], d["digest"]) for d in response.get_json()["decisions"]]
    assert digests == [("1.2", rolled["digest"]), ("1.1", published["digest"]),
                       ("1.0", opened["digest"])]  # fmt: skip


def test_the_sheet_of_the_served_version(client: FlaskClient) -> None:
    status, sheet = call(client, "GET", "rules/plan_change/sheet", token=VIEWER)
    assert status == 200
    assert [row["id"] for row in sheet["rows"]] == ["basic_small", "family_any"]
    basic, family = sheet["rows"]
    assert [c["text"] for c in basic["cells"]["plan"]] == ["= basic"]
    assert [c["text"] for c in basic["cells"]["users"]] == ["< 10"]
    assert (basic["covered"], family["covered"], family["examples"]) == (False, True, [0])
    assert sheet["uncovered"] == ["basic_small"]
    assert basic["citation"] == {
        "source": "001_ded95cce339fcddd.txt",
        "clause": "表 1",
        "reading": None,
    }
    assert sheet["digest"] == call(client, "GET", "rules/plan_change")[1]["digest"]
    # A draft's table marks what the analysis finds, even what check refuses.
    shadowed = "when: {all: [{plan: basic}, {fact: users, less_than: 5}]}"
    draft = table("1.1").replace("when: {plan: family}", shadowed)
    status, sheet = call(client, "POST", "rules/plan_change/sheet", text=draft)
    assert status == 200, sheet
    assert [m["code"] for m in sheet["rows"][1]["marks"]] == ["shadowed-row"]
    status, body = call(client, "POST", "rules/plan_change/sheet", text="ruleset: [")
    assert status == 422 and body["type"] == "/problems/reload-refused"


def test_tariffs_check_and_quote(client: FlaskClient) -> None:
    text = call(client, "GET", "tariffs/passport_id_purchases")[1]["text"]
    status, body = call(client, "POST", "tariffs/passport_id_purchases/check", text=text)
    assert status == 200 and body["ok"], body
    status, body = call(client, "POST", "tariffs/passport_id_purchases/check",
                        text=text.replace("monthly_flat", "monthly_flat", 1) + "\nextra_key: 1\n")  # fmt: skip
    assert status == 200 and not body["ok"]
    # A changed value under the served version is refused; with the bump it passes.
    served_version = call(client, "GET", "tariffs/passport_id_purchases")[1]["version"]
    edited = re.sub(r"^(  en: .*)$", r"\1 (edited)", text, count=1, flags=re.MULTILINE)
    assert edited != text
    status, body = call(client, "POST", "tariffs/passport_id_purchases/check", text=edited)
    assert status == 200 and [d["code"] for d in body["diagnostics"]] == ["version-not-bumped"]
    bumped = re.sub(r"^version: .*$", 'version: "9.0.0"', edited, count=1, flags=re.MULTILINE)
    status, body = call(client, "POST", "tariffs/passport_id_purchases/check", text=bumped)
    assert status == 200 and body["ok"] and body["version"] == "9.0.0" != served_version, body
    request = {"as_of": "2025-04-01", "items": [
        {"tariff": "passport_id_purchases", "item": "monthly_flat",
         "params": {"monthly_price": 500, "purchased_on": "2025-01-15", "cancelled_on": "2025-03-10"}}]}  # fmt: skip
    status, body = call(client, "POST", "tariffs/passport_id_purchases/simulate", request=request)
    assert status == 200, body
    assert body["quote"]["totals"]["amount_tax_included"] == 1500
    # Published like a rule set: written, reloaded, served.
    status, body = call(client, "POST", "tariffs/passport_id_purchases/publish", text=bumped,
                        reason="edited title")  # fmt: skip
    assert status == 201, body
    assert body["publish"]["kind"] == "tariffs" and body["publish"]["version"] == "9.0.0"
    assert call(client, "GET", "tariffs/passport_id_purchases")[1]["text"] == bumped
