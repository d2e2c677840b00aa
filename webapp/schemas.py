"""marshmallow schemas of the API: requests (used to validate) and responses (used to document).

The facts inside a request are validated by the engine against the rule set's own fact schema; here we
only check the envelope around them. :mod:`webapp.openapi` combines both into the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.messages.schema import CodedSchema
from engine.rules.model import OutcomeKind

from .problems import flatten_messages, invalid_fields

KINDS = [k.value for k in OutcomeKind]

#: Most eligibility checks one order may carry.
MAX_ORDER_CHECKS = 50

#: How much each decision of an ``evaluate-batch`` answer explains: everything, or (the default) the
#: outcome, its kind and the reason codes.
Explain = Literal["full", "compact"]
EXPLAIN_LEVELS: tuple[Explain, ...] = ("full", "compact")
#: The query parameter that picks the level.
EXPLAIN_PARAM = "explain"
DEFAULT_EXPLAIN: Explain = "compact"


def explain_level(raw: str | None) -> Explain | None:
    """The level an ``?explain=`` value names (absent: the default), ``None`` when it names none."""
    if raw is None:
        return DEFAULT_EXPLAIN
    for level in EXPLAIN_LEVELS:
        if raw == level:
            return level
    return None


class StrictSchema(CodedSchema):
    """Refuses unknown keys: a typo in a request must be an error, not silently ignored."""

    class Meta:
        unknown = RAISE


# --- requests ------------------------------------------------------------------------------------


class EvaluateRequestSchema(StrictSchema):
    facts = fields.Dict(keys=fields.String(), required=True, metadata={"description": "The facts."})
    as_of = fields.Date(
        load_default=None,
        metadata={
            "description": "Decision date (YYYY-MM-DD); picks the version in force. Default: today in Tokyo."
        },
    )


class BatchItemSchema(StrictSchema):
    facts = fields.Dict(keys=fields.String(), required=True)


class BatchRequestSchema(StrictSchema):
    items = fields.List(
        fields.Raw(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": 'Each item is {"facts": {...}}; a bad item gets its own problem.'},
    )
    as_of = fields.Date(load_default=None)


class QuoteItemSchema(StrictSchema):
    tariff = fields.String(required=True, metadata={"description": "Tariff id (GET /v1/tariffs)."})
    item = fields.String(required=True, metadata={"description": "Item id inside the tariff."})
    params = fields.Dict(keys=fields.String(), metadata={"description": "The item's parameters."})


class QuoteRequestSchema(StrictSchema):
    items = fields.List(
        fields.Nested(QuoteItemSchema), required=True, validate=validate.Length(min=1)
    )
    as_of = fields.Date(load_default=None, metadata={"description": "Quote date; default today."})


class OrderCheckSchema(StrictSchema):
    ruleset = fields.String(required=True, validate=validate.Length(min=1, max=100))
    facts = fields.Dict(keys=fields.String(), required=True)


class OrderRequestSchema(StrictSchema):
    checks = fields.List(
        fields.Nested(OrderCheckSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_ORDER_CHECKS),
    )
    quote = fields.Nested(
        QuoteRequestSchema,
        load_default=None,
        metadata={"description": "A quote request as for POST /v1/quotes (optional)."},
    )
    as_of = fields.Date(load_default=None)


# --- responses -----------------------------------------------------------------------------------


class TextSchema(Schema):
    ja = fields.String(required=True)
    en = fields.String(required=True)


class CitationSchema(Schema):
    source = fields.String(required=True, metadata={"description": "Seed file name."})
    clause = fields.String(required=True)
    reading = fields.String(
        allow_none=True, metadata={"description": "Reading chosen, if ambiguous."}
    )


class ReasonSchema(Schema):
    code = fields.String(required=True)
    rule = fields.String(allow_none=True, required=True)
    outcome = fields.String(required=True)
    message = fields.String(required=True)
    citation = fields.Nested(CitationSchema, required=True)
    source = fields.String(required=True, metadata={"description": "Rule file and line."})


class ConsequenceSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    citation = fields.Nested(CitationSchema, required=True)


class GapSchema(Schema):
    missing = fields.String(required=True)
    ask = fields.String(required=True)


class OutcomeGapSchema(GapSchema):
    outcome = fields.String(required=True, metadata={"description": "The undecidable outcome."})


class DecisionSchema(Schema):
    ruleset = fields.String(required=True)
    version = fields.String(required=True)
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(allow_none=True, required=True)
    region = fields.String(required=True)
    as_of = fields.Date(required=True)
    outcome = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = fields.String(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    consequences = fields.List(fields.Nested(ConsequenceSchema), required=True)
    gap = fields.Nested(GapSchema, allow_none=True, required=True)
    gaps = fields.List(
        fields.Nested(OutcomeGapSchema),
        required=True,
        metadata={"description": "Every gap behind the answer, including outranked ones."},
    )
    fired_rules = fields.List(fields.String(), required=True)
    facts = fields.Dict(
        required=True, metadata={"description": "Normalised facts, defaults filled."}
    )


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "Path, e.g. facts.change_type."})
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; ``type`` is stable, ``errors`` names each bad field."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema), required=True)
    request_id = fields.String(allow_none=True)
    limit = fields.Integer(metadata={"description": "The limit exceeded (413 only)."})
    known = fields.List(
        fields.String(), metadata={"description": "Known ids (unknown-ruleset only)."}
    )


class CompactDecisionSchema(Schema):
    """A batch item's decision with ``explain=compact`` (the default for batches)."""

    outcome = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    reasons = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Reason codes in rule order. Messages, citations and gaps: explain=full, "
            "or the rules of GET /v1/rulesets/{id}."
        },
    )


class BatchResultSchema(Schema):
    index = fields.Integer(required=True)
    ok = fields.Boolean(required=True)
    # Documented as Decision (explain=full) or CompactDecision (explain=compact): see webapp.openapi.
    decision = fields.Nested(DecisionSchema)
    problem = fields.Nested(ProblemSchema)


class BatchResponseSchema(Schema):
    ruleset = fields.String(required=True)
    version = fields.String(required=True)
    as_of = fields.Date(required=True)
    explain = fields.String(
        required=True,
        validate=validate.OneOf(list(EXPLAIN_LEVELS)),
        metadata={"description": "How much each decision explains (the explain query parameter)."},
    )
    count = fields.Integer(required=True)
    errors = fields.Integer(required=True, metadata={"description": "How many items failed."})
    results = fields.List(fields.Nested(BatchResultSchema), required=True)


class VersionSchema(Schema):
    version = fields.String(required=True)
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(allow_none=True, required=True)


class RulesetSummarySchema(VersionSchema):
    id = fields.String(required=True)
    title = fields.Nested(TextSchema, required=True)
    region = fields.String(required=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class RulesetListSchema(Schema):
    rulesets = fields.List(fields.Nested(RulesetSummarySchema), required=True)


class SourceSchema(Schema):
    file = fields.String(required=True)
    title = fields.String(required=True)


class ReadingSchema(Schema):
    id = fields.String(required=True)
    citation = fields.Nested(CitationSchema, required=True)
    passage = fields.String(required=True)
    chosen = fields.Nested(TextSchema, required=True)
    other = fields.Nested(TextSchema, required=True)


class ParameterSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    value = fields.Raw(required=True)
    provenance = fields.String(required=True)
    label = fields.Nested(TextSchema, required=True)
    note = fields.String(required=True)
    citation = fields.Nested(CitationSchema, allow_none=True, required=True)


class RuleSchema(Schema):
    id = fields.String(required=True)
    outcome = fields.String(required=True)
    reason = fields.String(required=True)
    message = fields.Nested(TextSchema, required=True)
    citation = fields.Nested(CitationSchema, required=True)
    source = fields.String(required=True)


class NoteSchema(Schema):
    code = fields.String(required=True)
    message = fields.Nested(TextSchema, required=True)
    citation = fields.Nested(CitationSchema, required=True)


class GapTextSchema(Schema):
    missing = fields.Nested(TextSchema, required=True)
    ask = fields.Nested(TextSchema, required=True)


class OutcomeSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = fields.Nested(TextSchema, required=True)
    consequences = fields.List(fields.Nested(NoteSchema), required=True)
    gap = fields.Nested(GapTextSchema, allow_none=True, required=True)


class ExampleExpectSchema(Schema):
    outcome = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)


class ExampleSchema(Schema):
    note = fields.String(required=True)
    request = fields.Dict(required=True, metadata={"description": "Body for .../evaluate."})
    expect = fields.Nested(ExampleExpectSchema, required=True)


class RulesetDetailSchema(RulesetSummarySchema):
    description = fields.Nested(TextSchema, allow_none=True, required=True)
    sources = fields.List(fields.Nested(SourceSchema), required=True)
    readings = fields.List(fields.Nested(ReadingSchema), required=True)
    parameters = fields.List(fields.Nested(ParameterSchema), required=True)
    decide = fields.String(required=True, validate=validate.OneOf(["first_match", "collect"]))
    precedence = fields.List(fields.String(), required=True)
    default = fields.Nested(NoteSchema, required=True)
    default_outcome = fields.String(required=True)
    facts_schema = fields.Dict(required=True, metadata={"description": "JSON Schema of `facts`."})
    rules = fields.List(fields.Nested(RuleSchema), required=True)
    outcomes = fields.List(fields.Nested(OutcomeSchema), required=True)
    examples = fields.List(fields.Nested(ExampleSchema), required=True)


class QuoteResponseSchema(Schema):
    """An itemised quote; lines keep their citations, gaps and warnings (see the tariff docs)."""

    as_of = fields.Date(required=True)
    lines = fields.List(fields.Dict(), required=True)
    totals = fields.Dict(required=True)


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


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(HealthSchema):
    rulesets = fields.Integer(required=True)
    tariffs = fields.Integer(allow_none=True, required=True)
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Each readiness check (rules, decision_log) and its state: ok."},
    )


# --- loading requests -----------------------------------------------------------------------------

#: Schema instances are reusable (``load`` keeps no state); building one costs more than loading with it.
EVALUATE_REQUEST = EvaluateRequestSchema()
BATCH_REQUEST = BatchRequestSchema()
BATCH_ITEM = BatchItemSchema()


def load_or_problem(schema: Schema, data: Any, prefix: str = "") -> dict[str, Any]:
    """Validate ``data`` with ``schema``; raise the 422 problem naming every bad field path."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()  # type: ignore[no-untyped-call]
        raise invalid_fields(flatten_messages(messages, prefix)) from None
    return loaded
