"""Partial answers and what-ifs: deciding with facts still unknown, and saying what would change the
answer.

A caller may name facts as *unknown*. Such a fact takes no default: the answer is the set of outcomes
still possible, each with the conditions on the unknown facts that lead to it and the rules that fire
(:class:`~engine.rules.explain.Partial`). When one outcome remains, it is the answer (the unknown facts
did not matter, and the answer says so); when several do, the answer is undecidable and its gap names
the facts to confirm. A *what-if* adds the smallest sets of fact changes that would give a positive
outcome to an answer that is not positive, and the single-fact changes that would make a positive one
negative (the risks to re-check before ordering). Facts marked ``fixed`` are never proposed.

This is the same partial evaluation policy engines offer (OPA's ``/v1/compile``, Cedar's residual
policies), in the rule set's own words. Every answer in it comes from the rules as compiled into
durable_rules — the load-time table's group answers, or live assertions — over the classes of
:mod:`engine.rules.domain` (:mod:`.space`, :mod:`.probe`, :mod:`.search`); there is no second evaluator.
Its cost is bounded and counted before the engine is asked: unknown facts with more than
:data:`~.search.MAX_COMPLETIONS` combinations, a request needing more than :data:`MAX_CELLS_TABLE`
(table) or :data:`MAX_CELLS_LIVE` (live) answered assignments, or more than :data:`MAX_SECONDS`, is
refused with :class:`TooManyCombinationsError`. Results are kept per combination of options (a what-if asked again
for the same kind of case is a lookup), per loaded rule set.

A partial answer decides nothing on the customer's facts, so it is not logged; a what-if on complete
facts is the ordinary decision (logged as always) with its changes added, computed before it is logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from ...clock import today_in_tokyo
from ...errors import EngineError, FactsError
from ...format.common import Gap
from ...memo import PerObject
from ...messages import Code, Message
from ...messages.language import Text
from ..evaluate import Decider
from ..explain import Change, Decision, Partial, Reason
from ..facts import facts_to_json
from ..model import FactValue, Outcome, OutcomeKind
from ..rulebook import Rulebook
from .errors import TooManyCombinationsError, UnknownListError
from .labels import catalogue_text
from .probe import Evaluator, Probe
from .search import Budget, changes, common, possible, united
from .space import MAX_FINE_CLASSES, NotEnumerable, Space

#: Cells (assignments answered) one request may need: through the table, and asserted live.
MAX_CELLS_TABLE = 200_000
MAX_CELLS_LIVE = 20_000
#: Seconds one request may spend asking the engine.
MAX_SECONDS = 3.0
#: Results kept per loaded rule set (the oldest go first).
MAX_RESULTS = 2048
#: The outcome of an answer that depends on unknown facts (no rule set may use this id).
DEPENDS_ON_UNKNOWN = "depends_on_unknown_facts"

Result = tuple[Outcome, tuple[Reason, ...], tuple[str, ...], Partial | None]


class _Prepared:
    """A Decider's space and evaluator (or why it has none), and its results kept so far."""

    def __init__(self, decider: Decider) -> None:
        self.space: Space | None = None
        self.evaluator: Evaluator | None = None
        self.classes = 0  # when the space cannot be built: the classes of the fact that stopped it
        try:
            self.space = Space(decider)
            self.evaluator = Evaluator(self.space)
        except NotEnumerable as exc:
            self.classes = exc.classes
        self.results: dict[Any, Result] = {}
        self.changes: dict[Any, tuple[Change, ...]] = {}

    def ready(self) -> tuple[Space, Evaluator]:
        if self.space is None or self.evaluator is None:
            raise TooManyCombinationsError.counted(self.classes, MAX_FINE_CLASSES)
        return self.space, self.evaluator


_prepared = PerObject(_Prepared)


def _keep(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= MAX_RESULTS:
        try:
            del memo[next(iter(memo))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    memo[key] = value


def _budget(space: Space) -> Budget:
    limit = MAX_CELLS_TABLE if space.decider.table is not None else MAX_CELLS_LIVE
    return Budget(limit, MAX_SECONDS)


def _key(space: Space, known: Mapping[str, FactValue], unknown: Sequence[str]) -> Any:
    """Requests with equal keys get equal results: the option of each known fact (the values
    themselves when facts are compared with each other), and the unknown facts."""
    if space.linked:
        return (tuple(known.get(n) for n in space.names), tuple(unknown))
    options = tuple(
        axis.option_of(known[axis.spec.name]) if axis.spec.name in known else -2
        for axis in space.axes
    )
    return (options, tuple(unknown))


# --- the facts of a partial request -------------------------------------------------------------


def known_facts(
    decider: Decider, raw: object, unknown: Sequence[str], as_of: date
) -> dict[str, FactValue]:
    """The known facts, validated and with their defaults, the unknown ones left out.

    :raises UnknownListError: for an entry of ``unknown`` that is no fact, a repeat, or a fact also in
        ``raw``; :raises FactsError: as a decision would for the other facts.
    """
    rs = decider.ruleset
    names = {s.name for s in rs.facts}
    given = raw.keys() if isinstance(raw, Mapping) else ()
    problems: dict[str, list[Message]] = {}
    for i, name in enumerate(unknown):
        if name not in names:
            problems[str(i)] = [Message(Code.UNKNOWN_NOT_A_FACT)]
        elif name in given:
            problems[str(i)] = [Message(Code.UNKNOWN_ALSO_GIVEN)]
        elif name in unknown[:i]:
            problems[str(i)] = [Message(Code.ITEMS_REPEAT)]
    if problems:
        raise UnknownListError(problems)
    if not isinstance(raw, Mapping):
        raise FactsError({"_schema": [Message(Code.FACTS_NOT_AN_OBJECT)]})
    space, _ = _prepared(decider).ready()
    stand_ins: dict[str, FactValue] = {}
    for name in unknown:
        axis = space.axes[space.position[name]]
        stand_ins[name] = axis.partition.classes[axis.options[0][0] if axis.options else 0].value
    completed = {**raw, **facts_to_json(stand_ins)}
    # The table's validator normalises as marshmallow does (tests/reliability prove it), in a few µs;
    # what it cannot vouch for gets marshmallow's messages.
    decided = decider.table.decide(completed, as_of) if decider.table is not None else None
    facts = decided.facts if decided is not None else decider.normalize(completed, as_of)
    return {n: v for n, v in facts.items() if n not in unknown}


# --- deciding --------------------------------------------------------------------------------------


def _depends(decider: Decider, unknown: Sequence[str]) -> Outcome:
    """The outcome of an answer the unknown facts decide: undecidable, its gap naming them."""
    rs = decider.ruleset
    labels = [rs.fact(n).label for n in unknown]
    facts = catalogue_text(Code.PARTIAL_MISSING, facts=_joined(labels))
    gap = Gap(missing=facts, ask=catalogue_text(Code.PARTIAL_ASK))
    return Outcome(
        DEPENDS_ON_UNKNOWN, OutcomeKind.UNDECIDABLE, catalogue_text(Code.PARTIAL_LABEL), (), gap
    )


def _joined(labels: Sequence[Text]) -> Text:
    return Text("、".join(t.ja for t in labels), "; ".join(t.en for t in labels))


def partial_decision(
    decider: Decider, raw: object, unknown: Sequence[str], as_of: date, whatif: bool = False
) -> Decision:
    """The answer while the facts ``unknown`` are not known (never logged).

    :raises UnknownListError, FactsError: for a bad request; :raises TooManyCombinationsError:
    """
    prepared = _prepared(decider)
    space, evaluator = prepared.ready()
    ordered = tuple(n for n in space.names if n in set(unknown))
    known = known_facts(decider, raw, unknown, as_of)
    key = _key(space, known, ordered)
    result = prepared.results.get(key)
    budget = _budget(space)
    probe: Probe | None = None
    if result is None:
        probe = evaluator.probe(known)
        entries, answers = possible(space, probe, space.dimensions(ordered, known), budget)
        rs = space.ruleset
        if len({a[0].id for a in answers}) == 1:
            outcome = answers[0][0]
            reasons, fired = united(rs, answers)
            note = catalogue_text(Code.PARTIAL_DOES_NOT_MATTER)
        else:
            outcome = _depends(decider, ordered)
            reasons, fired = common(rs, answers)
            note = catalogue_text(Code.PARTIAL_MATTERS)
        result = (outcome, reasons, fired, Partial(ordered, tuple(entries), note))
        _keep(prepared.results, key, result)
    outcome, reasons, fired, partial = result
    found = None
    if whatif:
        found = prepared.changes.get(key)
        if found is None:
            positive = outcome.kind is OutcomeKind.POSITIVE
            probe = probe or evaluator.probe(known)
            found = changes(space, probe, known, ordered, positive, budget)
            _keep(prepared.changes, key, found)
    return Decision(decider.ruleset, outcome, reasons, fired, known, as_of, partial, found)


def forget(decider: Decider) -> None:
    """Drop every result and engine answer kept for ``decider`` (benchmarks time the search itself
    this way; a reloaded rule set starts empty anyway)."""
    prepared = _prepared(decider)
    prepared.results.clear()
    prepared.changes.clear()
    if prepared.evaluator is not None:
        prepared.evaluator.memo.clear()


def what_if(decider: Decider, decision: Decision) -> tuple[Change, ...]:
    """The changes for a decision on complete facts: the smallest ones that make it positive, or
    (positive already) the single-fact ones that make it negative. :raises TooManyCombinationsError:"""
    prepared = _prepared(decider)
    space, evaluator = prepared.ready()
    known: Mapping[str, FactValue] = decision.facts
    classes = None if space.linked else space.classes_of(known)
    if classes is None:
        key = _key(space, known, ())
    else:  # every fact known: the same key, from classes found once for the probe too
        key = (tuple([c[f] for c, f in zip(space.coarse, classes, strict=True)]), ())
    found = prepared.changes.get(key)
    if found is None:
        probe = evaluator.probe(known, classes)
        positive = decision.kind is OutcomeKind.POSITIVE
        found = changes(space, probe, known, (), positive, _budget(space))
        _keep(prepared.changes, key, found)
    return found


def decide(
    book: Rulebook,
    ruleset_id: str,
    facts: object,
    unknown: Sequence[str] = (),
    as_of: date | None = None,
    whatif: bool = False,
) -> Decision:
    """One answer: partial when ``unknown`` names facts (not logged), else the logged decision, with
    its changes when ``whatif`` (computed first: a refused what-if logs nothing).

    :raises UnknownRuleSetError, NoVersionInForceError, FactsError, UnknownListError,
        TooManyCombinationsError:
    """
    day = as_of or today_in_tokyo()
    decider = book.decider(ruleset_id, day)
    if unknown:
        return partial_decision(decider, facts, unknown, day, whatif)
    if not whatif:
        return book.decide(ruleset_id, facts, day)
    decision = decider.decide(facts, day)
    found = what_if(decider, decision)  # first: a refused what-if logs nothing
    book.record([decision])
    return replace(decision, changes=found)


def decide_batch(
    book: Rulebook,
    ruleset_id: str,
    items: Sequence[tuple[object, Sequence[str]]],
    as_of: date | None = None,
    whatif: bool = False,
) -> list[Decision | EngineError]:
    """Answers for ``(facts, unknown)`` items: each as :func:`decide` gives it, a bad item as its
    error. The decisions on complete facts are logged together, those refused before never."""
    day = as_of or today_in_tokyo()
    decider = book.decider(ruleset_id, day)
    results: list[Decision | EngineError | None] = [None] * len(items)
    plain: list[int] = []
    for i, (facts, unknown) in enumerate(items):
        if unknown:
            try:
                results[i] = partial_decision(decider, facts, unknown, day, whatif)
            except (FactsError, UnknownListError, TooManyCombinationsError) as exc:
                results[i] = exc
        else:
            plain.append(i)
    if not whatif:
        logged = book.decide_batch(ruleset_id, [items[i][0] for i in plain], day)
        for i, result in zip(plain, logged, strict=True):
            results[i] = result
        return [r for r in results if r is not None]
    kept: list[Decision] = []
    drafts = decider.decide_many([items[i][0] for i in plain], day)
    for i, draft in zip(plain, drafts, strict=True):
        if isinstance(draft, FactsError):
            results[i] = draft
            continue
        try:
            results[i] = replace(draft, changes=what_if(decider, draft))
            kept.append(draft)
        except TooManyCombinationsError as exc:
            results[i] = exc
    book.record(kept)  # decided once; those whose what-if was answered are logged, together
    return [r for r in results if r is not None]


__all__ = [
    "DEPENDS_ON_UNKNOWN",
    "MAX_CELLS_LIVE",
    "MAX_CELLS_TABLE",
    "MAX_SECONDS",
    "TooManyCombinationsError",
    "UnknownListError",
    "decide",
    "decide_batch",
    "forget",
    "known_facts",
    "partial_decision",
    "what_if",
]
