"""The API contract an order system relies on: a machine code per field error and a suggestion for a
value not allowed, one language per answer (and ``Content-Language`` saying which), every error of an
order in one answer, and quotes in the language asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from engine import Decision
from webapp import orders
from webapp.problems import FIELD_ERROR_CODES, closest
from webapp.state import get_rulebook, get_tariffs

from .conftest import PROJECT_ROOT, TV_ACCEPTED

EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"
EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
#: Kana or kanji.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff60]")
#: An English sentence: three Latin words in a row (an id, a code or "JSON" alone is not one).
ENGLISH = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}\b")
PREFECTURES = ["hokkaido", "tokyo", "kanagawa", "osaka", "okinawa", "kagoshima", "ishikawa"]


def errors_of(response: TestResponse) -> list[dict[str, Any]]:
    body = response.get_json(force=True)
    found: list[dict[str, Any]] = body["errors"]
    return found


def by_field(response: TestResponse) -> dict[str, dict[str, Any]]:
    return {e["field"]: e for e in errors_of(response)}


# --- field errors: a machine code, and a suggestion ------------------------------------------------


def test_the_documented_codes_are_the_closed_list() -> None:
    docs = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- field-error-codes -->(.*?)<!-- /field-error-codes -->", docs, re.S)
    assert table is not None
    assert re.findall(r"^\| `([a-z_0-9]+)` \|", table.group(1), re.M) == list(FIELD_ERROR_CODES)


#: Requests with bad fields of every kind, and the code each named field must carry.
CODED: list[tuple[str, Any, dict[str, str]]] = [
    (EVALUATE, {"facts": {**TV_ACCEPTED, "prefecture": "Tokyo", "bulk_plan": "yes", "colour": 1}},
     {"facts.prefecture": "not_one_of", "facts.bulk_plan": "wrong_type",
      "facts.colour": "unknown_field"}),
    (EVALUATE, {"facts": {k: v for k, v in TV_ACCEPTED.items() if k != "line_kind"}},
     {"facts.line_kind": "required"}),
    (EVALUATE, {"facts": TV_ACCEPTED, "as_of": "2025-13-01", "unknown": ["bulk_plan", "bulk_plan"]},
     {"as_of": "invalid_format", "unknown": "not_unique"}),
    (EVALUATE, {"facts": TV_ACCEPTED, "as_of": "1900-01-01"}, {"as_of": "not_in_force"}),
    (BATCH, {"items": []}, {"items": "wrong_length"}),
    ("/v1/quotes", {"as_of": "2025-04-01", "items": [
        {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-13", "x": 1}},
        {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": -1}},
        {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1, "month": "2025-05"}},
        {"tariff": "tv_transprt", "item": "monthly_fee"}]},
     {"items.0.params.month": "invalid_format", "items.0.params.x": "unknown_field",
      "items.1.params.size_mb": "out_of_range", "items.2.params.registered_on": "inconsistent",
      "items.3.tariff": "not_one_of"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "codes"), CODED)
def test_each_field_error_has_its_machine_code(
    client: FlaskClient, path: str, body: Any, codes: dict[str, str]
) -> None:
    for headers in (EN, JA):
        found = by_field(client.post(path, json=body, headers=headers))
        assert {name: found[name]["code"] for name in codes} == codes
        assert all(e["code"] in FIELD_ERROR_CODES for e in found.values())


def test_a_value_not_allowed_gets_the_closest_allowed_one(client: FlaskClient) -> None:
    facts = {**TV_ACCEPTED, "prefecture": "Tokyo", "line_kind": "ntt-flets", "line_item": "zzz"}
    found = by_field(client.post(EVALUATE, json={"facts": facts}, headers=EN))
    assert found["facts.prefecture"]["suggestion"] == "tokyo"
    assert found["facts.line_kind"]["suggestion"] == "ntt_flets"
    assert "suggestion" not in found["facts.line_item"]  # nothing is close to it
    batch = client.post(
        BATCH, json={"items": [{"facts": {**TV_ACCEPTED, "prefecture": "ＴＯＫＹＯ"}}]}
    )
    item = batch.get_json()["results"][0]["problem"]["errors"][0]
    assert (item["field"], item["suggestion"]) == ("facts.prefecture", "tokyo")
    quote = {"items": [{"tariff": "tv_transport", "item": "monthly_fees", "params": {"mont": "x"}}]}
    assert by_field(client.post("/v1/quotes", json=quote))["items.0.item"]["suggestion"] == (
        "monthly_fee"
    )
    quote["items"][0]["item"] = "monthly_fee"
    assert by_field(client.post("/v1/quotes", json=quote))["items.0.params.mont"]["suggestion"] == (
        "month"
    )


@settings(max_examples=60, deadline=None)
@given(
    choice=st.sampled_from(PREFECTURES),
    spelling=st.sampled_from(["upper", "title", "wide", "spaced"]),
)
def test_a_differently_written_choice_suggests_itself(choice: str, spelling: str) -> None:
    written = {
        "upper": choice.upper(),
        "title": choice.title(),
        "wide": "".join(chr(ord(c) + 0xFEE0) for c in choice),  # full-width letters
        "spaced": f"  {choice.upper()} ",
    }[spelling]
    assert closest(written, PREFECTURES) == choice


@settings(max_examples=60, deadline=None)
@given(choice=st.sampled_from(PREFECTURES), at=st.integers(min_value=1, max_value=4))
def test_a_one_letter_typo_suggests_the_choice(choice: str, at: int) -> None:
    typo = choice[:at] + choice[at + 1 :]  # one letter dropped
    assert closest(typo, PREFECTURES) == choice


def test_no_suggestion_for_what_is_nobodys_typo() -> None:
    assert closest("mars", PREFECTURES) is None
    assert closest(3, PREFECTURES) is None
    assert closest("x" * 5000, PREFECTURES) is None


# --- one language per answer ----------------------------------------------------------------------

ERRORS: list[tuple[str, str, Any, dict[str, str]]] = [
    ("post", EVALUATE, {"facts": {**TV_ACCEPTED, "prefecture": "mars", "x": 1}}, {}),
    ("post", EVALUATE, "{", {}),
    ("post", EVALUATE, '{"facts": NaN}', {}),
    ("post", EVALUATE, None, {"Content-Type": "text/plain"}),
    ("post", f"{EVALUATE}?explain=verbose", {"facts": TV_ACCEPTED}, {}),
    ("post", "/v1/rulesets/no_such_rules/evaluate", {"facts": {}}, {}),
    ("post", BATCH, {"items": [1, {"facts": {"prefecture": "mars"}}]}, {}),
    ("post", "/v1/quotes", {"items": [{"tariff": "flets_joint", "item": "base_fee",
                                       "params": {"size_mb": 1, "month": "2025-05"}}]}, {}),
    ("post", "/v1/orders/check", {"checks": [{"ruleset": "nope", "facts": {}}], "as_of": "x"}, {}),
    ("get", "/v1/rulesets/tv_application?as_of=1900-01-01", None, {}),
    ("get", "/v1/tariffs/no_such_tariff", None, {}),
    ("get", "/v1/nothing-here", None, {}),
    ("get", EVALUATE, None, {}),
    ("put", "/v1/quotes", None, {}),
    ("delete", "/v1/rulesets", None, {}),
    ("get", "/v1/admin/status", None, {}),
    ("get", "/v1/rulesets?x=%ED%A0%80", None, {}),
]  # fmt: skip


def texts_of(body: dict[str, Any]) -> list[str]:
    """Every text of a problem (and of each batch item's problem) meant for people."""
    problems = [r["problem"] for r in body.get("results", []) if not r["ok"]] or [body]
    return [
        t for p in problems for t in (p["title"], p["detail"], *(e["message"] for e in p["errors"]))
    ]


def send(
    client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> TestResponse:
    if isinstance(body, str):
        return client.open(path, method=method.upper(), data=body, headers=headers,
                           content_type="application/json")  # fmt: skip
    return client.open(path, method=method.upper(), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "headers"), ERRORS)
def test_an_error_answers_in_one_language_and_says_which(
    client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    for lang in ("ja", "en"):
        response = send(client, method, path, body, {**headers, "Accept-Language": lang})
        answer = response.get_json(force=True)
        assert (
            response.status_code >= 400 or answer["errors"]
        )  # a batch answers its items' problems
        assert response.headers["Content-Language"] == lang
        texts = texts_of(answer)
        if lang == "ja":
            assert [t for t in texts if not JAPANESE.search(t) or ENGLISH.search(t)] == []
        else:
            assert [t for t in texts if JAPANESE.search(t)] == []


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/v1/rulesets", "/v1/tariffs", "/openapi.json", "/docs",
     "/problems/invalid-fields"],
)  # fmt: skip
def test_every_answer_says_its_language(client: FlaskClient, path: str) -> None:
    for lang in ("ja", "en"):
        assert (
            client.get(path, headers={"Accept-Language": lang}).headers["Content-Language"] == lang
        )


# --- an order: every error at once, nothing logged ------------------------------------------------


@pytest.fixture
def logged(app: Flask) -> Iterator[list[Decision]]:
    """The decisions handed to the decision log while the test runs."""
    seen: list[Decision] = []
    with app.app_context():
        book = get_rulebook()
    before = book.observer

    def observe(decisions: list[Decision]) -> None:
        seen.extend(decisions)
        if before is not None:
            before(decisions)

    book.observer = observe
    try:
        yield seen
    finally:
        book.observer = before


BAD_ORDER = {
    "as_of": "2025-04-01",
    "checks": [
        {"ruleset": "tv_application", "facts": TV_ACCEPTED},
        {"ruleset": "tv_application", "facts": {**TV_ACCEPTED, "prefecture": "Tokyo"}},
        {"ruleset": "tv_aplication", "facts": {}},
    ],
    "quote": {"items": [
        {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-13"}},
        {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}]},
}  # fmt: skip


def test_an_order_names_every_error_of_every_part_at_once_and_logs_nothing(
    client: FlaskClient, logged: list[Decision]
) -> None:
    response = client.post("/v1/orders/check", json=BAD_ORDER, headers=EN)
    assert response.status_code == 422
    found = by_field(response)
    assert set(found) == {
        "checks.1.facts.prefecture",
        "checks.2.ruleset",
        "quote.items.0.params.month",
    }
    assert found["checks.2.ruleset"]["suggestion"] == "tv_application"
    assert found["checks.1.facts.prefecture"]["suggestion"] == "tokyo"
    assert logged == []  # the good check was decided, but a refused order logs nothing


def test_a_bad_envelope_is_named_together_with_the_parts_errors(client: FlaskClient) -> None:
    order = {**BAD_ORDER, "as_of": "someday", "colour": 1}
    order["quote"] = {"items": [{"tariff": "tv_transport", "item": "monthly_fee",
                                 "params": {"month": "2025-13"}}, {"item": 1}]}  # fmt: skip
    found = by_field(client.post("/v1/orders/check", json=order, headers=EN))
    assert {"as_of", "colour", "checks.1.facts.prefecture", "checks.2.ruleset",
            "quote.items.0.params.month", "quote.items.1.tariff"} <= set(found)  # fmt: skip
    assert found["quote.items.1.tariff"]["code"] == "required"


def test_an_answered_order_logs_each_decision_once(
    client: FlaskClient, logged: list[Decision]
) -> None:
    order = {**BAD_ORDER, "checks": BAD_ORDER["checks"][:1], "quote": None}
    response = client.post("/v1/orders/check", json=order)
    assert response.status_code == 200
    assert [d.ruleset.id for d in logged] == ["tv_application"]


# --- quotes in the language asked for -------------------------------------------------------------

QUOTE = {"as_of": "2025-04-01", "items": [
    {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-02",
                                                                "service_start": "2025-02-11"}},
    {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1}}]}  # fmt: skip


def bilingual(value: Any) -> list[Any]:
    """Every ``{"ja", "en"}`` object in ``value``."""
    if isinstance(value, dict):
        if set(value) == {"ja", "en"}:
            return [value]
        return [found for item in value.values() for found in bilingual(item)]
    if isinstance(value, list):
        return [found for item in value for found in bilingual(item)]
    return []


def test_a_quote_is_in_the_language_asked_for_like_a_decision(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        engine_quote = get_tariffs().quote(dict(QUOTE))
    for lang in ("ja", "en"):
        response = client.post("/v1/quotes", json=QUOTE, headers={"Accept-Language": lang})
        assert response.headers["Content-Language"] == lang
        body = response.get_json()
        assert bilingual(body) == []
        assert [line["description"] for line in body["lines"]] == [
            line["description"][lang] for line in engine_quote["lines"]
        ]
        warnings = [w["message"] for line in body["lines"] for w in line["warnings"]]
        assert all(isinstance(text, str) for text in warnings)
        order = {"as_of": "2025-04-01", "checks": [{"ruleset": "tv_application", "facts": TV_ACCEPTED}],
                 "quote": QUOTE}  # fmt: skip
        checked = client.post("/v1/orders/check", json=order, headers={"Accept-Language": lang})
        assert checked.get_json()["quote"] == body
        assert bilingual(checked.get_json()) == []


def test_the_python_functions_the_sales_page_calls_keep_their_behaviour(app: Flask) -> None:
    """``orders.quote`` returns the tariff engine's quote (texts in both languages) and
    ``orders.check`` the decisions in ``lang`` and that quote, as before."""
    with app.test_request_context():
        quoted = orders.quote(QUOTE, None, prefix="")
        assert quoted == get_tariffs().quote(dict(QUOTE))
        body = {"as_of": None, "checks": [{"ruleset": "tv_application", "facts": TV_ACCEPTED}],
                "quote": {"as_of": None}}  # fmt: skip
        checked = orders.check(body, QUOTE, "en")
        assert checked["overall"] == "positive" and checked["quote"] == quoted
        assert checked["checks"][0]["decision"]["label"] == "Accepted in order of receipt"


def test_every_refusal_the_tariff_examples_show_has_a_specific_code(client: FlaskClient) -> None:
    """The tariffs' own examples of refused requests: each error is classified (not the catch-all
    ``invalid_value``), so a reason a kind adds is given its code when it is added."""
    seen = 0
    for tariff in client.get("/v1/tariffs").get_json()["tariffs"]:
        for example in client.get(f"/v1/tariffs/{tariff['id']}").get_json()["examples"]:
            if "errors" not in example["expect"]:
                continue
            found = errors_of(client.post("/v1/quotes", json=example["request"]))
            assert [e for e in found if e["code"] == "invalid_value"] == [], example["note"]
            seen += len(found)
    assert seen > 0
