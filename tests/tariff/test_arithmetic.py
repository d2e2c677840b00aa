"""Unit tests of the small pieces: money, calendar helpers and the construction formulas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.messages.language import Text
from engine.tariff import TariffBook
from engine.tariff.kinds.joint import band_for
from engine.tariff.kinds.tv_construction import (
    RATE_SLOTS,
    onu_additions,
    surcharge_at,
    surcharge_for_code,
)
from engine.tariff.model import Band, TimeSlot
from engine.tariff.money import prorate, split_tax_included, tax_on, truncate_yen
from engine.tariff.periods import (
    YearMonth,
    add_years,
    billing_period,
    blocks_by_month,
    charged_days,
    days_by_year,
    flat_months,
    seconds_by_month,
    whole_blocks,
)


def test_tax_is_truncated_below_one_yen() -> None:
    assert tax_on(289, Decimal("0.10")) == 28
    assert tax_on(5650, Decimal("0.10")) == 565
    assert truncate_yen(Decimal("-29.9")) == -29


def test_tax_included_price_splits_exactly() -> None:
    assert split_tax_included(11000, Decimal("0.10")) == (10000, 1000)
    assert split_tax_included(110, Decimal("0.10")) == (100, 10)


def test_prorate_by_calendar_days() -> None:
    assert prorate(450, 18, 28) == 289
    assert prorate(450, 1, 31) == 14
    with pytest.raises(ValueError):
        prorate(450, 1, 0)


@pytest.mark.parametrize(
    ("total", "additions"),
    [(0, 0), (28000, 0), (29000, 0), (29001, 1), (30000, 1), (58000, 1), (58001, 2), (87001, 3)],
)
def test_onu_additions_follow_reading_am2(total: int, additions: int) -> None:
    assert onu_additions(total, 29000) == additions


def _rates(book: TariffBook) -> dict[str, tuple[TimeSlot, ...]]:
    """The bundled TV tariff's out-of-hours time slots (料金表 第2表 1(4)), by multiplier slot."""
    tariff = book.versions("tv_transport")[-1]
    item = tariff.items["construction"]
    return {rate: tariff.figures[item.figures[rate]].time_slots for rate in RATE_SLOTS}


@pytest.mark.parametrize(
    ("slot", "day", "expected"),
    [
        ("not_designated", date(2025, 12, 30), None),
        ("daytime", date(2025, 12, 28), None),
        ("daytime", date(2025, 12, 29), "evening_multiplier"),
        ("daytime", date(2026, 1, 3), "evening_multiplier"),
        ("daytime", date(2026, 1, 4), None),
        ("evening", date(2025, 6, 1), "evening_multiplier"),
        ("night", None, "night_multiplier"),
    ],
)
def test_out_of_hours_only_when_designated(
    book: TariffBook, slot: str, day: date | None, expected: str | None
) -> None:
    found = surcharge_for_code(slot, day, _rates(book))
    assert (found.rate if found else None) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-12-02T08:29", "night"),
        ("2026-12-02T08:30", None),
        ("2026-12-02T16:59", None),
        ("2026-12-02T17:00", "evening"),
        ("2026-12-02T21:59", "evening"),
        ("2026-12-02T22:00", "night"),
        ("2026-12-02T23:59", "night"),
        ("2026-12-03T00:00", "night"),
        ("2026-12-28T21:00", "evening"),
        ("2026-12-28T12:00", None),
        ("2026-12-29T08:29", "night"),
        ("2026-12-29T08:30", "year_end"),
        ("2026-12-31T12:00", "year_end"),
        ("2027-01-01T12:00", "year_end"),
        ("2027-01-03T21:59", "year_end"),
        ("2027-01-03T22:00", "night"),
        ("2027-01-04T08:30", None),
    ],
)
def test_the_slot_follows_from_the_start(book: TariffBook, start: str, expected: str) -> None:
    found = surcharge_at(datetime.fromisoformat(start), _rates(book))
    assert (found.time_slot.id if found else None) == expected


def test_a_slot_over_midnight_and_days_over_new_year() -> None:
    label = Text("x", "x")
    night = TimeSlot(
        "n", datetime(2000, 1, 1, 22).time(), datetime(2000, 1, 1, 8, 30).time(), None, label
    )
    assert night.contains(datetime(2026, 6, 1, 3, 0))
    assert not night.contains(datetime(2026, 6, 1, 8, 30))
    year_end = TimeSlot(
        "y",
        datetime(2000, 1, 1, 8, 30).time(),
        datetime(2000, 1, 1, 22).time(),
        ((12, 29), (1, 3)),
        label,
    )
    assert year_end.on_day(date(2026, 12, 29)) and year_end.on_day(date(2027, 1, 3))
    assert not year_end.on_day(date(2026, 12, 28)) and not year_end.on_day(date(2027, 1, 4))


def test_february_periods() -> None:
    assert billing_period(YearMonth(2025, 2)).days == 28
    assert billing_period(YearMonth(2024, 2)).days == 29
    period = billing_period(YearMonth(2025, 1), start_day=15)
    assert (period.start, period.end, period.days) == (date(2025, 1, 15), date(2025, 2, 15), 31)


def test_charged_days_rules_of_article_21() -> None:
    feb = billing_period(YearMonth(2025, 2))
    assert charged_days(feb, None, None) == 28
    assert charged_days(feb, date(2025, 2, 11), None) == 18
    assert charged_days(feb, None, date(2025, 2, 11)) == 10
    assert charged_days(feb, date(2025, 2, 1), date(2025, 2, 1)) == 1
    assert charged_days(feb, date(2025, 2, 20), date(2025, 2, 20)) == 1
    assert charged_days(feb, date(2025, 1, 20), date(2025, 2, 1)) == 0
    assert charged_days(feb, date(2025, 3, 5), None) == 0


def test_whole_blocks_count_from_when_ntt_knew() -> None:
    start = datetime(2025, 1, 30, 12, 0)
    assert whole_blocks(start, datetime(2025, 1, 31, 11, 59)) == []
    days = whole_blocks(start, datetime(2025, 2, 2, 12, 0))
    assert days == [date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)]
    assert blocks_by_month(days) == {YearMonth(2025, 1): 2, YearMonth(2025, 2): 1}
    assert whole_blocks(start, start) == []


def test_seconds_by_month_split_at_midnight() -> None:
    split = seconds_by_month(datetime(2025, 1, 31, 23, 0), datetime(2025, 2, 1, 2, 0))
    assert split == {YearMonth(2025, 1): 3600, YearMonth(2025, 2): 7200}


@pytest.mark.parametrize(
    ("bought", "cancelled", "through", "months"),
    [
        (date(2025, 1, 15), date(2025, 3, 10), None, 3),  # pattern 1
        (date(2025, 1, 15), None, YearMonth(2025, 1), 1),  # pattern 2, in month N
        (date(2025, 1, 5), date(2025, 1, 25), None, 1),  # pattern 3
        (date(2025, 1, 15), date(2025, 2, 1), None, 1),  # pattern 6
        (date(2025, 2, 1), date(2025, 2, 1), None, 1),  # same 1st: charged one month
        (date(2025, 1, 1), date(2025, 2, 1), None, 1),
        (date(2025, 1, 15), date(2025, 3, 1), None, 2),  # AM3: the 1st of any month
        (date(2024, 11, 20), date(2025, 1, 31), None, 3),  # across a year end
    ],
)
def test_flat_months(
    bought: date, cancelled: date | None, through: YearMonth | None, months: int
) -> None:
    assert flat_months(bought, cancelled, through or YearMonth(2030, 1)) == months


def test_days_by_year_and_add_years() -> None:
    assert days_by_year(date(2023, 12, 30), date(2024, 1, 2)) == {2023: 2, 2024: 2}
    assert add_years(date(2024, 2, 29), 2) == date(2026, 3, 1)
    assert add_years(date(2024, 4, 1), 2) == date(2026, 4, 1)


def test_year_month_parsing() -> None:
    assert YearMonth.parse("2025-02") == YearMonth(2025, 2)
    assert YearMonth(2025, 12).plus(1) == YearMonth(2026, 1)
    for bad in ("2025-13", "2025-2", "202502", "2025-02-01"):
        with pytest.raises(ValueError):
            YearMonth.parse(bad)


def test_band_for_uses_strict_upper_bounds() -> None:
    bands = (Band(Decimal(5), 1, Text("a", "a")), Band(Decimal(10), 2, Text("b", "b")))
    assert band_for(bands, Decimal("4.99")).value == 1  # type: ignore[union-attr]
    assert band_for(bands, Decimal(5)).value == 2  # type: ignore[union-attr]
    assert band_for(bands, Decimal(10)) is None
