"""The fast paths of the decision endpoints answer exactly what the slow, obvious code answers.

* :func:`webapp.render.decision_json` (cached fragments) is byte for byte ``json.dumps(to_dict)``;
* the quick envelope checks accept only what the marshmallow schemas accept, loaded identically;
* ``evaluate-batch`` with ``explain=full`` gives each item the body ``evaluate`` gives it, and the
  default compact decision is that body's outcome, kind and reason codes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from engine import Decision, Rulebook
from engine.format.common import LANGUAGES
from webapp.extensions import get_rulebook
from webapp.render import compact_decision, compact_decision_json, decision_json, dumps
from webapp.schemas import (
    BATCH_ITEM,
    BATCH_REQUEST,
    EVALUATE_REQUEST,
    is_plain_batch_item,
    quick_batch_request,
    quick_evaluate_request,
)

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

BATCH = "/v1/rulesets/tv_application/evaluate-batch"
EVALUATE = "/v1/rulesets/tv_application/evaluate"


@pytest.fixture
def book(app: Flask) -> Rulebook:
    with app.app_context():
        return get_rulebook()


def _example_decisions(book: Rulebook) -> list[Decision]:
    return [
        book.decide(rs.id, example.facts, example.as_of or date(2025, 4, 1))
        for rs in book.all_rulesets()
        for example in rs.examples
        if rs.in_force(example.as_of or date(2025, 4, 1))
    ]


def test_cached_rendering_is_exactly_the_full_json_for_every_example(book: Rulebook) -> None:
    decisions = _example_decisions(book)
    assert len({d.ruleset.id for d in decisions}) == len(book.ids())
    for decision in decisions:
        for lang in LANGUAGES:
            expected = dumps(decision.to_dict(lang))
            assert decision_json(decision, lang) == expected  # fills the cache
            assert decision_json(decision, lang) == expected  # served from it
            assert json.loads(expected) == decision.to_dict(lang)
        assert compact_decision_json(decision) == dumps(compact_decision(decision))


def test_a_cached_answer_is_never_served_for_other_reasons(book: Rulebook) -> None:
    decision = book.decide("tv_application", TV_TWO_REFUSALS, date(2025, 4, 1))
    decision_json(decision, "en")
    other = replace(decision, reasons=decision.reasons[:1])  # same outcome and fired rules
    assert decision_json(other, "en") == dumps(other.to_dict("en"))
    assert compact_decision_json(other) == dumps(compact_decision(other))


def test_same_answer_other_facts_and_date_renders_its_own(book: Rulebook) -> None:
    first = book.decide("tv_application", TV_ACCEPTED, date(2025, 4, 1))
    second = book.decide("tv_application", {**TV_ACCEPTED, "bulk_plan": True}, date(2024, 1, 2))
    for decision in (first, second, first):
        assert decision_json(decision, "ja") == dumps(decision.to_dict("ja"))


# --- quick envelope checks == marshmallow ----------------------------------------------------------

_day_texts = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "2025-02-30",
            "20250401",
            "2025-W14-2",
            "2025-4-1",
            "",
            " 2025-04-01",
            "2025-04-01T00:00",
            "２０２５-04-01",
            "2025-04-01\n",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)
_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _day_texts,
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)  # fmt: skip
_facts = st.dictionaries(st.text(max_size=8), _values, max_size=4)


def _envelope(required: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({required: value}, optional={"as_of": st.one_of(st.none(), _values)}),
        st.fixed_dictionaries({required: value}, optional={"as_of": _day_texts, "other": _values}),
        st.dictionaries(st.sampled_from([required, "as_of", "x"]), _values, max_size=3),
        _values,
    )


def _schema_load(schema: Any, data: Any) -> Any:
    try:
        return schema.load(data)
    except ValidationError:
        return "invalid"


@settings(max_examples=400, deadline=None)
@given(_envelope("facts", _facts))
def test_quick_evaluate_envelope_agrees_with_the_schema(data: Any) -> None:
    quick = quick_evaluate_request(data)
    if quick is not None:
        assert quick == _schema_load(EVALUATE_REQUEST, data)


@settings(max_examples=400, deadline=None)
@given(_envelope("items", st.lists(st.one_of(_values, st.fixed_dictionaries({"facts": _facts})),
                                   max_size=3)))  # fmt: skip
def test_quick_batch_envelope_agrees_with_the_schema(data: Any) -> None:
    quick = quick_batch_request(data)
    if quick is not None:
        assert quick == _schema_load(BATCH_REQUEST, data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_values, _envelope("facts", _facts)))
def test_plain_batch_items_are_exactly_items_the_schema_accepts(item: Any) -> None:
    if is_plain_batch_item(item):
        assert BATCH_ITEM.validate(item) == {}


def test_the_quick_checks_take_the_ordinary_envelopes() -> None:
    assert quick_evaluate_request({"facts": {"a": 1}, "as_of": "2025-04-01"}) == {
        "facts": {"a": 1}, "as_of": date(2025, 4, 1)}  # fmt: skip
    assert quick_batch_request({"items": [{"facts": {}}]}) == {
        "items": [{"facts": {}}],
        "as_of": None,
    }
    assert is_plain_batch_item({"facts": {}})


# --- evaluate-batch explain levels ---------------------------------------------------------------


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
        {"field": "explain", "message": "Must be one of: full, compact."}
    ]
