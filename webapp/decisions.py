"""The two decision calls of the API without Flask: decide a request's envelope, render the answer.

Both the Flask views (:mod:`webapp.api`) and the WSGI fast path (:mod:`webapp.fastpath`) use these, so a
decision's JSON cannot differ between them. Deciding logs the decisions (the rulebook's observer commits
them before returning); rendering has no side effects. Nothing here reads Flask's request context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine import Decision, FactsError, Rulebook, today_in_tokyo
from engine.format.common import Lang
from engine.rules.model import RuleSet

from .problems import flatten_messages, invalid_fields, prefixed
from .render import EXPLAIN_LEVELS, Explain, compact_decision_json, decision_json, dumps
from .schemas import BATCH_ITEM, is_plain_batch_item


def check_batch_size(data: Any, limit: int) -> bool:
    """Whether ``data`` holds a list of ``items`` within ``limit`` (or no list at all)."""
    items = data.get("items") if isinstance(data, dict) else None
    return not isinstance(items, list) or len(items) <= limit


def explain_level(raw: str) -> Explain | None:
    """An ``?explain=`` value as a level, ``None`` when it names none."""
    for level in EXPLAIN_LEVELS:
        if raw == level:
            return level
    return None


def decide_one(book: Rulebook, ruleset_id: str, envelope: dict[str, Any]) -> Decision:
    """Decide (and log) a loaded ``{"facts", "as_of"}`` envelope. :raises FactsError: and lookup errors."""
    return book.decide(ruleset_id, envelope["facts"], envelope["as_of"])


def one_json(decision: Decision, lang: Lang) -> str:
    """The body of an ``evaluate`` answer."""
    return decision_json(decision, lang)


@dataclass(frozen=True)
class BatchOutcome:
    """What one ``evaluate-batch`` request decided: per item a decision, bad facts, or a bad envelope."""

    ruleset: RuleSet
    as_of: date
    count: int
    envelope_errors: dict[int, dict[str, list[str]]]
    results: list[Decision | FactsError]  # for the items without an envelope error, in order


def decide_batch(book: Rulebook, ruleset_id: str, envelope: dict[str, Any]) -> BatchOutcome:
    """Decide (and log, in one transaction) every item of a loaded ``{"items", "as_of"}`` envelope."""
    day = envelope["as_of"] or today_in_tokyo()
    ruleset = book.select(ruleset_id, day)
    items = envelope["items"]
    facts, envelope_errors = _item_facts(items)
    results = book.decide_batch(ruleset_id, facts, day)
    return BatchOutcome(ruleset, day, len(items), envelope_errors, results)


def batch_json(outcome: BatchOutcome, lang: Lang, explain: Explain) -> str:
    """The body of an ``evaluate-batch`` answer: a head, then one entry per item in order."""
    decided = iter(outcome.results)
    entries: list[str] = []
    failed = 0
    for index in range(outcome.count):
        envelope_error = outcome.envelope_errors.get(index)
        ok, entry = _entry(index, None if envelope_error else next(decided), envelope_error, lang,
                           explain)  # fmt: skip
        failed += not ok
        entries.append(entry)
    rs = outcome.ruleset
    head = dumps({"ruleset": rs.id, "version": rs.version, "as_of": outcome.as_of.isoformat(),
                  "explain": explain, "count": outcome.count, "errors": failed})  # fmt: skip
    return f'{head[:-1]},"results":[{",".join(entries)}]}}'


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


def _entry(
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
