"""The OpenAPI 3 document, generated with apispec from the marshmallow schemas.

Each rule set gets its own evaluate and evaluate-batch paths whose request schemas come from the rule
set's fact schema (:func:`engine.rules.facts.facts_schema_class`), so generated clients know every fact, type
and allowed value. The document is built once per loaded rulebook and cached.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from marshmallow import Schema, fields, validate

from engine import Rulebook
from engine.rules.facts import facts_schema_class
from engine.rules.model import RuleSet

from . import schemas
from .problems import PROBLEM_MIMETYPE, PROBLEM_TYPES
from .schemas import EVALUATE_EXPLAIN_LEVELS, EXPLAIN_LEVELS
from .state import get_rulebook, loaded_tariffs

OPENAPI_VERSION = "3.0.3"
CACHE_KEY = "flets.openapi"

_RESPONSES = {
    "BadRequest": "Malformed JSON (problem type /problems/malformed-json).",
    "NotFound": "Unknown rule set or tariff.",
    "TooLarge": "Body or batch larger than the limit named in `limit`.",
    "UnsupportedMediaType": "The body is not application/json.",
    "Unprocessable": "Invalid fields; `errors` names each field path.",
    "NotReady": "What the request needs is not loaded.",
    "ServerError": "Unexpected error (logged with the request id).",
}
_STATUS = {"BadRequest": 400, "NotFound": 404, "TooLarge": 413, "UnsupportedMediaType": 415,
           "Unprocessable": 422, "NotReady": 503, "ServerError": 500}  # fmt: skip


def _camel(ruleset_id: str) -> str:
    return "".join(part.title() for part in ruleset_id.split("_"))


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[: -len("Schema")] if name.endswith("Schema") and name != "Schema" else name


def _ruleset_request_schemas(rs: RuleSet) -> tuple[type[Schema], type[Schema]]:
    """(evaluate request, batch request) schema classes whose ``facts`` is the rule set's own schema."""
    facts = facts_schema_class(rs)
    camel = _camel(rs.id)
    as_of = fields.Date(
        load_default=None, metadata={"description": "Decision date; picks the version."}
    )
    item = type(
        f"{camel}BatchItem",
        (schemas.StrictSchema,),
        {"facts": fields.Nested(facts, required=True), "unknown": _unknown_facts(rs)},
    )
    evaluate = type(
        f"{camel}EvaluateRequest",
        (schemas.StrictSchema,),
        {
            "facts": fields.Nested(facts, required=True),
            "as_of": as_of,
            "unknown": _unknown_facts(rs),
        },
    )
    batch = type(f"{camel}BatchRequest", (schemas.StrictSchema,), {
        "items": fields.List(fields.Nested(item), required=True, validate=validate.Length(min=1)),
        "as_of": fields.Date(load_default=None),
    })  # fmt: skip
    return evaluate, batch


def _unknown_facts(rs: RuleSet) -> fields.List[str]:
    """``unknown``: this rule set's fact names (``x-ask`` and ``x-fixed`` in the facts schema say
    which facts must be asked and which a what-if never proposes)."""
    names = [f.name for f in rs.facts]
    return fields.List(
        fields.String(validate=validate.OneOf(names)),
        validate=validate.Length(max=len(names)),
        metadata={
            "description": "Facts not known yet (leave them out of `facts`): they take no default, "
            "and the answer lists every outcome still possible (`possible`) with when it applies. "
            "Not logged. Too many combinations: 422 /problems/too-many-combinations.",
            "uniqueItems": True,
        },
    )


def _json(schema: str | dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*names: str) -> dict[str, Any]:
    return {str(_STATUS[name]): {"$ref": f"#/components/responses/{name}"} for name in names}


def _body(schema: str | type[Schema]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operation(
    op_id: str,
    summary: str,
    tag: str,
    ok: str | dict[str, Any],
    errors: tuple[str, ...],
    **extra: Any,
) -> dict[str, Any]:
    responses = {"200": _json(ok), **_errors(*errors, "ServerError")}
    return {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses,
            "parameters": ["AcceptLanguage"], **extra}  # fmt: skip


_POST_ERRORS = ("BadRequest", "TooLarge", "UnsupportedMediaType", "Unprocessable")


def _add_ruleset_paths(spec: APISpec, rs: RuleSet) -> None:
    evaluate, batch = _ruleset_request_schemas(rs)
    base = f"/v1/rulesets/{rs.id}"
    single = _operation(
        f"evaluate_{rs.id}", f"Decide: {rs.title.en}", "decisions", "Decision",
        _POST_ERRORS, requestBody=_body(evaluate),
        description=f"{rs.title.ja}\n\nOne decision with every reason and its citation; with "
        "`unknown` facts, the outcomes still possible; with `explain=whatif`, what would change it.",
    )  # fmt: skip
    single["parameters"] = [*single["parameters"], "EvaluateExplain"]
    spec.path(base + "/evaluate", operations={"post": single})
    operation = _operation(
        f"evaluate_batch_{rs.id}", f"Decide many: {rs.title.en}", "decisions", "BatchResponse",
        _POST_ERRORS, requestBody=_body(batch),
        description="Many decisions; a bad item gets its own problem, the batch still answers 200. "
        "Each decision is compact (outcome, kind, reason codes) unless `explain=full` asks for "
        "the full explanation of `evaluate`.",
    )  # fmt: skip
    operation["parameters"] = [*operation["parameters"], "Explain"]
    spec.path(base + "/evaluate-batch", operations={"post": operation})


def _add_components(spec: APISpec) -> None:
    for name, description in _RESPONSES.items():
        spec.components.response(name, {
            "description": description,
            "content": {PROBLEM_MIMETYPE: {"schema": "Problem"}},
        })  # fmt: skip
    spec.components.parameter("AcceptLanguage", "header", {
        "name": "Accept-Language", "required": False,
        "schema": {"type": "string", "enum": ["ja", "en"]},
        "description": "Language of messages and errors (default ja).",
    })  # fmt: skip
    spec.components.parameter("Explain", "query", {
        "name": "explain", "required": False,
        "schema": {"type": "string", "enum": list(EXPLAIN_LEVELS), "default": "compact"},
        "description": "compact (default): outcome, kind and reason codes per item; full: every "
        "reason's message and citation, consequences, gaps and facts, as evaluate answers; whatif: "
        "full, and each decision's `changes` (what would change the answer).",
    })  # fmt: skip
    spec.components.parameter("EvaluateExplain", "query", {
        "name": "explain", "required": False,
        "schema": {"type": "string", "enum": list(EVALUATE_EXPLAIN_LEVELS), "default": "full"},
        "description": "full (default): the decision; whatif: also `changes`, the smallest sets of "
        "fact changes that give a positive outcome (for a positive one: the one-fact changes that "
        "make it negative). Facts marked fixed are never proposed.",
    })  # fmt: skip
    # Nested schemas register themselves on first use, so leaves come before the schemas using them.
    for schema in (schemas.ProblemSchema, schemas.DecisionSchema, schemas.CompactDecisionSchema,
                   schemas.BatchResponseSchema,
                   schemas.RulesetListSchema, schemas.RulesetDetailSchema, schemas.QuoteRequestSchema,
                   schemas.QuoteResponseSchema, schemas.OrderRequestSchema, schemas.OrderResponseSchema,
                   schemas.HealthSchema, schemas.ReadySchema):  # fmt: skip
        spec.components.schema(_schema_name(schema), schema=schema)


def _add_fixed_paths(spec: APISpec, book: Rulebook, tariff_ids: list[str]) -> None:
    ruleset_param = {"name": "ruleset_id", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": book.ids()}}  # fmt: skip
    as_of_param = {"name": "as_of", "in": "query", "required": False,
                   "schema": {"type": "string", "format": "date"},
                   "description": "Show the version in force on this date."}  # fmt: skip
    spec.path("/healthz", operations={"get": {"operationId": "healthz", "summary": "Alive", "tags": ["ops"],
              "responses": {"200": _json("Health")}}})  # fmt: skip
    spec.path("/readyz", operations={"get": {"operationId": "readyz", "summary": "Rules loaded", "tags": ["ops"],
              "responses": {"200": _json("Ready"), **_errors("NotReady")}}})  # fmt: skip
    spec.path("/v1/rulesets", operations={"get": _operation(
        "list_rulesets", "List rule sets", "rulesets", "RulesetList", ())})  # fmt: skip
    spec.path("/v1/rulesets/{ruleset_id}", operations={"get": _operation(
        "get_ruleset", "Describe a rule set: facts (JSON Schema), rules, outcomes, examples",
        "rulesets", "RulesetDetail", ("NotFound", "Unprocessable"),
    )}, parameters=[ruleset_param, as_of_param])  # fmt: skip
    an_object = {"type": "object"}
    spec.path("/v1/tariffs", operations={"get": _operation(
        "list_tariffs", "List tariffs", "tariffs", an_object, ("NotReady",))})  # fmt: skip
    spec.path("/v1/tariffs/{tariff_id}", operations={"get": _operation(
        "get_tariff", "Describe a tariff", "tariffs", an_object, ("NotFound", "NotReady"))},
        parameters=[{"name": "tariff_id", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": tariff_ids} if tariff_ids else {"type": "string"}}],
    )  # fmt: skip
    spec.path("/v1/quotes", operations={"post": _operation(
        "quote", "Itemised quote with tax and citations", "tariffs", "QuoteResponse",
        (*_POST_ERRORS, "NotReady"), requestBody=_body("QuoteRequest"))})  # fmt: skip
    spec.path("/v1/orders/check", operations={"post": _operation(
        "check_order", "Every eligibility decision of an order, and its quote", "orders",
        "OrderResponse", (*_POST_ERRORS, "NotReady"), requestBody=_body("OrderRequest"))})  # fmt: skip


def _either_decision(document: dict[str, Any]) -> None:
    """A batch item's decision is a full Decision or a CompactDecision (marshmallow has no anyOf)."""
    result = document["components"]["schemas"]["BatchResult"]["properties"]
    result["decision"] = {"anyOf": [{"$ref": "#/components/schemas/Decision"},
                                    {"$ref": "#/components/schemas/CompactDecision"}]}  # fmt: skip


def build_spec(book: Rulebook, tariff_ids: list[str]) -> dict[str, Any]:
    """The whole OpenAPI document for the rule sets loaded in ``book`` and the tariffs named."""

    spec = APISpec(
        title="Flets eligibility and tariff service",
        version="1",
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "Cited eligibility decisions and quotes for NTT Flets services. "
            "Errors are application/problem+json (RFC 9457)."
        },  # fmt: skip
    )
    _add_components(spec)
    _add_fixed_paths(spec, book, tariff_ids)
    for ruleset_id in book.ids():
        _add_ruleset_paths(spec, book.shown_version(ruleset_id))
    document: dict[str, Any] = spec.to_dict()
    _either_decision(document)
    document["x-problem-types"] = {slug: t.uri for slug, t in PROBLEM_TYPES.items()}
    return document


def current_spec() -> dict[str, Any]:
    """The document for what is serving now (rebuilt when the rulebook or tariffs were swapped)."""
    book, tariffs = get_rulebook(), loaded_tariffs()
    cached = current_app.extensions.get(CACHE_KEY)
    if cached is None or cached[0] is not book or cached[1] is not tariffs:
        tariff_ids = [] if tariffs is None else [t["id"] for t in tariffs.list()]
        cached = (book, tariffs, build_spec(book, tariff_ids))
        current_app.extensions[CACHE_KEY] = cached
    spec: dict[str, Any] = cached[2]
    return spec
