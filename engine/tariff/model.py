"""The validated tariff model: frozen dataclasses built by :mod:`engine.tariff.validate`.

YAML mappings stop at the validator; everything after it (computation kinds, quotes, the API) reads only
these types. Figures keep their citation, provenance and effective dates so a quote can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from ..errors import SourceLocation
from ..format.common import Citation, Gap, Provenance, Reading, Region, Validity
from ..messages.language import Text

ParamType = Literal[
    "int", "money", "decimal", "bool", "date", "datetime", "month", "enum", "string"
]
PARAM_TYPES: tuple[ParamType, ...] = (
    "int",
    "money",
    "decimal",
    "bool",
    "date",
    "datetime",
    "month",
    "enum",
    "string",
)

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
    note: str | None
    gap: Gap | None
    suggested: str | None
    tax_included: int | None
    location: SourceLocation

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
        for key, value in (("note", self.note), ("suggested", self.suggested)):
            if value is not None:
                result[key] = value
        if self.tax_included is not None:
            result["tax_included"] = self.tax_included
        if self.gap is not None:
            result["gap"] = self.gap.to_dict()
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
