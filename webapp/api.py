"""The JSON API for order systems: rule sets, decisions, batches, tariffs, quotes and order checks.

Views stay thin: validate the envelope with a schema, call the engine, serialise. Errors propagate to
:mod:`webapp.problems`, which turns each into one problem+json body.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from engine.messages import Code, Message
from engine.messages.language import Lang, Text

from . import orders
from .decisions import BATCH_LIMIT, answer, check_batch_size, decide_batch, decide_one
from .describe import ruleset_detail, ruleset_summary
from .fast.envelopes import quick_batch_request, quick_evaluate_request
from .fast.quotes import quick_quote_request, quote_json
from .fast.render import batch_json, decision_json
from .i18n import api_lang, one_language
from .inputs import query_date, read_json
from .openapi import documented
from .problems import Problem, invalid_fields, with_sent
from .quote_schemas import OrderResponseSchema, QuoteResponseSchema
from .schemas import (
    BATCH_REQUEST,
    DEFAULT_EXPLAIN,
    EVALUATE_EXPLAIN_LEVELS,
    EVALUATE_REQUEST,
    EXPLAIN_LEVELS,
    EXPLAIN_PARAM,
    QUOTE_REQUEST,
    WHATIF,
    Explain,
    explain_level,
    load_or_problem,
)
from .state import get_rulebook, get_tariffs

bp = Blueprint("api", __name__, url_prefix="/v1")


def json_response(body: Any, status: int = 200, lang: Lang | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Language"] = lang or api_lang()
    return response


def json_text_response(text: str, lang: Lang) -> Response:
    """A 200 answer whose JSON is already rendered (exactly what :func:`json_response` would send)."""
    body, headers = answer(text, lang)
    return Response(body, headers=headers)


@bp.get("/rulesets")
@documented("List rule sets", "rulesets", ok="RulesetList")
def list_rulesets() -> Response:
    book = get_rulebook()
    summaries = [ruleset_summary(book.shown_version(rid), book.versions(rid)) for rid in book.ids()]
    return json_response({"rulesets": summaries})


@bp.get("/rulesets/<ruleset_id>")
@documented(
    "Describe a rule set: facts (JSON Schema), rules, outcomes, examples",
    "rulesets",
    ok="RulesetDetail",
    parameters=("AsOf",),
    errors=("NotFound", "Unprocessable"),
)
def get_ruleset(ruleset_id: str) -> Response:
    book = get_rulebook()
    rs = book.shown_version(ruleset_id, query_date("as_of"))
    return json_response(ruleset_detail(rs, book.versions(ruleset_id)))


@bp.post("/rulesets/<ruleset_id>/evaluate")
@documented(
    "Decide",
    "decisions",
    per_ruleset="evaluate",
    parameters=("EvaluateExplain",),
    logged=True,
    description="One decision with every reason and its citation; with `unknown` facts, the "
    "outcomes still possible; with `explain=whatif`, what would change it.",
)
def evaluate(ruleset_id: str) -> Response:
    book = get_rulebook()
    book.versions(ruleset_id)  # unknown rule set → 404 before looking at the body
    whatif = _explain_level(EVALUATE_EXPLAIN_LEVELS, "full") == WHATIF
    data = read_json()
    envelope = quick_evaluate_request(data) or load_or_problem(EVALUATE_REQUEST, data)
    decision = decide_one(book, ruleset_id, envelope, whatif)
    lang = api_lang()
    return json_text_response(decision_json(decision, lang), lang)


def _require_batch_size(data: Any) -> None:
    limit: int = current_app.config[BATCH_LIMIT]
    if not check_batch_size(data, limit):
        raise Problem(
            "batch-too-large",
            Text(
                f"1回のバッチは {limit} 件までです（{len(data['items'])} 件）。",
                f"A batch may hold at most {limit} items ({len(data['items'])} sent).",
            ),  # fmt: skip
            extra={"limit": limit},
        )


def _explain_level(
    levels: tuple[Explain, ...] = EXPLAIN_LEVELS, default: Explain = DEFAULT_EXPLAIN
) -> Explain:
    """``?explain=``: for batches ``compact`` (the default), ``full`` or ``whatif``; for ``evaluate``
    ``full`` (the default) or ``whatif``. Anything else is a 422 naming the choices."""
    raw_level = request.args.get(EXPLAIN_PARAM)
    level = explain_level(raw_level, levels, default)
    if level is None:
        refused = with_sent(Message(Code.ONE_OF, choices=", ".join(levels)), raw_level)
        raise invalid_fields({EXPLAIN_PARAM: [refused]})
    return level


@bp.post("/rulesets/<ruleset_id>/evaluate-batch")
@documented(
    "Decide many",
    "decisions",
    ok="BatchResponse",
    per_ruleset="evaluate_batch",
    parameters=("Explain",),
    logged=True,
    description="Many decisions; a bad item gets its own problem, the batch still answers 200. "
    "Each decision is compact (outcome, kind, reason codes) unless `explain=full` asks for the "
    "full explanation of `evaluate`.",
)
def evaluate_batch(ruleset_id: str) -> Response:
    book = get_rulebook()
    book.versions(ruleset_id)
    explain = _explain_level()
    data = read_json()
    _require_batch_size(data)
    envelope = quick_batch_request(data) or load_or_problem(BATCH_REQUEST, data)
    outcome = decide_batch(book, ruleset_id, envelope, explain == WHATIF)
    lang = api_lang()
    return json_text_response(batch_json(outcome, lang, explain), lang)


@bp.get("/tariffs")
@documented("List tariffs", "tariffs", errors=("NotReady",))
def list_tariffs() -> Response:
    return json_response({"tariffs": get_tariffs().list()})


@bp.get("/tariffs/<tariff_id>")
@documented("Describe a tariff", "tariffs", errors=("NotFound", "NotReady"))
def get_tariff(tariff_id: str) -> Response:
    return json_response(get_tariffs().describe(tariff_id))


@bp.post("/quotes")
@documented(
    "Itemised quote with tax and citations",
    "tariffs",
    ok=QuoteResponseSchema,
    body="QuoteRequest",
    errors=("NotReady",),
)
def quote() -> Response:
    """An itemised quote, its texts in the language asked for (as decisions are)."""
    data = read_json()
    body = quick_quote_request(data) or load_or_problem(QUOTE_REQUEST, data)
    lang = api_lang()
    priced = orders.quote(data, body["as_of"], prefix="")
    text = quote_json(priced, lang)  # the fast path's renderer (webapp.fast.quotes): the same bytes
    if text is None:
        return json_response(one_language(priced, lang), lang=lang)
    return json_text_response(text, lang)


@bp.post("/orders/check")
@documented(
    "Every eligibility decision of an order, and its quote",
    "orders",
    ok=OrderResponseSchema,
    body="OrderRequest",
    errors=("NotReady",),
    logged=True,
)
def check_order() -> Response:
    """Every decision of an order and its quote, or one 422 naming every bad field of the order."""
    lang = api_lang()
    answer = orders.check_order(read_json(), lang)
    return json_response({**answer, "quote": one_language(answer["quote"], lang)}, lang=lang)
