"""The JSON API's happy paths through the Flask test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.messages.language import LANGUAGES
from webapp.state import get_rulebook

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

EN = {"Accept-Language": "en"}
EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz").json
    assert ready["status"] == "ready"
    assert ready["rulesets"] >= 1


def test_rulesets_list_names_every_loaded_rule_set(app: Flask, client: FlaskClient) -> None:
    body = client.get("/v1/rulesets").json
    with app.app_context():
        expected = get_rulebook().ids()
    assert [r["id"] for r in body["rulesets"]] == expected
    tv = next(r for r in body["rulesets"] if r["id"] == "tv_application")
    assert tv["version"] == "1.1.1"
    assert tv["effective_from"] == "2019-10-01"
    assert tv["versions"] == [
        {"version": "1.1.1", "effective_from": "2019-10-01", "effective_to": None}
    ]


def test_ruleset_detail_has_schema_rules_outcomes_and_examples(client: FlaskClient) -> None:
    body = client.get("/v1/rulesets/tv_application").json
    assert body["region"] == "ntt_east"
    assert body["facts_schema"]["properties"]["prefecture"]["enum"][0] == "hokkaido"
    assert "applicant_is_line_contractor" in body["facts_schema"]["required"]
    rule = next(r for r in body["rules"] if r["id"] == "in_default_or_likely")
    assert rule["citation"]["clause"] == "第8条 2項 (3)号"
    assert rule["reason"] == "in_default_or_likely"
    assert rule["source"].startswith("rules/tv_application.yaml:")
    undecidable = [o for o in body["outcomes"] if o["kind"] == "undecidable"]
    assert undecidable and all(o["gap"]["ask"]["ja"] for o in undecidable)
    assert body["sources"][0]["file"] == "004_84a0a3d01f54d5ce.txt"
    assert {r["id"] for r in body["readings"]} >= {"AM12"}
    assert body["examples"][0]["request"]["facts"]


def _all_examples(client: FlaskClient) -> list[tuple[str, dict[str, Any]]]:
    ids = [r["id"] for r in client.get("/v1/rulesets").json["rulesets"]]
    return [
        (rid, example)
        for rid in ids
        for example in client.get(f"/v1/rulesets/{rid}").json["examples"]
    ]


def test_every_published_example_evaluates_as_it_says(client: FlaskClient) -> None:
    """A client can send each example as it is and gets the expected outcome and reasons."""
    examples = _all_examples(client)
    assert len(examples) > 20
    for ruleset_id, example in examples:
        response = client.post(f"/v1/rulesets/{ruleset_id}/evaluate", json=example["request"])
        assert response.status_code == 200, (ruleset_id, example["note"], response.json)
        decision = response.json
        assert decision["outcome"] == example["expect"]["outcome"], (ruleset_id, example["note"])
        assert sorted(r["code"] for r in decision["reasons"]) == example["expect"]["reasons"]


def test_evaluate_gives_every_reason_with_citation_in_the_asked_language(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/v1/rulesets/tv_application/evaluate", json={"facts": TV_TWO_REFUSALS}, headers=EN
    )
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    decision = response.json
    assert decision["outcome"] == "may_refuse"
    assert decision["version"] == "1.1.1"
    assert [r["code"] for r in decision["reasons"]] == [
        "in_default_or_likely",
        "likely_to_breach_article_32",
    ]
    assert [r["citation"]["clause"] for r in decision["reasons"]] == [
        "第8条 2項 (3)号",
        "第8条 2項 (4)号; 第32条",
    ]
    assert decision["reasons"][0]["message"].startswith("The applicant is in default")
    ja = client.post("/v1/rulesets/tv_application/evaluate", json={"facts": TV_TWO_REFUSALS}).json
    assert ja["label"] == "NTT東日本は申込みを承諾しないことがあります"


def test_evaluate_as_of_is_echoed_and_defaults_are_filled(client: FlaskClient) -> None:
    body = {"facts": TV_ACCEPTED, "as_of": "2024-04-01"}
    decision = client.post("/v1/rulesets/tv_application/evaluate", json=body).json
    assert decision["as_of"] == "2024-04-01"
    assert decision["outcome"] == "accepted"
    assert decision["facts"]["bulk_plan"] is False


def test_batch_keeps_good_items_when_others_are_bad(client: FlaskClient) -> None:
    items = [{"facts": TV_TWO_REFUSALS}, {"facts": {**TV_ACCEPTED, "prefecture": "mars"}}, "nope",
             {"facts": TV_ACCEPTED, "extra": 1}, {"facts": TV_ACCEPTED}] * 300  # fmt: skip
    response = client.post(
        "/v1/rulesets/tv_application/evaluate-batch",
        json={"items": items, "as_of": "2025-01-01"},
        headers=EN,
    )
    assert response.status_code == 200
    body = response.json
    assert (body["count"], body["errors"], body["version"]) == (1500, 900, "1.1.1")
    first, bad_fact, not_object, extra_key, last = body["results"][:5]
    assert first["decision"]["outcome"] == "may_refuse"
    assert bad_fact["problem"]["errors"] == [
        {"field": "facts.prefecture", "code": "not_one_of",
         "message": bad_fact["problem"]["errors"][0]["message"]}
    ]  # fmt: skip
    assert bad_fact["problem"]["errors"][0]["message"].startswith("Must be one of:")
    assert not_object["problem"]["errors"] == [
        {"field": "body", "code": "wrong_type", "message": "Invalid input type."}
    ]
    assert extra_key["problem"]["errors"] == [
        {"field": "extra", "code": "unknown_field", "message": "Unknown field."}
    ]
    assert last["decision"]["outcome"] == "accepted"
    assert [r["index"] for r in body["results"]] == list(range(1500))


def test_tariffs_list_describe_and_quote(client: FlaskClient) -> None:
    tariffs = client.get("/v1/tariffs").json["tariffs"]
    assert "tv_transport" in {t["id"] for t in tariffs}
    described = client.get("/v1/tariffs/tv_transport").json
    assert described["id"] == "tv_transport"
    quote = client.post(
        "/v1/quotes",
        json={"as_of": "2025-04-01",
              "items": [{"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}]},
    ).json  # fmt: skip
    assert quote["totals"]["amount_tax_excluded"] == 450
    assert quote["totals"]["amount_tax_included"] == 495


BULK_PLAN_OK = {"units_in_building": 12, "unit_count_agreed": True, "line_designation": "designated",
                "line_is_menu_5_1_200mbps": True, "line_kind": "ntt_flets", "exclusive_tv_use": True}  # fmt: skip


def test_order_check_returns_every_decision_and_the_quote(client: FlaskClient) -> None:
    """A TV transport application with a bulk-plan request and the construction job, in one call."""
    order = {
        "as_of": "2025-04-01",
        "checks": [
            {"ruleset": "tv_application", "facts": {**TV_ACCEPTED, "bulk_plan": True}},
            {"ruleset": "tv_bulk_plan", "facts": BULK_PLAN_OK},
        ],
        "quote": {"items": [
            {"tariff": "tv_transport", "item": "bulk_plan_monthly", "params": {"month": "2025-03", "units": 12}},
            {"tariff": "tv_transport", "item": "construction", "params": {"onu_works": 1}},
        ]},
    }  # fmt: skip
    response = client.post("/v1/orders/check", json=order, headers=EN)
    assert response.status_code == 200
    body = response.json
    assert body["overall"] == "positive"
    assert [c["ruleset"] for c in body["checks"]] == ["tv_application", "tv_bulk_plan"]
    assert [c["decision"]["outcome"] for c in body["checks"]] == ["accepted", "approved"]
    quote = body["quote"]
    assert {line["item"] for line in quote["lines"]} == {"bulk_plan_monthly", "construction"}
    monthly = next(line for line in quote["lines"] if line["item"] == "bulk_plan_monthly")
    assert monthly["amount"] == 12 * 450
    assert quote["as_of"] == "2025-04-01"


def test_order_overall_is_negative_when_one_check_refuses(client: FlaskClient) -> None:
    order = {"checks": [{"ruleset": "tv_application", "facts": TV_ACCEPTED},
                        {"ruleset": "tv_application", "facts": TV_TWO_REFUSALS}]}  # fmt: skip
    body = client.post("/v1/orders/check", json=order).json
    assert body["overall"] == "negative"
    assert body["quote"] is None


@pytest.mark.parametrize("ruleset_id", ["tv_bulk_plan", "tv_application"])
def test_order_check_with_real_bulk_plan_rule_set(client: FlaskClient, ruleset_id: str) -> None:
    """Every example of the TV rule sets fits in an order check and keeps its outcome."""
    detail = client.get(f"/v1/rulesets/{ruleset_id}").json
    example = detail["examples"][0]
    order = {"checks": [{"ruleset": ruleset_id, "facts": example["request"]["facts"]}]}
    if "as_of" in example["request"]:
        order["as_of"] = example["request"]["as_of"]
    body = client.post("/v1/orders/check", json=order).json
    assert body["checks"][0]["decision"]["outcome"] == example["expect"]["outcome"]
    assert body["quote"] is None


def test_batch_explain_full_gives_each_item_the_evaluate_body(client: FlaskClient) -> None:
    facts = [TV_ACCEPTED, TV_TWO_REFUSALS, {**TV_ACCEPTED, "prefecture": "osaka"}]
    body = {"as_of": "2025-04-01", "items": [{"facts": f} for f in facts]}
    for lang in LANGUAGES:
        headers = {"Accept-Language": lang}
        full = client.post(f"{BATCH}?explain=full", json=body, headers=headers).json
        compact = client.post(BATCH, json=body, headers=headers).json
        assert (full["explain"], compact["explain"]) == ("full", "compact")
        for index, item_facts in enumerate(facts):
            single = client.post(EVALUATE, json={"as_of": "2025-04-01", "facts": item_facts},
                                 headers=headers).json  # fmt: skip
            assert full["results"][index]["decision"] == single
            assert compact["results"][index]["decision"] == {
                "outcome": single["outcome"],
                "kind": single["kind"],
                "reasons": [r["code"] for r in single["reasons"]],
            }


def test_an_unknown_explain_level_is_a_422_naming_it(client: FlaskClient) -> None:
    response = client.post(f"{BATCH}?explain=verbose", json={"items": [{"facts": TV_ACCEPTED}]},
                           headers={"Accept-Language": "en"})  # fmt: skip
    assert response.status_code == 422
    assert response.json["errors"] == [
        {
            "field": "explain",
            "code": "not_one_of",
            "message": "Must be one of: full, compact, whatif.",
        }
    ]
    close = client.post(f"{BATCH}?explain=Full", json={"items": [{"facts": TV_ACCEPTED}]})
    assert close.json["errors"][0]["suggestion"] == "full"


def test_a_rule_set_describes_its_consequences_with_their_conditions(client: FlaskClient) -> None:
    """Rule-level consequences and conditional ones (`when`, `if_unknown`) are part of the description
    a client reads, as the outcomes' are."""
    passport = client.get("/v1/rulesets/passport_continuation").get_json()
    told = {c["code"]: c for o in passport["outcomes"] for c in o["consequences"]}
    cancelled = told["monthly_paid_services_cancelled"]
    assert cancelled["when"] == {"fact": "monthly_paid_services", "op": "is", "value": "subscribed"}
    assert "場合" in cancelled["if_unknown"]["ja"] and "if any" in cancelled["if_unknown"]["en"]
    transfer = client.get("/v1/rulesets/tv_transfer").get_json()
    assert any(rule["consequences"] for rule in transfer["rules"])
    assert all(c["when"] is None for r in transfer["rules"] for c in r["consequences"])
