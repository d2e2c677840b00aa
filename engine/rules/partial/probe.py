"""Answers for many assignments of one request: a base of known values plus substitutions.

Every answer comes from durable_rules: from the decision table's group answers when the rule set has
a table (the masks of the groups a substitution touches are recombined, so an assignment costs a few
list lookups instead of a whole decision), else asserted live through the Decider, many assignments
per engine turn. Both keep the answers they computed per combination of options (bounded), so a
what-if asked again for the same kind of case costs a dictionary lookup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ..explain import Reason
from ..model import FactValue, Outcome
from ..table import DecisionTable
from .space import Space, Sub

Answer = tuple[Outcome, tuple[Reason, ...], tuple[str, ...]]

#: Answers kept per rule set (the oldest go first): a table's answers per mask of fired rules, a live
#: rule set's per combination of options.
MAX_MEMO = 1 << 14
#: Assignments asserted per engine turn on the live path (each turn holds the engine lock).
LIVE_CHUNK = 256
#: The day passed to the live path's explanation: outcomes and reasons do not depend on it.
_SOME_DAY = date(2000, 1, 1)


class TooSlow(Exception):
    """The deadline passed while the engine was still asked (raised between engine turns)."""


def _remember(memo: dict[Any, Answer], key: Any, answer: Answer) -> None:
    """Keep ``answer``; when full, drop the oldest (a race between threads drops one more: harmless)."""
    if len(memo) >= MAX_MEMO:
        try:
            del memo[next(iter(memo))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    memo[key] = answer


class Probe:
    """Answers for assignments ``base + subs``; see :class:`TableProbe` and :class:`LiveProbe`."""

    def answers(self, cells: Sequence[tuple[Sub, ...]], deadline: float) -> list[Answer]:
        raise NotImplementedError


class Evaluator:
    """How a rule set answers assignments: one per :class:`Space`, shared by every request."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.memo: dict[Any, Answer] = {}

    def probe(self, base: Mapping[str, FactValue]) -> Probe:
        table = self.space.decider.table
        if table is not None:
            return TableProbe(self, table, base)
        return LiveProbe(self, base)


class TableProbe(Probe):
    """Recombines the decision table's group answers; only the groups a substitution touches move."""

    def __init__(
        self, evaluator: Evaluator, table: DecisionTable, base: Mapping[str, FactValue]
    ) -> None:
        space = evaluator.space
        self._memo = evaluator.memo
        self._table = table
        position = space.position
        # Facts not in ``base`` are free: every cell substitutes them, so their base class is moot.
        self._base = [
            axis.partition.classify(base[axis.spec.name]) if axis.spec.name in base else 0
            for axis in space.axes
        ]
        self._groups: list[tuple[tuple[int, ...], dict[int, tuple[int, ...]]]] = []
        self._index: list[int] = []
        self._answer: list[int] = []
        for group in table.plan.groups:
            offsets = {position[n]: o for n, o in zip(group.facts, group.offsets, strict=True)}
            self._groups.append((group.answers, offsets))
            index = sum(o[self._base[k]] for k, o in offsets.items())
            self._index.append(index)
            self._answer.append(group.answers[index])
        self._touched = [
            [g for g, (_, offsets) in enumerate(self._groups) if k in offsets]
            for k in range(len(space.axes))
        ]
        self._rest: dict[tuple[int, ...], tuple[int, list[int]]] = {}

    def _split(self, positions: tuple[int, ...]) -> tuple[int, list[int]]:
        """The mask of the groups no substituted fact touches, and the groups touched."""
        found = self._rest.get(positions)
        if found is None:
            touched = sorted({g for k in positions for g in self._touched[k]})
            rest = 0
            for g, answer in enumerate(self._answer):
                if g not in touched:
                    rest |= answer
            found = self._rest[positions] = (rest, touched)
        return found

    def answers(self, cells: Sequence[tuple[Sub, ...]], deadline: float) -> list[Answer]:
        found: list[Answer] = []
        memo, groups, base, index = self._memo, self._groups, self._base, self._index
        for subs in cells:
            mask, touched = self._split(tuple(k for k, _, _ in subs))
            for g in touched:
                answers, offsets = groups[g]
                at = index[g]
                for k, fine, _ in subs:
                    o = offsets.get(k)
                    if o is not None:
                        at += o[fine] - o[base[k]]
                mask |= answers[at]
            answer = memo.get(mask)
            if answer is None:
                answer = self._table.answer(mask)
                _remember(memo, mask, answer)
            found.append(answer)
        return found


class LiveProbe(Probe):
    """Asserts assignments through durable_rules (via the Decider), a chunk per engine turn."""

    def __init__(self, evaluator: Evaluator, base: Mapping[str, FactValue]) -> None:
        self._space = evaluator.space
        self._memo = evaluator.memo
        self._base = dict(base)

    def _key(self, facts: Mapping[str, FactValue]) -> Any:
        """Equal keys, equal answers: the option of every fact, or (facts compared with each other
        make the values matter) the values themselves."""
        space = self._space
        if space.linked:
            return tuple(facts[n] for n in space.names)
        return tuple(axis.option_of(facts[axis.spec.name]) for axis in space.axes)

    def answers(self, cells: Sequence[tuple[Sub, ...]], deadline: float) -> list[Answer]:
        names = self._space.names
        keys: list[Any] = []
        found: dict[Any, Answer] = {}
        wanted: dict[Any, dict[str, FactValue]] = {}
        for subs in cells:
            facts = dict(self._base)
            for k, _, value in subs:
                facts[names[k]] = value
            key = self._key(facts)
            keys.append(key)
            if key in found or key in wanted:
                continue
            known = self._memo.get(key)
            if known is None:
                wanted[key] = facts
            else:
                found[key] = known
        pending = list(wanted.items())
        decider = self._space.decider
        for start in range(0, len(pending), LIVE_CHUNK):
            if time.monotonic() > deadline:
                raise TooSlow
            chunk = pending[start : start + LIVE_CHUNK]
            decisions = decider.decide_normalized_live([facts for _, facts in chunk], _SOME_DAY)
            for (key, _), decision in zip(chunk, decisions, strict=True):
                answer = (decision.outcome, decision.reasons, decision.fired)
                found[key] = answer
                _remember(self._memo, key, answer)
        return [found[k] for k in keys]


__all__ = ["Answer", "Evaluator", "LiveProbe", "Probe", "TableProbe", "TooSlow"]
