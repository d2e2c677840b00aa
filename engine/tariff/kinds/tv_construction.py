"""Construction fees of the TV transport terms (seed 004, 料金表 第2表, 規約 第22条).

The figures (the basic fee, 29,000 yen per addition, × 1.3 out of hours …) come from the tariff file
through named slots, so a new price needs a YAML edit, not a code change.
"""

from __future__ import annotations

from datetime import date

from ...format.common import Gap
from ...messages import Code
from ..money import exact, truncate_yen
from ..periods import is_year_end_or_new_year
from .contract import ItemContext, KindParam, Line, ParamProblem, kind, text


def onu_additions(onu_total: int, step: int) -> int:
    """Additions to the basic fee for ONU work over ``step`` yen (第2表 (2)ア, reading AM2).

    One addition per started ``step`` beyond the first ``step``: 29,000 → 0, 29,001 → 1, 58,000 → 1,
    58,001 → 2.
    """
    if onu_total <= step:
        return 0
    return -(-(onu_total - step) // step)


def out_of_hours_slot(slot: str, work_date: date | None) -> str | None:
    """The multiplier slot for a designated time slot (第2表 (4)), or None for the standard fee.

    Only a designated slot is surcharged. A designated daytime slot costs × 1.3 on Dec 29–Jan 3, when the
    evening rate runs from 08:30.
    """
    if slot == "night":
        return "night_multiplier"
    if slot == "evening":
        return "evening_multiplier"
    if slot == "daytime" and work_date is not None and is_year_end_or_new_year(work_date):
        return "evening_multiplier"
    return None


@kind(
    "tv_construction",
    params={
        "exchange_works": KindParam("int"),
        "onu_works": KindParam("int"),
        "onu_work_amount": KindParam("money", optional=True),
        "time_slot": KindParam("enum"),
        "work_date": KindParam("date", optional=True),
        "status": KindParam("enum"),
        "cost_of_work_done": KindParam("money", optional=True),
    },
    figures={
        "basic": "value",
        "addition": "value",
        "addition_step": "value",
        "exchange_only_basic": "value",
        "exchange_work": "value",
        "onu_work": "value",
        "evening_multiplier": "value",
        "night_multiplier": "value",
        "out_of_hours_deduction": "value",
    },
)
def tv_construction(ctx: ItemContext) -> list[Line]:
    """Construction fees for one job (or simultaneous jobs counted as one) under 第2表 and 第22条."""
    status = ctx.param("status")
    if status == "cancelled_before_start":
        reason = text(
            "工事の着手前に解除等があったため工事費の支払いを要しません（第22条1）",
            "Cancelled before the work started: no construction fee is owed (第22条1)",
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]
    if status == "cancelled_during_work":
        return [_partial_work_line(ctx)]
    lines = _standard_work_lines(ctx)
    slot = out_of_hours_slot(ctx.param("time_slot"), ctx.param("work_date"))
    if ctx.param("time_slot") == "daytime" and ctx.param("work_date") is None:
        raise ParamProblem("work_date", Code.WORK_DATE_FOR_DAYTIME)
    if slot is not None:
        lines.append(_surcharge_line(ctx, slot, sum(line.amount or 0 for line in lines)))
    return lines


def _standard_work_lines(ctx: ItemContext) -> list[Line]:
    exchange = ctx.param("exchange_works")
    onu_count = ctx.param("onu_works")
    onu_amount = ctx.param("onu_work_amount")
    if onu_amount is not None and onu_count:
        raise ParamProblem("onu_work_amount", Code.ONU_WORKS_OR_AMOUNT)
    if not exchange and not onu_count and not onu_amount:
        raise ParamProblem("exchange_works", Code.CONSTRUCTION_WITHOUT_WORK)
    onu_total = onu_amount if onu_amount is not None else onu_count * ctx.yen("onu_work")
    lines: list[Line] = []
    if not onu_total:
        lines.append(ctx.line("exchange_only_basic", 1, ctx.yen("exchange_only_basic")))
    else:
        lines.append(ctx.line("basic", 1, ctx.yen("basic")))
        additions = onu_additions(onu_total, ctx.yen("addition_step"))
        if additions:
            line = ctx.line("addition", additions, ctx.yen("addition"))
            line.detail["onu_work_total"] = onu_total
            lines.append(line)
    if exchange:
        lines.append(ctx.line("exchange_work", exchange, ctx.yen("exchange_work")))
    if onu_amount is not None:
        lines.append(ctx.line("onu_work", 1, onu_amount))
        lines[-1].warnings.append(("caller_supplied", _CALLER_SUPPLIED))
    elif onu_count:
        lines.append(ctx.line("onu_work", onu_count, ctx.yen("onu_work")))
    return lines


_CALLER_SUPPLIED = text(
    "この額は依頼者の入力値で、料金表の額ではありません",
    "This amount was supplied by the caller; it is not a tariff figure",
)


def _surcharge_line(ctx: ItemContext, slot: str, total: int) -> Line:
    multiplier = ctx.number(slot)
    deduction = ctx.yen("out_of_hours_deduction")
    surcharged = truncate_yen((exact(total) - deduction) * exact(multiplier) + deduction)
    extra = surcharged - total
    return Line(
        ctx.label(slot),
        quantity=1,
        unit_price=extra,
        amount=extra,
        detail={
            "total_before": total,
            "multiplier": str(multiplier),
            "total_after": surcharged,
            "time_slot": ctx.param("time_slot"),
        },
        cite=(ctx.cite(slot),),
    )


def _partial_work_line(ctx: ItemContext) -> Line:
    cost = ctx.param("cost_of_work_done")
    if cost is None:
        gap = Gap(
            missing=text(
                "着手後の解除では着手済み部分の実費を負担しますが、その額は料金表にありません（第22条2）",
                "Cancelled mid-work: the cost of the part done is owed, but no tariff figure gives it",
            ),
            ask=text(
                "NTT東日本（工事担当）に着手済み部分の費用を確認",
                "NTT East's works desk, for the cost of the part done",
            ),
        )
        return Line(ctx.item.title, status="cannot_be_priced", amount=None, gap=gap)
    line = Line(
        text("着手済み部分の工事費用（第22条2）", "Cost of the work done before cancellation"),
        quantity=1,
        unit_price=cost,
        amount=cost,
    )
    line.warnings.append(("caller_supplied", _CALLER_SUPPLIED))
    return line
