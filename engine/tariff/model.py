"""The validated tariff model: frozen dataclasses built by :mod:`engine.tariff.validate`.

YAML mappings stop at the validator; everything after it (computation kinds, quotes, the API) reads only
these types. Figures keep their citation, provenance and effective dates so a quote can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, get_args

from ..errors import SourceLocation
from ..format.common import Citation, Gap, Provenance, Reading, Region, Validity
from ..messages.language import Text

ParamType = Literal[
    "int",
    "money",
    "decimal",
    "bool",
    "date",
    "datetime",
    "month",
    "enum",
    "string",
    "month_amounts",
]
#: Every parameter type, in the order above (the one list is ``ParamType``).
PARAM_TYPES: tuple[ParamType, ...] = get_args(ParamType)

#: How an item's amounts meet consumption tax: once on the sum of the quote's ``sum`` lines of the same
#: tariff (the guide's sample statement), on each line by itself, or not at all (e.g. late interest).
TaxMode = Literal["sum", "line", "none"]
TAX_MODES: tuple[TaxMode, ...] = ("sum", "line", "none")

#: Whether the tariff's figures are tax-excluded (tax is added) or tax-included (tax is contained).
PriceBasis = Literal["tax_excluded", "tax_included"]
PRICE_BASES: tuple[PriceBasis, ...] = ("tax_excluded", "tax_included")

JSONValue = Any


@dataclass(frozen=True)
class Band:
    """One row of a size table: applies to sizes strictly below ``below``."""

    below: Decimal
    value: int
    label: Text


@dataclass(frozen=True)
class TimeSlot:
    """A time of day a figure applies in (料金表 第2表 1(4): the out-of-hours slots of construction work).

    ``start`` is included and ``end`` is not; an ``end`` not after ``start`` runs past midnight (22:00 to
    08:30). ``days`` limits the slot to a run of calendar days (month, day) — ``(12, 29)`` to ``(1, 3)``
    runs over the new year — and is read on the calendar day of the moment asked about.
    """

    id: str
    start: time
    end: time
    days: tuple[tuple[int, int], tuple[int, int]] | None
    label: Text

    def contains(self, moment: datetime) -> bool:
        return self.on_day(moment.date()) and self._at_time(moment.time())

    def _at_time(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def on_day(self, day: date) -> bool:
        """Whether ``day`` is among the slot's days (every day when it names none)."""
        if self.days is None:
            return True
        first, last = self.days
        key = (day.month, day.day)
        if first <= last:
            return first <= key <= last
        return key >= first or key <= last

    def to_dict(self) -> dict[str, JSONValue]:
        result: dict[str, JSONValue] = {
            "id": self.id,
            "from": self.start.strftime("%H:%M"),
            "to": self.end.strftime("%H:%M"),
            "label": self.label.to_dict(),
        }
        if self.days is not None:
            (m1, d1), (m2, d2) = self.days
            result["days"] = {"from": f"{m1:02d}-{d1:02d}", "to": f"{m2:02d}-{d2:02d}"}
        return result


@dataclass(frozen=True)
class Figure(Validity):
    """A priced figure (or rate, count, table) with where it comes from and when it applies."""

    id: str
    label: Text
    unit: str
    value: Decimal | None
    bands: tuple[Band, ...]
    provenance: Provenance
    cite: Citation
    effective_from: date | None
    effective_to: date | None
    note: Text | None
    gap: Gap | None
    suggested: str | None
    tax_included: int | None
    location: SourceLocation
    #: When the figure applies, for a rate tied to times of day (see :class:`TimeSlot`); else empty.
    time_slots: tuple[TimeSlot, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        result: dict[str, JSONValue] = {
            "id": self.id,
            "label": self.label.to_dict(),
            "unit": self.unit,
            "provenance": self.provenance,
            "cite": self.cite.to_dict(),
            "effective_from": _iso(self.effective_from),
            "effective_to": _iso(self.effective_to),
        }
        if self.bands:
            result["bands"] = [
                {"below": str(b.below), "value": b.value, "label": b.label.to_dict()}
                for b in self.bands
            ]
        else:
            result["value"] = None if self.value is None else number_json(self.value)
        if self.note is not None:
            result["note"] = self.note.to_dict()
        if self.suggested is not None:
            result["suggested"] = self.suggested
        if self.tax_included is not None:
            result["tax_included"] = self.tax_included
        if self.gap is not None:
            result["gap"] = self.gap.to_dict()
        if self.time_slots:
            result["time_slots"] = [slot.to_dict() for slot in self.time_slots]
        return result


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a priced item, as the caller sends it."""

    name: str
    type: ParamType
    label: Text
    help: Text | None = None
    required: bool = True
    default: JSONValue = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    values: Mapping[str, Text] = field(default_factory=dict)
    not_before: str | None = None


@dataclass(frozen=True)
class Item:
    """A priced thing: its parameters, the computation kind and the figures bound to its slots."""

    id: str
    title: Text
    description: Text | None
    kind: str
    tax: TaxMode
    params: Mapping[str, ParamSpec]
    figures: Mapping[str, str]
    cite: tuple[Citation, ...]
    readings: tuple[str, ...]
    notes: tuple[Text, ...]
    gap: Gap | None


@dataclass(frozen=True)
class Example:
    """A quote request and the result expected for it (``expect`` lists the fields checked)."""

    note: str
    request: Mapping[str, JSONValue]
    expect: Mapping[str, JSONValue]
    location: SourceLocation


@dataclass(frozen=True)
class EarlierPeriod:
    """Days before the tariff's ``effective_from`` on which the service already existed at prices the
    sources do not give (003: service from 2011-08-02, prices known from 2019-10-01; 000: the fee before
    the June 2012 revision). A quote for such a day "cannot be priced from the sources", naming ``gap``,
    instead of being refused as a request for a day no tariff covers."""

    start: date | None  # None: the service's start is not in the sources either
    gap: Gap
    cite: Citation

    def covers(self, day: date, effective_from: date) -> bool:
        return (self.start is None or self.start <= day) and day < effective_from

    def to_dict(self) -> dict[str, JSONValue]:
        return {"from": _iso(self.start), "gap": self.gap.to_dict(), "cite": self.cite.to_dict()}


@dataclass(frozen=True)
class Tariff(Validity):
    """One validated tariff file."""

    id: str
    version: str
    title: Text
    description: Text | None
    region: Region
    effective_from: date
    effective_to: date | None
    sources: tuple[tuple[str, str], ...]
    price_basis: PriceBasis
    tax_cite: Citation
    readings: Mapping[str, Reading]
    figures: Mapping[str, Figure]
    items: Mapping[str, Item]
    examples: tuple[Example, ...]
    file: str
    earlier_period: EarlierPeriod | None = None

    def summary(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title.to_dict(),
            "region": self.region,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": _iso(self.effective_to),
        }


@dataclass(frozen=True)
class TaxRate(Validity):
    """A consumption tax rate and the days it applies to."""

    rate: Decimal
    effective_from: date
    effective_to: date | None
    provenance: Provenance
    cite: Citation | None
    note: str | None


def number_json(value: Decimal) -> int | str:
    """Whole numbers as JSON integers, other decimals as exact strings (never floats)."""
    return int(value) if value == value.to_integral_value() else str(value)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
