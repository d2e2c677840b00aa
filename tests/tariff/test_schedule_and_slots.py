"""Issue 17's tariff pieces, beyond the tariff files' own examples: construction priced from a start date
and time (the slots are the tariff's), refunds as amounts, outage credits for several lines, the billing
schedule with its odd-month carry, and the period before a tariff's prices."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.paths import PROJECT_ROOT
from engine.tariff import QuoteRequestError, load_tariffs

BOOK = load_tariffs(PROJECT_ROOT / "tariffs")
AS_OF = "2026-12-01"


def quote(item: str, tariff: str = "tv_transport", **params: Any) -> dict[str, Any]:
    request = {"as_of": AS_OF, "items": [{"tariff": tariff, "item": item, "params": params}]}
    return BOOK.quote(request)


def _expected_multiplier(moment: datetime) -> str | None:
    """An oracle written from 料金表 第2表 1(4) itself, independent of the tariff file's slots."""
    clock = moment.time()
    year_end = (moment.month, moment.day) >= (12, 29) or (moment.month, moment.day) <= (1, 3)
    if clock >= time(22) or clock < time(8, 30):
        return "1.6"
    if clock >= time(17) or year_end:
        return "1.3"
    return None


moments = st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(
    lambda m: m.replace(second=0, microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(moments)
def test_the_surcharge_follows_the_start_as_the_tariff_table_says(moment: datetime) -> None:
    lines = quote("construction", onu_works=1, starts_at=moment.isoformat(timespec="minutes"))[
        "lines"
    ]
    surcharge = [line["detail"]["multiplier"] for line in lines if "multiplier" in line["detail"]]
    expected = _expected_multiplier(moment)
    assert surcharge == ([expected] if expected else [])
    assert lines[0]["detail"]["out_of_hours"] is (expected is not None)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5), st.integers(0, 40), moments)
def test_a_refund_returns_exactly_what_was_paid(exchange: int, onu: int, moment: datetime) -> None:
    if not exchange and not onu:
        onu = 1
    params: dict[str, Any] = {
        "exchange_works": exchange,
        "onu_works": onu,
        "starts_at": moment.isoformat()[:16],
    }
    paid = quote("construction", **params)["totals"]
    refund = quote("construction", **params, status="cancelled_before_start", already_paid=True)[
        "totals"
    ]
    assert refund["amount_tax_excluded"] == -paid["amount_tax_excluded"]
    assert refund["amount_tax_included"] == -paid["amount_tax_included"]


def test_a_start_with_a_slot_code_or_a_work_date_is_refused() -> None:
    for extra in ({"time_slot": "evening"}, {"work_date": "2026-12-30"}):
        with pytest.raises(QuoteRequestError) as caught:
            quote("construction", onu_works=1, starts_at="2026-12-30T10:00", **extra)
        assert list(caught.value.fields) == ["items.0.params.starts_at"]


def test_the_slot_code_still_works_and_a_start_with_offset_is_refused() -> None:
    assert (
        quote("construction", onu_works=1, time_slot="night")["totals"]["amount_tax_excluded"]
        == 9800
    )
    with pytest.raises(QuoteRequestError) as caught:
        quote("construction", onu_works=1, starts_at="2026-12-30T10:00+09:00")
    assert list(caught.value.fields) == ["items.0.params.starts_at"]


@pytest.mark.parametrize("lines", [1, 2, 7, 1000])
def test_outage_credit_for_several_lines_is_the_one_line_credit_times_the_lines(
    lines: int,
) -> None:
    params = {"known_at": "2025-03-10T09:00", "restored_at": "2025-03-15T10:00"}
    one = quote("outage_credit", **params)["lines"][0]["amount"]
    many = quote("outage_credit", **params, lines=lines)["lines"][0]
    assert (many["amount"], many["quantity"]) == (one * lines, lines)


def _bills(**params: Any) -> list[dict[str, Any]]:
    return [line["detail"] for line in quote("billing_schedule", **params)["lines"]]


amounts = st.dictionaries(
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2024, 2027), st.integers(1, 12)),
    st.integers(0, 20000),
    min_size=1,
    max_size=24,
)
due_days = st.sampled_from(["day_5", "day_10", "day_15", "day_20", "day_25", "month_end"])


@settings(max_examples=200, deadline=None)
@given(amounts, due_days)
def test_no_bill_under_5000_is_sent_in_an_odd_month(months: dict[str, int], due_day: str) -> None:
    bills = _bills(amounts=months, due_day=due_day)
    sent: dict[str, int] = {}
    for detail in bills:
        period_end = date.fromisoformat(detail["period_end"])
        issue = date.fromisoformat(detail["issue_date"])
        due = date.fromisoformat(detail["due_date"])
        assert period_end < issue < due
        assert (due - period_end).days <= (62 if detail["carried_to_next_bill"] else 31)
        sent[detail["issue_date"]] = detail["bill_total"]
    assert sum(months.values()) == sum(sent.values())
    for issued, total in sent.items():
        if date.fromisoformat(issued).month % 2 == 1:
            assert total == 0 or total >= 5000


def test_a_carried_bill_lands_on_the_next_months_bill_only_once() -> None:
    # March (odd) 1,000 → April; April is even, so even under 5,000 it is sent, never carried twice.
    details = _bills(amounts={"2026-02": 1000, "2026-03": 1000}, due_day="month_end")
    assert [d["billed_with"] for d in details] == ["2026-03", "2026-03"]
    assert {d["issue_date"] for d in details} == {"2026-04-15"}


@pytest.mark.parametrize(
    "amounts",
    [{}, {"2026-13": 1}, {"2026-01": -1}, {"2026-01": True}, {"2026-01": "1000"},
     {f"{2020 + n // 12}-{n % 12 + 1:02d}": 1 for n in range(61)}, [1000]],
)  # fmt: skip
def test_month_amounts_are_refused_when_malformed(amounts: Any) -> None:
    with pytest.raises(QuoteRequestError) as caught:
        quote("billing_schedule", amounts=amounts)
    assert list(caught.value.fields) == ["items.0.params.amounts"]


def test_the_period_before_the_prices_cannot_be_priced_for_every_item() -> None:
    tariff = BOOK.versions("flets_joint")[0]
    assert tariff.earlier_period is not None
    day = tariff.effective_from - timedelta(days=1)
    request = {
        "as_of": day.isoformat(),
        "items": [
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1}},
            {"tariff": "flets_joint", "item": "construction", "params": {"new_softwares": 1}},
        ],
    }
    result = BOOK.quote(request)
    assert [line["status"] for line in result["lines"]] == ["cannot_be_priced"] * 2
    assert all(line["provenance"] is None for line in result["lines"])
    assert result["totals"]["complete"] is False
    assert "2019" in result["lines"][0]["gap"]["missing"]["en"]
