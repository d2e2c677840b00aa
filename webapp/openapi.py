"""The OpenAPI 3 document, generated with apispec from the views and their marshmallow schemas.

The paths are the app's own URL rules: each view of the JSON API says what it reads and answers with
:func:`documented` (its request and response schemas, its query parameters), and a view under
``/v1/`` that says nothing (a new admin endpoint) is still described, from its rule and docstring,
with the answers every such call can give. Who may call what (the admin token, the optional decision
token) and what the decision log refuses (503) follow from the blueprint and the view, as the app
enforces them (:mod:`webapp.auth`, :mod:`webapp.state`).

Each rule set gets its own evaluate and evaluate-batch paths whose request schemas come from the rule
set's fact schema (:func:`engine.rules.facts.facts_schema_class`) and whose decision names its own
outcomes; each tariff item gets its own quote item whose ``params`` are the item's parameters
(:func:`engine.tariff.params.json_schema`), so generated clients know every fact, parameter, type and
allowed value. The document is built once per loaded rulebook and tariffs, and cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema, fields, validate
from werkzeug.routing import Rule

from engine import Rulebook
from engine.rules.facts import facts_schema_class
from engine.rules.model import RuleSet
from engine.rules.partial import DEPENDS_ON_UNKNOWN

from . import quote_schemas, schemas
from .auth import ADMIN_BLUEPRINT
from .problems import PROBLEM_MIMETYPE, PROBLEM_TYPES
from .schemas import EVALUATE_EXPLAIN_LEVELS, EXPLAIN_LEVELS
from .state import get_rulebook, loaded_tariffs

OPENAPI_VERSION = "3.0.3"
CACHE_KEY = "flets.openapi"

#: The problem answers every operation may refer to: name → (status, description).
_RESPONSES: dict[str, tuple[int, str]] = {
    "BadRequest": (400, "Malformed JSON, or bytes that are not UTF-8 (problem types "
                        "/problems/malformed-json, /problems/invalid-encoding)."),
    "Unauthorized": (401, "No bearer token (/problems/unauthorized); see the security schemes."),
    "Forbidden": (403, "A wrong token, or the API is closed because no token is configured "
                       "(/problems/forbidden)."),
    "NotFound": (404, "Unknown rule set or tariff."),
    "TooLarge": (413, "Body or batch larger than the limit named in `limit`."),
    "UnsupportedMediaType": (415, "The body is not application/json."),
    "Unprocessable": (422, "Invalid fields; `errors` names each field path, a machine `code` and "
                           "for a value not allowed the closest one (`suggestion`)."),
    "ServerError": (500, "Unexpected error (logged with the request id)."),
    "NotReady": (503, "What the request needs is not loaded (/problems/not-ready)."),
    "DecisionLogUnavailable": (503, "The decision could not be logged, so it was not answered "
                                    "(/problems/decision-log-unavailable); retry later."),
}  # fmt: skip

_POST_ERRORS = ("BadRequest", "TooLarge", "UnsupportedMediaType", "Unprocessable")
_SECURITY_SCHEMES = {
    "adminToken": {"type": "http", "scheme": "bearer",
                   "description": "FLETS_ADMIN_TOKEN: every /v1/admin call. With none configured "
                                  "the admin API is closed (403)."},
    "decisionToken": {"type": "http", "scheme": "bearer",
                      "description": "FLETS_DECISION_TOKEN: every POST under /v1/ outside the "
                                     "admin API, only when it is configured (else open)."},
}  # fmt: skip

View = TypeVar("View", bound=Callable[..., Any])
_ATTRIBUTE = "__openapi__"
_PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Doc:
    """What a view reads and answers, for the document: component names or schemas."""

    summary: str
    tag: str
    ok: str | type[Schema] | None = None
    body: str | type[Schema] | Schema | None = None
    query: Schema | None = None
    parameters: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    #: Other successful statuses and what they mean (the admin reload's 202).
    also: tuple[tuple[int, str], ...] = ()
    #: Answered only once the decision log holds it (503 when it cannot).
    logged: bool = False
    #: One path per loaded rule set (its facts, its outcomes): evaluate and evaluate-batch.
    per_ruleset: str | None = None
    description: str | None = None


def documented(summary: str, tag: str, **details: Any) -> Callable[[View], View]:
    """Record on a view what it reads and answers (:class:`Doc`); :func:`build_spec` reads it."""

    def mark(view: View) -> View:
        setattr(view, _ATTRIBUTE, Doc(summary, tag, **details))
        return view

    return mark


#: The blueprints whose every view is in the document, declared or not.
_BLUEPRINTS = ("api", ADMIN_BLUEPRINT)

#: The views of other blueprints that are part of the API: liveness and readiness.
_ELSEWHERE = {
    "health.healthz": Doc("Alive", "ops", ok="Health"),
    "health.readyz": Doc("Rules loaded and the decision log writable", "ops", ok="Ready",
                         errors=("NotReady",)),
}  # fmt: skip


def _camel(identifier: str) -> str:
    return "".join(part.title() for part in identifier.split("_"))


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[: -len("Schema")] if name.endswith("Schema") and name != "Schema" else name


# --- rule sets ------------------------------------------------------------------------------------


def _ruleset_schemas(rs: RuleSet) -> dict[str, type[Schema]]:
    """The evaluate and batch request schemas whose ``facts`` is the rule set's own schema, and its
    decision, whose ``outcome`` is one of the rule set's outcomes."""
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
    evaluate = type(f"{camel}EvaluateRequest", (schemas.StrictSchema,), {
        "facts": fields.Nested(facts, required=True), "as_of": as_of, "unknown": _unknown_facts(rs),
    })  # fmt: skip
    batch = type(f"{camel}BatchRequest", (schemas.StrictSchema,), {
        "items": fields.List(fields.Nested(item), required=True, validate=validate.Length(min=1)),
        "as_of": fields.Date(load_default=None),
    })  # fmt: skip
    outcomes = [o.id for o in rs.outcomes]
    decision = type(f"{camel}Decision", (schemas.DecisionSchema,), {
        "outcome": fields.String(required=True, validate=validate.OneOf(
            [*outcomes, DEPENDS_ON_UNKNOWN] if DEPENDS_ON_UNKNOWN not in outcomes else outcomes)),
    })  # fmt: skip
    return {"evaluate": evaluate, "evaluate_batch": batch, "decision": decision}


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


# --- tariff items ---------------------------------------------------------------------------------


def _openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (2020-12, as the tariff engine writes a parameter's) as OpenAPI 3.0 reads it,
    recursively: a list of types becomes ``anyOf`` (``null`` in it: ``nullable``), ``const`` a
    one-value ``enum``, ``patternProperties`` the schema of ``additionalProperties`` (its pattern
    kept as ``x-key-pattern``), ``examples`` one ``example``; ``title`` is left to ``x-label``
    (generators name classes after titles, and two items' parameters may share one)."""
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or key.startswith("x-"):
            if key != "title":
                result[key] = value
        elif key in ("properties", "patternProperties"):
            converted = {name: _openapi_30(sub) for name, sub in value.items()}
            if key == "properties":
                result[key] = converted
            elif len(converted) == 1:
                ((pattern, sub),) = converted.items()
                result["additionalProperties"] = sub
                result["x-key-pattern"] = pattern
        elif key == "additionalProperties" and "patternProperties" in schema:
            continue  # the patterns' schema stands for it
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            result[key] = _openapi_30(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            result[key] = [_openapi_30(sub) for sub in value]
        elif key == "const":
            result["enum"] = [value]
        elif key == "examples" and isinstance(value, list) and value:
            result["example"] = value[0]
        else:
            result[key] = value
    if "patternProperties" in schema and "x-key-pattern" not in result:
        result.pop("additionalProperties", None)  # several patterns: any value
    kinds = result.get("type")
    if isinstance(kinds, list):
        del result["type"]
        if "null" in kinds:
            result["nullable"] = True
        kinds = [kind for kind in kinds if kind != "null"]
        if len(kinds) == 1:
            result["type"] = kinds[0]
        else:
            pattern = result.pop("pattern", None)
            result["anyOf"] = [
                {"type": kind, **({"pattern": pattern} if pattern and kind == "string" else {})}
                for kind in kinds
            ]
    return result


def quote_items(tariffs: Any) -> dict[str, dict[str, Any]]:
    """One schema per tariff item, ``{tariff, item, params}`` with the item's own parameters (the
    newest version's), by component name; the quote item is one of them."""
    from engine.tariff.params import json_schema

    found: dict[tuple[str, str], Any] = {}
    for tariff in [] if tariffs is None else tariffs.tariffs:  # oldest first: the newest wins
        for item in tariff.items.values():
            found[(tariff.id, item.id)] = (tariff, item)
    variants: dict[str, dict[str, Any]] = {}
    for (tariff_id, item_id), (tariff, item) in sorted(found.items()):
        params = json_schema(item.params)
        params["properties"] = {
            name: _openapi_30(prop) for name, prop in params["properties"].items()
        }
        if not params["required"]:
            del params["required"]
        params["description"] = f"{tariff.title.en}: {item.title.en}"
        name = f"{_camel(tariff_id)}{_camel(item_id)}"
        variants[f"{name}Params"] = params
        variants[f"{name}QuoteItem"] = {
            "type": "object",
            "description": f"{item.title.en} ({item.title.ja})",
            "properties": {
                "tariff": {"type": "string", "enum": [tariff_id]},
                "item": {"type": "string", "enum": [item_id]},
                "params": {"$ref": f"#/components/schemas/{name}Params"},
            },
            "required": ["tariff", "item", *(["params"] if "required" in params else [])],
            "additionalProperties": False,
        }
    return variants


def _typed_quote_items(document: dict[str, Any], tariffs: Any) -> None:
    """``QuoteItem`` as one of the items of the loaded tariffs (told apart by ``tariff`` and
    ``item``, which are fixed in each), when tariffs are loaded."""
    variants = quote_items(tariffs)
    if not variants:
        return
    components = document["components"]["schemas"]
    components.update(variants)
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in variants if name.endswith("Item")]
    components["QuoteItem"] = {
        "oneOf": refs,
        "description": "One item of a tariff: `tariff` and `item` pick it, `params` are its "
        "parameters (GET /v1/tariffs/{tariff_id} describes them).",
        "x-discriminator": ["tariff", "item"],
    }


# --- paths ----------------------------------------------------------------------------------------


def _json(
    schema: str | dict[str, Any] | type[Schema] | None, description: str = "OK"
) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}  # fmt: skip


def _body(schema: str | type[Schema] | Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _errors(names: tuple[str, ...]) -> dict[str, Any]:
    return {str(_RESPONSES[n][0]): {"$ref": f"#/components/responses/{n}"} for n in names}


def _path(rule: Rule) -> str:
    return _PATH_PARAMETER.sub(r"{\1}", rule.rule)


def _path_parameters(rule: Rule, enums: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", **({"enum": enums[name]} if enums.get(name) else {})}}
        for name in _PATH_PARAMETER.findall(rule.rule)
    ]  # fmt: skip


def _operation_id(rule: Rule, view: Callable[..., Any], method: str, methods: list[str]) -> str:
    """The view's name (``quote``, ``healthz``), its blueprint's first for another blueprint's
    view (``admin_reload``), and the method when a rule takes several."""
    blueprint = rule.endpoint.partition(".")[0]
    name = view.__name__ if blueprint in ("api", "health") else rule.endpoint.replace(".", "_")
    return f"{name}_{method}" if len(methods) > 1 else name


def _undocumented(rule: Rule, view: Callable[..., Any]) -> Doc:
    """A view under ``/v1/`` that declares nothing: its docstring's first line, a JSON object."""
    summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0].rstrip(".")
    tag = "admin" if rule.endpoint.startswith(f"{ADMIN_BLUEPRINT}.") else "other"
    return Doc(summary, tag, description=view.__doc__)


def _operation(method: str, rule: Rule, doc: Doc, op_id: str) -> dict[str, Any]:
    """The operation of one view, with the answers its blueprint and its method can give."""
    errors = [*doc.errors]
    admin = rule.endpoint.startswith(f"{ADMIN_BLUEPRINT}.")
    if method == "post":
        errors += _POST_ERRORS
    if admin or method == "post":
        errors += ("Unauthorized", "Forbidden")
    if doc.logged:
        errors.append("DecisionLogUnavailable")
    errors.append("ServerError")
    ok = doc.ok if isinstance(doc.ok, str) or doc.ok is None else doc.ok
    responses = {"200": _json(ok), **{str(s): _json(ok, text) for s, text in doc.also}}
    responses.update(_errors(tuple(dict.fromkeys(errors))))
    operation: dict[str, Any] = {"operationId": op_id, "summary": doc.summary, "tags": [doc.tag],
                                 "responses": responses,
                                 "parameters": ["AcceptLanguage", *doc.parameters]}  # fmt: skip
    if doc.description:
        operation["description"] = doc.description
    if doc.body is not None:
        operation["requestBody"] = _body(doc.body)
    if doc.query is not None:
        operation["parameters"] += [{"in": "query", "schema": doc.query}]
    if admin:
        operation["security"] = [{"adminToken": []}]
    elif method == "post" and rule.rule.startswith("/v1/"):
        operation["security"] = [{"decisionToken": []}, {}]
    return operation


def _add_paths(spec: APISpec, app: Flask, book: Rulebook, enums: dict[str, list[str]]) -> None:
    """A path per URL rule of the documented blueprints (per rule set for the decision calls)."""
    own_schemas: dict[str, dict[str, type[Schema]]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        doc: Doc | None = getattr(view, _ATTRIBUTE, None) or _ELSEWHERE.get(rule.endpoint)
        if doc is None:
            if rule.endpoint.partition(".")[0] not in _BLUEPRINTS:
                continue
            doc = _undocumented(rule, view)
        methods = sorted(m.lower() for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))
        if doc.per_ruleset is None:
            params = _path_parameters(rule, enums)
            operations = {m: _operation(m, rule, doc, _operation_id(rule, view, m, methods))
                          for m in methods}  # fmt: skip
            spec.path(_path(rule), operations=operations, parameters=params or None)
            continue
        for ruleset_id in book.ids():
            rs = book.shown_version(ruleset_id)
            own = own_schemas.setdefault(ruleset_id, _ruleset_schemas(rs))
            ok = own["decision"] if doc.per_ruleset == "evaluate" else doc.ok
            specific = Doc(f"{doc.summary}: {rs.title.en}", doc.tag, ok=ok,
                           body=own[doc.per_ruleset], parameters=doc.parameters, logged=doc.logged,
                           description=f"{rs.title.ja}\n\n{doc.description or ''}".strip())  # fmt: skip
            path = _path(rule).replace("{ruleset_id}", ruleset_id)
            operations = {m: _operation(m, rule, specific, f"{view.__name__}_{ruleset_id}")
                          for m in methods}  # fmt: skip
            spec.path(path, operations=operations)


def _add_components(spec: APISpec) -> None:
    for name, (_, description) in _RESPONSES.items():
        spec.components.response(name, {
            "description": description,
            "content": {PROBLEM_MIMETYPE: {"schema": "Problem"}},
        })  # fmt: skip
    for name, scheme in _SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.parameter("AcceptLanguage", "header", {
        "name": "Accept-Language", "required": False,
        "schema": {"type": "string", "enum": ["ja", "en"]},
        "description": "Language of every text of the answer, errors included (default ja); the "
        "answer's Content-Language says which.",
    })  # fmt: skip
    spec.components.parameter("AsOf", "query", {
        "name": "as_of", "required": False, "schema": {"type": "string", "format": "date"},
        "description": "Show the version in force on this date.",
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
                   schemas.BatchResponseSchema, schemas.RulesetListSchema,
                   schemas.RulesetDetailSchema, schemas.QuoteRequestSchema,
                   quote_schemas.QuoteResponseSchema, schemas.OrderRequestSchema,
                   quote_schemas.OrderResponseSchema, schemas.HealthSchema,
                   schemas.ReadySchema):  # fmt: skip
        spec.components.schema(_schema_name(schema), schema=schema)


def _either_decision(document: dict[str, Any]) -> None:
    """A batch item's decision is a full Decision or a CompactDecision (marshmallow has no anyOf)."""
    result = document["components"]["schemas"]["BatchResult"]["properties"]
    result["decision"] = {"anyOf": [{"$ref": "#/components/schemas/Decision"},
                                    {"$ref": "#/components/schemas/CompactDecision"}]}  # fmt: skip


def build_spec(app: Flask, book: Rulebook, tariffs: Any) -> dict[str, Any]:
    """The whole OpenAPI document for ``app``'s views, the rule sets loaded in ``book`` and the
    ``tariffs`` (a :class:`~engine.tariff.TariffBook`, or ``None``)."""
    spec = APISpec(
        title="Flets eligibility and tariff service",
        version="1",
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "Cited eligibility decisions and quotes for NTT Flets services. "
            "Every answer is in the language of Accept-Language (Content-Language says which). "
            "Errors are application/problem+json (RFC 9457); a field error has a machine `code`."
        },  # fmt: skip
    )
    _add_components(spec)
    tariff_ids = [] if tariffs is None else tariffs.ids()
    _add_paths(spec, app, book, {"ruleset_id": book.ids(), "tariff_id": tariff_ids})
    document: dict[str, Any] = spec.to_dict()
    _either_decision(document)
    _typed_quote_items(document, tariffs)
    document["x-problem-types"] = {slug: t.uri for slug, t in PROBLEM_TYPES.items()}
    return document


def current_spec() -> dict[str, Any]:
    """The document for what is serving now (rebuilt when the rulebook or tariffs were swapped)."""
    book, tariffs = get_rulebook(), loaded_tariffs()
    cached = current_app.extensions.get(CACHE_KEY)
    if cached is None or cached[0] is not book or cached[1] is not tariffs:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        cached = (book, tariffs, build_spec(app, book, tariffs))
        current_app.extensions[CACHE_KEY] = cached
    spec: dict[str, Any] = cached[2]
    return spec
