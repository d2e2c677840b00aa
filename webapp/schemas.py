"""marshmallow schemas of the API: requests (used to validate) and responses (used to document).

The facts inside a request are validated by the engine against the rule set's own fact schema; here we
only check the envelope around them. :mod:`webapp.openapi` combines both into the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    pre_load,
    validate,
)
from marshmallow.types import ErrorMessages

from engine.lifecycle.decision_log import DEFAULT_QUERY_LIMIT, Query, start_of_day
from engine.lifecycle.impact import EXAMPLES_PER_GROUP
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


# --- admin requests -------------------------------------------------------------------------------
# The admin API reads its queries and bodies leniently, as it always has: unknown keys are ignored,
# and an optional setting that is wrong falls back to its default. Its messages are for operators.

#: Most fact sets one impact request may carry.
MAX_IMPACT_CASES = 10_000
#: Most decisions one ``GET /v1/admin/decisions`` answer may list.
MAX_QUERY_LIMIT = DEFAULT_QUERY_LIMIT * 10


def _one_message(message: str) -> ErrorMessages:
    """``message`` for every way a value can fail to load."""
    return dict.fromkeys(("required", "null", "invalid"), message)


def _none_if_empty(text: str | None) -> str | None:
    return text or None


class _OrDefault(fields.Field[Any]):
    """``field``'s value, or the default when it is absent or does not load."""

    def __init__(self, field: fields.Field[Any], default: object) -> None:
        super().__init__(load_default=default)
        self.field = field

    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if value is missing:
            return self.load_default
        try:
            return self.field.deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return self.load_default


class _Day(fields.Field[date]):
    """A day, read by ``date.fromisoformat`` from the value's text."""

    default_error_messages = {"invalid": "{input!r} is not a date YYYY-MM-DD."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.make_error("invalid", input=value) from None


class _Moment(fields.Field["datetime | None"]):
    """A query's moment: a day (from midnight in Tokyo) or an ISO date-time; empty: not given."""

    default_error_messages = {"invalid": "{input!r} is not a date YYYY-MM-DD or an ISO date-time."}

    def _deserialize(
        self, value: str, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime | None:
        if value == "":
            return None
        try:
            if "T" in value:
                return datetime.fromisoformat(value)
            return start_of_day(date.fromisoformat(value))
        except ValueError:
            raise self.make_error("invalid", input=value) from None


class _QueryLimit(fields.Field[int]):
    """How many decisions to list: a whole number from 1 to :data:`MAX_QUERY_LIMIT`."""

    default_error_messages = {"invalid": f"Must be a whole number from 1 to {MAX_QUERY_LIMIT}."}

    def _deserialize(
        self, value: str, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if not value.isdigit() or not 1 <= int(value) <= MAX_QUERY_LIMIT:
            raise self.make_error("invalid")
        return int(value)


class DecisionQuerySchema(Schema):
    """``GET /v1/admin/decisions``: every filter optional; an empty value counts as not given."""

    class Meta:
        unknown = EXCLUDE

    ruleset = fields.String(load_default=None, post_load=[_none_if_empty])
    since = _Moment(load_default=None)
    until = _Moment(load_default=None)
    outcome = fields.String(load_default=None, post_load=[_none_if_empty])
    request_id = fields.String(load_default=None, post_load=[_none_if_empty])
    limit = _QueryLimit(load_default=DEFAULT_QUERY_LIMIT)

    @post_load
    def _query(self, data: dict[str, Any], **_kwargs: Any) -> Query:
        return Query(**data)


_CASES_MESSAGE = f"A list of at most {MAX_IMPACT_CASES} cases."


def _at_most_cases(value: Any) -> Any:
    """A list of too many cases is refused whole, before any case is read."""
    if isinstance(value, list) and len(value) > MAX_IMPACT_CASES:
        raise ValidationError(_CASES_MESSAGE)
    return value


class ImpactCaseSchema(Schema):
    """One fact set to replay; without ``as_of``, today's versions decide it."""

    class Meta:
        unknown = EXCLUDE

    ruleset = fields.String(required=True, error_messages=_one_message("Missing the rule set id."))
    facts = fields.Dict(required=True, error_messages=_one_message("Expected an object of facts."))
    as_of = _Day(load_default=None)


class ImpactRequestSchema(Schema):
    """``POST /v1/admin/impact``: replay logged decisions, or the given ``cases``, against the rules
    in the ``candidate`` folder; ``examples`` changed decisions are shown per group."""

    error_messages = {"type": "Expected a JSON object."}

    class Meta:
        unknown = EXCLUDE

    candidate = fields.String(
        required=True,
        validate=validate.Length(min=1, error="Missing the candidate rules folder."),
        error_messages=_one_message("Missing the candidate rules folder."),
    )
    ruleset = _OrDefault(fields.String(validate=validate.Length(min=1)), None)
    since = _Day(load_default=None)
    cases = fields.List(
        fields.Nested(ImpactCaseSchema),
        load_default=None,
        pre_load=[_at_most_cases],
        error_messages={"invalid": _CASES_MESSAGE},
    )
    examples = _OrDefault(
        fields.Integer(strict=True, validate=validate.Range(min=0)), EXAMPLES_PER_GROUP
    )

    @pre_load
    def _read_as_always(self, data: Any, **_kwargs: Any) -> Any:
        """``since`` filters the log: it is not read when ``cases`` are given, nor when it is not
        text. A case names its rule set, or (when it names none) it is one of ``ruleset``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("cases") is not None or not isinstance(data.get("since"), str):
            data.pop("since", None)
        cases = data.get("cases")
        if isinstance(cases, list):
            ruleset = self.fields["ruleset"].deserialize(data.get("ruleset", missing))
            data["cases"] = [_with_ruleset(case, ruleset) for case in cases]
        return data


def _with_ruleset(case: Any, ruleset: str | None) -> dict[str, Any]:
    entry = case if isinstance(case, dict) else {}
    return {**entry, "ruleset": entry.get("ruleset") or ruleset}


DECISION_QUERY = DecisionQuerySchema()
IMPACT_REQUEST = ImpactRequestSchema()
