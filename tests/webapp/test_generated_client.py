"""A typed client generated from the live server's /openapi.json (openapi-python-client, from PyPI)
runs every bundled example through the server: what an order system's team would do first.

The document is the contract: if a decision, a quote or a problem did not match it, the generated
models would fail to read the answer, and if a request body were typed wrongly, the examples could
not be sent through them.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.slow]

PACKAGE = "flets_client"


def _camel(identifier: str) -> str:
    return "".join(part.title() for part in identifier.split("_"))


@pytest.fixture(scope="module")
def generated(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the live document, importable for this module's tests."""
    folder = tmp_path_factory.mktemp("generated")
    document = folder / "openapi.json"
    document.write_text(json.dumps(requests.get(f"{live_server}/openapi.json", timeout=30).json()))
    config = folder / "config.yml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(folder / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # Every path, schema and parameter became code: the generator skipped nothing.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def client(generated: ModuleType, live_server: str) -> Iterator[Any]:
    """The generated client on the live server (its connections closed after the test)."""
    with generated.Client(
        base_url=live_server, raise_on_unexpected_status=True, timeout=30
    ) as opened:
        yield opened


def test_every_rule_set_example_decides_through_the_typed_client(
    client: Any, live_server: str
) -> None:
    models = _module("models")
    listed = _module("api.rulesets.list_rulesets").sync(client=client)
    assert isinstance(listed, models.RulesetList)
    detail_api = _module("api.rulesets.get_ruleset")
    decided = 0
    for summary in listed.rulesets:
        ruleset_id = summary.id
        detail = detail_api.sync(client=client, ruleset_id=models.GetRulesetRulesetId(ruleset_id))
        assert isinstance(detail, models.RulesetDetail)
        evaluate = _module(f"api.decisions.evaluate_{ruleset_id}")
        request_model = getattr(models, f"{_camel(ruleset_id)}EvaluateRequest")
        decision_model = getattr(models, f"{_camel(ruleset_id)}Decision")
        for example in detail.examples:
            body = request_model.from_dict(example.request.to_dict())
            decision = evaluate.sync(client=client, body=body)
            where = (ruleset_id, example.note)
            assert isinstance(decision, decision_model), (where, decision)
            assert decision.outcome.value == example.expect.outcome, where
            assert sorted(r.code for r in decision.reasons) == example.expect.reasons, where
            decided += 1
    assert decided > 20


def test_every_rule_sets_examples_go_through_the_typed_batch(client: Any, live_server: str) -> None:
    models = _module("models")
    for summary in _module("api.rulesets.list_rulesets").sync(client=client).rulesets:
        ruleset_id = summary.id
        detail = _module("api.rulesets.get_ruleset").sync(
            client=client, ruleset_id=models.GetRulesetRulesetId(ruleset_id)
        )
        # A batch is decided on one date: the examples without their own.
        examples = [e for e in detail.examples if "as_of" not in e.request.to_dict()]
        if not examples:
            continue
        batch_model = getattr(models, f"{_camel(ruleset_id)}BatchRequest")
        body = batch_model.from_dict(
            {"items": [{"facts": e.request.to_dict()["facts"]} for e in examples]}
        )
        answer = _module(f"api.decisions.evaluate_batch_{ruleset_id}").sync(
            client=client, body=body
        )
        assert isinstance(answer, models.BatchResponse), answer
        assert answer.errors == 0
        outcomes = [result.decision.outcome for result in answer.results]
        assert outcomes == [e.expect.outcome for e in examples], ruleset_id


def test_every_tariff_example_is_quoted_through_the_typed_client(
    client: Any, live_server: str
) -> None:
    models = _module("models")
    quote = _module("api.tariffs.quote")
    quoted = 0
    for tariff in requests.get(f"{live_server}/v1/tariffs", timeout=10).json()["tariffs"]:
        described = requests.get(f"{live_server}/v1/tariffs/{tariff['id']}", timeout=10).json()
        for example in described["examples"]:
            body = models.QuoteRequest.from_dict(example["request"])  # typed per tariff item
            answer = quote.sync_detailed(client=client, body=body)
            where = (tariff["id"], example["note"])
            if "errors" in example["expect"]:
                assert answer.status_code == 422, where
                refused = answer.parsed
                assert isinstance(refused, models.Problem), where
                assert {e.field for e in refused.errors} == set(example["expect"]["errors"]), where
                continue
            assert isinstance(answer.parsed, models.QuoteResponse), (where, answer.content[:300])
            totals = answer.parsed.totals.to_dict()
            expected = example["expect"].get("totals", {})
            assert {k: totals[k] for k in expected} == expected, where
            quoted += 1
    assert quoted > 20


def test_answers_and_problems_read_in_the_language_asked_for(client: Any, live_server: str) -> None:
    models = _module("models")
    order = {
        "as_of": "2025-04-01",
        "checks": [{"ruleset": "tv_application", "facts": {"prefecture": "Tokyo"}}],
        "quote": {"items": [{"tariff": "tv_transport", "item": "monthly_fee",
                             "params": {"month": "2025-13"}}]},
    }  # fmt: skip
    check = _module("api.orders.check_order")
    refused = check.sync(
        client=client,
        body=models.OrderRequest.from_dict(order),
        accept_language=models.CheckOrderAcceptLanguage.JA,
    )
    assert isinstance(refused, models.Problem)
    by_field = {e.field: e for e in refused.errors}
    prefecture = by_field["checks.0.facts.prefecture"]
    assert (prefecture.code.value, prefecture.suggestion) == ("not_one_of", "tokyo")
    assert by_field["quote.items.0.params.month"].code.value == "invalid_format"
    assert refused.title == "入力内容に誤りがあります"
    priced = _module("api.tariffs.quote").sync(
        client=client,
        body=models.QuoteRequest.from_dict(
            {"as_of": "2025-04-01", "items": [
                {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}]}
        ),
        accept_language=models.QuoteAcceptLanguage.JA,
    )  # fmt: skip
    assert isinstance(priced, models.QuoteResponse)
    assert priced.lines[0].description == "フレッツ・テレビ伝送サービス利用料"
