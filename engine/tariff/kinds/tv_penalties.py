"""What the TV transport terms add when charges are paid late or evaded (seed 004, 規約 第24条, 第25条).

The rate, its ceiling, the grace period and the multiple come from the tariff file through named slots;
the texts quote them from there too, so editing a figure cannot leave an explanation behind.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from ...format.common import Gap
from ..money import exact, truncate_yen
from ..periods import days_by_year
from .contract import ItemContext, KindParam, Line, kind, text


@kind(
    "late_interest",
    params={
        "amount": KindParam("money"),
        "due_date": KindParam("date"),
        "paid_on": KindParam("date"),
        "claim_assigned": KindParam("bool"),
    },
    figures={"rate": "value", "ceiling": "value", "grace_days": "value"},
)
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
    grace_days = ctx.count("grace_days")
    if days_after_due <= grace_days:
        return [_interest_free(ctx, days_after_due, grace_days)]
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


def _interest_free(ctx: ItemContext, days_after_due: int, grace_days: int) -> Line:
    if days_after_due <= 0:
        reason = text("支払期日までに支払われています", "Paid by the due date")
    else:
        reason = text(
            f"支払期日の翌日から起算して{grace_days}日以内（{days_after_due}日目）の支払いです（第25条ただし書）",
            f"Paid on day {days_after_due} after the due date, within {grace_days} days: no interest",
        )
    return Line(
        ctx.item.title,
        status="not_charged",
        amount=0,
        taxable=False,
        reason=reason,
        detail={"days_after_due": days_after_due},
    )


@kind(
    "evasion_surcharge",
    params={"evaded_amount": KindParam("money")},
    figures={"multiple": "value"},
)
def evasion_surcharge(ctx: ItemContext) -> list[Line]:
    """Surcharge for evaded charges (第24条): the evaded amount plus twice it (tax-excluded), plus tax."""
    evaded = ctx.param("evaded_amount")
    multiple = ctx.count("multiple")
    return [
        Line(
            text("不法に免れた額", "The evaded amount"),
            quantity=1,
            unit_price=evaded,
            amount=evaded,
        ),
        ctx.line("multiple", multiple, evaded),
    ]
