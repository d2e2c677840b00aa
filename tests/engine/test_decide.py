"""Decisions: hit policies, explanation, fact validation, batches."""

from datetime import date

import pytest

from engine import FactsError, NoVersionInForceError, Rulebook, UnknownRuleSetError
from engine.errors import EvaluationError

DAY = date(2023, 1, 10)
GOOD = {"contractor": True, "units": 6, "prefecture": "tokyo"}


def test_collect_reports_every_ground_and_the_strongest_outcome_wins(sample_book: Rulebook) -> None:
    decision = sample_book.decide(
        "sample_refusals", {**GOOD, "contractor": False, "prefecture": "osaka"}, DAY
    )
    assert decision.outcome.id == "refused"
    assert [r.code for r in decision.reasons] == ["not_contractor", "district_unknown"]


def test_default_answers_when_nothing_matches(sample_book: Rulebook) -> None:
    decision = sample_book.decide("sample_refusals", GOOD, DAY)
    assert decision.outcome.id == "approved"
    (reason,) = decision.reasons
    assert reason.code == "no_ground" and reason.rule is None


def test_decision_json_cites_every_reason_in_the_chosen_language(sample_book: Rulebook) -> None:
    body = sample_book.decide(
        "sample_refusals", {**GOOD, "units": 2, "prefecture": "osaka"}, DAY
    ).to_dict("en")
    assert body["ruleset"] == "sample_refusals" and body["version"] == "1.0"
    assert (
        body["outcome"] == "refused" and body["kind"] == "negative" and body["label"] == "Refused"
    )
    assert body["reasons"][0]["message"] == "Fewer than 6 units"
    assert body["reasons"][0]["citation"] == {
        "source": "004_84a0a3d01f54d5ce.txt",
        "clause": "別表",
        "reading": None,
    }
    assert body["reasons"][0]["source"].endswith("sample.yaml:65")
    assert body["facts"]["applied_on"] == "2023-01-10"  # the as_of default, normalised
    assert body["facts"]["services"] == [] and body["facts"]["fee"] == 0
    assert body["as_of"] == "2023-01-10"


def test_undecidable_answers_name_the_gap(sample_book: Rulebook) -> None:
    body = sample_book.decide("sample_refusals", {**GOOD, "prefecture": "osaka"}, DAY).to_dict("ja")
    assert body["kind"] == "undecidable"
    assert body["gap"] == {"missing": "区域表", "ask": "東日本"}


@pytest.mark.parametrize(
    ("facts", "field", "message"),
    [
        ({**GOOD, "units": "6"}, "units", "Not a valid integer."),
        ({**GOOD, "units": True}, "units", "Not a valid integer."),
        ({**GOOD, "units": 6.0}, "units", "Not a valid integer."),
        ({**GOOD, "units": -1}, "units", "Must be greater than or equal to 0."),
        ({**GOOD, "contractor": "yes"}, "contractor", "Not a valid boolean."),
        ({**GOOD, "prefecture": "kyoto"}, "prefecture", "Must be one of: tokyo, osaka, other."),
        ({**GOOD, "services": ["tv", "tv"]}, "services", "Items must not repeat."),
        ({**GOOD, "services": ["fax"]}, "services.0", "Must be one of: tv, phone, support."),
        ({**GOOD, "applied_on": "2023-02-30"}, "applied_on", "Not a valid date."),
        ({**GOOD, "colour": "red"}, "colour", "Unknown field."),
        ({"units": 6, "prefecture": "tokyo"}, "contractor", "Missing data for required field."),
    ],
)
def test_bad_facts_name_the_field_and_the_reason(
    sample_book: Rulebook, facts: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(FactsError) as caught:
        sample_book.decide("sample_refusals", facts, DAY)
    assert caught.value.fields[field] == [message]


def test_facts_must_be_an_object(sample_book: Rulebook) -> None:
    with pytest.raises(FactsError) as caught:
        sample_book.decide("sample_refusals", ["not", "an", "object"], DAY)
    assert caught.value.fields == {"_schema": ["Facts must be a JSON object."]}


def test_unknown_rule_set_and_dates_out_of_force(sample_book: Rulebook) -> None:
    with pytest.raises(UnknownRuleSetError):
        sample_book.decide("nope", GOOD, DAY)
    with pytest.raises(NoVersionInForceError):
        sample_book.decide("sample_refusals", GOOD, date(2019, 12, 31))


def test_batch_keeps_order_and_reports_bad_items_in_place(sample_book: Rulebook) -> None:
    items: list[object] = [
        GOOD,
        {**GOOD, "units": "x"},
        {**GOOD, "contractor": False},
        {**GOOD, "prefecture": "osaka"},
    ]
    results = sample_book.decide_batch("sample_refusals", items, DAY)
    assert [getattr(r, "outcome", None) and r.outcome.id for r in results] == [  # type: ignore[union-attr]
        "approved",
        None,
        "refused",
        "unknown",
    ]
    assert isinstance(results[1], FactsError) and "units" in results[1].fields


def test_a_large_batch_where_most_facts_match_no_rule(sample_book: Rulebook) -> None:
    items = [GOOD if i % 3 else {**GOOD, "units": 1} for i in range(3000)]
    results = sample_book.decide_batch("sample_refusals", items, DAY)
    outcomes = [r.outcome.id for r in results if not isinstance(r, FactsError)]
    assert outcomes.count("refused") == 1000 and outcomes.count("approved") == 2000


def test_a_closed_rulebook_refuses_to_decide(sample_path) -> None:  # type: ignore[no-untyped-def]
    from engine import load_rulebook

    book = load_rulebook(sample_path)
    book.close()
    with pytest.raises(EvaluationError):
        book.decide("sample_refusals", GOOD, DAY)


def test_gaps_of_outranked_undecidable_reasons_are_still_reported(sample_book: Rulebook) -> None:
    body = sample_book.decide(
        "sample_refusals", {**GOOD, "units": 2, "prefecture": "osaka"}, DAY
    ).to_dict("en")
    assert body["outcome"] == "refused" and body["gap"] is None
    assert body["gaps"] == [{"outcome": "unknown", "missing": "District list", "ask": "NTT East"}]
