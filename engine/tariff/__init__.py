"""Tariffs: cited YAML price tables and an exact evaluator that produces itemised quotes.

Policy owners keep prices in ``tariffs/*.yaml`` (format: ``docs/tariff-format.md``). This package loads
and validates them and prices quote requests. The API the web app and the CLI use::

    from pathlib import Path
    from engine.tariff import load_tariffs, TariffBook, QuoteRequestError, UnknownTariffError

    book = load_tariffs(Path("tariffs"))    # raises engine.errors.ValidationError (with diagnostics)
    book.list()                             # [{id, version, title, region, effective_from, effective_to}]
    book.describe("tv_transport")           # metadata, readings, figures with citations, items with a
                                            # JSON Schema of their params, and examples
                                            # ({note, request, expect}); raises UnknownTariffError
    book.quote({"as_of": "2025-04-01",      # optional; the date whose figures and tax rate apply
                "items": [{"tariff": "tv_transport", "item": "monthly_fee",
                           "params": {"month": "2025-02", "service_start": "2025-02-11"}}]},
               as_of=None)                  # an explicit as_of wins over the request's; default today

``quote`` returns JSON-ready data::

    {"as_of": "2025-04-01",
     "lines": [{"line": 1, "request_index": 0, "tariff": "tv_transport", "tariff_version": "1.0.0",
                "item": "monthly_fee", "status": "priced",   # | not_charged | cannot_be_priced | refused
                "description": {"ja": …, "en": …}, "quantity": 1, "unit_price": 450,
                "amount": 289,                 # tax-excluded yen (None when not priced)
                "tax": None,                   # None when taxed once on the sum (tax_basis "sum")
                "amount_tax_included": None, "tax_basis": "sum",   # | line | none
                "detail": {"days": 18, "days_in_period": 28, …},
                "cite": [{"source": "004_….txt", "clause": "…"}], "provenance": "sourced",
                "warnings": [{"code": …, "message": {"ja", "en"}}], "readings": [...], "notes": [...],
                "reason": {...},               # for not_charged / refused
                "gap": {"missing": {...}, "ask": {...}}, "message": {...}}],   # for cannot_be_priced
     "totals": {"amount_tax_excluded": …, "tax": …, "amount_tax_included": …, "tax_rate": "0.10",
                "tax_rate_provenance": …, "tax_groups": [{"tariff", "rate", "taxable_amount", "tax"}],
                "complete": True, "lines_not_priced": []}}

A bad request raises :class:`QuoteRequestError`; its ``fields`` maps paths such as
``items.0.params.size_mb`` to messages (unknown tariff or item, wrong types, missing or unknown
parameters, values out of range, an end before its start). :func:`run_examples` runs every file's
examples; :mod:`engine.cli.quote` adds the ``quote`` command.
"""

from __future__ import annotations

from .book import QuoteRequestError, TariffBook, UnknownTariffError, load_tariffs
from .examples import run_examples

__all__ = [
    "QuoteRequestError",
    "TariffBook",
    "UnknownTariffError",
    "load_tariffs",
    "run_examples",
]
