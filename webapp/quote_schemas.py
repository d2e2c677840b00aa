"""The documented shapes of a quote and of an order check's answer (response schemas only).

A quote is the tariff engine's own (:mod:`engine.tariff.quote`), with its texts in the language of
the request (``Accept-Language``), as a decision's are: one shape for both answers. Lines keep their
citations, gaps and warnings. A line may gain a key the tariff engine adds later without breaking a
client (``additionalProperties`` is allowed on a line and its totals).
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from .schemas import KINDS, CitationSchema, DecisionSchema, GapSchema


class QuoteWarningSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    figure = fields.String(metadata={"description": "The figure that is not from the sources."})


class QuoteReadingSchema(Schema):
    id = fields.String(required=True)
    chosen = fields.String(required=True, metadata={"description": "The reading chosen."})
    other = fields.String(required=True, metadata={"description": "The other reading."})


class QuoteLineSchema(Schema):
    """One priced (or unpriceable) line."""

    class Meta:
        unknown = INCLUDE

    line = fields.Integer(required=True)
    request_index = fields.Integer(required=True, metadata={"description": "Index in `items`."})
    tariff = fields.String(required=True)
    tariff_version = fields.String(required=True)
    item = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["priced", "not_charged", "cannot_be_priced", "refused"]),
    )
    description = fields.String(required=True)
    quantity = fields.Raw(
        required=True, metadata={"description": "A whole number, or an exact decimal as a string."}
    )
    unit_price = fields.Integer(allow_none=True, required=True)
    amount = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Yen, tax excluded; null: not priced."},
    )
    tax = fields.Integer(
        allow_none=True, required=True, metadata={"description": "null when taxed on a sum."}
    )
    amount_tax_included = fields.Integer(allow_none=True, required=True)
    tax_basis = fields.String(required=True, validate=validate.OneOf(["sum", "line", "none"]))
    detail = fields.Dict(required=True, metadata={"description": "How the amount was computed."})
    cite = fields.List(fields.Nested(CitationSchema), required=True)
    provenance = fields.String(allow_none=True, required=True)
    warnings = fields.List(fields.Nested(QuoteWarningSchema), required=True)
    readings = fields.List(fields.Nested(QuoteReadingSchema), required=True)
    notes = fields.List(fields.String(), required=True)
    reason = fields.String(metadata={"description": "Why not charged or refused."})
    gap = fields.Nested(GapSchema, metadata={"description": "What the sources lack (unpriceable)."})
    message = fields.String(metadata={"description": "Cannot be priced from the sources."})


class TaxGroupSchema(Schema):
    tariff = fields.String(required=True)
    rate = fields.String(required=True)
    taxable_amount = fields.Integer(required=True)
    tax = fields.Integer(required=True)


class QuoteTotalsSchema(Schema):
    class Meta:
        unknown = INCLUDE

    amount_tax_excluded = fields.Integer(required=True)
    tax = fields.Integer(required=True)
    amount_tax_included = fields.Integer(required=True)
    tax_rate = fields.String(required=True)
    tax_rate_provenance = fields.String(allow_none=True, required=True)
    tax_groups = fields.List(fields.Nested(TaxGroupSchema), required=True)
    complete = fields.Boolean(
        required=True, metadata={"description": "false when a line cannot be priced."}
    )
    lines_not_priced = fields.List(fields.Integer(), required=True)


class QuoteResponseSchema(Schema):
    """An itemised quote; lines keep their citations, gaps and warnings (see the tariff docs)."""

    as_of = fields.Date(required=True)
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True)
    totals = fields.Nested(QuoteTotalsSchema, required=True)


class OrderCheckResultSchema(Schema):
    ruleset = fields.String(required=True)
    decision = fields.Nested(DecisionSchema, required=True)


class OrderResponseSchema(Schema):
    as_of = fields.Date(required=True)
    overall = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={
            "description": "negative if any check is negative, else undecidable if any is, else positive."
        },
    )
    checks = fields.List(fields.Nested(OrderCheckResultSchema), required=True)
    quote = fields.Nested(QuoteResponseSchema, allow_none=True, required=True)
