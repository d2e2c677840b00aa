"""Computation kinds shared by several tariffs: unit prices, gaps, caller-supplied amounts."""

from __future__ import annotations

from ...format.common import Gap
from .contract import ItemContext, KindParam, Line, kind, text

CALLER_PRICE_WARNING = text(
    "単価は依頼者の入力値（事業者が定める料金）で、料金表の額ではありません",
    "The unit price was supplied by the caller (set by the merchant); it is not a tariff figure",
)


@kind("per_unit", params={"quantity": KindParam("int")}, figures={"unit": "value"})
def per_unit(ctx: ItemContext) -> list[Line]:
    """``quantity`` × one unit price from the tariff (certificates, contract fees …)."""
    return [ctx.line("unit", ctx.param("quantity"), ctx.yen("unit"))]


@kind("unpriced", params={}, figures={})
def unpriced(ctx: ItemContext) -> list[Line]:
    """An item the sources name but do not price: always a "cannot be priced" line naming the gap."""
    gap = ctx.item.gap or Gap(
        missing=text("資料に額がありません", "The sources give no amount"),
        ask=text("料金表の管理者", "The tariff's policy owner"),
    )
    return [Line(ctx.item.title, status="cannot_be_priced", amount=None, gap=gap)]


@kind(
    "supplied_amount",
    params={"amount": KindParam("money"), "description": KindParam("string")},
    figures={},
)
def supplied_amount(ctx: ItemContext) -> list[Line]:
    """An amount from another tariff billed together (合算) with this one, e.g. the guide's statement."""
    description = ctx.param("description")
    amount = ctx.param("amount")
    line = Line(text(description, description), quantity=1, unit_price=amount, amount=amount)
    line.warnings.append(
        (
            "caller_supplied",
            text(
                "この額は依頼者の入力値で、この料金表の額ではありません",
                "This amount was supplied by the caller; it is not a figure of this tariff",
            ),
        )
    )
    return [line]


@kind(
    "per_use",
    params={"unit_price": KindParam("money"), "purchases": KindParam("int")},
    figures={},
)
def per_use(ctx: ItemContext) -> list[Line]:
    """Per-use charging (001 都度課金): every purchase is charged, buying again is charged again."""
    price = ctx.param("unit_price")
    purchases = ctx.param("purchases")
    line = Line(ctx.item.title, quantity=purchases, unit_price=price, amount=price * purchases)
    line.warnings.append(("caller_supplied", CALLER_PRICE_WARNING))
    return [line]
