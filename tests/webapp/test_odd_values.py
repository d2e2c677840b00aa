"""Odd input that is valid UTF-8 never reaches a 500 either: escaped unpaired surrogates, unicode edge
cases, wrong types, odd rule set ids (bytes that are not UTF-8: test_hostile_input.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

EVALUATE = "/v1/rulesets/passport_continuation/evaluate"


def post(client: FlaskClient, path: str, body: str) -> Any:
    return client.post(
        path, data=body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (EVALUATE, '{"facts": {"change_type": "\\ud800"}}'),
        (EVALUATE, '{"facts": {"\\udfff": 1}}'),
        (
            "/v1/rulesets/passport_continuation/evaluate-batch",
            '{"items": [{"facts": {"x": "\\ud83d"}}]}',
        ),
        ("/v1/quotes", '{"items": [{"tariff": "\\ud800", "item": "x", "params": {}}]}'),
        ("/v1/orders/check", '{"checks": [{"ruleset": "\\udbff", "facts": {}}]}'),
    ],
)
def test_unpaired_surrogates_are_a_400_not_a_crash(
    client: FlaskClient, path: str, body: str
) -> None:
    response = post(client, path, body)
    assert response.status_code == 400
    assert response.get_json(force=True)["type"] == "/problems/malformed-json"


def test_a_paired_surrogate_escape_is_ordinary_text(client: FlaskClient) -> None:
    response = post(client, EVALUATE, '{"facts": {"change_type": "\\ud83d\\ude00"}}')
    assert response.status_code == 422  # an emoji is valid JSON, just not a kind of change
    fields = [e["field"] for e in response.get_json()["errors"]]
    assert "facts.change_type" in fields


@pytest.mark.parametrize(
    "value",
    [
        "relocation\u0000",
        "\u202erelocation",
        "ｒｅｌｏｃａｔｉｏｎ",
        "RELOCATION",
        "é" * 50_000,
        "",
        3,
        None,
        ["relocation"],
        {"a": 1},
    ],
)
def test_odd_values_for_an_enum_fact_name_the_field(client: FlaskClient, value: Any) -> None:
    response = client.post(EVALUATE, json={"facts": {"change_type": value}})
    assert response.status_code == 422
    found = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert re.search("[ぁ-んァ-ン]", found["facts.change_type"])  # Japanese: the default language


@pytest.mark.parametrize("ruleset_id", ["%E2%80%AE", "\u202e\u0000x", "..%2F..%2Fetc", "a" * 5000])
def test_odd_rule_set_ids_are_404(client: FlaskClient, ruleset_id: str) -> None:
    response = client.post(f"/v1/rulesets/{ruleset_id}/evaluate", json={"facts": {}})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    ['"facts"', "[]", "42", '{"facts": []}', '{"facts": "x"}', '{"facts": {}, "as_of": 20250101}'],
)
def test_wrong_shapes_of_the_envelope_are_4xx(client: FlaskClient, body: str) -> None:
    response = post(client, EVALUATE, body)
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "value", ["RELOCATION", "ｒｅｌｏｃａｔｉｏｎ", " Relocation ", "relocaton", "re-location"]
)
def test_an_enum_fact_written_otherwise_suggests_the_value_meant(
    client: FlaskClient, value: str
) -> None:
    response = client.post(EVALUATE, json={"facts": {"change_type": value}})
    found = {e["field"]: e for e in response.get_json()["errors"]}
    assert found["facts.change_type"]["code"] == "not_one_of"
    assert found["facts.change_type"]["suggestion"] == "relocation"
