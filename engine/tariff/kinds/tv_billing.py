"""Computation kinds of the TV transport terms for the monthly bill (seed 004, 規約 第21条, 料金表 通則,
第1表): the usage fee, outage credits, invoice fees and the operator-change fee.

Each function prices one kind of item; the figures (450 yen a month, 100 yen an invoice …) come from the tariff file
through named slots, so a new price needs a YAML edit, not a code change.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

from ...format.common import Gap
from ...messages import Code
from ...messages.language import Text
from ..money import prorate, truncate_yen
from ..periods import (
    Period,
    YearMonth,
    billing_period,
    blocks_by_month,
    charged_days,
    seconds_by_month,
    whole_blocks,
)
from .contract import ItemContext, KindParam, Line, ParamProblem, kind, refunded, text

SECONDS_PER_DAY = 86_400


def proration_detail(days: int, period: Period) -> dict[str, object]:
    """What a line shows of a month's proration (the bulk plan shows the same)."""
    return {
        "days": days,
        "days_in_period": period.days,
        "period_start": period.start.isoformat(),
        "period_end": (period.end - timedelta(days=1)).isoformat(),
        "prorated": days != period.days,
    }


def monthly_amount(monthly: int, days: int, period: Period) -> int:
    """A month's fee for ``days`` of it: whole when every day is owed, else by calendar days (通則2, 3)."""
    return monthly if days == period.days else prorate(monthly, days, period.days)


@kind(
    "prorated_monthly",
    params={
        "month": KindParam("month"),
        "service_start": KindParam("date", optional=True),
        "cancelled_on": KindParam("date", optional=True),
        "lines": KindParam("int"),
        "billing_start_day": KindParam("int", optional=True),
    },
    figures={"monthly": "value"},
)
def prorated_monthly(ctx: ItemContext) -> list[Line]:
    """The monthly usage fee per line for one billing month, prorated by calendar days (第21条, 通則2–3)."""
    monthly = ctx.yen("monthly")
    period = billing_period(ctx.param("month"), ctx.param("billing_start_day") or 1)
    days = charged_days(period, ctx.param("service_start"), ctx.param("cancelled_on"))
    lines = ctx.param("lines")
    detail = proration_detail(days, period)
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
    amount = monthly_amount(monthly, days, period) * lines
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


@kind(
    "outage_credit",
    params={
        "known_at": KindParam("datetime"),
        "restored_at": KindParam("datetime"),
        "cause": KindParam("enum"),
        "lines": KindParam("int"),
    },
    figures={"monthly": "value"},
)
def outage_credit(ctx: ItemContext) -> list[Line]:
    """Fees not owed for an outage (第21条2(3) table, 通則3): whole 24-hour blocks, or all time (intent);
    per line, then × the lines the outage hit (as the monthly fee is prorated per line)."""
    return _outage_credit(ctx, per_line=ctx.param("lines"), together=1)


@kind(
    "bulk_plan_outage_credit",
    params={
        "known_at": KindParam("datetime"),
        "restored_at": KindParam("datetime"),
        "cause": KindParam("enum"),
        "units": KindParam("int"),
    },
    figures={"monthly": "value"},
)
def bulk_plan_outage_credit(ctx: ItemContext) -> list[Line]:
    """The same for a bulk-plan contract: the agreed units × the unit fee, credited as one amount (the
    bulk plan's monthly charge is prorated as one amount too)."""
    return _outage_credit(ctx, per_line=1, together=ctx.param("units"))


def _outage_credit(ctx: ItemContext, per_line: int, together: int) -> list[Line]:
    cause = ctx.param("cause")
    known_at: datetime = ctx.param("known_at")
    restored_at: datetime = ctx.param("restored_at")
    if cause == "contractor_fault":
        return [
            _no_credit(ctx, text("契約者の責めによる利用不能", "The contractor caused the outage"))
        ]
    monthly = ctx.yen("monthly") * together
    quantity = per_line * together
    if cause == "ntt_intent_or_gross_negligence":
        seconds = seconds_by_month(known_at, restored_at)
        return [
            _credit_line(
                ctx,
                month,
                truncate_yen(Fraction(monthly * secs, month.days * SECONDS_PER_DAY)) * per_line,
                quantity,
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
        _credit_line(
            ctx, month, prorate(monthly, count, month.days) * per_line, quantity, {"blocks": count}
        )
        for month, count in blocks.items()
    ]


def _credit_line(
    ctx: ItemContext, month: YearMonth, credit: int, quantity: int, detail: dict[str, object]
) -> Line:
    """A month's credit for ``quantity`` lines or units; ``unit_price`` is the whole credit when it was
    computed on the units together, so it is shown only when it divides evenly."""
    return Line(
        text(
            f"{ctx.label('monthly').ja}の減額（{month}）",
            f"{ctx.label('monthly').en}: amount not owed ({month})",
        ),
        quantity=quantity,
        unit_price=-(credit // quantity) if credit % quantity == 0 else None,
        amount=-credit,
        detail={"month": str(month), "days_in_month": month.days, **detail},
        cite=(ctx.cite("monthly"),),
    )


def _no_credit(ctx: ItemContext, reason: Text) -> Line:
    return Line(ctx.item.title, status="not_charged", amount=0, reason=reason)


@kind(
    "invoice_fees",
    params={
        "charges_month": KindParam("month"),
        "service_start": KindParam("date"),
        "collab_line": KindParam("bool"),
        "corporate": KindParam("bool"),
        "joint_billing": KindParam("bool"),
        "invoices": KindParam("int"),
        "payments_by_invoice": KindParam("int"),
    },
    figures={"issuance": "value", "collection": "value"},
)
def invoice_fees(ctx: ItemContext) -> list[Line]:
    """Invoice issuance and collection fees (第1表 1(3), 2(2)) with every exclusion the table names."""
    start: date = ctx.param("service_start")
    charges_month: YearMonth = ctx.param("charges_month")
    start_month = YearMonth.of(start)
    if charges_month < start_month:
        raise ParamProblem("charges_month", Code.MONTH_BEFORE_SERVICE_START)
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


@kind(
    "operator_change_fee",
    params={
        "contracts": KindParam("int"),
        "simultaneous": KindParam("enum"),
        "to_collab_operator_service": KindParam("bool"),
        "cancelled_before_change": KindParam("bool"),
        "already_paid": KindParam("bool"),
    },
    figures={"fee": "value"},
)
def operator_change_fee(ctx: ItemContext) -> list[Line]:
    """Operator-change fee (第1表 1(4), 2(3)): per contract; two or more changes made at the same time
    count as one only when they are of the kinds NTT defines separately (1(4)イ), which the sources do
    not list: unconfirmed, the quote cannot say whether one fee or one per contract is owed."""
    if ctx.param("to_collab_operator_service"):
        reason = text(
            "光コラボレーション事業者のサービスへ移行する事業者変更には適用しません（第1表1(4)ア）",
            "Not charged for a change into a collaboration operator's service (第1表1(4)ア)",
        )
        return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]
    contracts = ctx.param("contracts")
    simultaneous = ctx.param("simultaneous")
    fee = ctx.yen("fee")
    if contracts > 1 and simultaneous == "simultaneous_unconfirmed":
        return [_unconfirmed_simultaneous(ctx, contracts, fee)]
    counted_as_one = contracts > 1 and simultaneous == "simultaneous_specified"
    line = ctx.line("fee", 1 if counted_as_one else contracts, fee)
    line.detail["contracts"] = contracts
    line.detail["counted_as_one"] = counted_as_one
    if ctx.param("cancelled_before_change"):
        return _cancelled_before_change(ctx, line)
    return [line]


def _unconfirmed_simultaneous(ctx: ItemContext, contracts: int, fee: int) -> Line:
    gap = Gap(
        missing=text(
            "同時に行う2以上の事業者変更を1とみなす対象は「当社が別に定めるもの」とされ、"
            "資料にありません（第1表1(4)イ）",
            'Which simultaneous operator changes count as one is "defined separately" by NTT '
            "and not in the sources (第1表1(4)イ)",
        ),
        ask=text(
            "NTT東日本に、これらの事業者変更が1とみなされる対象かを確認",
            "NTT East, whether these changes are of the kinds counted as one",
        ),
    )
    return Line(
        ctx.item.title,
        status="cannot_be_priced",
        quantity=contracts,
        unit_price=fee,
        amount=None,
        gap=gap,
        detail={"if_counted_as_one": fee, "if_not": fee * contracts, "contracts": contracts},
    )


def _cancelled_before_change(ctx: ItemContext, line: Line) -> list[Line]:
    """Nothing is owed; a fee already paid comes back as an amount (第1表1(4)ア ただし書)."""
    if ctx.param("already_paid"):
        return refunded(
            [line],
            text(
                "事業者変更の実施前に解除があったため、支払済みの事業者変更手数料を返還します"
                "（第1表1(4)アただし書）",
                "Cancelled before the change: the fee already paid is refunded (第1表1(4)ア proviso)",
            ),
        )
    reason = text(
        "事業者変更の実施前に解除されたため支払いを要しません（第1表1(4)アただし書）",
        "Cancelled before the change: nothing is owed (第1表1(4)ア proviso)",
    )
    return [Line(ctx.item.title, status="not_charged", amount=0, reason=reason)]
