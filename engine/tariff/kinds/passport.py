"""Computation kinds for purchases paid with a Flets Passport ID (seed 001 料金計算方法)."""

from __future__ import annotations

from ...messages import Code
from ..periods import YearMonth, flat_months
from .common import CALLER_PRICE_WARNING
from .contract import ItemContext, KindParam, Line, ParamProblem, kind


@kind(
    "monthly_flat",
    params={
        "monthly_price": KindParam("money"),
        "purchased_on": KindParam("date"),
        "cancelled_on": KindParam("date", optional=True),
        "through_month": KindParam("month", optional=True),
    },
    figures={},
)
def monthly_flat(ctx: ItemContext) -> list[Line]:
    """A monthly-flat service: the merchant's price × the months charged (no proration)."""
    purchased = ctx.param("purchased_on")
    cancelled = ctx.param("cancelled_on")
    through = ctx.param("through_month") or YearMonth.of(ctx.as_of)
    if cancelled is None and through < YearMonth.of(purchased):
        raise ParamProblem("through_month", Code.MONTH_BEFORE_PURCHASE)
    months = flat_months(purchased, cancelled, through)
    price = ctx.param("monthly_price")
    line = Line(
        ctx.item.title,
        quantity=months,
        unit_price=price,
        amount=months * price,
        detail={
            "first_month": str(YearMonth.of(purchased)),
            "last_month": str(YearMonth.of(purchased).plus(months - 1)),
            "months": months,
            "still_active": cancelled is None,
        },
    )
    line.warnings.append(("caller_supplied", CALLER_PRICE_WARNING))
    return [line]
