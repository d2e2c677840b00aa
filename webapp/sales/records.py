"""Permalinks: a recorded answer shown again from the decision log, by its reference.

The decision log holds each check's rule set, version, decision date, outcome and facts under the
request's id (the reference). A permalink reads those records and shows the same answer — the
recorded facts explained again by the recorded version, never decided or logged a second time; if
that version is no longer loaded, the recorded outcome alone. The quote's inputs are not decisions
and are not in the log: the link carries them (``q``, compact JSON in URL-safe base64) and they are
priced again under the tariffs of the recorded decision date.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from engine import EngineError
from engine.lifecycle.decision_log import DecisionRecord, Query
from engine.messages.language import Lang

from ..state import current_state, get_rulebook
from .answer import Answer, CheckAnswer, explained, priced_again

#: The longest ``q`` a link may carry (a page's quote is a few hundred bytes).
MAX_QUOTE_TEXT = 8192


def encode_quote(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_quote(text: str | None) -> list[dict[str, Any]]:
    """The quote items of a link; anything that is not a list of objects reads as none."""
    if not text or len(text) > MAX_QUOTE_TEXT:
        return []
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        items = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return []
    return items


def records_of(reference: str) -> list[DecisionRecord]:
    log = current_state().decision_log
    return sorted(
        log.query(Query(request_id=reference, limit=100)), key=lambda r: (r.decided_at, r.item)
    )


def _check_of(record: DecisionRecord, lang: Lang) -> CheckAnswer | None:
    """The recorded check explained again by its recorded version, or None if that is not loaded."""
    book = get_rulebook()
    try:
        decider = book.decider(record.ruleset, record.as_of)
        if decider.ruleset.version != record.version:
            return None
        decision = decider.decide(dict(record.facts), record.as_of)
    except EngineError:
        return None
    if decision.outcome.id != record.outcome:
        return None
    return CheckAnswer(decision.ruleset, explained(decision, lang, record.as_of))


def recorded_answer(
    records: list[DecisionRecord], quote_text: str | None, lang: Lang
) -> tuple[Answer, list[DecisionRecord]]:
    """The answer of ``records`` (one request), and the records that could only be shown as
    recorded (their version is no longer loaded)."""
    checks: list[CheckAnswer] = []
    unexplained: list[DecisionRecord] = []
    for record in records:
        shown = _check_of(record, lang)
        if shown is None:
            unexplained.append(record)
        else:
            checks.append(shown)
    day = records[0].as_of
    quote = priced_again(decode_quote(quote_text), day)
    return Answer(checks, quote, day, records[0].request_id), unexplained
