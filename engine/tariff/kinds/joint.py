"""Computation kinds of the Flets Joint tariff (seed 003 料金): size menus and construction."""

from __future__ import annotations

from decimal import Decimal

from ...messages import Code
from ..model import Band
from ..periods import YearMonth
from .contract import ItemContext, KindParam, Line, ParamProblem, kind, text


def band_for(bands: tuple[Band, ...], size: Decimal) -> Band | None:
    """The first band whose strict upper bound exceeds ``size`` (「5M未満」 …), or None past the last."""
    return next((band for band in bands if size < band.below), None)


@kind(
    "size_band_monthly",
    params={
        "size_mb": KindParam("decimal"),
        "quantity": KindParam("int"),
        "month": KindParam("month", optional=True),
        "registered_on": KindParam("date", optional=True),
    },
    figures={"bands": "bands"},
)
def size_band_monthly(ctx: ItemContext) -> list[Line]:
    """A monthly fee chosen by size from a table with strict upper bounds, from the month after
    registration and never prorated (003 料金 1 ※)."""
    size: Decimal = ctx.param("size_mb")
    bands = ctx.bands("bands")
    band = band_for(bands, size)
    detail: dict[str, object] = {"size_mb": str(size)}
    if band is None:
        # The table's own name for its rows: 基本利用料 has メニュー, 配信対象ごと加算料 プラン (003 料金 1).
        table = ctx.label("bands")
        reason = text(
            f"{table.ja}の料金表は{bands[-1].below}MB未満までで、{size}MBの区分はありません"
            "（配信不可として扱います。読みAM13）",
            f"The {table.en} table stops below {bands[-1].below} MB: {size} MB has no tier, "
            "treated as not deliverable (reading AM13)",
        )
        return [Line(ctx.item.title, status="refused", amount=None, reason=reason, detail=detail)]
    detail["band"] = band.label.en
    quantity = ctx.param("quantity")
    month, registered = ctx.param("month"), ctx.param("registered_on")
    if (month is None) != (registered is None):
        missing = "registered_on" if registered is None else "month"
        raise ParamProblem(missing, Code.JOINT_MONTH_AND_REGISTRATION)
    if month is not None and month <= YearMonth.of(registered):
        reason = text(
            "月額利用料は登録月の翌月から課金します（日割りなし）",
            "Monthly fees start the month after registration (no proration)",
        )
        return [
            Line(
                band.label,
                status="not_charged",
                quantity=quantity,
                unit_price=band.value,
                amount=0,
                reason=reason,
                detail=detail,
            )
        ]
    return [
        Line(
            band.label,
            quantity=quantity,
            unit_price=band.value,
            amount=quantity * band.value,
            detail=detail,
            cite=(ctx.cite("bands"),),
        )
    ]


@kind(
    "joint_construction",
    params={
        "new_softwares": KindParam("int"),
        "changed_softwares": KindParam("int"),
        "other_changes": KindParam("int"),
    },
    figures={"basic": "value", "new": "value", "change": "value", "other_change": "value"},
)
def joint_construction(ctx: ItemContext) -> list[Line]:
    """Basic fee per job plus exchange work per software (003 工事費)."""
    counts = {
        "new": ctx.param("new_softwares"),
        "change": ctx.param("changed_softwares"),
        "other_change": ctx.param("other_changes"),
    }
    if not any(counts.values()):
        raise ParamProblem("new_softwares", Code.JOINT_CONSTRUCTION_WITHOUT_WORK)
    lines = [ctx.line("basic", 1, ctx.yen("basic"))]
    lines.extend(ctx.line(slot, count, ctx.yen(slot)) for slot, count in counts.items() if count)
    return lines
