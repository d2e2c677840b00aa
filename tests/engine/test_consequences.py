"""Consequences told with an answer (of its outcome, of its ground rules; conditional on facts) and the
answer's findings: grounds apart from conditions that hold, facts still to ask and real gaps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import Rulebook, load_rulebook
from engine.format.loader import parse_yaml
from engine.rules import partial
from engine.rules.validate import check_ruleset

DAY = date(2025, 4, 1)

RULES = """\
ruleset: line_move
version: "1.0"
title: {ja: 移転, en: Move}
region: ntt_west
effective_from: 2024-01-01
sources:
  - {file: 001_ded95cce339fcddd.txt, title: ガイド}
facts:
  same_customer:
    type: bool
    label: {ja: お客さまIDが同じ, en: Same customer ID}
  area_known:
    type: enum
    label: {ja: 提供エリア, en: Service area}
    help: {ja: エリア検索で確かめます, en: Check with the area search}
    values: [inside, outside, unknown]
    unknown_value: unknown
    required: false
    default: unknown
  paid_services:
    type: enum
    label: {ja: 月額有料サービス, en: Monthly paid services}
    values: [subscribed, none, unknown]
    unknown_value: unknown
    required: false
    default: unknown
    ask: true
  has_phone:
    type: bool
    label: {ja: 電話あり, en: Has a phone}
    required: false
    default: false
outcomes:
  continues:
    kind: positive
    label: {ja: 継続, en: Continues}
  ends:
    kind: negative
    label: {ja: 終了, en: Ends}
    consequences:
      - code: id_deleted
        message: {ja: IDは削除されます, en: The ID is deleted}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 注記}
  open:
    kind: undecidable
    label: {ja: 判断できません, en: Cannot be decided}
    gap:
      missing: {ja: エリアが未確認, en: The area is not confirmed}
      ask: {ja: お客さま, en: The customer}
  no_row:
    kind: undecidable
    label: {ja: 表にありません, en: Not in the table}
    gap:
      missing: {ja: 表に行がない, en: The table has no row}
      ask: {ja: 窓口, en: The desk}
decide: collect
precedence: [ends, open, no_row, continues]
default:
  outcome: no_row
  reason: no_table_row
  message: {ja: 行なし, en: No row}
  cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
rules:
  - id: same_id_continues
    when: {same_customer: true}
    outcome: continues
    reason: same_id
    message: {ja: IDが同じ, en: Same ID}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
    consequences:
      - code: keep_settings
        message: {ja: 設定はそのまま, en: Settings stay}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
  - id: new_id_ends
    when: {same_customer: false}
    outcome: ends
    reason: new_id
    message: {ja: IDが変わる, en: New ID}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
    consequences:
      - code: paid_cancelled
        message: {ja: 有料サービスは解約されます, en: Paid services are cancelled}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 注記}
        when: {fact: paid_services, is: subscribed}
        if_unknown: {ja: 有料サービスがある場合は解約されます, en: "Paid services, if any, are cancelled"}
      - code: phone_number_kept
        message: {ja: 番号は継続, en: The number is kept}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 注記}
        when: {any: [{has_phone: true}, {paid_services: subscribed}]}
  - id: area_open
    when: {area_known: unknown}
    outcome: open
    reason: area_not_confirmed
    message: {ja: エリア未確認, en: Area not confirmed}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
  - id: outside_open
    when: {area_known: outside}
    outcome: no_row
    reason: outside_not_in_table
    message: {ja: エリア外は表にない, en: Outside is not in the table}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
examples:
  - note: same id, area inside
    facts: {same_customer: true, area_known: inside}
    expect: {outcome: continues, reasons: [same_id]}
  - note: a new id ends it; the same-id rule did not fire, the area rule fired for a weaker outcome
    facts: {same_customer: false}
    expect: {outcome: ends, reasons: [new_id, area_not_confirmed]}
  - note: outside the area
    facts: {same_customer: true, area_known: outside}
    expect: {outcome: no_row, reasons: [outside_not_in_table, same_id]}
"""


@pytest.fixture
def book(write_rules: Callable[[str, str], Path]) -> Iterator[Rulebook]:
    rulebook = load_rulebook(write_rules(RULES, "line_move.yaml"))
    yield rulebook
    rulebook.close()


def told(body: dict[str, Any]) -> dict[str, str]:
    return {c["code"]: c["message"] for c in body["consequences"]}


def test_examples_list_grounds_and_other_codes_and_pass(book: Rulebook) -> None:
    results = book.run_examples()
    assert [r.failure for r in results] == [None, None, None]
    (rs,) = book.all_rulesets()
    assert rs.examples[1].expect_reasons == {"new_id"}
    assert rs.examples[1].expect_others == {"area_not_confirmed"}


def test_a_ground_rule_tells_its_consequences_after_the_outcome_s(book: Rulebook) -> None:
    body = book.decide("line_move", {"same_customer": False, "paid_services": "subscribed"}, DAY)
    assert list(told(body.to_dict("en"))) == ["id_deleted", "paid_cancelled", "phone_number_kept"]
    assert told(body.to_dict("en"))["paid_cancelled"] == "Paid services are cancelled"


def test_a_rule_that_fired_for_a_weaker_outcome_tells_nothing(book: Rulebook) -> None:
    decision = book.decide("line_move", {"same_customer": True, "area_known": "outside"}, DAY)
    assert decision.outcome.id == "no_row"
    assert "keep_settings" not in told(decision.to_dict("en"))
    positive = book.decide("line_move", {"same_customer": True, "area_known": "inside"}, DAY)
    assert told(positive.to_dict("en")) == {"keep_settings": "Settings stay"}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"paid_services": "none"}, {"id_deleted": "The ID is deleted"}),
        (
            {"paid_services": "unknown"},
            {
                "id_deleted": "The ID is deleted",
                "paid_cancelled": "Paid services, if any, are cancelled",
            },
        ),
        (  # left out: its default is the unknown value
            {},
            {
                "id_deleted": "The ID is deleted",
                "paid_cancelled": "Paid services, if any, are cancelled",
            },
        ),
        (  # any: a true part settles it although the other part is unknown
            {"has_phone": True},
            {
                "id_deleted": "The ID is deleted",
                "paid_cancelled": "Paid services, if any, are cancelled",
                "phone_number_kept": "The number is kept",
            },
        ),
    ],
)
def test_a_conditional_consequence_follows_the_facts(
    book: Rulebook, facts: dict[str, Any], expected: dict[str, str]
) -> None:
    decision = book.decide("line_move", {"same_customer": False, **facts}, DAY)
    assert told(decision.to_dict("en")) == expected


def test_a_fact_sent_as_unknown_tells_the_if_unknown_text(book: Rulebook) -> None:
    decision = partial.decide(
        book, "line_move", {"same_customer": False, "area_known": "inside"}, ["has_phone"], DAY
    )
    body = decision.to_dict("ja")
    assert body["outcome"] == "ends"
    assert told(body) == {
        "id_deleted": "IDは削除されます",
        "paid_cancelled": "有料サービスがある場合は解約されます",
    }
    assert [a["fact"] for a in body["findings"]["to_ask"]] == ["paid_services", "has_phone"]


def test_reasons_are_grounds_and_findings_sort_the_rest(book: Rulebook) -> None:
    body = book.decide("line_move", {"same_customer": False, "paid_services": "none"}, DAY).to_dict(
        "en"
    )
    assert [r["code"] for r in body["reasons"]] == ["new_id"]
    findings = body["findings"]
    assert findings["confirmed"] == []  # the area rule fired on an unknown value: it is to ask
    (area,) = findings["to_ask"]
    assert area["fact"] == "area_known" and area["label"] == "Service area"
    assert area["help"] == "Check with the area search"
    assert [r["code"] for r in area["reasons"]] == ["area_not_confirmed"]
    assert findings["gaps"] == []  # the area is the customer's answer, not a gap in the sources
    assert [g["outcome"] for g in body["gaps"]] == ["open"]  # the old field keeps its meaning


def test_a_rule_of_another_decided_outcome_is_confirmed_and_a_real_gap_stays_a_gap(
    book: Rulebook,
) -> None:
    body = book.decide(
        "line_move", {"same_customer": True, "area_known": "outside", "paid_services": "none"}, DAY
    ).to_dict("en")
    assert body["outcome"] == "no_row"
    assert [r["code"] for r in body["reasons"]] == ["outside_not_in_table"]
    assert [r["code"] for r in body["findings"]["confirmed"]] == ["same_id"]
    assert body["findings"]["to_ask"] == []
    assert body["findings"]["gaps"] == [
        {"outcome": "no_row", "missing": "The table has no row", "ask": "The desk"}
    ]


def test_an_undecidable_answer_on_an_unknown_fact_asks_instead_of_naming_a_gap(
    book: Rulebook,
) -> None:
    body = book.decide("line_move", {"same_customer": True, "paid_services": "none"}, DAY).to_dict(
        "en"
    )
    assert body["outcome"] == "open" and body["gap"] is not None
    assert [a["fact"] for a in body["findings"]["to_ask"]] == ["area_known"]
    assert body["findings"]["gaps"] == []
    assert [r["code"] for r in body["findings"]["confirmed"]] == ["same_id"]


def errors_of(text: str) -> list[str]:
    ruleset, found = check_ruleset(parse_yaml(text, "r.yaml"), "r.yaml")
    errors = [str(d) for d in found if d.severity == "error"]
    assert (ruleset is None) == bool(errors)
    return errors


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_consequence_testing_an_undeclared_fact_is_named_with_file_line_and_field() -> None:
    text = RULES.replace(
        "when: {fact: paid_services, is: subscribed}", "when: {fact: paid_service, is: subscribed}"
    )
    (error,) = errors_of(text)
    assert error.startswith(f"r.yaml:{line_of(text, 'paid_service,')}:")
    assert "unknown-fact" in error and "paid_services" in error
    assert error.endswith("[rules[1].consequences[0].when.fact]")


def test_if_unknown_without_when_is_an_error_at_its_line() -> None:
    text = RULES.replace("        when: {fact: paid_services, is: subscribed}\n", "")
    (error,) = errors_of(text)
    line = line_of(text, "if_unknown: {ja: 有料")
    assert error.startswith(f"r.yaml:{line}:") and "missing-key" in error
    assert error.endswith("[rules[1].consequences[0].when]")


def test_a_consequence_citing_an_undeclared_source_is_named_at_its_line() -> None:
    text = RULES.replace(
        "cite: {source: 001_ded95cce339fcddd.txt, clause: 注記}\n        when",
        "cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 注記}\n        when",
        1,
    )
    (error,) = errors_of(text)
    assert "undeclared-source" in error
    assert error.endswith("[rules.new_id_ends.consequences[0].cite]")
    assert error.startswith(f"r.yaml:{line_of(text, 'code: paid_cancelled')}:")


# --- the bundled rule sets ------------------------------------------------------------------------

PASSPORT_ID_CHANGE = {
    "line_provider": "ntt_west",
    "access_service": "flets_hikari_next",
    "change_type": "relocation",
    "customer_id_change": "changed",
}


@pytest.mark.parametrize(
    ("paid", "expected"),
    [
        (
            "subscribed",
            "Paid services you bought with a monthly charge are cancelled automatically.",
        ),
        (
            "unknown",
            "Paid services bought with a monthly charge, if any, are cancelled automatically.",
        ),
        (None, "Paid services bought with a monthly charge, if any, are cancelled automatically."),
        ("none", None),
    ],
)
def test_a_passport_id_that_does_not_continue_cancels_paid_services_only_if_any(
    bundled_rulebook: Rulebook, paid: str | None, expected: str | None
) -> None:
    facts = PASSPORT_ID_CHANGE | ({"monthly_paid_services": paid} if paid else {})
    body = bundled_rulebook.decide("passport_continuation", facts, DAY).to_dict("en")
    assert body["outcome"] == "does_not_continue"
    assert told(body).get("monthly_paid_services_cancelled") == expected
    assert "passport_id_deleted" in told(body)  # the ID itself goes whatever was bought


def test_an_unknown_fact_the_answer_did_not_read_is_not_to_ask(book: Rulebook) -> None:
    # paid_services stays at its unknown default, but nothing in a continuing answer reads it.
    body = book.decide("line_move", {"same_customer": True, "area_known": "inside"}, DAY).to_dict(
        "en"
    )
    assert body["findings"]["to_ask"] == []
    # A consequence told in its "if any" wording reads it: then it is to ask.
    ends = book.decide("line_move", {"same_customer": False, "area_known": "inside"}, DAY).to_dict(
        "en"
    )
    assert [a["fact"] for a in ends["findings"]["to_ask"]] == ["paid_services"]
    assert ends["findings"]["to_ask"][0]["reasons"] == []


JOINT = {
    "line_provider": "ntt_east",
    "access_service": "flets_hikari_next",
    "next_type": "family",
    "hikari_denwa_plan": "hikari_denwa",
    "migrated_from_b_flets_with_denwa": "not_migrated",
}


def test_an_unlisted_home_gateway_is_a_definite_no_with_the_list_s_date_as_a_consequence(
    bundled_rulebook: Rulebook,
) -> None:
    body = bundled_rulebook.decide(
        "joint_eligibility", {**JOINT, "hgw_series": "other_model"}, DAY
    ).to_dict("en")
    assert (body["outcome"], body["kind"]) == ("not_deliverable", "negative")
    assert [r["code"] for r in body["reasons"]] == ["hgw_model_not_listed"]
    assert "hgw_list_as_of_sheet" in told(body)
    assert {r["code"] for r in body["findings"]["confirmed"]} == {
        "line_type_eligible",
        "hgw_by_denwa_or_rental",
    }
    listed = bundled_rulebook.decide("joint_eligibility", {**JOINT, "hgw_series": "rt_500"}, DAY)
    consequences = told(listed.to_dict("en"))
    assert "hgw_list_as_of_sheet" not in consequences
    assert {"merchant_shows_content_and_price", "who_applies_for_what"} <= set(consequences)


@pytest.mark.parametrize(
    ("lineup", "expected"),
    [
        (["flets_hikari_next"], True),  # hikari denwa ordered, not carried: NTT East provides it
        (["flets_hikari_next", "hikari_denwa"], False),  # carried
        ([], False),  # line-up not checked: nothing to say
    ],
)
def test_an_order_for_a_product_the_operator_does_not_carry_says_ntt_east_provides_it(
    bundled_rulebook: Rulebook, lineup: list[str], expected: bool
) -> None:
    facts = {
        "operator_lineup": lineup,
        "line_access_service": "flets_hikari_next",
        "next_type": "family",
        "line_services": ["hikari_denwa"],
    }
    body = bundled_rulebook.decide("collab_order", facts, DAY).to_dict("en")
    assert body["outcome"] == "permitted"
    assert ("not_carried_from_ntt_east" in told(body)) is expected


def test_a_refused_collab_order_lists_what_holds_apart_from_its_grounds(
    bundled_rulebook: Rulebook,
) -> None:
    facts = {
        "line_access_service": "flets_hikari_cross",
        "line_services": ["hikari_denwa_office_ace"],
        "cross_area": "inside",
    }
    body = bundled_rulebook.decide("collab_order", facts, DAY).to_dict("ja")
    assert [r["code"] for r in body["reasons"]] == ["office_denwa_not_on_cross_or_light_plus"]
    assert [r["code"] for r in body["findings"]["confirmed"]] == [
        "cross_optional_access",
        "cross_denwa_inside_area",
    ]


def test_an_example_fails_on_a_missing_ground_and_on_an_unexpected_other_rule(
    write_rules: Callable[[str, str], Path],
) -> None:
    wrong = RULES.replace(
        "expect: {outcome: ends, reasons: [new_id, area_not_confirmed]}",
        "expect: {outcome: ends, reasons: [new_id]}",
    ).replace(
        "expect: {outcome: continues, reasons: [same_id]}",
        "expect: {outcome: continues, reasons: []}",
    )
    book = load_rulebook(write_rules(wrong, "line_move.yaml"))
    try:
        failures = [r.failure for r in book.run_examples()]
    finally:
        book.close()
    assert failures == [
        "reasons ['same_id'] (extra ['same_id'])",
        "other rules ['area_not_confirmed'] (extra ['area_not_confirmed'])",
        None,
    ]
