"""The JSON API for order systems: rule sets, decisions, batches, tariffs, quotes and order checks.

Views stay thin: validate the envelope with a schema, call the engine, serialise. Errors propagate to
:mod:`webapp.problems`, which turns each into one problem+json body.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from engine import Decision, FactsError, Rulebook, today_in_tokyo
from engine.model import Lang, RuleSet, Text

from . import orders
from .describe import ruleset_detail, ruleset_summary
from .extensions import get_rulebook
from .i18n import api_lang
from .inputs import query_date, read_json
from .problems import Problem, flatten_messages, invalid_fields, prefixed
from .render import EXPLAIN_LEVELS, Explain, compact_decision_json, decision_json, dumps
from .schemas import (
    BATCH_ITEM,
    BATCH_REQUEST,
    EVALUATE_REQUEST,
    OrderRequestSchema,
    QuoteRequestSchema,
    is_plain_batch_item,
    load_or_problem,
    quick_batch_request,
    quick_evaluate_request,
)

bp = Blueprint("api", __name__, url_prefix="/v1")


def shown_version(book: Rulebook, ruleset_id: str, as_of: date | None) -> RuleSet:
    """The version in force on ``as_of``; without a date, today's or else the newest one."""
    if as_of is not None:
        return book.select(ruleset_id, as_of)
    versions = book.versions(ruleset_id)
    today = today_in_tokyo()
    return next((rs for rs in reversed(versions) if rs.in_force(today)), versions[-1])


def json_response(body: Any, status: int = 200, lang: Lang | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Language"] = lang or api_lang()
    return response


def json_text_response(text: str, lang: Lang) -> Response:
    """A 200 answer whose JSON is already rendered (exactly what :func:`json_response` would send)."""
    response = Response(text + "\n", mimetype="application/json")
    response.headers["Content-Language"] = lang
    return response


@bp.get("/rulesets")
def list_rulesets() -> Response:
    book = get_rulebook()
    summaries = [
        ruleset_summary(shown_version(book, rid, None), book.versions(rid)) for rid in book.ids()
    ]
    return json_response({"rulesets": summaries})


@bp.get("/rulesets/<ruleset_id>")
def get_ruleset(ruleset_id: str) -> Response:
    book = get_rulebook()
    rs = shown_version(book, ruleset_id, query_date("as_of"))
    return json_response(ruleset_detail(rs, book.versions(ruleset_id)))


@bp.post("/rulesets/<ruleset_id>/evaluate")
def evaluate(ruleset_id: str) -> Response:
    book = get_rulebook()
    book.versions(ruleset_id)  # unknown rule set → 404 before looking at the body
    data = read_json()
    body = quick_evaluate_request(data) or load_or_problem(EVALUATE_REQUEST, data)
    decision = book.decide(ruleset_id, body["facts"], body["as_of"])
    lang = api_lang()
    return json_text_response(decision_json(decision, lang), lang)


def _check_batch_size(data: Any) -> None:
    limit: int = current_app.config["MAX_BATCH_ITEMS"]
    items = data.get("items") if isinstance(data, dict) else None
    if isinstance(items, list) and len(items) > limit:
        raise Problem(
            "batch-too-large",
            Text(
                f"1回のバッチは {limit} 件までです（{len(items)} 件）。",
                f"A batch may hold at most {limit} items ({len(items)} sent).",
            ),  # fmt: skip
            extra={"limit": limit},
        )


def _item_facts(items: list[Any]) -> tuple[list[Any], dict[int, dict[str, list[str]]]]:
    """Each item's facts, and the envelope errors of the items that are not ``{"facts": {...}}``."""
    facts: list[Any] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        if is_plain_batch_item(item):
            facts.append(item["facts"])
            continue
        found = (
            BATCH_ITEM.validate(item)
            if isinstance(item, dict)
            else {"_schema": ["Invalid input type."]}
        )
        if found:
            errors[index] = flatten_messages(found)
        else:
            facts.append(item["facts"])
    return facts, errors


def _explain_level() -> Explain:
    """``?explain=compact`` (the default for batches) or ``full``; anything else is a 422 naming it."""
    raw = request.args.get("explain", "compact")
    for level in EXPLAIN_LEVELS:
        if raw == level:
            return level
    raise invalid_fields({"explain": [f"Must be one of: {', '.join(EXPLAIN_LEVELS)}."]})


@bp.post("/rulesets/<ruleset_id>/evaluate-batch")
def evaluate_batch(ruleset_id: str) -> Response:
    book = get_rulebook()
    book.versions(ruleset_id)
    explain = _explain_level()
    data = read_json()
    _check_batch_size(data)
    body = quick_batch_request(data) or load_or_problem(BATCH_REQUEST, data)
    day = body["as_of"] or today_in_tokyo()
    rs = book.select(ruleset_id, day)
    facts, envelope_errors = _item_facts(body["items"])
    decided = iter(book.decide_batch(ruleset_id, facts, day))
    lang = api_lang()
    results: list[str] = []
    failed = 0
    for index in range(len(body["items"])):
        outcome = None if index in envelope_errors else next(decided)
        ok, result = _batch_result(index, outcome, envelope_errors.get(index), lang, explain)
        failed += not ok
        results.append(result)
    head = dumps({"ruleset": rs.id, "version": rs.version, "as_of": day.isoformat(),
                  "explain": explain, "count": len(results), "errors": failed})  # fmt: skip
    return json_text_response(f'{head[:-1]},"results":[{",".join(results)}]}}', lang)


def _batch_result(
    index: int,
    outcome: Decision | FactsError | None,
    envelope_error: dict[str, list[str]] | None,
    lang: Lang,
    explain: Explain,
) -> tuple[bool, str]:
    """One batch entry as JSON: the decision, or the item's own problem (the batch still succeeds)."""
    if envelope_error is not None:
        problem = invalid_fields(envelope_error)
    elif isinstance(outcome, FactsError):
        problem = invalid_fields(prefixed(outcome.fields, "facts"))
    else:
        assert outcome is not None
        rendered = (
            decision_json(outcome, lang) if explain == "full" else compact_decision_json(outcome)
        )
        return True, f'{{"index":{index},"ok":true,"decision":{rendered}}}'
    return False, dumps({"index": index, "ok": False, "problem": problem.to_dict(lang)})


@bp.get("/tariffs")
def list_tariffs() -> Response:
    return json_response({"tariffs": orders.require_tariffs().list()})


@bp.get("/tariffs/<tariff_id>")
def get_tariff(tariff_id: str) -> Response:
    return json_response(orders.require_tariffs().describe(tariff_id))


@bp.post("/quotes")
def quote() -> Response:
    data = read_json()
    body = load_or_problem(QuoteRequestSchema(), data)
    return json_response(orders.quote(data, body["as_of"], prefix=""))


@bp.post("/orders/check")
def check_order() -> Response:
    data = read_json()
    body = load_or_problem(OrderRequestSchema(), data)
    return json_response(orders.check(body, data.get("quote"), api_lang()))
