"""Every error path answers with one problem+json body naming the field, never a 500 for user input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from webapp import api

from .conftest import TV_ACCEPTED

EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"
EN = {"Accept-Language": "en"}


def problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """Assert the common problem shape and return the body."""
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert isinstance(body["errors"], list)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def post_raw(client: FlaskClient, path: str, data: bytes | str, **kwargs: Any) -> TestResponse:
    return client.post(path, data=data, content_type="application/json", **kwargs)


@pytest.mark.parametrize(
    "raw", ["{", "", '{"facts": NaN}', '{"facts": {}} trailing', "[" * 100_000, b"\xff\xfe{"]
)
def test_malformed_json_is_400(client: FlaskClient, raw: str | bytes) -> None:
    body = problem(post_raw(client, EVALUATE, raw, headers=EN), 400, "malformed-json")
    assert body["detail"].startswith("The body is not valid JSON")


def test_non_json_content_type_is_415(client: FlaskClient) -> None:
    response = client.post(
        EVALUATE, data="facts=1", content_type="application/x-www-form-urlencoded"
    )
    problem(response, 415, "unsupported-media-type")


def test_invalid_facts_name_each_field_in_english_and_japanese(client: FlaskClient) -> None:
    facts = {**TV_ACCEPTED, "prefecture": "mars", "bulk_plan": "yes", "colour": "red"}
    del facts["line_kind"]
    body = problem(client.post(EVALUATE, json={"facts": facts}, headers=EN), 422, "invalid-fields")
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "facts.bulk_plan": "Not a valid boolean.",
        "facts.colour": "Unknown field.",
        "facts.line_kind": "Missing data for required field.",
        "facts.prefecture": body["errors"][3]["message"],
    }
    assert body["errors"][3]["message"].startswith("Must be one of: hokkaido")
    ja = problem(client.post(EVALUATE, json={"facts": facts}), 422, "invalid-fields")
    assert ja["title"] == "入力内容に誤りがあります"
    assert {e["field"]: e["message"] for e in ja["errors"]}["facts.line_kind"] == "必須の項目です。"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "facts", "Missing data for required field."),
        ({"facts": []}, "facts", "Not a valid mapping type."),
        ({"facts": TV_ACCEPTED, "as_of": "2025-13-01"}, "as_of", "Not a valid date."),
        ({"facts": TV_ACCEPTED, "extra": True}, "extra", "Unknown field."),
        ([1, 2], "body", "Invalid input type."),
    ],
)
def test_invalid_envelope_names_the_field(
    client: FlaskClient, body: Any, field: str, message: str
) -> None:
    found = problem(client.post(EVALUATE, json=body, headers=EN), 422, "invalid-fields")
    assert {"field": field, "message": message} in found["errors"]


def test_unknown_rule_set_is_404_even_with_a_bad_body(client: FlaskClient) -> None:
    for response in (
        client.get("/v1/rulesets/no_such_thing", headers=EN),
        post_raw(client, "/v1/rulesets/no_such_thing/evaluate", "{", headers=EN),
        client.post("/v1/rulesets/no_such_thing/evaluate-batch", json={"items": []}, headers=EN),
    ):
        body = problem(response, 404, "unknown-ruleset")
        assert body["detail"] == "Rule set 'no_such_thing' does not exist."
        assert "tv_application" in body["known"]


def test_no_version_in_force_is_422_naming_as_of(client: FlaskClient) -> None:
    response = client.post(EVALUATE, json={"facts": TV_ACCEPTED, "as_of": "1900-01-01"}, headers=EN)
    body = problem(response, 422, "no-version-in-force")
    assert body["errors"] == [
        {"field": "as_of", "message": "No version of 'tv_application' is in force on 1900-01-01."}
    ]
    detail = problem(
        client.get("/v1/rulesets/tv_application?as_of=1900-01-01"), 422, "no-version-in-force"
    )
    assert detail["errors"][0]["field"] == "as_of"
    bad = problem(
        client.get("/v1/rulesets/tv_application?as_of=someday", headers=EN), 422, "invalid-fields"
    )
    assert bad["errors"] == [{"field": "as_of", "message": "Not a valid date."}]


def test_unknown_tariff_is_404(client: FlaskClient) -> None:
    problem(client.get("/v1/tariffs/no_such_tariff"), 404, "unknown-tariff")


def test_bad_quote_names_item_fields(client: FlaskClient) -> None:
    request = {
        "items": [{"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-13"}}]
    }
    body = problem(client.post("/v1/quotes", json=request, headers=EN), 422, "invalid-fields")
    assert [e["field"] for e in body["errors"]] == ["items.0.params.month"]
    envelope = problem(
        client.post("/v1/quotes", json={"items": [{"item": 1}]}, headers=EN), 422, "invalid-fields"
    )
    assert {e["field"] for e in envelope["errors"]} == {"items.0.tariff", "items.0.item"}


def test_order_check_refuses_the_whole_order_naming_each_bad_part(client: FlaskClient) -> None:
    order = {
        "checks": [
            {"ruleset": "tv_application", "facts": {**TV_ACCEPTED, "prefecture": "mars"}},
            {"ruleset": "no_such_rules", "facts": {}},
        ],
        "quote": {"items": [{"tariff": "tv_transport", "item": "monthly_fee", "params": {}}]},
    }
    body = problem(client.post("/v1/orders/check", json=order, headers=EN), 422, "invalid-fields")
    fields = [e["field"] for e in body["errors"]]
    assert fields == ["checks.0.facts.prefecture", "checks.1.ruleset"]
    order["checks"] = order["checks"][:1]
    order["checks"][0]["facts"] = TV_ACCEPTED
    quote_body = problem(client.post("/v1/orders/check", json=order), 422, "invalid-fields")
    assert [e["field"] for e in quote_body["errors"]] == ["quote.items.0.params.month"]


def test_unknown_path_and_wrong_method(client: FlaskClient) -> None:
    problem(client.get("/v1/nothing-here"), 404, "not-found")
    response = client.get(EVALUATE)
    problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


def test_body_over_the_limit_is_413_naming_it(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post(EVALUATE, json={"facts": {"x": "y" * 2000}}, headers=EN)
    body = problem(response, 413, "payload-too-large")
    assert body["limit"] == 1000
    assert "1000 bytes" in body["detail"]


def test_batch_over_the_limit_is_413_naming_it(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_BATCH_ITEMS", 3)
    response = client.post(BATCH, json={"items": [{"facts": TV_ACCEPTED}] * 4}, headers=EN)
    body = problem(response, 413, "batch-too-large")
    assert body["limit"] == 3
    assert body["detail"] == "A batch may hold at most 3 items (4 sent)."


def test_empty_batch_is_422(client: FlaskClient) -> None:
    body = problem(client.post(BATCH, json={"items": []}, headers=EN), 422, "invalid-fields")
    assert body["errors"] == [{"field": "items", "message": "Shorter than minimum length 1."}]


def test_unexpected_error_is_logged_and_answered_without_traceback(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api, "ruleset_summary", explode)
    logger = __import__("logging").getLogger("webapp")
    monkeypatch.setattr(logger, "propagate", True)
    with caplog.at_level("ERROR", logger="webapp"):
        response = client.get("/v1/rulesets", headers={"X-Request-ID": "order-42"})
    body = problem(response, 500, "internal-error")
    assert body["request_id"] == "order-42"
    assert "secret" not in response.get_data(as_text=True)
    assert any(
        r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records
    )


def test_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "X-Request-ID"
    ]
    assert made != "bad id with spaces" and len(made) == 32
