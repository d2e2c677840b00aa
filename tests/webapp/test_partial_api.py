"""Partial answers and what-ifs over HTTP: ``unknown`` facts and ``?explain=whatif`` on evaluate and
evaluate-batch, their problems, what is logged (a partial answer never; a what-if's decision once, and
nothing when the what-if is refused), and how GET /v1/rulesets/{id} and the OpenAPI document describe
them. (The fast path's equality with Flask on these requests is in test_fast.py's harness.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from engine.lifecycle.decision_log import Query
from engine.rules import partial
from webapp import create_app
from webapp.state import app_state

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"
DESIGNATION_UNKNOWN = {
    "facts": {k: v for k, v in TV_ACCEPTED.items() if k != "line_designation"},
    "unknown": ["line_designation"],
    "as_of": "2025-04-01",
}
EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def logged_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("partial-api")
    app = create_app(
        {"TESTING": True, "LOG_LEVEL": "WARNING", "AUDIT_URL": str(folder / "log.sqlite3")}
    )
    yield app
    app_state(app).decision_log.close()


def post(app: Flask, path: str, body: Any, request_id: str, lang: str = "en") -> Any:
    headers = {"X-Request-ID": request_id, "Accept-Language": lang}
    return app.test_client().post(path, json=body, headers=headers)


def logged(app: Flask, request_id: str) -> list[str]:
    records = app_state(app).decision_log.query(Query(request_id=request_id, limit=None))
    return [r.outcome for r in records]


def test_an_unknown_designation_answers_both_branches_and_logs_nothing(logged_app: Flask) -> None:
    response = post(logged_app, EVALUATE, DESIGNATION_UNKNOWN, "partial-1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["kind"] == "undecidable" and body["unknown"] == ["line_designation"]
    assert [p["outcome"] for p in body["possible"]] == ["cannot_contract", "accepted"]
    assert body["possible"][1]["when"][0]["labels"] == [
        "Designated (broadcaster's line in the same prefecture)"
    ]
    assert body["possible"][1]["reasons"][0]["citation"]["clause"] == "第8条 1項; 第5条; 第4条"
    assert body["gap"]["ask"] == "Confirm these facts with the customer."
    assert "line_designation" not in body["facts"]
    assert logged(logged_app, "partial-1") == []  # decides nothing on the customer's facts
    ja = post(logged_app, EVALUATE, DESIGNATION_UNKNOWN, "partial-2", "ja").get_json()
    assert ja["label"] == "まだわからない事実によって答えが変わります"
    assert ja["gap"]["ask"] == "お客さまに、これらの事実をご確認ください。"
    assert ja["possible"][1]["when"][0]["labels"] == ["指定済み（放送事業者の回線は同じ都道府県）"]


def test_the_same_request_known_answers_as_today(logged_app: Flask) -> None:
    known = {"facts": TV_ACCEPTED, "as_of": "2025-04-01"}
    plain = post(logged_app, EVALUATE, known, "known-1")
    empty = post(logged_app, EVALUATE, {**known, "unknown": []}, "known-2")
    assert plain.get_json() == empty.get_json() and plain.get_json()["outcome"] == "accepted"
    assert "possible" not in plain.get_json()
    assert logged(logged_app, "known-1") == logged(logged_app, "known-2") == ["accepted"]


def test_whatif_adds_changes_and_logs_the_decision_once(logged_app: Flask) -> None:
    body = {"facts": TV_TWO_REFUSALS, "as_of": "2025-04-01"}
    response = post(logged_app, EVALUATE + "?explain=whatif", body, "whatif-1")
    assert response.status_code == 200
    decision = response.get_json()
    assert decision["outcome"] == "may_refuse"
    (change,) = decision["changes"]
    assert change["set"] == {"in_default_or_likely": False, "likely_to_breach_article_32": False}
    assert change["outcome"] == "accepted" and change["kind"] == "positive"
    assert [c["fact"] for c in change["to"]] == list(change["set"])
    assert logged(logged_app, "whatif-1") == ["may_refuse"]
    again = post(logged_app, EVALUATE, {**body, "facts": {**body["facts"], **change["set"]}}, "w2")
    assert again.get_json()["outcome"] == "accepted"


def test_a_refused_whatif_is_a_problem_and_logs_nothing(
    logged_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partial, "MAX_CELLS_TABLE", 1)
    facts = {**TV_TWO_REFUSALS, "line_designation": "unknown"}  # needs three changes
    response = post(logged_app, EVALUATE + "?explain=whatif", {"facts": facts}, "refused-1")
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"] == "/problems/too-many-combinations"
    assert "the limit is 1" in problem["detail"]
    assert logged(logged_app, "refused-1") == []
    ja = post(logged_app, EVALUATE + "?explain=whatif", {"facts": facts}, "refused-2", "ja")
    assert ja.get_json()["title"] == "組み合わせが多すぎます"


def test_unknown_lists_are_checked_field_by_field(logged_app: Flask) -> None:
    body = {**DESIGNATION_UNKNOWN, "unknown": ["line_designation", "prefecture", "nope"]}
    response = post(logged_app, EVALUATE, body, "bad-unknown")
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "unknown.1", "code": "inconsistent",
         "message": "Also given in facts: leave a fact that is unknown out of facts."},
        {"field": "unknown.2", "code": "not_one_of", "message": "Not a fact of this rule set."},
    ]  # fmt: skip
    repeated = post(logged_app, EVALUATE, {**body, "unknown": ["bulk_plan", "bulk_plan"]}, "rep")
    assert repeated.get_json()["errors"] == [
        {"field": "unknown", "code": "not_unique", "message": "Items must not repeat."}
    ]
    not_list = post(logged_app, EVALUATE, {**body, "unknown": "line_designation"}, "str")
    assert not_list.get_json()["errors"] == [
        {"field": "unknown", "code": "wrong_type", "message": "Not a valid list."}
    ]


def test_batches_take_unknown_items_and_whatif(logged_app: Flask) -> None:
    items = [
        {"facts": TV_TWO_REFUSALS},
        {k: v for k, v in DESIGNATION_UNKNOWN.items() if k != "as_of"},
        {"facts": TV_ACCEPTED, "unknown": ["prefecture"]},
    ]
    response = post(logged_app, BATCH + "?explain=whatif", {"items": items}, "batch-1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["explain"] == "whatif" and body["errors"] == 1
    first, second, third = body["results"]
    assert first["decision"]["changes"][0]["outcome"] == "accepted"
    assert second["decision"]["outcome"] == partial.DEPENDS_ON_UNKNOWN
    assert second["decision"]["changes"][0]["set"] == {"line_designation": "designated"}
    assert third["problem"]["errors"][0]["field"] == "unknown.0"
    assert logged(logged_app, "batch-1") == ["may_refuse"]  # the one complete item
    compact = post(logged_app, BATCH, {"items": items[1:2]}, "batch-2").get_json()
    assert compact["results"][0]["decision"]["possible"] == [
        {"outcome": "cannot_contract", "kind": "negative",
         "when": [{"fact": "line_designation", "values": ["designated_other_prefecture", "not_designated"]}]},
        {"outcome": "accepted", "kind": "positive",
         "when": [{"fact": "line_designation", "values": ["designated"]}]},
    ]  # fmt: skip


def test_the_rule_set_and_the_openapi_document_describe_it(client: FlaskClient) -> None:
    detail = client.get("/v1/rulesets/tv_application").get_json()
    facts = detail["facts_schema"]["properties"]
    assert facts["prefecture"]["x-fixed"] is True
    assert facts["in_default_or_likely"]["x-ask"] is True
    assert facts["line_designation"]["x-unknown-value"] == "unknown"
    described = detail["partial_answers"]
    assert described["fixed"] == ["prefecture"] and len(described["ask"]) == 7
    assert described["unknown_values"]["district_in_area"] == "not_confirmed"
    assert (described["max_changed_facts"], described["max_alternatives"]) == (3, 5)
    document = client.get("/openapi.json").get_json()
    validate(document)
    schemas = document["components"]["schemas"]
    request = schemas["TvApplicationEvaluateRequest"]["properties"]["unknown"]
    assert "line_designation" in request["items"]["enum"]
    assert "unknown" in schemas["TvApplicationBatchItem"]["properties"]
    decision = schemas["Decision"]["properties"]
    assert {"unknown", "possible", "changes", "unknown_matters"} <= set(decision)
    assert {"when", "reasons"} <= set(schemas["Possible"]["properties"])
    assert {"set", "to", "outcome", "kind"} <= set(schemas["Change"]["properties"])
    parameters = document["components"]["parameters"]
    assert parameters["EvaluateExplain"]["schema"]["enum"] == ["full", "compact", "whatif"]
    assert "whatif" in parameters["Explain"]["schema"]["enum"]
    evaluate = document["paths"]["/v1/rulesets/tv_application/evaluate"]["post"]
    assert {"$ref": "#/components/parameters/EvaluateExplain"} in evaluate["parameters"]
    assert "too-many-combinations" in document["x-problem-types"]
