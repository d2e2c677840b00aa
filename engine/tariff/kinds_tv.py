"""Computation kinds of the TV transport terms (seed 004, 規約 第21–25条, 第29条, 料金表).

Each function prices one kind of item; the figures (450 yen, 29,000 yen, × 1.3 …) come from the tariff
file through named slots, so a new price needs a YAML edit, not a code change.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

from ..format.common import Gap, Text
from .computation import ItemContext, KindParam, KindSpec, Line, ParamProblem, text
from .money import exact, prorate, truncate_yen
from .periods import (
    Period,
    YearMonth,
    add_years,
    billing_period,
    blocks_by_month,
    charged_days,
    days_by_year,
    is_year_end_or_new_year,
    seconds_by_month,
    whole_blocks,
)

SECONDS_PER_DAY = 86_400


def _proration_detail(days: int, period: Period) -> dict[str, object]:
    return {
        "days": days,
        "days_in_period": period.days,
        "period_start": period.start.isoformat(),
        "period_end": (period.end - timedelta(days=1)).isoformat(),
        "prorated": days != period.days,
    }


def _monthly_amount(monthly: int, days: int, period: Period) -> int:
    """A month's fee for ``days`` of it: whole when every day is owed, else by calendar days (通則2, 3)."""
    return monthly if days == period.days else prorate(monthly, days, period.days)


def prorated_monthly(ctx: ItemContext) -> list[Line]:
    """The monthly usage fee per line for one billing month, prorated by calendar days (第21条, 通則2–3)."""
    monthly = ctx.yen("monthly")
    period = billing_period(ctx.param("month"), ctx.param("billing_start_day") or 1)
    days = charged_days(period, ctx.param("service_start"), ctx.param("cancelled_on"))
    lines = ctx.param("lines")
    detail = _proration_detail(days, period)
    if days == 0:
        return [
            Line(
                ctx.label("monthly"),
                status="not_charged",
                quantity=lines,
                unit_price=monthly,
                detail=detail,
                reason=text(
                    "この料金月には利用日がありません", "No day of this billing month is owed"
                ),
            )
        ]
    amount = _monthly_amount(monthly, days, period) * lines
    return [
        Line(
            ctx.label("monthly"),
            quantity=lines,
            unit_price=monthly,
            amount=amount,
            detail=detail,
            cite=(ctx.cite("monthly"),),
        )
    ]


def outage_credit(ctx: ItemContext) -> list[Line]:
    """Fees not owed for an outage (第21条2(3) table, 通則3): whole 24-hour blocks, or all time (intent)."""
    cause = ctx.param("cause")
    known_at: datetime = ctx.param("known_at")
    restored_at: datetime = ctx.param("restored_at")
    if cause == "contractor_fault":
        return [
            _no_credit(ctx, text("契約者の責めによる利用不能", "The contractor caused the outage"))
        ]
    monthly = ctx.yen("monthly")
    if cause == "ntt_intent_or_gross_negligence":
        seconds = seconds_by_month(known_at, restored_at)
        return [
            _credit_line(
                ctx,
                month,
                truncate_yen(Fraction(monthly * secs, month.days * SECONDS_PER_DAY)),
                {"seconds": secs},
            )
            for month, secs in seconds.items()
            if secs > 0
        ] or [_no_credit(ctx, text("利用不能時間がありません", "No outage time"))]
    blocks = blocks_by_month(whole_blocks(known_at, restored_at))
    if not blocks:
        return [
            _no_credit(
                ctx,
                text(
                    "当社が知った時刻から24時間以上継続していないため減額はありません",
                    "The outage did not last 24 hours from when NTT knew of it: no fee is waived",
                ),
            )
        ]
    return [
        _credit_line(ctx, month, prorate(monthly, count, month.days), {"blocks": count})
        for month, count in blocks.items()
    ]


def _credit_line(
    ctx: ItemContext, month: YearMonth, credit: int, detail: dict[str, object]
) -> Line:
    return Line(
        text(
            f"{ctx.label('monthly').ja}の減額（{month}）",
            f"{ctx.label('monthly').en}: amount not owed ({month})",
        ),
        quantity=1,
        unit_price=-credit,
        amount=-credit,
        detail={"month": str(month), "days_in_month": month.days, **detail},
        cite=(ctx.cite("monthly"),),
    )


def _no_credit(ctx: ItemContext, reason: Text) -> Line:
    return Line(ctx.item.title, status="not_charged", amount=0, reason=reason)


def invoice_fees(ctx: ItemContext) -> list[Line]:
    """Invoice issuance and collection fees (第1表 1(3), 2(2)) with every exclusion the table names."""
    start: date = ctx.param("service_start")
    charges_month: YearMonth = ctx.param("charges_month")
    start_month = YearMonth.of(start)
    if charges_month < start_month:
        raise ParamProblem("charges_month", "is before the month of service_start.")
    exclusion = _invoice_exclusion(ctx, start_month, charges_month)
    if exclusion is not None:
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=exclusion)]
    lines = [
        ctx.line(slot, count, ctx.yen(slot))
        for slot, count in (
            ("issuance", ctx.param("invoices")),
            ("collection", ctx.param("payments_by_invoice")),
        )
        if count
    ]
    return lines or [
        Line(
            ctx.item.title,
            status="not_charged",
            amount=0,
            reason=text(
                "請求書の発行も請求書による支払いもありません",
                "No invoice and no payment by invoice",
            ),
        )
    ]


def _invoice_exclusion(ctx: ItemContext, start: YearMonth, charges: YearMonth) -> Text | None:
    if not ctx.param("collab_line"):
        return text(
            "光コラボレーションモデルの利用回線に係る契約に限り適用します（第1表1(3)イ）",
            "Only contracts on hikari collaboration lines pay these fees (第1表1(3)イ)",
        )
    if ctx.param("corporate"):
        return text(
            "契約者が法人の場合は適用しません（第1表1(3)ウ(イ)）",
            "Not charged to corporate contractors (第1表1(3)ウ(イ))",
        )
    if ctx.param("joint_billing"):
        return text(
            "請求事業者が他社債権と一括して請求する場合は適用しません（第1表1(3)ウ(ア)）",
            "Not charged when the billing company bills NTT's and other companies' claims together",
        )
    if start.months_until(charges) <= 1:
        return text(
            "提供開始日を含む料金月及びその翌料金月分の料金には適用しません（第1表1(3)イ、読みAM15）",
            "Not charged on the charges of the start month and the month after (reading AM15)",
        )
    return None


def operator_change_fee(ctx: ItemContext) -> list[Line]:
    """Operator-change fee (第1表 1(4), 2(3)): per contract; simultaneous changes count once."""
    if ctx.param("to_collab_operator_service"):
        reason = text(
            "光コラボレーション事業者のサービスへ移行する事業者変更には適用しません（第1表1(4)ア）",
            "Not charged for a change into a collaboration operator's service (第1表1(4)ア)",
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]
    if ctx.param("cancelled_before_change"):
        reason = text(
            "事業者変更の実施前に解除されたため支払いを要しません（支払済みなら返還）（第1表1(4)ア）",
            "Cancelled before the change: nothing is owed, and a paid fee is refunded",
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]
    line = ctx.line("fee", ctx.param("contracts"), ctx.yen("fee"))
    line.detail["simultaneous_changes_counted_as_one"] = ctx.param("simultaneous_changes")
    return [line]


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
        raise ParamProblem(
            "work_date", "is needed when the daytime slot is designated (Dec 29–Jan 3 rule)."
        )
    if slot is not None:
        lines.append(_surcharge_line(ctx, slot, sum(line.amount or 0 for line in lines)))
    return lines


def _standard_work_lines(ctx: ItemContext) -> list[Line]:
    exchange = ctx.param("exchange_works")
    onu_count = ctx.param("onu_works")
    onu_amount = ctx.param("onu_work_amount")
    if onu_amount is not None and onu_count:
        raise ParamProblem("onu_work_amount", "give onu_works or onu_work_amount, not both.")
    if not exchange and not onu_count and not onu_amount:
        raise ParamProblem("exchange_works", "name at least one exchange or ONU work.")
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


def late_interest(ctx: ItemContext) -> list[Line]:
    """Late-payment interest (第25条): from the day after the due date to the day before payment."""
    due: date = ctx.param("due_date")
    paid: date = ctx.param("paid_on")
    rate = ctx.number("rate")
    ceiling = ctx.number("ceiling")
    if rate > ceiling:
        gap = Gap(
            missing=text(
                f"延滞利息の率の設定 {rate}% が上限 {ceiling}% を超えています",
                f"The interest rate setting {rate} % exceeds the {ceiling} % ceiling",
            ),
            ask=text("料金表の管理者", "The tariff's policy owner"),
        )
        return [Line(ctx.item.title, status="cannot_be_priced", amount=None, gap=gap)]
    days_after_due = (paid - due).days
    if days_after_due <= ctx.yen("grace_days"):
        return [_interest_free(ctx, days_after_due)]
    fixed_365 = not ctx.param("claim_assigned")
    by_year = days_by_year(due + timedelta(days=1), paid - timedelta(days=1))
    interest = sum(
        (
            Fraction(ctx.param("amount") * days) * exact(rate) / 100 / _year_length(year, fixed_365)
            for year, days in by_year.items()
        ),
        Fraction(0),
    )
    days = sum(by_year.values())
    return [
        Line(
            ctx.item.title,
            quantity=days,
            unit_price=None,
            amount=truncate_yen(interest),
            taxable=False,
            detail={
                "days": days,
                "rate_percent": str(rate),
                "year_basis": "365" if fixed_365 else "actual",
                "days_by_year": {str(year): count for year, count in by_year.items()},
                "principal": ctx.param("amount"),
            },
        )
    ]


def _year_length(year: int, fixed_365: bool) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 366 if leap and not fixed_365 else 365


def _interest_free(ctx: ItemContext, days_after_due: int) -> Line:
    if days_after_due <= 0:
        reason = text("支払期日までに支払われています", "Paid by the due date")
    else:
        reason = text(
            f"支払期日の翌日から起算して15日以内（{days_after_due}日目）の支払いです（第25条ただし書）",
            f"Paid on day {days_after_due} after the due date, within 15 days: no interest",
        )
    return Line(
        ctx.item.title,
        status="not_charged",
        amount=0,
        taxable=False,
        reason=reason,
        detail={"days_after_due": days_after_due},
    )


def evasion_surcharge(ctx: ItemContext) -> list[Line]:
    """Surcharge for evaded charges (第24条): the evaded amount plus twice it (tax-excluded), plus tax."""
    evaded = ctx.param("evaded_amount")
    multiple = ctx.yen("multiple")
    return [
        Line(
            text("不法に免れた額", "The evaded amount"),
            quantity=1,
            unit_price=evaded,
            amount=evaded,
        ),
        ctx.line("multiple", multiple, evaded),
    ]


def bulk_plan_monthly(ctx: ItemContext) -> list[Line]:
    """Bulk-building plan monthly charge per agreed unit, prorated on start, end and unit changes."""
    minimum = ctx.yen("min_units")
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
            amount=_monthly_amount(per_unit * count, days, period),
            detail=_proration_detail(days, period),
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
        raise ParamProblem(missing, "is needed together with the other unit-change parameter.")
    if (start is not None and approved < start) or (end is not None and approved > end):
        raise ParamProblem("units_change_approved_on", "must fall between plan_start and plan_end.")
    first = max(period.start, start) if start is not None else period.start
    before = max(0, min((min(approved, period.end) - first).days, total))
    return [(units, before), (changed_to, total - before)]


def _too_few_units(ctx: ItemContext, minimum: int) -> Line:
    reason = text(
        f"建物一括契約型料金は同一構内又は建物内に{minimum}以上の戸数がある場合に限り承諾されます（利用料金別表(2)ア）",
        f"The bulk plan is approved only for {minimum} or more units in the building",
    )
    return Line(ctx.item.title, status="refused", amount=None, reason=reason)


def early_abolition(ctx: ItemContext) -> list[Line]:
    """Bulk-plan abolition inside the minimum period (利用料金別表 ク–コ, reading AM11)."""
    start: date = ctx.param("exclusive_use_from")
    abolished: date = ctx.param("abolished_on")
    first_free_day = add_years(start, ctx.yen("minimum_years"))
    detail = {
        "minimum_period_end": (first_free_day - timedelta(days=1)).isoformat(),
        "abolition": ctx.param("abolition"),
    }
    if abolished >= first_free_day:
        reason = text(
            "基本適用期間（2年間）の経過後の廃止です", "Abolished after the two-year minimum period"
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason, detail=detail)]
    line = ctx.line("fee", ctx.param("lines"), ctx.yen("fee"))
    line.detail.update(detail)
    return [line]


SPECS: tuple[KindSpec, ...] = (
    KindSpec(
        "prorated_monthly",
        {
            "month": KindParam("month"),
            "service_start": KindParam("date", optional=True),
            "cancelled_on": KindParam("date", optional=True),
            "lines": KindParam("int"),
            "billing_start_day": KindParam("int", optional=True),
        },
        {"monthly": "value"},
        prorated_monthly,
        prorated_monthly.__doc__ or "",
    ),
    KindSpec(
        "outage_credit",
        {
            "known_at": KindParam("datetime"),
            "restored_at": KindParam("datetime"),
            "cause": KindParam("enum"),
        },
        {"monthly": "value"},
        outage_credit,
        outage_credit.__doc__ or "",
    ),
    KindSpec(
        "invoice_fees",
        {
            "charges_month": KindParam("month"),
            "service_start": KindParam("date"),
            "collab_line": KindParam("bool"),
            "corporate": KindParam("bool"),
            "joint_billing": KindParam("bool"),
            "invoices": KindParam("int"),
            "payments_by_invoice": KindParam("int"),
        },
        {"issuance": "value", "collection": "value"},
        invoice_fees,
        invoice_fees.__doc__ or "",
    ),
    KindSpec(
        "operator_change_fee",
        {
            "contracts": KindParam("int"),
            "simultaneous_changes": KindParam("int"),
            "to_collab_operator_service": KindParam("bool"),
            "cancelled_before_change": KindParam("bool"),
        },
        {"fee": "value"},
        operator_change_fee,
        operator_change_fee.__doc__ or "",
    ),
    KindSpec(
        "tv_construction",
        {
            "exchange_works": KindParam("int"),
            "onu_works": KindParam("int"),
            "onu_work_amount": KindParam("money", optional=True),
            "time_slot": KindParam("enum"),
            "work_date": KindParam("date", optional=True),
            "status": KindParam("enum"),
            "cost_of_work_done": KindParam("money", optional=True),
        },
        {
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
        tv_construction,
        tv_construction.__doc__ or "",
    ),
    KindSpec(
        "late_interest",
        {
            "amount": KindParam("money"),
            "due_date": KindParam("date"),
            "paid_on": KindParam("date"),
            "claim_assigned": KindParam("bool"),
        },
        {"rate": "value", "ceiling": "value", "grace_days": "value"},
        late_interest,
        late_interest.__doc__ or "",
    ),
    KindSpec(
        "evasion_surcharge",
        {"evaded_amount": KindParam("money")},
        {"multiple": "value"},
        evasion_surcharge,
        evasion_surcharge.__doc__ or "",
    ),
    KindSpec(
        "bulk_plan_monthly",
        {
            "month": KindParam("month"),
            "units": KindParam("int"),
            "plan_start": KindParam("date", optional=True),
            "plan_end": KindParam("date", optional=True),
            "units_changed_to": KindParam("int", optional=True),
            "units_change_approved_on": KindParam("date", optional=True),
            "billing_start_day": KindParam("int", optional=True),
        },
        {"per_unit": "value", "min_units": "value"},
        bulk_plan_monthly,
        bulk_plan_monthly.__doc__ or "",
    ),
    KindSpec(
        "early_abolition",
        {
            "exclusive_use_from": KindParam("date"),
            "abolished_on": KindParam("date"),
            "lines": KindParam("int"),
            "abolition": KindParam("enum"),
        },
        {"fee": "value", "minimum_years": "value"},
        early_abolition,
        early_abolition.__doc__ or "",
    ),
)
