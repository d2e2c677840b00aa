"""The contract between the quote builder and the computation kinds.

A *computation kind* is a small Python function selected by name in a tariff's ``items.<id>.kind``. It
receives an :class:`ItemContext` (the item, its validated parameters, the quote date and access to the
figures bound to its slots) and returns :class:`Line` objects in the tariff's price basis. Tax, warnings
about unsourced figures and citations are added by the quote builder, never by a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from ..format.common import Citation, Gap, Text
from .model import Band, Figure, Item, ParamType, Tariff

LineStatus = Literal["priced", "not_charged", "cannot_be_priced", "refused"]
FigureShape = Literal["value", "bands"]


@dataclass
class Line:
    """One line of a quote as a kind computes it (before tax)."""

    description: Text
    status: LineStatus = "priced"
    quantity: int | Decimal = 1
    unit_price: int | None = None
    amount: int | None = 0
    detail: dict[str, Any] = field(default_factory=dict)
    cite: tuple[Citation, ...] = ()
    reason: Text | None = None
    gap: Gap | None = None
    warnings: list[tuple[str, Text]] = field(default_factory=list)
    taxable: bool = True


class ParamProblem(Exception):
    """A parameter combination a kind refuses; reported under ``items.N.params.<field>``."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


class FigureUnavailable(Exception):
    """A figure the item needs has no value (a gap in the sources) or is not in force on the date."""

    def __init__(self, figure: Figure, gap: Gap) -> None:
        self.figure = figure
        self.gap = gap
        super().__init__(figure.id)


@dataclass(frozen=True)
class KindParam:
    """A parameter a kind reads: its type and whether the kind copes with it being absent."""

    type: ParamType
    optional: bool = False


@dataclass(frozen=True)
class KindSpec:
    """A computation kind: the parameters and figure slots it needs, and the function."""

    name: str
    params: Mapping[str, KindParam]
    figures: Mapping[str, FigureShape]
    compute: Callable[[ItemContext], list[Line]]
    doc: str


@dataclass
class ItemContext:
    """What a kind may see while pricing one requested item."""

    tariff: Tariff
    item: Item
    params: Mapping[str, Any]
    as_of: date
    used: dict[str, Figure] = field(default_factory=dict)

    def figure(self, slot: str) -> Figure:
        """The figure bound to ``slot``; raises :class:`FigureUnavailable` when it cannot be used."""
        figure = self.tariff.figures[self.item.figures[slot]]
        if not figure.in_force(self.as_of):
            raise FigureUnavailable(figure, _not_in_force_gap(figure, self.as_of))
        if figure.value is None and not figure.bands:
            raise FigureUnavailable(figure, figure.gap or _unset_gap(figure))
        self.used[figure.id] = figure
        return figure

    def yen(self, slot: str) -> int:
        """A whole-yen figure (or a count)."""
        value = self.number(slot)
        return int(value)

    def number(self, slot: str) -> Decimal:
        value = self.figure(slot).value
        assert value is not None, "validated: a value figure has a value or a gap"
        return value

    def bands(self, slot: str) -> tuple[Band, ...]:
        return self.figure(slot).bands

    def label(self, slot: str) -> Text:
        return self.tariff.figures[self.item.figures[slot]].label

    def cite(self, slot: str) -> Citation:
        return self.tariff.figures[self.item.figures[slot]].cite

    def param(self, name: str) -> Any:
        return self.params.get(name)

    def line(self, slot: str, quantity: int, unit_price: int, **extra: Any) -> Line:
        """A priced line for ``quantity`` × the figure in ``slot``."""
        return Line(
            description=self.label(slot),
            quantity=quantity,
            unit_price=unit_price,
            amount=quantity * unit_price,
            cite=(self.cite(slot),),
            **extra,
        )


def _not_in_force_gap(figure: Figure, day: date) -> Gap:
    return Gap(
        missing=Text(
            ja=f"{figure.label.ja}（{figure.id}）は {day.isoformat()} に適用される額がありません",
            en=f"The figure {figure.id} ({figure.label.en}) is not in force on {day.isoformat()}",
        ),
        ask=Text(ja="料金表の管理者", en="The tariff's policy owner"),
    )


def _unset_gap(figure: Figure) -> Gap:
    return Gap(
        missing=Text(
            ja=f"{figure.label.ja}（{figure.id}）の額は資料にありません",
            en=f"The sources do not give {figure.label.en} ({figure.id})",
        ),
        ask=Text(ja="料金表の管理者", en="The tariff's policy owner"),
    )


def text(ja: str, en: str) -> Text:
    """Shorthand used by the kinds for their fixed wording."""
    return Text(ja=ja, en=en)
