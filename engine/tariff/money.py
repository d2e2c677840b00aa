"""Exact money arithmetic: integer yen, with fractions kept exact until the tariff says to truncate.

The TV transport terms (規約 料金表 通則5) drop fractions below 1 yen "in the calculation of charges and
other amounts"; we therefore compute with :class:`fractions.Fraction` (never ``float``) and truncate once,
at the point the tariff names, so a result never depends on binary rounding.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

Number = int | Decimal | Fraction


def exact(value: Number) -> Fraction:
    """``value`` as an exact fraction (a ``Decimal`` converts without loss)."""
    return Fraction(value)


def truncate_yen(value: Number) -> int:
    """Drop the fraction below 1 yen (端数切捨て), towards zero, as 通則5 says."""
    return int(exact(value))


def prorate(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` truncated: a monthly fee for some days of a month."""
    if denominator <= 0:
        raise ValueError("a proration needs a positive number of days")
    return truncate_yen(Fraction(amount * numerator, denominator))


def tax_on(amount: int, rate: Decimal) -> int:
    """Consumption tax on a tax-excluded amount, fractions below 1 yen truncated (通則5, 通則10)."""
    return truncate_yen(exact(amount) * exact(rate))


def split_tax_included(amount_tax_included: int, rate: Decimal) -> tuple[int, int]:
    """(tax-excluded, tax) for a price the source states only tax-included.

    The tax-excluded part is truncated, so the two parts always add up to the stated price.
    """
    excluded = truncate_yen(exact(amount_tax_included) / (1 + exact(rate)))
    return excluded, amount_tax_included - excluded


def percent_of(amount: Number, percent: Decimal) -> Fraction:
    """``percent`` % of ``amount``, exactly (the caller decides where to truncate)."""
    return exact(amount) * exact(percent) / 100
