"""Property tests of the arithmetic the tariffs rely on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.paths import PROJECT_ROOT
from engine.tariff import load_tariffs
from engine.tariff.kinds.tv_construction import onu_additions
from engine.tariff.money import prorate
from engine.tariff.periods import YearMonth, billing_period, charged_days, flat_months

BOOK = load_tariffs(PROJECT_ROOT / "tariffs")
AS_OF = "2025-04-01"
months = st.builds(YearMonth, st.integers(2000, 2099), st.integers(1, 12))
fees = st.integers(0, 10_000_000)


def _quote(tariff: str, item: str, **params: object) -> dict[str, object]:
    return BOOK.quote(
        {"as_of": AS_OF, "items": [{"tariff": tariff, "item": item, "params": params}]}
    )


@given(fees, months, st.integers(0, 40), st.integers(0, 40))
def test_prorated_month_never_exceeds_the_full_month(
    fee: int, month: YearMonth, a: int, b: int
) -> None:
    period = billing_period(month)
    start = period.start + timedelta(days=min(a, b))
    cancel = period.start + timedelta(days=max(a, b))
    days = charged_days(period, start, cancel)
    assert 0 <= days <= period.days
    assert 0 <= prorate(fee, days, period.days) <= fee


@given(fees, months, st.integers(1, 27))
def test_a_month_split_in_two_sums_to_the_fee_within_truncation(
    fee: int, month: YearMonth, cut: int
) -> None:
    period = billing_period(month)
    cut_day = period.start + timedelta(days=cut)
    before = charged_days(period, None, cut_day)
    after = charged_days(period, cut_day, None)
    assert before + after == period.days
    total = prorate(fee, before, period.days) + prorate(fee, after, period.days)
    assert fee - 1 <= total <= fee


@given(fees, months)
def test_daily_amounts_over_a_month_sum_to_the_fee_within_truncation(
    fee: int, month: YearMonth
) -> None:
    period = billing_period(month)
    daily = [
        prorate(fee, charged_days(period, d, d), period.days)
        for d in _days(period.start, period.end)
    ]
    assert fee - period.days < sum(daily) <= fee


def _days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)]


@settings(deadline=None)  # quotes run the whole pipeline; a loaded machine is slow
@given(
    st.decimals(min_value=0, max_value=Decimal("24.99"), places=2),
    st.decimals(min_value=0, max_value=Decimal("24.99"), places=2),
)
def test_joint_base_fee_is_monotone_in_size(a: Decimal, b: Decimal) -> None:
    small, large = sorted((a, b))
    fee_small = _quote("flets_joint", "base_fee", size_mb=str(small))["totals"][
        "amount_tax_included"
    ]  # type: ignore[index]
    fee_large = _quote("flets_joint", "base_fee", size_mb=str(large))["totals"][
        "amount_tax_included"
    ]  # type: ignore[index]
    assert fee_small <= fee_large


@given(st.integers(0, 500_000), st.integers(0, 500_000))
def test_onu_additions_are_monotone(a: int, b: int) -> None:
    small, large = sorted((a, b))
    assert onu_additions(small, 29000) <= onu_additions(large, 29000)
    assert onu_additions(large, 29000) * 29000 < max(
        large, 29000
    )  # never more than one per started step


@settings(deadline=None)  # quotes run the whole pipeline; a loaded machine is slow
@given(st.integers(1, 300_000), st.integers(1, 300_000))
def test_construction_total_is_monotone_in_onu_work(a: int, b: int) -> None:
    small, large = sorted((a, b))
    totals = [
        _quote("tv_transport", "construction", onu_work_amount=amount)["totals"][
            "amount_tax_excluded"
        ]  # type: ignore[index]
        for amount in (small, large)
    ]
    assert totals[0] <= totals[1]


@settings(deadline=None)  # quotes run the whole pipeline; a loaded machine is slow
@given(st.integers(0, 800), st.integers(0, 800))
def test_interest_is_monotone_in_days_late(a: int, b: int) -> None:
    due = date(2023, 6, 30)
    amounts = [
        _quote(
            "tv_transport",
            "late_interest",
            amount=50_000,
            due_date=due.isoformat(),
            paid_on=(due + timedelta(days=d)).isoformat(),
        )["totals"]["amount_tax_excluded"]  # type: ignore[index]
        for d in sorted((a, b))
    ]
    assert amounts[0] <= amounts[1]


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 1000))
def test_flat_months_count_whole_calendar_months(bought: date, later: int) -> None:
    cancelled = bought + timedelta(days=later)
    months_charged = flat_months(bought, cancelled, YearMonth(2031, 1))
    span = YearMonth.of(bought).months_until(YearMonth.of(cancelled)) + 1
    freed = cancelled.day == 1 and cancelled != bought
    assert months_charged == span - (1 if freed else 0)
    assert months_charged >= 1
