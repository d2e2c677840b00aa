"""Decisions and batches as JSON text, fast: the static parts of an answer are rendered once per
rule-set load, and a batch is spliced from its items' text.

A decision's JSON (:meth:`engine.rules.explain.Decision.to_dict`) is mostly text that depends only
on the rule set version, the outcome, the reasons, the fired rules and the language: labels,
messages, citations, consequences, gaps. Only ``as_of`` and ``facts`` change from one decision to
the next. So the first time an answer is seen, ``to_dict`` renders it and its JSON is cut into
fragments around those two fields; later decisions with the same answer are the cached fragments
with their own date and facts spliced in. A batch answer is its head with the items' JSON text
spliced in, so no cached text is parsed back. Each function here names the plain ``dumps(...)`` it
equals (the contract of :mod:`webapp.fast`).

A cached answer is only reused after checking that its outcome and reasons equal the decision's
(elementwise identity in the table path, where answers are shared objects), so a stale or colliding
entry can never be served. Caches belong to one loaded rule set and go with it on reload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from engine import EngineError, FactsError
from engine.memo import PerObject
from engine.messages.language import Lang
from engine.rules.explain import Change, Decision, Reason
from engine.rules.model import Outcome, RuleSet

from ..decisions import BatchOutcome
from ..problems import invalid_fields, prefixed, problem_for_engine_error
from ..schemas import Explain

#: The fields of a decision's JSON that change per decision (in this order); all others depend only
#: on the answer.
PER_DECISION = ("as_of", "facts")
#: Distinct answers cached per rule set and language; beyond this, answers are rendered afresh.
MAX_CACHED_ANSWERS = 4096


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def dumps(value: Any) -> str:
    """JSON text as the API writes it: compact, UTF-8 characters as they are (Flask's settings)."""
    return _ENCODER.encode(value)


def compact_decision(decision: Decision) -> dict[str, Any]:
    """A decision as ``explain=compact`` shows it: the outcome, its kind and the reason codes (and
    for a partial answer the outcomes still possible, with the values of the unknown facts)."""
    compact: dict[str, Any] = {
        "outcome": decision.outcome.id,
        "kind": decision.outcome.kind.value,
        "reasons": [r.code for r in decision.grounds],
    }
    if decision.partial is not None:
        compact["possible"] = [p.to_compact() for p in decision.partial.possible]
    return compact


#: Stands in for a per-decision value while the static fragments are cut out of the full JSON; JSON
#: escapes the NUL characters, so the quoted placeholder cannot occur inside any rendered text.
_PLACEHOLDER = "\x00{}\x00"


@dataclass(frozen=True)
class _Answer:
    """One answer's cached JSON: the compact decision, and the full one as fragments
    ``head + as_of + middle + facts + tail`` (``None`` when it cannot be cut that way)."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    compact: str
    full: tuple[str, str, str] | None

    @classmethod
    def of(cls, decision: Decision, lang: Lang) -> _Answer:
        return cls(
            decision.outcome,
            decision.reasons,
            dumps(compact_decision(decision)),
            _fragments(decision, lang),
        )

    def matches(self, decision: Decision) -> bool:
        """Same outcome and reasons (elementwise identity first, as the table path shares them)."""
        return (
            self.outcome is decision.outcome or self.outcome == decision.outcome
        ) and self.reasons == decision.reasons

    def render(self, decision: Decision, lang: Lang) -> str:
        if self.full is None:
            return dumps(decision.to_dict(lang))
        head, middle, tail = self.full
        return f'{head}"{decision.as_of.isoformat()}"{middle}{decision.facts_json}{tail}'


def _fragments(decision: Decision, lang: Lang) -> tuple[str, str, str] | None:
    """The full JSON of ``decision`` cut around its per-decision fields, or ``None`` when the cut
    does not reproduce the full JSON exactly."""
    body = decision.to_dict(lang)
    marked = dumps({k: _PLACEHOLDER.format(k) if k in PER_DECISION else v for k, v in body.items()})
    try:
        head, rest = marked.split(dumps(_PLACEHOLDER.format("as_of")))
        middle, tail = rest.split(dumps(_PLACEHOLDER.format("facts")))
    except ValueError:  # a field missing, repeated or out of order
        return None
    full = f'{head}"{decision.as_of.isoformat()}"{middle}{decision.facts_json}{tail}'
    return (head, middle, tail) if full == dumps(body) else None


class _AnswerCache:
    """The answers seen for one loaded rule set, keyed by language, outcome, fired rules and the
    decision's variant (the consequences it tells, the facts it does not know)."""

    def __init__(self, _ruleset: RuleSet) -> None:
        self.answers: dict[tuple[Lang, str, tuple[str, ...], tuple[object, ...]], _Answer] = {}

    def answer(self, decision: Decision, lang: Lang) -> _Answer:
        # The variant: conditional consequences and unknown facts change the text of one answer.
        key = (lang, decision.outcome.id, decision.fired, decision.variant)
        cached = self.answers.get(key)
        if cached is not None and cached.matches(decision):
            return cached
        fresh = _Answer.of(decision, lang)
        if cached is None and len(self.answers) < MAX_CACHED_ANSWERS:
            self.answers[key] = fresh  # a key already taken by other reasons keeps its first answer
        return fresh


_caches = PerObject(_AnswerCache)


def decision_json(decision: Decision, lang: Lang) -> str:
    """``dumps(decision.to_dict(lang))``: the full decision, from the cached fragments of its answer;
    a what-if's ``changes`` (its last field) spliced in from each change's own cached text, and a
    partial answer (whose parts are not those of its outcome) rendered afresh."""
    if decision.partial is not None:
        return dumps(decision.to_dict(lang))
    changes = decision.changes
    if changes is not None:
        text = decision_json(replace(decision, changes=None), lang)
        rs = decision.ruleset
        return f'{text[:-1]},"changes":[{",".join(_change_json(c, rs, lang) for c in changes)}]}}'
    return _caches(decision.ruleset).answer(decision, lang).render(decision, lang)


#: Per change (what-if answers are kept by engine.rules.partial, so one change serves many
#: requests), its JSON text by language.
_change_texts: PerObject[Change, dict[Lang, str]] = PerObject(lambda _change: {})


def _change_json(change: Change, ruleset: RuleSet, lang: Lang) -> str:
    """``dumps(change.to_dict(ruleset, lang))``, kept with the change (one rule set's)."""
    texts = _change_texts(change)
    text = texts.get(lang)
    if text is None:
        text = texts[lang] = dumps(change.to_dict(ruleset, lang))
    return text


def compact_decision_json(decision: Decision) -> str:
    """``dumps(compact_decision(decision))``, cached per answer."""
    if decision.partial is not None:
        return dumps(compact_decision(decision))
    return _caches(decision.ruleset).answer(decision, "en").compact


def batch_json(outcome: BatchOutcome, lang: Lang, explain: Explain) -> str:
    """The body of an ``evaluate-batch`` answer: ``dumps({"ruleset", "version", "as_of",
    "explain", "count", "errors", "results": [...]})``, one result per item in order: ``{"index",
    "ok": true, "decision"}`` (full, with its changes for ``whatif``, or compact) or ``{"index", "ok": false, "problem"}``. The head
    is dumped alone and its closing brace gives way to the results' text."""
    decided = iter(outcome.results)
    entries: list[str] = []
    failed = 0
    for index in range(outcome.count):
        envelope_error = outcome.envelope_errors.get(index)
        ok, entry = _entry(
            index, None if envelope_error else next(decided), envelope_error, lang, explain
        )
        failed += not ok
        entries.append(entry)
    rs = outcome.ruleset
    head = dumps(
        {
            "ruleset": rs.id,
            "version": rs.version,
            "as_of": outcome.as_of.isoformat(),
            "explain": explain,
            "count": outcome.count,
            "errors": failed,
        }
    )
    return f'{head[:-1]},"results":[{",".join(entries)}]}}'


def _entry(
    index: int,
    outcome: Decision | EngineError | None,
    envelope_error: dict[str, list[str]] | None,
    lang: Lang,
    explain: Explain,
) -> tuple[bool, str]:
    """One batch entry as JSON: the decision, or the item's own problem (the batch still succeeds)."""
    if envelope_error is not None:
        problem = invalid_fields(envelope_error)
    elif isinstance(outcome, FactsError):
        problem = invalid_fields(prefixed(outcome.fields, "facts"))
    elif isinstance(outcome, EngineError):
        found = problem_for_engine_error(outcome)
        if found is None:
            raise outcome
        problem = found
    else:
        assert outcome is not None
        rendered = (
            compact_decision_json(outcome) if explain == "compact" else decision_json(outcome, lang)
        )
        return True, f'{{"index":{index},"ok":true,"decision":{rendered}}}'
    return False, dumps({"index": index, "ok": False, "problem": problem.to_dict(lang)})
