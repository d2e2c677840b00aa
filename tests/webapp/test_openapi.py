"""The OpenAPI document: valid, generated per rule set, and matching what the API really answers."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate

from webapp.state import get_rulebook

from .conftest import TV_TWO_REFUSALS


def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json
    return body


def test_document_validates_as_openapi_3(client: FlaskClient) -> None:
    document = spec(client)
    assert document["openapi"].startswith("3.")
    validate(document)


def test_each_rule_set_has_its_own_request_schema_from_its_facts(
    app: Flask, client: FlaskClient
) -> None:
    document = spec(client)
    with app.app_context():
        ids = get_rulebook().ids()
    for ruleset_id in ids:
        assert f"/v1/rulesets/{ruleset_id}/evaluate" in document["paths"]
        assert f"/v1/rulesets/{ruleset_id}/evaluate-batch" in document["paths"]
    schemas = document["components"]["schemas"]
    request = schemas["TvApplicationEvaluateRequest"]
    assert request["properties"]["facts"]["$ref"] == "#/components/schemas/TvApplicationFacts"
    facts = schemas["TvApplicationFacts"]
    assert facts["additionalProperties"] is False
    assert "applicant_is_line_contractor" in facts["required"]
    assert facts["properties"]["line_kind"]["enum"] == [
        "ntt_flets",
        "collab_direct",
        "collab_via_operator",
    ]
    assert facts["properties"]["bulk_plan"]["type"] == "boolean"


def conforms(document: dict[str, Any], instance: Any, component: str) -> None:
    """Validate ``instance`` against a component schema with OpenAPI 3.0 semantics (``nullable``)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    validate_instance(instance, schema, cls=OAS30Validator)


def test_real_responses_match_the_documented_schemas(client: FlaskClient) -> None:
    document = spec(client)
    decision = client.post(
        "/v1/rulesets/tv_application/evaluate", json={"facts": TV_TWO_REFUSALS}
    ).json
    conforms(document, decision, "Decision")
    for ruleset in client.get("/v1/rulesets").json["rulesets"]:
        conforms(document, client.get(f"/v1/rulesets/{ruleset['id']}").json, "RulesetDetail")
    conforms(document, client.post("/v1/rulesets/tv_application/evaluate", json={}).json, "Problem")


def test_docs_page_lists_every_operation_and_problem_type(client: FlaskClient) -> None:
    document = spec(client)
    page = client.get("/docs?lang=en").get_data(as_text=True)
    for path, item in document["paths"].items():
        for method in item:
            if method in ("get", "post"):
                assert f"<code>{path}</code>" in page
    assert "/problems/invalid-fields" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert client.get("/problems/batch-too-large").status_code == 200
    assert client.get("/problems/made-up").status_code == 404


# --- the contract: typed quote items, tokens, the admin API, outcomes, paths from the views --------


def test_each_tariff_item_is_a_typed_quote_item_with_its_own_parameters(
    client: FlaskClient,
) -> None:
    """Derived from the loaded tariffs: every item of every tariff, its parameters as the tariff
    describes them (so a parameter a tariff adds appears by itself), enums included."""
    document = spec(client)
    schemas = document["components"]["schemas"]
    variants = [ref["$ref"].rpartition("/")[2] for ref in schemas["QuoteItem"]["oneOf"]]
    described = 0
    for tariff in client.get("/v1/tariffs").json["tariffs"]:
        for item in client.get(f"/v1/tariffs/{tariff['id']}").json["items"]:
            name = "".join(p.title() for p in f"{tariff['id']}_{item['id']}".split("_"))
            assert f"{name}QuoteItem" in variants
            variant = schemas[f"{name}QuoteItem"]["properties"]
            assert (variant["tariff"]["enum"], variant["item"]["enum"]) == (
                [tariff["id"]],
                [item["id"]],
            )
            params = schemas[f"{name}Params"]
            assert set(params["properties"]) == set(item["params_schema"]["properties"])
            assert set(params.get("required", [])) == set(item["params_schema"]["required"])
            for prop, declared in item["params_schema"]["properties"].items():
                assert params["properties"][prop].get("enum") == declared.get("enum")
            described += 1
    assert described == len(variants) > 20
    construction = schemas["TvTransportConstructionParams"]["properties"]
    assert "daytime" in construction["time_slot"]["enum"]


def test_tokens_and_the_answers_they_produce_are_documented(client: FlaskClient) -> None:
    document = spec(client)
    schemes = document["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {
        "adminToken": "bearer",
        "decisionToken": "bearer",
    }
    paths = document["paths"]
    for path in ("/v1/admin/reload", "/v1/admin/status", "/v1/admin/decisions", "/v1/admin/impact"):
        for operation in paths[path].values():
            assert operation["security"] == [{"adminToken": []}]
            assert {"401", "403"} <= set(operation["responses"])
    assert "202" in paths["/v1/admin/reload"]["post"]["responses"]
    names = {p["name"] for p in paths["/v1/admin/decisions"]["get"]["parameters"] if "name" in p}
    assert {"ruleset", "since", "until", "outcome", "limit"} <= names
    impact = paths["/v1/admin/impact"]["post"]["requestBody"]["content"]["application/json"]
    assert impact["schema"]["$ref"].endswith("/ImpactRequest")
    for path in ("/v1/rulesets/tv_application/evaluate", "/v1/orders/check", "/v1/quotes"):
        operation = paths[path]["post"]
        assert operation["security"] == [{"decisionToken": []}, {}]  # only when configured
        assert {"401", "403"} <= set(operation["responses"])
    logged = paths["/v1/rulesets/tv_application/evaluate"]["post"]["responses"]["503"]
    assert logged["$ref"].endswith("/DecisionLogUnavailable")
    assert "security" not in paths["/v1/rulesets"]["get"]


def test_a_decisions_outcome_is_one_of_its_rule_sets(app: Flask, client: FlaskClient) -> None:
    document = spec(client)
    with app.app_context():
        book = get_rulebook()
        for ruleset_id in book.ids():
            rs = book.shown_version(ruleset_id)
            name = "".join(p.title() for p in ruleset_id.split("_")) + "Decision"
            answer = document["paths"][f"/v1/rulesets/{ruleset_id}/evaluate"]["post"]["responses"]
            ref = answer["200"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{name}"
            outcomes = document["components"]["schemas"][name]["properties"]["outcome"]["enum"]
            assert set(outcomes) == {o.id for o in rs.outcomes} | {"depends_on_unknown_facts"}


def test_the_paths_are_the_apps_own_views(app: Flask, client: FlaskClient) -> None:
    """Every rule of the API and admin blueprints is in the document, and a new view appears without
    a hand edit of the document."""
    from flask import Blueprint

    from webapp.openapi import build_spec

    document = spec(client)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] in ("api", "admin") and "<ruleset_id>/" not in rule.rule:
            assert rule.rule.replace("<", "{").replace(">", "}") in document["paths"]
    other = Flask("other")
    extra = Blueprint("admin", "other", url_prefix="/v1/admin")

    @extra.get("/audit-export")
    def audit_export() -> str:
        """Export the decision log as CSV."""
        return ""

    other.register_blueprint(extra)
    with app.app_context():
        built = build_spec(other, get_rulebook(), None)
    operation = built["paths"]["/v1/admin/audit-export"]["get"]
    assert operation["summary"] == "Export the decision log as CSV"
    assert operation["security"] == [{"adminToken": []}] and "403" in operation["responses"]


def test_quotes_orders_and_coded_problems_match_the_documented_schemas(
    client: FlaskClient,
) -> None:
    document = spec(client)
    quote = {"as_of": "2025-04-01", "items": [
        {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-02",
                                                                    "service_start": "2025-02-11"}},
        {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1}}]}  # fmt: skip
    for lang in ("ja", "en"):
        headers = {"Accept-Language": lang}
        conforms(
            document, client.post("/v1/quotes", json=quote, headers=headers).json, "QuoteResponse"
        )
        order = {
            "checks": [{"ruleset": "tv_application", "facts": TV_TWO_REFUSALS}],
            "quote": quote,
        }
        answer = client.post("/v1/orders/check", json=order, headers=headers).json
        conforms(document, answer, "OrderResponse")
        decision = client.post("/v1/rulesets/tv_application/evaluate",
                               json={"facts": TV_TWO_REFUSALS}, headers=headers).json  # fmt: skip
        conforms(document, decision, "TvApplicationDecision")
    order["checks"][0]["facts"] = {**TV_TWO_REFUSALS, "prefecture": "Tokyo"}
    problem = client.post("/v1/orders/check", json=order).json
    assert problem["errors"][0]["suggestion"] == "tokyo"
    conforms(document, problem, "Problem")
