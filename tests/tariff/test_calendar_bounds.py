"""Dates, date-times and months of a quote stay in the calendar the kinds' arithmetic covers.

A month of ``9999-12`` used to answer 500: the billing period of a month ends on the first day of the
next, and there is no 10000-01 (likewise a bulk plan's minimum period from a date in year 9999). Every
date-like parameter is now bounded to years 1900–2999 (engine/tariff/periods.py) and a value outside is
a field error; inside, every bundled item prices or refuses with field errors, at the very edges too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.messages import Code, Message
from engine.tariff import QuoteRequestError, TariffBook
from engine.tariff.model import Item, ParamSpec
from engine.tariff.periods import FIRST_DAY, FIRST_MONTH, LAST_DAY, LAST_MONTH, YearMonth

AS_OF = "2025-04-01"
FieldErrors = Callable[[TariffBook, dict[str, Any]], dict[str, list[str]]]


def request(item: str, tariff: str = "tv_transport", **params: Any) -> dict[str, Any]:
    return {"as_of": AS_OF, "items": [{"tariff": tariff, "item": item, "params": params}]}


def codes(messages: list[str]) -> list[Code | None]:
    return [m.code if isinstance(m, Message) else None for m in messages]


def test_the_calendar_is_years_1900_to_2999() -> None:
    assert (FIRST_DAY, LAST_DAY) == (date(1900, 1, 1), date(2999, 12, 31))
    assert (str(FIRST_MONTH), str(LAST_MONTH)) == ("1900-01", "2999-12")


def test_a_quote_for_month_9999_12_names_the_field_in_both_languages(
    book: TariffBook, field_errors: FieldErrors
) -> None:
    errors = field_errors(book, request("monthly_fee", month="9999-12"))
    (message,) = errors["items.0.params.month"]
    assert isinstance(message, Message) and message.code is Code.MONTH_OUT_OF_RANGE
    assert message == "Must be a month from 1900-01 to 2999-12."
    assert message.render("ja") == "1900-01 から 2999-12 までの年月を指定してください。"


@pytest.mark.parametrize("month", ["1900-01", "2999-12", "2025-04"])
def test_months_at_the_edges_are_priced(book: TariffBook, month: str) -> None:
    line = book.quote(request("monthly_fee", month=month))["lines"][0]
    assert line["amount"] == 450


@pytest.mark.parametrize("month", ["1899-12", "3000-01", "9999-12", "0001-01", "0000-01"])
def test_months_outside_are_refused(
    book: TariffBook, field_errors: FieldErrors, month: str
) -> None:
    errors = field_errors(book, request("monthly_fee", month=month))
    assert codes(errors["items.0.params.month"]) == [Code.MONTH_OUT_OF_RANGE]


@pytest.mark.parametrize(
    "month", ["+999-01", " 999-01", "١٢٣٤-01", "2025-4", "2025-04-01", "2025-13"]
)
def test_a_month_that_is_not_yyyy_mm_in_ascii_digits_is_not_a_month(
    book: TariffBook, field_errors: FieldErrors, month: str
) -> None:
    errors = field_errors(book, request("monthly_fee", month=month))
    assert codes(errors["items.0.params.month"]) == [Code.PARAM_NOT_A_MONTH]


@pytest.mark.parametrize("day", ["2025-W14-2", "２０２５-04-01", "2025-4-1"])
def test_a_date_that_is_not_yyyy_mm_dd_in_ascii_digits_is_not_a_date(
    book: TariffBook, field_errors: FieldErrors, day: str
) -> None:
    errors = field_errors(book, request("monthly_fee", month="2025-04", service_start=day))
    assert codes(errors["items.0.params.service_start"]) == [Code.PARAM_NOT_A_DATE]


@pytest.mark.parametrize(
    ("item", "params", "field"),
    [
        ("monthly_fee", {"month": "2025-04", "service_start": "9999-12-31"}, "service_start"),
        ("monthly_fee", {"month": "2025-04", "service_start": "0001-01-01"}, "service_start"),
        ("monthly_fee", {"month": "2025-04", "service_start": "1899-12-31"}, "service_start"),
        (
            "outage_credit",
            {"known_at": "9999-12-31T00:00", "restored_at": "9999-12-31T23:59"},
            "known_at",
        ),
        (
            "bulk_plan_early_abolition",
            {"exclusive_use_from": "9999-12-01", "abolished_on": "9999-12-31"},
            "exclusive_use_from",
        ),
    ],
)
def test_dates_and_date_times_outside_are_refused_naming_the_calendar(
    book: TariffBook, field_errors: FieldErrors, item: str, params: dict[str, str], field: str
) -> None:
    errors = field_errors(book, request(item, **params))
    (message,) = errors[f"items.0.params.{field}"]
    assert isinstance(message, Message) and message.code is Code.DATE_OUT_OF_RANGE
    assert message == "Must be a date (or date-time) from 1900-01-01 to 2999-12-31."


# --- inside the calendar, the arithmetic never fails --------------------------------------------------

EDGE_DAYS = [FIRST_DAY, LAST_DAY]
EDGE_TEXT: dict[str, list[str]] = {
    "date": [d.isoformat() for d in EDGE_DAYS],
    "datetime": [f"{FIRST_DAY.isoformat()}T00:00", f"{LAST_DAY.isoformat()}T23:59"],
    "month": [str(FIRST_MONTH), str(LAST_MONTH)],
}
DATE_LIKE = tuple(EDGE_TEXT)


def ordinary(spec: ParamSpec) -> Any:
    """A plain valid value of a parameter that is not date-like."""
    match spec.type:
        case "enum":
            return next(iter(spec.values))
        case "bool":
            return False
        case "string":
            return "x"
        case _:
            return int(spec.minimum) if spec.minimum is not None and spec.minimum > 0 else 1


def items(book: TariffBook) -> list[tuple[str, str, Item]]:
    return [(t.id, name, item) for t in book.tariffs for name, item in t.items.items()]


def priced_or_refused(book: TariffBook, tariff: str, item: str, params: dict[str, Any]) -> None:
    """The quote is priced or refused with field errors; any other exception fails the test."""
    try:
        book.quote({"as_of": AS_OF, "items": [{"tariff": tariff, "item": item, "params": params}]})
    except QuoteRequestError as exc:
        assert exc.fields


def test_every_item_prices_or_refuses_at_the_edges_of_the_calendar(book: TariffBook) -> None:
    checked = 0
    for tariff, name, item in items(book):
        base = {p: ordinary(s) for p, s in item.params.items() if s.type not in DATE_LIKE}
        date_like = {p: s for p, s in item.params.items() if s.type in DATE_LIKE}
        for edge in (0, 1):
            together = {p: EDGE_TEXT[s.type][edge] for p, s in date_like.items()}
            priced_or_refused(book, tariff, name, {**base, **together})
            for param, spec in date_like.items():
                for value in EDGE_TEXT[spec.type]:
                    priced_or_refused(book, tariff, name, {**base, **together, param: value})
                    checked += 1
    assert checked >= 20  # every bundled month, date and date-time parameter, at both edges


@st.composite
def date_like_value(draw: st.DrawFn, kind: str) -> str:
    day = draw(st.dates(FIRST_DAY, LAST_DAY))
    if kind == "month":
        return str(YearMonth.of(day))
    if kind == "datetime":
        return f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
    return day.isoformat()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_date_like_values_inside_the_calendar_price_or_refuse(
    book: TariffBook, data: st.DataObject
) -> None:
    tariff, name, item = data.draw(st.sampled_from(items(book)))
    params = {p: ordinary(s) for p, s in item.params.items() if s.type not in DATE_LIKE}
    for param, spec in item.params.items():
        if spec.type in DATE_LIKE and (spec.required or data.draw(st.booleans())):
            params[param] = data.draw(date_like_value(spec.type))
    priced_or_refused(book, tariff, name, params)
