"""The two decision calls of the API without Flask: their limits, deciding an envelope, the answer.

Both the Flask views (:mod:`webapp.api`) and the WSGI fast path (:mod:`webapp.fast.wsgi`) take these
rules and functions from here, so a rule of the two calls is stated once. Deciding logs the
decisions (the rulebook's observer commits them before returning); nothing here reads Flask's
request context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine import Decision, EngineError, Rulebook, today_in_tokyo
from engine.messages.language import Lang
from engine.rules import partial
from engine.rules.model import RuleSet

from .fast.envelopes import is_plain_batch_item
from .problems import flatten_messages
from .schemas import BATCH_ITEM
from .security import with_security_headers

#: Config key of the largest request body in bytes: Flask's own setting; werkzeug enforces it (413).
BODY_LIMIT = "MAX_CONTENT_LENGTH"
#: Config key of the most items one ``evaluate-batch`` request may carry (413 ``batch-too-large``).
BATCH_LIMIT = "MAX_BATCH_ITEMS"
#: The media type of the bodies both calls read and write.
JSON_MIMETYPE = "application/json"

Headers = list[tuple[str, str]]


def check_batch_size(data: Any, limit: int) -> bool:
    """Whether ``data`` holds a list of ``items`` within ``limit`` (or no list at all)."""
    items = data.get("items") if isinstance(data, dict) else None
    return not isinstance(items, list) or len(items) <= limit


def answer(text: str, lang: Lang) -> tuple[bytes, Headers]:
    """The body and headers of a 200 answer whose JSON is ``text`` (what ``jsonify`` would send, with
    the header set :mod:`webapp.security` adds to every Flask response); ``X-Request-ID`` is added to
    every response by :mod:`webapp.observability`."""
    body = (text + "\n").encode()
    return body, with_security_headers(
        [
            ("Content-Type", JSON_MIMETYPE),
            ("Content-Length", str(len(body))),
            ("Content-Language", lang),
        ]
    )


def decide_one(
    book: Rulebook, ruleset_id: str, envelope: dict[str, Any], whatif: bool = False
) -> Decision:
    """Decide (and log) a loaded ``{"facts", "as_of"}`` envelope. :raises FactsError: and lookup errors.

    An envelope naming ``unknown`` facts gets a partial answer (never logged), and ``whatif`` adds
    the changes that would change the answer (:mod:`engine.rules.partial`; :raises
    TooManyCombinationsError: and nothing is logged when they cannot be found)."""
    unknown = envelope.get("unknown")
    if unknown or whatif:
        return partial.decide(
            book, ruleset_id, envelope["facts"], unknown or (), envelope["as_of"], whatif
        )
    return book.decide(ruleset_id, envelope["facts"], envelope["as_of"])


@dataclass(frozen=True)
class BatchOutcome:
    """What one ``evaluate-batch`` request decided: per item a decision, bad facts, or a bad envelope."""

    ruleset: RuleSet
    as_of: date
    count: int
    envelope_errors: dict[int, dict[str, list[str]]]
    # for the items without an envelope error, in order; an item refused by the engine (bad facts,
    # bad unknown facts, too many combinations) as its error
    results: Sequence[Decision | EngineError]


def decide_batch(
    book: Rulebook, ruleset_id: str, envelope: dict[str, Any], whatif: bool = False
) -> BatchOutcome:
    """Decide (and log, in one transaction) every item of a loaded ``{"items", "as_of"}`` envelope;
    items naming ``unknown`` facts get partial answers (not logged), ``whatif`` adds each decision's
    changes (:mod:`engine.rules.partial`)."""
    day = envelope["as_of"] or today_in_tokyo()
    ruleset = book.select(ruleset_id, day)
    items = envelope["items"]
    facts, unknown, envelope_errors = _item_facts(items)
    results: Sequence[Decision | EngineError]
    if whatif or any(unknown):
        results = partial.decide_batch(
            book, ruleset_id, list(zip(facts, unknown, strict=True)), day, whatif
        )
    else:
        results = book.decide_batch(ruleset_id, facts, day)
    return BatchOutcome(ruleset, day, len(items), envelope_errors, results)


def _item_facts(
    items: list[Any],
) -> tuple[list[Any], list[list[str]], dict[int, dict[str, list[str]]]]:
    """Each item's facts and unknown facts, and the envelope errors of the items that are not
    ``{"facts": {...}}`` (with ``"unknown": [...]``)."""
    facts: list[Any] = []
    unknown: list[list[str]] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        if is_plain_batch_item(item):
            facts.append(item["facts"])
            unknown.append([])
            continue
        found = BATCH_ITEM.validate(item)
        if found:
            errors[index] = flatten_messages(found)
        else:
            facts.append(item["facts"])
            unknown.append(item.get("unknown") or [])
    return facts, unknown, errors
