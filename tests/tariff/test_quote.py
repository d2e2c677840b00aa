"""Quotes against hand-computed figures, the boundaries of the issue, and request errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.errors import EngineError
from engine.tariff import TariffBook, UnknownTariffError, load_tariffs

AS_OF = "2025-04-01"

#: Price ``request`` expecting a QuoteRequestError; returns its field errors (the ``field_errors`` fixture).
FieldErrors = Callable[[TariffBook, dict[str, Any]], dict[str, list[str]]]


def quote(book: TariffBook, tariff: str, item: str, **params: Any) -> dict[str, Any]:
    request = {"as_of": AS_OF, "items": [{"tariff": tariff, "item": item, "params": params}]}
    return book.quote(request)


def amounts(result: dict[str, Any]) -> list[int | None]:
    return [line["amount"] for line in result["lines"]]


# --- TV transport: monthly fee and proration -------------------------------------------------


@pytest.mark.parametrize(
    ("month", "start", "cancel", "expected"),
    [
        ("2025-02", "2025-02-11", None, 289),  # 450 × 18/28 = 289.28
        ("2025-02", None, "2025-02-15", 225),  # 450 × 14/28
        ("2025-03", "2025-03-01", "2025-03-01", 14),  # one day of 31
        ("2025-04", "2025-04-30", None, 15),  # one day of 30
        ("2025-03", "2025-03-01", None, 450),  # starts on the 1st: no proration
    ],
)
def test_monthly_fee_proration(
    book: TariffBook, month: str, start: str | None, cancel: str | None, expected: int
) -> None:
    params: dict[str, Any] = {"month": month}
    if start:
        params["service_start"] = start
    if cancel:
        params["cancelled_on"] = cancel
    line = quote(book, "tv_transport", "monthly_fee", **params)["lines"][0]
    days, length = line["detail"]["days"], line["detail"]["days_in_period"]
    assert line["amount"] == 450 * days // length == expected


def test_leap_february_has_29_days(book: TariffBook) -> None:
    line = quote(book, "tv_transport", "monthly_fee", month="2024-02", service_start="2024-02-11")
    assert line["lines"][0]["detail"]["days_in_period"] == 29
    assert line["lines"][0]["amount"] == 294  # 450 × 19 / 29 = 294.8


def test_prorated_tax_is_on_the_tax_excluded_amount(book: TariffBook) -> None:
    totals = quote(
        book, "tv_transport", "monthly_fee", month="2025-02", service_start="2025-02-11"
    )["totals"]
    # 通則10 注3: prorating the tax-included 495 would give 318; the terms tax the prorated 289.
    assert (totals["amount_tax_excluded"], totals["tax"], totals["amount_tax_included"]) == (
        289,
        28,
        317,
    )


def test_no_service_day_in_the_month_is_not_charged(book: TariffBook) -> None:
    line = quote(book, "tv_transport", "monthly_fee", month="2025-01", service_start="2025-02-01")
    assert line["lines"][0]["status"] == "not_charged"
    assert line["totals"]["amount_tax_included"] == 0


def test_several_lines_multiply(book: TariffBook) -> None:
    result = quote(book, "tv_transport", "monthly_fee", month="2025-01", lines=3)
    assert result["totals"]["amount_tax_included"] == 1485


# --- outages -------------------------------------------------------------------------------


def test_outage_under_24_hours_waives_nothing(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "outage_credit",
        known_at="2025-03-10T09:00",
        restored_at="2025-03-11T08:59",
    )
    assert result["lines"][0]["status"] == "not_charged"


def test_outage_blocks_count_in_the_month_they_start(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "outage_credit",
        known_at="2025-01-30T12:00",
        restored_at="2025-02-02T13:00",
    )
    # blocks start 30 Jan, 31 Jan, 1 Feb: 450 × 2/31 = 29.03 and 450 × 1/28 = 16.07
    assert amounts(result) == [-29, -16]


def test_outage_by_ntt_gross_negligence_counts_all_time(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "outage_credit",
        known_at="2025-03-10T09:00",
        restored_at="2025-03-10T19:00",
        cause="ntt_intent_or_gross_negligence",
    )
    assert amounts(result) == [-6]  # 450 × 10 h / (31 × 24 h) = 6.05


def test_outage_caused_by_the_contractor_waives_nothing(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "outage_credit",
        known_at="2025-03-10T09:00",
        restored_at="2025-03-15T09:00",
        cause="contractor_fault",
    )
    assert result["lines"][0]["status"] == "not_charged"


# --- invoice and operator-change fees ------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "charged"),
    [
        ({}, True),
        ({"collab_line": False}, False),
        ({"corporate": True}, False),
        ({"joint_billing": True}, False),
        ({"charges_month": "2025-01"}, False),
        ({"charges_month": "2025-02"}, False),
    ],
)
def test_invoice_fee_exclusions(book: TariffBook, overrides: dict[str, Any], charged: bool) -> None:
    params = {"charges_month": "2025-03", "service_start": "2025-01-31", "collab_line": True}
    result = quote(book, "tv_transport", "invoice_fees", **{**params, **overrides})
    assert (result["totals"]["amount_tax_excluded"] == 150) is charged
    if not charged:
        assert result["lines"][0]["status"] == "not_charged"
        assert result["lines"][0]["reason"]["en"]


def test_invoice_fees_are_per_invoice_and_payment(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "invoice_fees",
        charges_month="2025-06",
        service_start="2025-01-10",
        collab_line=True,
        invoices=2,
        payments_by_invoice=0,
    )
    assert amounts(result) == [200]


def test_charges_month_before_the_start_is_a_field_error(
    book: TariffBook, field_errors: FieldErrors
) -> None:
    request = {
        "as_of": AS_OF,
        "items": [
            {
                "tariff": "tv_transport",
                "item": "invoice_fees",
                "params": {
                    "charges_month": "2024-12",
                    "service_start": "2025-01-10",
                    "collab_line": True,
                },
            }
        ],
    }
    assert list(field_errors(book, request)) == ["items.0.params.charges_month"]


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({}, 1980),
        ({"contracts": 2}, 3960),
        ({"contracts": 3, "simultaneous": "simultaneous_specified"}, 1980),
        ({"contracts": 3, "simultaneous": "separate"}, 5940),
        ({"contracts": 3, "simultaneous": "simultaneous_unconfirmed"}, 0),
        ({"to_collab_operator_service": True}, 0),
        ({"cancelled_before_change": True}, 0),
        ({"cancelled_before_change": True, "already_paid": True}, -1980),
        ({"contracts": 2, "cancelled_before_change": True, "already_paid": True}, -3960),
    ],
)
def test_operator_change_fee(book: TariffBook, params: dict[str, Any], total: int) -> None:
    result = quote(book, "tv_transport", "operator_change_fee", **params)
    assert result["totals"]["amount_tax_included"] == total


# --- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("onu_works", "basic_lines"),
    [(14, [4500]), (15, [4500, 3500]), (29, [4500, 3500]), (30, [4500, 3500 * 2])],
)
def test_onu_work_counts_cross_29000(
    book: TariffBook, onu_works: int, basic_lines: list[int]
) -> None:
    result = quote(book, "tv_transport", "construction", onu_works=onu_works)
    assert amounts(result) == [*basic_lines, 2000 * onu_works]


def test_simultaneous_jobs_pay_the_basic_fee_once(book: TariffBook) -> None:
    result = quote(book, "tv_transport", "construction", onu_works=2, exchange_works=2)
    assert amounts(result) == [4500, 2000, 4000]
    assert result["totals"]["amount_tax_included"] == 11550


def test_exchange_only_with_evening_surcharge(book: TariffBook) -> None:
    result = quote(book, "tv_transport", "construction", exchange_works=1, time_slot="evening")
    # (2,000 − 1,000) × 1.3 + 1,000 = 2,300
    assert result["totals"]["amount_tax_excluded"] == 2300
    assert result["totals"]["amount_tax_included"] == 2530


def test_surcharge_matches_the_tax_included_formula(book: TariffBook) -> None:
    result = quote(book, "tv_transport", "construction", onu_works=1, time_slot="night")
    # tax-included: (7,150 − 1,100) × 1.6 + 1,100 = 10,780
    assert result["totals"]["amount_tax_included"] == 10780


def test_cancelled_mid_work_with_a_cost_is_caller_supplied(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "construction",
        onu_works=1,
        status="cancelled_during_work",
        cost_of_work_done=1234,
    )
    line = result["lines"][0]
    assert (line["amount"], line["tax"]) == (1234, 123)
    assert [w["code"] for w in line["warnings"]] == ["caller_supplied"]


def test_a_job_needs_some_work(book: TariffBook, field_errors: FieldErrors) -> None:
    request = {"as_of": AS_OF, "items": [{"tariff": "tv_transport", "item": "construction"}]}
    assert list(field_errors(book, request)) == ["items.0.params.exchange_works"]


def test_designated_daytime_needs_the_date(book: TariffBook, field_errors: FieldErrors) -> None:
    request = {
        "as_of": AS_OF,
        "items": [
            {
                "tariff": "tv_transport",
                "item": "construction",
                "params": {"onu_works": 1, "time_slot": "daytime"},
            }
        ],
    }
    assert list(field_errors(book, request)) == ["items.0.params.work_date"]


# --- interest, surcharge, certificates, bulk plan -----------------------------------------


@pytest.mark.parametrize(
    ("paid_on", "amount"),
    [
        ("2025-01-31", 0),  # on the due date
        ("2025-02-15", 0),  # 15th day after
        ("2025-02-16", 59),  # 16th day: 15 days × 14.5 % / 365 × 10,000 = 59.59
        ("2025-03-31", 230),  # 58 days: 10,000 × 14.5 % × 58 / 365 = 230.4
    ],
)
def test_late_interest_grace(book: TariffBook, paid_on: str, amount: int) -> None:
    result = quote(
        book, "tv_transport", "late_interest", amount=10000, due_date="2025-01-31", paid_on=paid_on
    )
    line = result["lines"][0]
    days = max(0, (date.fromisoformat(paid_on) - date(2025, 1, 31)).days - 1)
    expected = 0 if days < 15 else 10000 * 145 * days // (1000 * 365)
    assert line["amount"] == expected == amount
    assert line["tax_basis"] == "none"


def test_late_interest_across_a_leap_year_end(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "late_interest",
        amount=100000,
        due_date="2023-12-15",
        paid_on="2024-01-31",
    )
    line = result["lines"][0]
    assert line["detail"]["days_by_year"] == {"2023": 16, "2024": 30}
    # 100,000 × 0.145 × (16/365 + 30/366) = 635.6 + 1188.5 = 1824.1
    assert line["amount"] == 1824


def test_interest_rate_above_the_ceiling_cannot_be_priced(
    tariff_copy: Callable[[str, str, str], Path],
) -> None:
    folder = tariff_copy(
        "tv_transport.yaml",
        'unit: percent per year\n    value: "14.5"\n    provenance: inferred',
        'unit: percent per year\n    value: "15"\n    provenance: inferred',
    )
    book = load_tariffs(folder)
    result = quote(
        book,
        "tv_transport",
        "late_interest",
        amount=1000,
        due_date="2025-01-01",
        paid_on="2025-03-01",
    )
    assert result["lines"][0]["status"] == "cannot_be_priced"


def test_interest_rate_is_a_setting(tariff_copy: Callable[[str, str, str], Path]) -> None:
    folder = tariff_copy(
        "tv_transport.yaml",
        'unit: percent per year\n    value: "14.5"\n    provenance: inferred',
        'unit: percent per year\n    value: "10"\n    provenance: inferred',
    )
    book = load_tariffs(folder)
    result = quote(
        book,
        "tv_transport",
        "late_interest",
        amount=36500,
        due_date="2025-01-31",
        paid_on="2025-02-16",
    )
    assert result["lines"][0]["amount"] == 150  # 36,500 × 10 % × 15 / 365


def test_bulk_plan_needs_six_units(book: TariffBook) -> None:
    result = quote(book, "tv_transport", "bulk_plan_monthly", month="2025-04", units=5)
    assert result["lines"][0]["status"] == "refused"
    assert result["totals"]["complete"] is False
    assert (
        quote(book, "tv_transport", "bulk_plan_monthly", month="2025-04", units=6)["totals"][
            "amount_tax_included"
        ]
        == 2970
    )


def test_bulk_plan_started_mid_month(book: TariffBook) -> None:
    result = quote(
        book,
        "tv_transport",
        "bulk_plan_monthly",
        month="2025-02",
        units=10,
        plan_start="2025-02-15",
    )
    assert amounts(result) == [2250]  # 4,500 × 14 / 28


@pytest.mark.parametrize(
    ("abolished_on", "fee"),
    [("2024-04-01", 11000), ("2026-03-31", 11000), ("2026-04-01", 0)],
)
def test_bulk_plan_early_abolition(book: TariffBook, abolished_on: str, fee: int) -> None:
    result = quote(
        book,
        "tv_transport",
        "bulk_plan_early_abolition",
        exclusive_use_from="2024-04-01",
        abolished_on=abolished_on,
        abolition="transfer",
    )
    assert result["totals"]["amount_tax_included"] == fee


@pytest.mark.parametrize(
    "item",
    [
        "bulk_plan_adoption_construction",
        "bulk_plan_abolition_construction",
        "interruption_work",
        "indoor_coax_wiring",
    ],
)
def test_gaps_are_never_priced_silently(book: TariffBook, item: str) -> None:
    result = quote(book, "tv_transport", item)
    line = result["lines"][0]
    assert line["status"] == "cannot_be_priced"
    assert line["amount"] is None
    assert line["gap"]["missing"]["en"]
    assert line["message"]["en"] == "Cannot be priced from the sources"
    assert result["totals"]["complete"] is False


def test_unpriced_lines_are_not_counted_but_the_rest_is(book: TariffBook) -> None:
    request = {
        "as_of": AS_OF,
        "items": [
            {"tariff": "tv_transport", "item": "interruption_work"},
            {"tariff": "tv_transport", "item": "payment_certificate"},
        ],
    }
    totals = book.quote(request)["totals"]
    assert (totals["amount_tax_included"], totals["lines_not_priced"]) == (440, [1])


# --- Flets Joint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "fee"),
    [("0", 11000), ("4.99", 11000), ("5", 22000), (9.99, 22000), (10, 33000), ("24.99", 55000)],
)
def test_joint_base_fee_menu(book: TariffBook, size: Any, fee: int) -> None:
    result = quote(book, "flets_joint", "base_fee", size_mb=size)
    assert result["lines"][0]["amount_tax_included"] == fee


@pytest.mark.parametrize("size", ["25", 25, "30.5"])
def test_joint_base_fee_refused_from_25_mb(book: TariffBook, size: Any) -> None:
    line = quote(book, "flets_joint", "base_fee", size_mb=size)["lines"][0]
    assert (line["status"], line["amount"]) == ("refused", None)
    assert "25" in line["reason"]["en"]


@pytest.mark.parametrize(("size", "fee"), [("1.49", 110), ("1.5", 220), ("7.49", 550)])
def test_joint_per_target_plan(book: TariffBook, size: str, fee: int) -> None:
    line = quote(book, "flets_joint", "per_target_fee", size_mb=size)["lines"][0]
    assert line["amount_tax_included"] == fee


def test_joint_per_target_refused_from_7_5_mb(book: TariffBook) -> None:
    assert (
        quote(book, "flets_joint", "per_target_fee", size_mb="7.5")["lines"][0]["status"]
        == "refused"
    )


def test_joint_month_needs_registration_date(book: TariffBook, field_errors: FieldErrors) -> None:
    request = {
        "as_of": AS_OF,
        "items": [
            {
                "tariff": "flets_joint",
                "item": "base_fee",
                "params": {"size_mb": 1, "month": "2025-05"},
            }
        ],
    }
    assert list(field_errors(book, request)) == ["items.0.params.registered_on"]


def test_joint_construction_change_works(book: TariffBook) -> None:
    result = quote(book, "flets_joint", "construction", changed_softwares=2, other_changes=1)
    assert [line["amount_tax_included"] for line in result["lines"]] == [1100, 50600, 4400]


# --- まとめて支払い ------------------------------------------------------------------------


def _owner_sets(tariff_copy: Callable[[str, str, str], Path]) -> TariffBook:
    """The policy owner adopts the outside-fact and inferred figures."""
    tariff_copy(
        "matomete_merchant_fee.yaml",
        'value: null\n    suggested: "5"',
        'value: "5"\n    suggested: "5"',
    )
    tariff_copy(
        "matomete_merchant_fee.yaml",
        'value: null\n    suggested: "600"',
        'value: 600\n    suggested: "600"',
    )
    tariff_copy(
        "matomete_merchant_fee.yaml",
        'value: null\n    suggested: "30 (31.5',
        'value: 30\n    suggested: "30 (31.5',
    )
    folder = tariff_copy(
        "matomete_merchant_fee.yaml",
        'value: null\n    suggested: "45"',
        'value: 45\n    suggested: "45"',
    )
    return load_tariffs(folder)


@pytest.mark.parametrize(
    ("average", "amount", "code"),
    [
        (500, 300, "figure_outside_fact"),  # under 600: 30 yen × 10 lines
        (800, 400, "figure_outside_fact"),  # 5 % × 8,000
        (900, 450, "figure_outside_fact"),
        ("900.5", 450, "figure_inferred"),  # flat 45 × 10
        (1500, 450, "figure_inferred"),
        (1501, 450, None),  # 3 % × 15,010 = 450.3
    ],
)
def test_merchant_fee_once_the_owner_sets_the_figures(
    tariff_copy: Callable[[str, str, str], Path], average: Any, amount: int, code: str | None
) -> None:
    book = _owner_sets(tariff_copy)
    line = quote(
        book, "matomete_merchant_fee", "merchant_fee", average_billed_yen=average, lines=10
    )["lines"][0]
    assert (line["status"], line["amount"]) == ("priced", amount)
    codes = [w["code"] for w in line["warnings"]]
    assert (code in codes) if code else codes == []
    assert code is not None or line["provenance"] == "sourced"


def test_merchant_fee_without_owner_figures_names_the_gap(book: TariffBook) -> None:
    line = quote(book, "matomete_merchant_fee", "merchant_fee", average_billed_yen=1200, lines=3)[
        "lines"
    ][0]
    assert line["status"] == "cannot_be_priced"
    assert "image" in line["gap"]["missing"]["en"]


# --- Passport ID -------------------------------------------------------------------------


def test_monthly_flat_still_active_counts_through_the_quote_month(book: TariffBook) -> None:
    result = quote(
        book, "passport_id_purchases", "monthly_flat", monthly_price=300, purchased_on="2025-01-20"
    )
    assert result["lines"][0]["quantity"] == 4  # January to April 2025 (as_of 2025-04-01)


def test_explicit_as_of_wins_over_the_request(book: TariffBook) -> None:
    request = {"as_of": "2012-07-01", "items": [{"tariff": "flets_joint", "item": "contract_fee"}]}
    assert book.quote(request, as_of=date(2025, 4, 1))["as_of"] == "2025-04-01"


# --- list and describe --------------------------------------------------------------------


def test_list_summaries(book: TariffBook) -> None:
    ids = [entry["id"] for entry in book.list()]
    assert ids == ["flets_joint", "matomete_merchant_fee", "passport_id_purchases", "tv_transport"]
    assert set(book.list()[0]) == {
        "id",
        "version",
        "title",
        "region",
        "effective_from",
        "effective_to",
    }


def test_describe_gives_schemas_figures_and_runnable_examples(book: TariffBook) -> None:
    described = book.describe("flets_joint")
    base = next(item for item in described["items"] if item["id"] == "base_fee")
    schema = base["params_schema"]
    assert schema["required"] == ["size_mb"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["size_mb"]["minimum"] == 0
    assert {f["id"] for f in described["figures"]} >= {"base_fee_menu", "contract_fee"}
    assert [r["id"] for r in described["readings"]] == ["AM13"]
    for example in described["examples"]:
        if "errors" not in example["expect"]:
            assert book.quote(example["request"])["lines"]


def test_describe_unknown_tariff(book: TariffBook) -> None:
    with pytest.raises(UnknownTariffError) as caught:
        book.describe("nope")
    assert isinstance(caught.value, EngineError)
    assert "tv_transport" in caught.value.known


def test_readings_are_recorded_with_both_readings(book: TariffBook) -> None:
    recorded = {
        reading["id"]
        for tariff_id in book.ids()
        for reading in book.describe(tariff_id)["readings"]
        if reading["chosen"]["en"] and reading["other"]["en"]
    }
    assert recorded >= {"AM2", "AM3", "AM9", "AM10", "AM11", "AM13", "AM15"}
