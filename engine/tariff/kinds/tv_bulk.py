"""The bulk-building plan of the TV transport terms (seed 004, 利用料金別表 建物一括契約型料金).

The per-unit charge, the minimum number of units, the minimum period and the early-abolition fee come
from the tariff file through named slots; the texts quote them from there too.
"""

from __future__ import annotations

from datetime import date, timedelta

from ...messages import Code
from ..periods import Period, add_years, billing_period, charged_days
from .contract import ItemContext, KindParam, Line, ParamProblem, kind, text
from .tv_billing import monthly_amount, proration_detail


@kind(
    "bulk_plan_monthly",
    params={
        "month": KindParam("month"),
        "units": KindParam("int"),
        "plan_start": KindParam("date", optional=True),
        "plan_end": KindParam("date", optional=True),
        "units_changed_to": KindParam("int", optional=True),
        "units_change_approved_on": KindParam("date", optional=True),
        "billing_start_day": KindParam("int", optional=True),
    },
    figures={"per_unit": "value", "min_units": "value"},
)
def bulk_plan_monthly(ctx: ItemContext) -> list[Line]:
    """Bulk-building plan monthly charge per agreed unit, prorated on start, end and unit changes."""
    minimum = ctx.count("min_units")
    units = ctx.param("units")
    changed_to = ctx.param("units_changed_to")
    if min(units, changed_to if changed_to is not None else units) < minimum:
        return [_too_few_units(ctx, minimum)]
    period = billing_period(ctx.param("month"), ctx.param("billing_start_day") or 1)
    segments = _unit_segments(ctx, period)
    per_unit = ctx.yen("per_unit")
    return [
        Line(
            ctx.label("per_unit"),
            quantity=count,
            unit_price=per_unit,
            amount=monthly_amount(per_unit * count, days, period),
            detail=proration_detail(days, period),
            cite=(ctx.cite("per_unit"),),
        )
        for count, days in segments
        if days
    ] or [
        Line(
            ctx.label("per_unit"),
            status="not_charged",
            amount=0,
            reason=text("この料金月には適用日がありません", "No day of this billing month is owed"),
        )
    ]


def _unit_segments(ctx: ItemContext, period: Period) -> list[tuple[int, int]]:
    """(unit count, days) for each part of the month; a change applies from its approval date."""
    start, end = ctx.param("plan_start"), ctx.param("plan_end")
    units, changed_to = ctx.param("units"), ctx.param("units_changed_to")
    approved = ctx.param("units_change_approved_on")
    total = charged_days(period, start, end)
    if changed_to is None and approved is None:
        return [(units, total)]
    if changed_to is None or approved is None:
        missing = "units_changed_to" if changed_to is None else "units_change_approved_on"
        raise ParamProblem(missing, Code.UNIT_CHANGE_INCOMPLETE)
    if (start is not None and approved < start) or (end is not None and approved > end):
        raise ParamProblem("units_change_approved_on", Code.UNIT_CHANGE_OUTSIDE_PLAN)
    first = max(period.start, start) if start is not None else period.start
    before = max(0, min((min(approved, period.end) - first).days, total))
    return [(units, before), (changed_to, total - before)]


def _too_few_units(ctx: ItemContext, minimum: int) -> Line:
    reason = text(
        f"建物一括契約型料金は同一構内又は建物内に{minimum}以上の戸数がある場合に限り承諾されます（利用料金別表(2)ア）",
        f"The bulk plan is approved only for {minimum} or more units in the building",
    )
    return Line(ctx.item.title, status="refused", amount=None, reason=reason)


@kind(
    "early_abolition",
    params={
        "exclusive_use_from": KindParam("date"),
        "abolished_on": KindParam("date"),
        "lines": KindParam("int"),
        "abolition": KindParam("enum"),
    },
    figures={"fee": "value", "minimum_years": "value"},
)
def early_abolition(ctx: ItemContext) -> list[Line]:
    """Bulk-plan abolition inside the minimum period (利用料金別表 ク–コ, reading AM11)."""
    start: date = ctx.param("exclusive_use_from")
    abolished: date = ctx.param("abolished_on")
    years = ctx.count("minimum_years")
    first_free_day = add_years(start, years)
    detail = {
        "minimum_period_end": (first_free_day - timedelta(days=1)).isoformat(),
        "abolition": ctx.param("abolition"),
    }
    if abolished >= first_free_day:
        reason = text(
            f"基本適用期間（{years}年間）の経過後の廃止です",
            f"Abolished after the {_spelled_out(years)}-year minimum period",
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason, detail=detail)]
    line = ctx.line("fee", ctx.param("lines"), ctx.yen("fee"))
    line.detail.update(detail)
    return [line]


_SMALL_NUMBERS = "zero one two three four five six seven eight nine ten".split()


def _spelled_out(number: int) -> str:
    """Numbers up to ten in words ("a two-year period", as the English texts read), others in digits."""
    return _SMALL_NUMBERS[number] if 0 <= number < len(_SMALL_NUMBERS) else str(number)
