"""The contract between the quote builder and the computation kinds.

A *computation kind* is a small Python function selected by name in a tariff's ``items.<id>.kind``. It
receives an :class:`ItemContext` (the item, its validated parameters, the quote date and access to the
figures bound to its slots) and returns :class:`Line` objects in the tariff's price basis. Tax, warnings
about unsourced figures and citations are added by the quote builder, never by a kind.

A kind declares what it reads with :func:`kind`, on the function itself, so the contract the validator
checks a tariff file against is never far from the code that relies on it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from ...format.common import Citation, Gap
from ...messages import Code, Message
from ...messages.language import Text
from ..model import Band, Figure, Item, ParamType, Tariff, TimeSlot

LineStatus = Literal["priced", "not_charged", "cannot_be_priced", "refused"]
#: ``value``: one number; ``bands``: a size table; ``timed``: one number and the ``time_slots`` it
#: applies in (料金表 第2表 1(4)).
FigureShape = Literal["value", "bands", "timed"]


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
    """A parameter combination a kind refuses; reported under ``items.N.params.<field>``.

    It takes a catalogue code, never a sentence, so the refusal reaches a Japanese answer in Japanese.
    """

    def __init__(self, field_name: str, code: Code, **params: object) -> None:
        self.field = field_name
        self.message = Message(code, **params)
        super().__init__(f"{field_name}: {self.message}")


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


Compute = Callable[["ItemContext"], list[Line]]


@dataclass(frozen=True)
class KindSpec:
    """A computation kind: the parameters and figure slots it needs, and the function."""

    name: str
    params: Mapping[str, KindParam]
    figures: Mapping[str, FigureShape]
    compute: Compute

    @property
    def doc(self) -> str:
        """What the kind computes: its function's docstring."""
        return inspect.getdoc(self.compute) or ""


def kind(
    name: str, *, params: Mapping[str, KindParam], figures: Mapping[str, FigureShape]
) -> Callable[[Compute], KindSpec]:
    """Declare a computation kind: the name a tariff selects it by, the parameters it reads (by
    ``ctx.param``) and the figure slots it reads (by ``ctx.yen``, ``ctx.count`` …).

    The decorated name is bound to the :class:`KindSpec`; :mod:`engine.tariff.kinds` collects them.
    """

    def declare(compute: Compute) -> KindSpec:
        return KindSpec(name, params, figures, compute)

    return declare


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
        """A whole-yen figure: a price, a fee, a step of an amount."""
        return int(self.number(slot))

    def count(self, slot: str) -> int:
        """A whole-number figure that is not money: days, years, units, times an amount."""
        return int(self.number(slot))

    def number(self, slot: str) -> Decimal:
        """An exact figure as written: a rate, a multiplier, a band limit."""
        value = self.figure(slot).value
        assert value is not None, "validated: a value figure has a value or a gap"
        return value

    def bands(self, slot: str) -> tuple[Band, ...]:
        return self.figure(slot).bands

    def time_slots(self, slot: str) -> tuple[TimeSlot, ...]:
        """The times of day the figure in ``slot`` applies in; reading them does not make it used."""
        return self.tariff.figures[self.item.figures[slot]].time_slots

    def label(self, slot: str) -> Text:
        """The figure's label, for a line's description; reading it does not make the figure used."""
        return self.tariff.figures[self.item.figures[slot]].label

    def cite(self, slot: str) -> Citation:
        return self.tariff.figures[self.item.figures[slot]].cite

    def param(self, name: str) -> Any:
        """A parameter the kind declares (``tests/tariff/test_kinds.py`` checks every name used);
        None when an optional one is absent."""
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


def refunded(lines: list[Line], reason: Text) -> list[Line]:
    """The refund of charges already paid, as negative lines mirroring each one (第22条1 ただし書,
    料金表 第1表 1(4)ア ただし書): line by line, so a line-taxed refund returns exactly the tax paid."""
    return [
        Line(
            Text(ja=f"返還：{line.description.ja}", en=f"Refund: {line.description.en}"),
            quantity=line.quantity,
            unit_price=None if line.unit_price is None else -line.unit_price,
            amount=None if line.amount is None else -line.amount,
            detail={**line.detail, "refund": True},
            cite=line.cite,
            reason=reason,
            warnings=list(line.warnings),
            taxable=line.taxable,
        )
        for line in lines
        if line.status == "priced" and line.amount
    ]


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
