"""marshmallow schemas of the API: requests (used to validate) and responses (used to document).

The facts inside a request are validated by the engine against the rule set's own fact schema; here we
only check the envelope around them. :mod:`webapp.openapi` combines both into the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.messages import Code, Message
from engine.messages.schema import CodedSchema
from engine.rules.model import OutcomeKind

from .problems import FIELD_ERROR_CODES, flatten_messages, invalid_fields

KINDS = [k.value for k in OutcomeKind]

#: Most eligibility checks one order may carry.
MAX_ORDER_CHECKS = 50

#: How much each decision of an ``evaluate-batch`` answer explains: everything, (the default) the
#: outcome, its kind and the reason codes, or everything and what would change the answer.
Explain = Literal["full", "compact", "whatif"]
EXPLAIN_LEVELS: tuple[Explain, ...] = ("full", "compact", "whatif")
#: The levels of ``evaluate``, which always explains fully: as it is, or with what would change it.
#: ``compact`` is accepted and answers in full, as ``evaluate`` always did (it ignored the parameter
#: before ``whatif`` existed), so a client that sends the batch default to both endpoints keeps working.
EVALUATE_EXPLAIN_LEVELS: tuple[Explain, ...] = ("full", "compact", "whatif")
#: The query parameter that picks the level.
EXPLAIN_PARAM = "explain"
DEFAULT_EXPLAIN: Explain = "compact"
#: The level that adds ``changes`` (engine.rules.partial): never answered by the fast path.
WHATIF: Explain = "whatif"
#: The envelope fields of a partial answer (facts named unknown): never read by the fast path.
PARTIAL_FIELDS = frozenset({"unknown"})


def explain_level(
    raw: str | None,
    levels: tuple[Explain, ...] = EXPLAIN_LEVELS,
    default: Explain = DEFAULT_EXPLAIN,
) -> Explain | None:
    """The level an ``?explain=`` value names (absent: the default), ``None`` when it names none."""
    if raw is None:
        return default
    for level in levels:
        if raw == level:
            return level
    return None


class StrictSchema(CodedSchema):
    """Refuses unknown keys: a typo in a request must be an error, not silently ignored."""

    class Meta:
        unknown = RAISE


# --- requests ------------------------------------------------------------------------------------


def _unknown_field() -> fields.List[str]:
    """``unknown``: fact names that are not known yet (no default; the answer lists the outcomes
    still possible). Absent when not sent, so a plain envelope loads as it always did.

    marshmallow takes a declared field out of the class, so the field named ``unknown`` does not
    touch the schema's own ``unknown`` policy (still RAISE); mypy sees only the name, hence the
    ignores where it is declared."""
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=[validate.Length(max=MAX_UNKNOWN_FACTS), unique_items],
        metadata={
            "description": "Facts not known yet: they take no default, and the answer lists the "
            "outcomes still possible (`possible`), each with when it applies. Leave them out of "
            "`facts`. A partial answer is not logged."
        },
    )


#: Most facts one request may name as unknown (the combinations are bounded by the engine too).
MAX_UNKNOWN_FACTS = 50


def unique_items(items: list[str]) -> list[str]:
    if len(set(items)) != len(items):
        raise ValidationError(Message(Code.ITEMS_REPEAT))
    return items


class EvaluateRequestSchema(StrictSchema):
    facts = fields.Dict(keys=fields.String(), required=True, metadata={"description": "The facts."})
    as_of = fields.Date(
        load_default=None,
        metadata={
            "description": "Decision date (YYYY-MM-DD); picks the version in force. Default: today in Tokyo."
        },
    )
    unknown = _unknown_field()  # type: ignore[assignment]


class BatchItemSchema(StrictSchema):
    facts = fields.Dict(keys=fields.String(), required=True)
    unknown = _unknown_field()  # type: ignore[assignment]


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


class ToAskSchema(Schema):
    fact = fields.String(required=True)
    label = fields.String(required=True)
    help = fields.String(allow_none=True, required=True)
    reasons = fields.List(
        fields.Nested(ReasonSchema),
        required=True,
        metadata={"description": "The rules that fired on the fact's unknown value."},
    )


class FindingsSchema(Schema):
    """The answer apart from its grounds (``reasons``): docs/api.md "Grounds and findings"."""

    confirmed = fields.List(
        fields.Nested(ReasonSchema),
        required=True,
        metadata={"description": "Rules that fired for other outcomes: conditions that hold."},
    )
    to_ask = fields.List(
        fields.Nested(ToAskSchema),
        required=True,
        metadata={"description": "Facts not known yet: the customer's answer is missing."},
    )
    gaps = fields.List(
        fields.Nested(OutcomeGapSchema),
        required=True,
        metadata={"description": "What the sources lack (not the customer's answers)."},
    )


class FactConditionSchema(Schema):
    """Which values of one fact a branch or a change stands for, in the rule set's own labels."""

    fact = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "The fact's label."})
    other = fields.String(
        metadata={"description": "The fact compared with (a relation between two unknown facts)."}
    )
    other_label = fields.String()
    values = fields.List(
        fields.Raw(),
        required=True,
        metadata={
            "description": "Enum values, true/false, {min, max} ranges of numbers or dates, "
            "{includes, excludes} of list facts, texts or {not: [...]}; lt/eq/gt/ne for a relation."
        },
    )
    labels = fields.List(
        fields.String(), required=True, metadata={"description": "The same, for people."}
    )


class PossibleSchema(Schema):
    """An outcome still possible while some facts are unknown, and when it is the answer."""

    outcome = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = fields.String(required=True)
    when = fields.List(
        fields.Nested(FactConditionSchema),
        required=True,
        metadata={"description": "Conditions on the unknown facts (all must hold; none: always)."},
    )
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    gap = fields.Nested(GapSchema, allow_none=True, required=True)


class ChangeSchema(Schema):
    """Facts set to other values, and the outcome the rules then give."""

    set = fields.Dict(
        required=True, metadata={"description": "Valid values to send as facts, as they are."}
    )
    to = fields.List(
        fields.Nested(FactConditionSchema),
        required=True,
        metadata={"description": "Which values each changed fact stands for."},
    )
    outcome = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = fields.String(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


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
    findings = fields.Nested(FindingsSchema, required=True)
    fired_rules = fields.List(fields.String(), required=True)
    facts = fields.Dict(
        required=True,
        metadata={"description": "Normalised facts, defaults filled (the known ones only)."},
    )
    unknown = fields.List(  # type: ignore[assignment]  # a field (see _unknown_field)
        fields.String(), metadata={"description": "Partial answers: the facts sent as unknown."}
    )
    unknown_matters = fields.Boolean(
        metadata={"description": "Partial answers: whether the unknown facts change the outcome."}
    )
    unknown_note = fields.String(metadata={"description": "Partial answers: the same, in words."})
    possible = fields.List(
        fields.Nested(PossibleSchema),
        metadata={"description": "Partial answers: every outcome still possible, by precedence."},
    )
    changes = fields.List(
        fields.Nested(ChangeSchema),
        metadata={
            "description": "explain=whatif: for an answer that is not positive, the smallest sets "
            "of fact changes (fewest first, at most 3 facts, at most 5) that give a positive one; "
            "for a positive answer, every one-fact change that makes it negative. Facts marked "
            "fixed are never proposed."
        },
    )


class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "Path, e.g. facts.change_type."})
    code = fields.String(
        required=True,
        validate=validate.OneOf(list(FIELD_ERROR_CODES)),
        metadata={"description": "Why, for programs (a closed list; docs/api.md): "
                  + "; ".join(f"`{code}`: {text}" for code, text in FIELD_ERROR_CODES.items())},
    )  # fmt: skip
    message = fields.String(required=True, metadata={"description": "Why, for people."})
    suggestion = fields.String(
        metadata={"description": "The allowed value closest to the one sent (not_one_of, "
                  "unknown_field), when one is close: send it instead if it is what was meant."}
    )  # fmt: skip


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
    checks = fields.Dict(metadata={"description": "not-ready from /readyz: each check's state."})
    serving_generation = fields.Integer(
        allow_none=True, metadata={"description": "reload-refused: the generation still serving."}
    )


class CompactPossibleSchema(Schema):
    outcome = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    when = fields.List(fields.Dict(), required=True, metadata={"description": "{fact, values}"})


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
    possible = fields.List(
        fields.Nested(CompactPossibleSchema),
        metadata={"description": "Items with unknown facts: the outcomes still possible."},
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
    consequences = fields.List(fields.Nested(lambda: DescribedConsequenceSchema()), required=True)


class NoteSchema(Schema):
    code = fields.String(required=True)
    message = fields.Nested(TextSchema, required=True)
    citation = fields.Nested(CitationSchema, required=True)


class DescribedConsequenceSchema(NoteSchema):
    """A consequence as a rule set declares it: told when ``when`` holds (always when null); while a
    fact it needs is not known, ``if_unknown`` instead (nothing when null)."""

    when = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "{fact, op, value} or {all|any: [...]} or {not: ...}"},
    )
    if_unknown = fields.Nested(TextSchema, allow_none=True, required=True)


class GapTextSchema(Schema):
    missing = fields.Nested(TextSchema, required=True)
    ask = fields.Nested(TextSchema, required=True)


class OutcomeSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = fields.Nested(TextSchema, required=True)
    consequences = fields.List(fields.Nested(DescribedConsequenceSchema), required=True)
    gap = fields.Nested(GapTextSchema, allow_none=True, required=True)


class ExampleExpectSchema(Schema):
    outcome = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)


class ExampleSchema(Schema):
    note = fields.String(required=True)
    request = fields.Dict(required=True, metadata={"description": "Body for .../evaluate."})
    expect = fields.Nested(ExampleExpectSchema, required=True)


class PartialAnswersSchema(Schema):
    """How to ask a rule set with facts unknown (``unknown``) and what would change its answer
    (``?explain=whatif``)."""

    ask = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Facts a seller must ask: never leave them to their default."},
    )
    fixed = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Facts the customer cannot change: a what-if never proposes them."
        },
    )
    unknown_values = fields.Dict(
        required=True,
        metadata={"description": "Per enum fact, the value that means 'not known yet'."},
    )
    max_changed_facts = fields.Integer(required=True)
    max_alternatives = fields.Integer(required=True)


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
    partial_answers = fields.Nested(PartialAnswersSchema, required=True)
    examples = fields.List(fields.Nested(ExampleSchema), required=True)


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
QUOTE_REQUEST = QuoteRequestSchema()
ORDER_REQUEST = OrderRequestSchema()


def load_or_problem(schema: Schema, data: Any, prefix: str = "") -> dict[str, Any]:
    """Validate ``data`` with ``schema``; raise the 422 problem naming every bad field path."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()  # type: ignore[no-untyped-call]
        raise invalid_fields(flatten_messages(messages, prefix)) from None
    return loaded
