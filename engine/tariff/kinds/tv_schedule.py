"""Which NTT Finance bill a month's TV charges land on (seed 004, the guide's billing pages).

The guide prints a standard table (ご案内 請求 発行スケジュール): by the customer's due date, the billing
period, the day the bill is issued and the due (debit) date; and it says that an odd month's bill under
5,000 yen is not sent but billed with the next month's (ご案内 請求 奇数月). The table's issue days and the
5,000 yen come from the tariff file; how the rows read (reading BS1) and which month is "odd" (BS2) are
recorded there.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ..periods import YearMonth
from .contract import ItemContext, KindParam, Line, kind, text
from .joint import band_for

#: The due-date codes of the table's rows, as the day of the month (31: the last day, 末日).
DUE_DAYS = {"day_5": 5, "day_10": 10, "day_15": 15, "day_20": 20, "day_25": 25, "month_end": 31}

#: Invoices are mailed this many days before the due date (ご案内 請求 支払方法 請求書).
INVOICE_MAILED_DAYS_BEFORE = 10


def day_in(month: YearMonth, day: int) -> date:
    """Day ``day`` of ``month``; 31 (末日) and any day past the month's end is its last day."""
    return date(month.year, month.month, min(day, calendar.monthrange(month.year, month.month)[1]))


@dataclass(frozen=True)
class Bill:
    """The standard schedule of the charges of one billing period (reading BS1)."""

    period_start: date
    period_end: date
    issue: date
    due: date


def standard_bill(period_month: YearMonth, due_day: int, issue_day: int) -> Bill:
    """The period ending in ``period_month`` on the due day (末日: the calendar month), issued on the
    table's issue day right after the period ends, due on the due day of the following month."""
    end = day_in(period_month, due_day)
    start = day_in(period_month.plus(-1), due_day) + timedelta(days=1)
    issue_month = period_month if issue_day > end.day else period_month.plus(1)
    return Bill(start, end, day_in(issue_month, issue_day), day_in(period_month.plus(1), due_day))


@kind(
    "billing_schedule",
    params={
        "amounts": KindParam("month_amounts"),
        "due_day": KindParam("enum"),
        "payment_method": KindParam("enum"),
    },
    figures={"issue_days": "bands", "carry_below": "value"},
)
def billing_schedule(ctx: ItemContext) -> list[Line]:
    """Each period's charges and the bill they land on: an odd month's bill under the threshold is not
    sent, and its charges are billed with the next month's (two months on one bill)."""
    due_day = DUE_DAYS[ctx.param("due_day")]
    band = band_for(ctx.bands("issue_days"), Decimal(due_day))
    assert band is not None, "validated: the table has a row for every due-date code"
    threshold = ctx.yen("carry_below")
    amounts: dict[YearMonth, int] = ctx.param("amounts")
    bills = {month: standard_bill(month, due_day, band.value) for month in amounts}
    landing: dict[YearMonth, YearMonth] = {}
    carried: int | None = None
    for month in _months_through(amounts):
        bill = bills.setdefault(month, standard_bill(month, due_day, band.value))
        total = amounts.get(month, 0) + (carried or 0)
        if carried is None and bill.issue.month % 2 == 1 and 0 < total < threshold:
            carried = total
            landing[month] = month.plus(1)
            continue
        carried = None
        landing[month] = month
    return [_line(ctx, month, amount, bills, landing, amounts) for month, amount in amounts.items()]


def _months_through(amounts: dict[YearMonth, int]) -> list[YearMonth]:
    """Every month from the first listed to one past the last (where a carried bill may land)."""
    first, last = min(amounts), max(amounts)
    return [first.plus(n) for n in range(first.months_until(last) + 2)]


def _line(
    ctx: ItemContext,
    month: YearMonth,
    amount: int,
    bills: dict[YearMonth, Bill],
    landing: dict[YearMonth, YearMonth],
    amounts: dict[YearMonth, int],
) -> Line:
    own, target = bills[month], bills[landing[month]]
    with_it = [m for m in landing if landing[m] == landing[month] and m in amounts]
    detail: dict[str, object] = {
        "period_start": own.period_start.isoformat(),
        "period_end": own.period_end.isoformat(),
        "billed_with": str(landing[month]),
        "carried_to_next_bill": landing[month] != month,
        "issue_date": target.issue.isoformat(),
        "due_date": target.due.isoformat(),
        "bill_total": sum(amounts[m] for m in with_it),
    }
    method = ctx.param("payment_method")
    if method == "credit_card":
        detail["due_date"] = None  # the card company's own payment day (ご案内 請求 支払方法)
    if method == "invoice":
        mailed = target.due - timedelta(days=INVOICE_MAILED_DAYS_BEFORE)
        detail["invoice_mailed_by"] = mailed.isoformat()
    line = Line(
        text(
            f"{own.period_end.year}年{own.period_end.month}月{own.period_end.day}日までの料金計算期間の料金",
            f"Charges of the billing period ending {own.period_end.isoformat()}",
        ),
        quantity=1,
        unit_price=amount,
        amount=amount,
        detail=detail,
        taxable=False,
    )
    line.warnings.append(
        (
            "caller_supplied",
            text(
                "この額は依頼者の入力値（請求額・税込）で、料金表の額ではありません",
                "This amount was supplied by the caller (a tax-included bill amount); "
                "it is not a tariff figure",
            ),
        )
    )
    return line
