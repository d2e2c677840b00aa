"""Every error path answers with one problem+json body naming the field, never a 500 for user input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.test import TestResponse

from engine.messages import Code, Message
from engine.messages.schema import CodedSchema, uncoded_messages
from webapp import api

from .conftest import TV_ACCEPTED

EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"
EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
#: Kana or kanji: a Japanese answer's texts all have some (codes and field names inside them aside).
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


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


def messages(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


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
    ("body", "field", "code", "message"),
    [
        ({}, "facts", "required", "Missing data for required field."),
        ({"facts": []}, "facts", "wrong_type", "Not a valid mapping type."),
        ({"facts": TV_ACCEPTED, "as_of": "2025-13-01"}, "as_of", "invalid_format", "Not a valid date."),
        ({"facts": TV_ACCEPTED, "extra": True}, "extra", "unknown_field", "Unknown field."),
        ([1, 2], "body", "wrong_type", "Invalid input type."),
    ],
)  # fmt: skip
def test_invalid_envelope_names_the_field(
    client: FlaskClient, body: Any, field: str, code: str, message: str
) -> None:
    found = problem(client.post(EVALUATE, json=body, headers=EN), 422, "invalid-fields")
    assert {"field": field, "code": code, "message": message} in found["errors"]


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
        {"field": "as_of", "code": "not_in_force",
         "message": "No version of 'tv_application' is in force on 1900-01-01."}
    ]  # fmt: skip
    detail = problem(
        client.get("/v1/rulesets/tv_application?as_of=1900-01-01"), 422, "no-version-in-force"
    )
    assert detail["errors"][0]["field"] == "as_of"
    bad = problem(
        client.get("/v1/rulesets/tv_application?as_of=someday", headers=EN), 422, "invalid-fields"
    )
    assert bad["errors"] == [
        {"field": "as_of", "code": "invalid_format", "message": "Not a valid date."}
    ]


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
    # Every bad part in one answer: the checks' and the quote's together.
    assert fields == ["checks.0.facts.prefecture", "checks.1.ruleset", "quote.items.0.params.month"]
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
    assert body["errors"] == [
        {"field": "items", "code": "wrong_length", "message": "Shorter than minimum length 1."}
    ]


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


# --- the language asked for ------------------------------------------------------------------------

MONTH_13 = {
    "items": [{"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-13"}}]
}


def joint_base_fee(**params: Any) -> dict[str, Any]:
    return {
        "as_of": "2025-04-01",
        "items": [{"tariff": "flets_joint", "item": "base_fee", "params": params}],
    }


def test_a_bad_month_in_a_quote_is_named_in_the_language_asked_for(client: FlaskClient) -> None:
    en = problem(client.post("/v1/quotes", json=MONTH_13, headers=EN), 422, "invalid-fields")
    assert (en["title"], en["detail"]) == ("Invalid fields", "1 invalid field value(s).")
    assert messages(en) == {"items.0.params.month": "Not a valid month (YYYY-MM)."}
    ja = problem(client.post("/v1/quotes", json=MONTH_13, headers=JA), 422, "invalid-fields")
    assert (ja["title"], ja["detail"]) == (
        "入力内容に誤りがあります",
        "1件の入力に誤りがあります。",
    )
    assert messages(ja) == {"items.0.params.month": "年月（YYYY-MM）で指定してください。"}


def test_a_tariff_parameter_out_of_range_is_named_in_japanese(client: FlaskClient) -> None:
    request = joint_base_fee(size_mb=-1)
    ja = problem(client.post("/v1/quotes", json=request, headers=JA), 422, "invalid-fields")
    assert messages(ja) == {"items.0.params.size_mb": "0以上の値にしてください。"}
    en = problem(client.post("/v1/quotes", json=request, headers=EN), 422, "invalid-fields")
    assert messages(en) == {"items.0.params.size_mb": "Must be greater than or equal to 0."}


def test_a_kinds_refusal_is_named_in_japanese_in_a_quote_and_an_order(
    client: FlaskClient,
) -> None:
    request = joint_base_fee(size_mb=1, month="2025-05")
    refused = {
        "items.0.params.registered_on": "料金月（month）と登録日（registered_on）は、"
        "両方を指定するか、両方とも省略してください。"
    }
    ja = problem(client.post("/v1/quotes", json=request, headers=JA), 422, "invalid-fields")
    assert (ja["detail"], messages(ja)) == ("1件の入力に誤りがあります。", refused)
    en = problem(client.post("/v1/quotes", json=request, headers=EN), 422, "invalid-fields")
    assert messages(en) == {
        "items.0.params.registered_on": "is needed together with the other of month / registered_on."
    }
    order = {"checks": [{"ruleset": "tv_application", "facts": TV_ACCEPTED}], "quote": request}
    body = problem(client.post("/v1/orders/check", json=order, headers=JA), 422, "invalid-fields")
    assert messages(body) == {f"quote.{field}": text for field, text in refused.items()}


def test_a_fact_outside_its_values_and_unknown_fields_are_named_in_japanese(
    client: FlaskClient,
) -> None:
    facts = {**TV_ACCEPTED, "prefecture": "mars", "colour": "red"}
    found = messages(problem(client.post(EVALUATE, json={"facts": facts}), 422, "invalid-fields"))
    assert found["facts.prefecture"].startswith(
        "次のいずれかを指定してください: hokkaido, aomori, "
    )
    assert found["facts.prefecture"].endswith(", okinawa。")
    assert found["facts.colour"] == "定義されていない項目です。"
    envelope = {**joint_base_fee(size_mb=1), "colour": 1}
    quote = problem(client.post("/v1/quotes", json=envelope, headers=JA), 422, "invalid-fields")
    assert messages(quote) == {"colour": "定義されていない項目です。"}
    param = problem(
        client.post("/v1/quotes", json=joint_base_fee(size_mb=1, colour=1), headers=JA),
        422,
        "invalid-fields",
    )
    assert messages(param) == {
        "items.0.params.colour": "定義されていないパラメータです。次のいずれかを指定してください: "
        "size_mb, quantity, month, registered_on。"
    }


def test_rule_set_problems_and_an_orders_checks_are_named_in_japanese(client: FlaskClient) -> None:
    unknown = problem(client.get("/v1/rulesets/no_such_thing", headers=JA), 404, "unknown-ruleset")
    assert unknown["detail"] == "判定ルール 'no_such_thing' はありません。"
    old = {"facts": TV_ACCEPTED, "as_of": "1900-01-01"}
    too_old = problem(client.post(EVALUATE, json=old, headers=JA), 422, "no-version-in-force")
    assert messages(too_old) == {"as_of": "1900-01-01 に有効な 'tv_application' の版はありません。"}
    order = {"checks": [{"ruleset": "no_such_rules", "facts": {}}]}
    body = problem(client.post("/v1/orders/check", json=order, headers=JA), 422, "invalid-fields")
    assert messages(body) == {"checks.0.ruleset": "判定ルール 'no_such_rules' はありません。"}


BAD_REQUESTS: list[tuple[str, str, Any]] = [
    ("post", EVALUATE, {"facts": {**TV_ACCEPTED, "prefecture": 1, "bulk_plan": "yes"}}),
    ("post", EVALUATE, {"facts": {**TV_ACCEPTED, "line_kind": None}, "as_of": "2025-13-01"}),
    ("post", EVALUATE, [1]),
    ("post", f"{BATCH}?explain=everything", {"items": [{"facts": TV_ACCEPTED}]}),
    ("post", BATCH, {"items": [1, {"facts": 1}, {"facts": {**TV_ACCEPTED, "x": 1}}, {"x": 1}]}),
    ("post", "/v1/quotes", joint_base_fee(size_mb="big", quantity=2)),
    ("post", "/v1/quotes", {**joint_base_fee(size_mb=1), "as_of": "2010-01-01"}),
    ("post", "/v1/quotes", {"items": [{"tariff": "no_such_tariff", "item": "x"}]}),
    ("post", "/v1/quotes", {"items": [{"tariff": "flets_joint", "item": "no_such_item"}]}),
    ("post", "/v1/quotes", {"items": [{"tariff": "flets_joint", "item": "base_fee"}] * 101}),
    ("post", "/v1/quotes", {"items": [{"tariff": "tv_transport", "item": "construction"}]}),
    (
        "post",
        "/v1/quotes",
        {
            "items": [
                {
                    "tariff": "tv_transport",
                    "item": "outage_credit",
                    "params": {"known_at": "2025-03-02T00:00+09:00", "restored_at": "soon"},
                }
            ]
        },
    ),
    ("post", "/v1/orders/check", {"checks": [{"ruleset": "", "facts": {}}]}),
    ("post", "/v1/orders/check", {"checks": [{"ruleset": "x", "facts": {}}] * 51}),
    ("get", "/v1/rulesets/tv_application?as_of=someday", None),
    ("get", "/v1/tariffs/no_such_tariff", None),
    ("get", "/v1/nothing-here", None),
    ("get", EVALUATE, None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_every_problem_text_is_japanese_when_japanese_is_asked_for(
    client: FlaskClient, method: str, path: str, body: Any
) -> None:
    response = client.open(path, method=method.upper(), json=body, headers=JA)
    answer = response.get_json(force=True)
    found = [entry["problem"] for entry in answer.get("results", []) if not entry["ok"]] or [answer]
    for one in found:
        texts = [one["title"], one["detail"], *messages(one).values()]
        assert [text for text in texts if not JAPANESE.search(text)] == []


def request_schemas() -> list[type[CodedSchema]]:
    """Every coded schema the web app declares (its request envelopes)."""
    found: list[type[CodedSchema]] = []
    todo: list[type[CodedSchema]] = [CodedSchema]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.startswith("webapp."):
                found.append(subclass)
    return found


def test_every_request_schema_raises_only_coded_messages(app: Flask) -> None:
    schemas = request_schemas()
    assert {cls.__name__ for cls in schemas} >= {"EvaluateRequestSchema", "QuoteRequestSchema"}
    for cls in schemas:
        assert uncoded_messages(cls()) == [], cls.__name__


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (Code.BAD_REQUEST, BadRequest),
        (Code.NOT_FOUND, NotFound),
        (Code.METHOD_NOT_ALLOWED, MethodNotAllowed),
    ],
)
def test_werkzeugs_descriptions_are_the_catalogues_english(
    code: Code, error: type[HTTPException]
) -> None:
    assert Message(code) == error.description
