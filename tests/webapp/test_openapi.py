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
