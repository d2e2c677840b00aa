"""Construction fees of the TV transport terms (seed 004, 料金表 第2表, 規約 第22条).

The figures (the basic fee, 29,000 yen per addition, × 1.3 out of hours …) come from the tariff file
through named slots, so a new price needs a YAML edit, not a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from ...format.common import Gap
from ...messages import Code
from ..model import TimeSlot
from ..money import exact, truncate_yen
from .contract import ItemContext, KindParam, Line, ParamProblem, kind, refunded, text


def onu_additions(onu_total: int, step: int) -> int:
    """Additions to the basic fee for ONU work over ``step`` yen (第2表 (2)ア, reading AM2).

    One addition per started ``step`` beyond the first ``step``: 29,000 → 0, 29,001 → 1, 58,000 → 1,
    58,001 → 2.
    """
    if onu_total <= step:
        return 0
    return -(-(onu_total - step) // step)


#: The kind's multiplier slots, in the order their time slots are tried: the first that contains the
#: start wins (the source's slots do not overlap; a tariff that made them overlap gets the night rate).
RATE_SLOTS = ("night_multiplier", "evening_multiplier")

#: A designated slot as the applicant's code names it (``time_slot``), and the multiplier slot it is.
DESIGNATED = {"night": "night_multiplier", "evening": "evening_multiplier"}


@dataclass(frozen=True)
class Surcharge:
    """The out-of-hours rate a job is priced at: the multiplier's slot and the time slot that chose it."""

    rate: str
    time_slot: TimeSlot


def surcharge_at(moment: datetime, rates: Mapping[str, tuple[TimeSlot, ...]]) -> Surcharge | None:
    """The rate of a job starting at ``moment`` (料金表 第2表 1(4), reading TR2): the first multiplier
    whose time slots (hours and days, from the tariff file) contain the start; None = standard fee."""
    for rate in RATE_SLOTS:
        for time_slot in rates.get(rate, ()):
            if time_slot.contains(moment):
                return Surcharge(rate, time_slot)
    return None


def surcharge_for_code(
    code: str, work_date: date | None, rates: Mapping[str, tuple[TimeSlot, ...]]
) -> Surcharge | None:
    """The rate of a designated slot given by its code (``time_slot``): evening and night are their
    multipliers' plain hours; a designated daytime costs a multiplier only on the days one of its time
    slots is limited to (29 December–3 January, when the 1.3 slot starts at 08:30); not designated: none.
    """
    rate = DESIGNATED.get(code)
    if rate is not None:
        plain = [s for s in rates.get(rate, ()) if s.days is None]
        return Surcharge(rate, plain[0]) if plain else None
    if code != "daytime" or work_date is None:
        return None
    for rate in RATE_SLOTS:
        for time_slot in rates.get(rate, ()):
            if time_slot.days is not None and time_slot.on_day(work_date):
                return Surcharge(rate, time_slot)
    return None


@kind(
    "tv_construction",
    params={
        "exchange_works": KindParam("int"),
        "onu_works": KindParam("int"),
        "onu_work_amount": KindParam("money", optional=True),
        "time_slot": KindParam("enum", optional=True),
        "work_date": KindParam("date", optional=True),
        "starts_at": KindParam("datetime", optional=True),
        "status": KindParam("enum"),
        "cost_of_work_done": KindParam("money", optional=True),
        "already_paid": KindParam("bool"),
    },
    figures={
        "basic": "value",
        "addition": "value",
        "addition_step": "value",
        "exchange_only_basic": "value",
        "exchange_work": "value",
        "onu_work": "value",
        "evening_multiplier": "timed",
        "night_multiplier": "timed",
        "out_of_hours_deduction": "value",
    },
)
def tv_construction(ctx: ItemContext) -> list[Line]:
    """Construction fees for one job (or simultaneous jobs counted as one) under 第2表 and 第22条."""
    status = ctx.param("status")
    if status == "cancelled_during_work":
        return [_partial_work_line(ctx)]
    if status != "cancelled_before_start":
        return _fee_lines(ctx)
    if ctx.param("already_paid"):
        reason = text(
            "工事の着手前に解除等があったため、支払済みの工事費を返還します（第22条1 ただし書）",
            "Cancelled before the work started: the fee already paid is refunded (第22条1 proviso)",
        )
        return refunded(_fee_lines(ctx), reason)
    reason = text(
        "工事の着手前に解除等があったため工事費の支払いを要しません（第22条1 ただし書）",
        "Cancelled before the work started: no construction fee is owed (第22条1 proviso)",
    )
    return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]


def _fee_lines(ctx: ItemContext) -> list[Line]:
    """The fee of the job: the work lines and, for a designated out-of-hours slot, its surcharge."""
    lines = _standard_work_lines(ctx)
    surcharge = _surcharge(ctx)
    if ctx.param("starts_at") is not None:
        lines[0].detail["starts_at"] = ctx.param("starts_at").isoformat(timespec="minutes")
        lines[0].detail["out_of_hours"] = surcharge is not None
    if surcharge is not None:
        lines.append(_surcharge_line(ctx, surcharge, sum(line.amount or 0 for line in lines)))
    return lines


def _surcharge(ctx: ItemContext) -> Surcharge | None:
    """From the start (``starts_at``) or from the designated slot's code (``time_slot``), not both."""
    rates = {rate: ctx.time_slots(rate) for rate in RATE_SLOTS}
    starts_at: datetime | None = ctx.param("starts_at")
    code = ctx.param("time_slot")
    if starts_at is not None:
        if code is not None or ctx.param("work_date") is not None:
            raise ParamProblem("starts_at", Code.STARTS_AT_OR_TIME_SLOT)
        return surcharge_at(starts_at, rates)
    if code == "daytime" and ctx.param("work_date") is None:
        raise ParamProblem("work_date", Code.WORK_DATE_FOR_DAYTIME)
    return surcharge_for_code(code or "not_designated", ctx.param("work_date"), rates)


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


def _surcharge_line(ctx: ItemContext, surcharge: Surcharge, total: int) -> Line:
    """The surcharge as a line of its own: ``(total − 1,000) × m + 1,000`` less the total."""
    multiplier = ctx.number(surcharge.rate)
    deduction = ctx.yen("out_of_hours_deduction")
    surcharged = truncate_yen((exact(total) - deduction) * exact(multiplier) + deduction)
    extra = surcharged - total
    return Line(
        surcharge.time_slot.label,
        quantity=1,
        unit_price=extra,
        amount=extra,
        detail={
            "total_before": total,
            "multiplier": str(multiplier),
            "total_after": surcharged,
            "time_slot": surcharge.time_slot.id,
        },
        cite=(ctx.cite(surcharge.rate),),
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
