"""Bounds on input through the API: huge integers and far-future months are 422 field errors.

An amount of 2⁶³ against a limit of 2⁶³ − 1 used to be answered ``can_purchase`` (durable_rules read
the amount as a double); a quote for month 9999-12 used to answer 500. Both are now refused naming the
field, in the language asked for, by the fast path and by Flask alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.rules.facts import MAX_EXACT_INTEGER
from webapp import create_app
from webapp.state import app_state

from .test_errors import EN, JA, messages, problem

MAX = MAX_EXACT_INTEGER
PURCHASE = "/v1/rulesets/passport_purchase/evaluate"
HUGE_PURCHASE = {
    "line_provider": "ntt_west",
    "request": "purchase",
    "id_status": "active",
    "purchase_amount": 2**63,
    "id_limit": 2**63 - 1,
}

#: A rule set like passport_purchase's comparison, its two amounts with no declared range.
UNBOUNDED = """\
ruleset: amounts
version: "1.0"
title: {ja: 金額, en: Amounts}
region: ntt_west
effective_from: 2020-01-01
sources:
  - {file: 001_ded95cce339fcddd.txt, title: ご利用ガイド}
facts:
  amount: {type: money, label: {ja: 金額, en: Amount}}
  limit: {type: money, label: {ja: 上限, en: Limit}}
outcomes:
  refused: {kind: negative, label: {ja: 不可, en: Refused}}
  allowed: {kind: positive, label: {ja: 可, en: Allowed}}
decide: collect
precedence: [refused, allowed]
default:
  outcome: allowed
  reason: within_limit
  message: {ja: 上限以内, en: Within the limit}
  cite: {source: 001_ded95cce339fcddd.txt, clause: ご利用限度額とは}
rules:
  - id: over_limit
    when: {fact: amount, greater_than: {fact: limit}}
    outcome: refused
    reason: over_limit
    message: {ja: 上限超過, en: Over the limit}
    cite: {source: 001_ded95cce339fcddd.txt, clause: ご利用限度額とは}
examples:
  - note: over
    facts: {amount: 2, limit: 1}
    expect: {outcome: refused, reasons: [over_limit]}
"""


def post_json(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    """Send the JSON text itself: integers beyond 64 bits exactly as a client writes them."""
    return client.post(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def test_huge_amounts_for_passport_purchase_are_422_naming_each_field(client: FlaskClient) -> None:
    body = problem(post_json(client, PURCHASE, {"facts": HUGE_PURCHASE}, EN), 422, "invalid-fields")
    expected = "Must be greater than or equal to 0 and less than or equal to 100000000."
    assert messages(body) == {"facts.purchase_amount": expected, "facts.id_limit": expected}
    ja = problem(post_json(client, PURCHASE, {"facts": HUGE_PURCHASE}, JA), 422, "invalid-fields")
    assert messages(ja)["facts.purchase_amount"] == "0以上100000000以下の値にしてください。"


def test_a_huge_amount_in_a_batch_is_that_items_422_the_others_are_decided(
    client: FlaskClient,
) -> None:
    small = {**HUGE_PURCHASE, "purchase_amount": 100, "id_limit": 200}
    items = [{"facts": HUGE_PURCHASE}, {"facts": small}]
    response = post_json(client, PURCHASE + "-batch", {"items": items}, EN)
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert first["ok"] is False and first["problem"]["status"] == 422
    assert {e["field"] for e in first["problem"]["errors"]} == {
        "facts.purchase_amount",
        "facts.id_limit",
    }
    assert second["ok"] is True and second["decision"]["outcome"] == "can_purchase"


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "flask"])
def amounts_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("amounts")
    (folder / "amounts.yaml").write_text(UNBOUNDED, encoding="utf-8")
    app = create_app(
        {
            "TESTING": True,
            "LOG_LEVEL": "WARNING",
            "FAST_PATH": request.param,
            "RULES_DIR": str(folder),
            "AUDIT_URL": "none",
        }
    )
    yield app
    app_state(app).holder.close()


@pytest.mark.parametrize(
    ("amount", "limit"),
    [(2**63, 2**63 - 1), (MAX + 1, MAX), (-(2**63), 0), (2**64 + 1, 2**64)],
)
def test_amounts_beyond_the_engine_bound_are_422_in_both_languages(
    amounts_app: Flask, amount: int, limit: int
) -> None:
    client = amounts_app.test_client()
    path = "/v1/rulesets/amounts/evaluate"
    facts = {"amount": amount, "limit": limit}
    en = problem(post_json(client, path, {"facts": facts}, EN), 422, "invalid-fields")
    beyond = {f"facts.{k}" for k, v in facts.items() if abs(v) > MAX}
    assert set(messages(en)) == beyond
    for text in messages(en).values():
        assert text == (
            f"Must be a whole number from {-MAX} to {MAX} (larger numbers cannot be decided "
            "exactly)."
        )
    ja = problem(post_json(client, path, {"facts": facts}, JA), 422, "invalid-fields")
    for text in messages(ja).values():
        assert (
            text
            == f"{-MAX}から{MAX}までの整数にしてください（これを超える数は正確に判定できません）。"
        )


@pytest.mark.parametrize(
    ("amount", "limit", "outcome"),
    [(MAX, MAX - 1, "refused"), (MAX - 1, MAX, "allowed"), (-MAX, -MAX + 1, "allowed")],
)
def test_amounts_at_the_bound_are_decided_exactly(
    amounts_app: Flask, amount: int, limit: int, outcome: str
) -> None:
    client = amounts_app.test_client()
    facts = {"amount": amount, "limit": limit}
    response = post_json(client, "/v1/rulesets/amounts/evaluate", {"facts": facts}, EN)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["outcome"] == outcome


def test_the_published_fact_schema_states_the_bound(amounts_app: Flask) -> None:
    body = amounts_app.test_client().get("/v1/rulesets/amounts").get_json()
    amount = body["facts_schema"]["properties"]["amount"]
    assert (amount["minimum"], amount["maximum"]) == (-MAX, MAX)


# --- quotes: the calendar ------------------------------------------------------------------------


def quote(month: str, **params: str) -> dict[str, Any]:
    item = {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": month, **params}}
    return {"as_of": "2025-04-01", "items": [item]}


def test_a_quote_for_month_9999_12_is_422_naming_the_field(client: FlaskClient) -> None:
    en = problem(
        client.post("/v1/quotes", json=quote("9999-12"), headers=EN), 422, "invalid-fields"
    )
    assert messages(en) == {"items.0.params.month": "Must be a month from 1900-01 to 2999-12."}
    ja = problem(
        client.post("/v1/quotes", json=quote("9999-12"), headers=JA), 422, "invalid-fields"
    )
    assert messages(ja) == {
        "items.0.params.month": "1900-01 から 2999-12 までの年月を指定してください。"
    }


def test_a_quote_with_a_far_date_is_422_naming_the_field(client: FlaskClient) -> None:
    request = quote("2025-04", service_start="9999-12-31")
    en = problem(client.post("/v1/quotes", json=request, headers=EN), 422, "invalid-fields")
    assert messages(en) == {
        "items.0.params.service_start": "Must be a date (or date-time) from 1900-01-01 to 2999-12-31."
    }


def test_a_quote_at_the_last_month_is_priced(client: FlaskClient) -> None:
    response = client.post("/v1/quotes", json=quote("2999-12"), headers=EN)
    assert response.status_code == 200
    assert response.get_json()["lines"][0]["amount"] == 450
