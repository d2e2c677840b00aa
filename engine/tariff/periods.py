"""Calendar arithmetic the tariffs share: billing months, charged days, 24-hour blocks, month counts.

Every function here is a small, pure piece of one clause; each docstring names the clause it encodes.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

DAY = timedelta(days=1)
BLOCK = timedelta(hours=24)

#: The calendar a quote's parameters may name (dates, date-times, months): years 1900 to 2999. Far wider
#: than any tariff's validity, and far inside what ``datetime`` holds (years 1 to 9999), so no step a
#: kind takes from a parameter — the next month, the day before or after, the years of a minimum
#: period, 24-hour blocks — can leave it (a month of 9999-12 once answered 500: there is no 10000-01).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)

_MONTH_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}")


@dataclass(frozen=True, order=True)
class YearMonth:
    """A calendar month, written ``YYYY-MM`` in requests."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> YearMonth:
        """Read ``YYYY-MM`` (ASCII digits: ``int`` would also take ``+123``, `` 123`` or ``١٢٣٤``);
        raises ``ValueError`` for anything else."""
        if not _MONTH_TEXT.fullmatch(text):
            raise ValueError("expected YYYY-MM")
        month = cls(int(text[:4]), int(text[5:]))
        if not 1 <= month.month <= 12:
            raise ValueError("month must be 01 to 12")
        return month

    @classmethod
    def of(cls, day: date) -> YearMonth:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def plus(self, months: int) -> YearMonth:
        index = self.year * 12 + self.month - 1 + months
        return YearMonth(index // 12, index % 12 + 1)

    def months_until(self, other: YearMonth) -> int:
        """How many months from ``self`` to ``other`` (0 for the same month)."""
        return (other.year - self.year) * 12 + other.month - self.month

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]


FIRST_MONTH = YearMonth.of(FIRST_DAY)
LAST_MONTH = YearMonth.of(LAST_DAY)


@dataclass(frozen=True)
class Period:
    """Days ``start`` (included) to ``end`` (excluded)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def billing_period(month: YearMonth, start_day: int = 1) -> Period:
    """The 料金月 that starts on ``start_day`` (起算日, 通則1 and 4) of ``month``.

    With the usual start day 1 this is the calendar month; otherwise it runs to the day before the same
    day of the next month, so its length is still the calendar days it covers (通則3).
    """
    following = month.plus(1)
    return Period(
        date(month.year, month.month, start_day),
        date(following.year, following.month, start_day),
    )


def charged_days(period: Period, start: date | None, cancelled_on: date | None) -> int:
    """Days of ``period`` owed under 第21条: from the start date to the day before cancellation.

    A service started and cancelled on the same day is owed for that one day (第21条 括弧書き).
    """
    if start is not None and cancelled_on is not None and start == cancelled_on:
        return 1 if period.contains(start) else 0
    first = max(period.start, start) if start is not None else period.start
    last = min(period.end, cancelled_on) if cancelled_on is not None else period.end
    return max(0, (last - first).days)


def whole_blocks(known_at: datetime, restored_at: datetime) -> list[date]:
    """The calendar day each whole 24-hour block of an outage starts on (第21条2(3) table, 通則3).

    Blocks are counted from the time NTT knew of the outage; a remainder under 24 hours does not count.
    """
    count = (restored_at - known_at) // BLOCK if restored_at > known_at else 0
    return [(known_at + BLOCK * index).date() for index in range(count)]


def blocks_by_month(days: list[date]) -> dict[YearMonth, int]:
    """How many blocks start in each calendar month."""
    return dict(sorted(Counter(YearMonth.of(day) for day in days).items()))


def seconds_by_month(start: datetime, end: datetime) -> dict[YearMonth, int]:
    """The seconds of ``start``–``end`` falling in each calendar month."""
    result: dict[YearMonth, int] = {}
    cursor = start
    while cursor < end:
        month = YearMonth.of(cursor.date())
        following = month.plus(1)
        boundary = datetime(following.year, following.month, 1)
        stop = min(end, boundary)
        result[month] = result.get(month, 0) + int((stop - cursor).total_seconds())
        cursor = stop
    return result


def flat_months(purchased_on: date, cancelled_on: date | None, through: YearMonth) -> int:
    """Months charged for a monthly-flat Passport ID purchase (001 料金計算方法, reading AM3).

    Every calendar month from the purchase month to the cancellation month counts, with no proration.
    A cancellation on the 1st frees that month — unless the purchase was on that same 1st.
    A purchase not cancelled counts through ``through``.
    """
    if cancelled_on is None:
        last = through
    elif cancelled_on.day == 1 and cancelled_on != purchased_on:
        last = YearMonth.of(cancelled_on).plus(-1)
    else:
        last = YearMonth.of(cancelled_on)
    return max(0, YearMonth.of(purchased_on).months_until(last) + 1)


def days_by_year(first: date, last: date) -> dict[int, int]:
    """The days ``first``–``last`` (both included) falling in each calendar year."""
    result: dict[int, int] = {}
    year = first.year
    while year <= last.year:
        start = max(first, date(year, 1, 1))
        stop = min(last, date(year, 12, 31))
        if start <= stop:
            result[year] = (stop - start).days + 1
        year += 1
    return result


def add_years(day: date, years: int) -> date:
    """The same date ``years`` later; 29 February moves to 1 March when the target year has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)
