"""The フレッツ・まとめて支払い merchant fee (seed 000 3．提供料金の改定内容, reading AM9).

Only the band limits (900 / 1,500 yen) and the 3 % are in the seed. The lower bands' figures are outside
facts or inferences that the policy owner must set in the tariff file; until then those bands cannot be
priced, and once set every quote using them carries a warning naming the figure's provenance.
"""

from __future__ import annotations

from decimal import Decimal

from ...format.common import Gap
from ..money import percent_of, truncate_yen
from .contract import ItemContext, KindParam, Line, kind, text


@kind(
    "merchant_fee",
    params={
        "average_billed_yen": KindParam("decimal"),
        "lines": KindParam("int"),
        "starting_service": KindParam("bool"),
    },
    figures={
        "low_band_upper": "value",
        "mid_band_upper": "value",
        "low_rate": "value",
        "low_floor_below": "value",
        "low_floor_per_line": "value",
        "mid_flat_per_line": "value",
        "high_rate": "value",
    },
)
def merchant_fee(ctx: ItemContext) -> list[Line]:
    """The monthly fee by average billed amount per access line (tax-included average, AM9); a
    merchant starting the service also owes the separate construction fee (※2), which the source does
    not price, so its quote is never complete."""
    fee = _fee(ctx)
    if ctx.param("starting_service"):
        return [fee, _construction_fee()]
    return [fee]


def _construction_fee() -> Line:
    gap = Gap(
        missing=text(
            "本サービスの利用には別途工事費が必要ですが、その額は資料にありません（※2）",
            "Using the service needs a separate construction fee; the source gives no amount (※2)",
        ),
        ask=text(
            "NTT東日本フレッツ・まとめて支払い窓口（工事費の額）",
            "NTT East's まとめて支払い desk (the construction fee)",
        ),
    )
    return Line(
        text("工事費（別途）", "Construction fee (separate)"),
        status="cannot_be_priced",
        amount=None,
        gap=gap,
    )


def _fee(ctx: ItemContext) -> Line:
    average: Decimal = ctx.param("average_billed_yen")
    lines: int = ctx.param("lines")
    detail: dict[str, object] = {"average_billed_yen": str(average), "lines": lines}
    if average <= ctx.number("low_band_upper"):
        return _low_band(ctx, average, lines, detail)
    if average <= ctx.number("mid_band_upper"):
        flat = ctx.yen("mid_flat_per_line")
        return ctx.line("mid_flat_per_line", lines, flat, detail=detail)
    return _rate_line(ctx, "high_rate", average, lines, detail)


def _low_band(ctx: ItemContext, average: Decimal, lines: int, detail: dict[str, object]) -> Line:
    if average < ctx.number("low_floor_below"):
        floor = ctx.yen("low_floor_per_line")
        return ctx.line("low_floor_per_line", lines, floor, detail=detail)
    return _rate_line(ctx, "low_rate", average, lines, detail)


def _rate_line(
    ctx: ItemContext, slot: str, average: Decimal, lines: int, detail: dict[str, object]
) -> Line:
    percent = ctx.number(slot)
    amount = truncate_yen(percent_of(average * lines, percent))
    return Line(
        ctx.label(slot),
        quantity=lines,
        unit_price=None,
        amount=amount,
        detail={**detail, "rate_percent": str(percent), "billed_total": str(average * lines)},
        cite=(ctx.cite(slot),),
    )
