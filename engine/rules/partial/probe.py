"""Answers for many assignments of one request: a base of known values plus substitutions.

Every answer comes from durable_rules: from the decision table's group answers when the rule set has
a table (the masks of the groups a substitution touches are recombined, so an assignment costs a few
list lookups instead of a whole decision), else asserted live through the Decider, many assignments
per engine turn. Both keep the answers they computed per combination of options (bounded), so a
what-if asked again for the same kind of case costs a dictionary lookup.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
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
        table = space.decider.table
        self.layout = _Layout(space, table) if table is not None else None

    def probe(self, base: Mapping[str, FactValue], classes: list[int] | None = None) -> Probe:
        """A probe around ``base`` (``classes``: its facts' fine classes, when known already)."""
        table = self.space.decider.table
        if table is not None:
            return TableProbe(self, table, base, classes)
        return LiveProbe(self, base)


#: Firing combinations listed per rule for :meth:`TableProbe.diffs` (beyond, none are listed).
MAX_FIRING = 64

#: One group's facts: (fact position, fine class → offset) in the group's order.
GroupFacts = tuple[tuple[int, tuple[int, ...]], ...]


class _Layout:
    """What every :class:`TableProbe` of a rule set shares, computed once per rule set: the groups'
    answers and offsets by fact position, the groups each fact touches, and per rule the
    combinations of its group's classes (as offsets) in which durable_rules fired it, read off the
    table's group answers."""

    def __init__(self, space: Space, table: DecisionTable) -> None:
        position = space.position
        self.groups: list[tuple[tuple[int, ...], dict[int, tuple[int, ...]]]] = []
        self.fixed: list[tuple[tuple[int, ...], GroupFacts]] = []
        self.firing: list[tuple[GroupFacts, list[tuple[int, ...]]] | None] = [None] * len(
            space.ruleset.rules
        )
        for group in table.plan.groups:
            facts = tuple((position[n], o) for n, o in zip(group.facts, group.offsets, strict=True))
            self.groups.append((group.answers, dict(facts)))
            self.fixed.append((group.answers, facts))
            sizes = [len(set(o)) for o in group.offsets]
            strides = [math.prod(sizes[j + 1 :]) for j in range(len(sizes))]
            rules = 0
            for answer in group.answers:
                rules |= answer
            for rule in range(rules.bit_length()):
                if not rules >> rule & 1:
                    continue
                hits = [i for i, answer in enumerate(group.answers) if answer >> rule & 1]
                if len(hits) > MAX_FIRING:
                    continue
                combos = [
                    tuple(
                        i // stride % size * stride
                        for stride, size in zip(strides, sizes, strict=True)
                    )
                    for i in hits
                ]
                self.firing[rule] = (facts, combos)
        self.touched = [
            [g for g, (_, offsets) in enumerate(self.groups) if k in offsets]
            for k in range(len(space.axes))
        ]
        self.start = _generate_start(self.fixed)


def _generate_start(
    groups: Sequence[tuple[tuple[int, ...], GroupFacts]],
) -> Callable[[list[int]], tuple[list[int], list[int]]]:
    """Straight-line code (as the table's lookup is generated) from the facts' fine classes to each
    group's index and answer: a generic loop over groups and facts costs several times more."""
    env: dict[str, Any] = {}
    lines = ["def start(c):"]
    for g, (group_answers, facts) in enumerate(groups):
        env[f"A{g}"] = group_answers
        terms = []
        for j, (k, offsets) in enumerate(facts):
            env[f"O{g}_{j}"] = offsets
            terms.append(f"O{g}_{j}[c[{k}]]")
        lines.append(f"    i{g} = {' + '.join(terms) or '0'}")
    indices = ", ".join(f"i{g}" for g in range(len(groups)))
    answers = ", ".join(f"A{g}[i{g}]" for g in range(len(groups)))
    lines.append(f"    return [{indices}], [{answers}]")
    exec(compile("\n".join(lines), "<engine.rules.partial start>", "exec"), env)  # noqa: S102
    start: Callable[[list[int]], tuple[list[int], list[int]]] = env["start"]
    return start


class TableProbe(Probe):
    """Recombines the decision table's group answers; only the groups a substitution touches move."""

    def __init__(
        self,
        evaluator: Evaluator,
        table: DecisionTable,
        base: Mapping[str, FactValue],
        classes: list[int] | None = None,
    ) -> None:
        space = evaluator.space
        layout = evaluator.layout
        assert layout is not None
        self._layout = layout
        self._memo = evaluator.memo
        self._table = table
        # Facts not in ``base`` are free: every cell substitutes them, so their base class is moot.
        if classes is None:
            classes = [
                axis.partition.classify(base[axis.spec.name]) if axis.spec.name in base else 0
                for axis in space.axes
            ]
        self._base = classes
        self._groups = layout.groups
        self._touched = layout.touched
        self._index, self._answer = layout.start(classes)
        self._rest: dict[tuple[int, ...], tuple[int, list[int]]] = {}

    def mask(self) -> int:
        """The rules that fire on the base itself, as a mask (the table's answer, recombined)."""
        found = 0
        for answer in self._answer:
            found |= answer
        return found

    def diffs(self, rule: int) -> list[int] | None:
        """The sets of facts (bits of their positions) a change must include for rule ``rule`` to
        fire: per combination of its group's classes in which durable_rules fired it, the facts
        whose class there differs from this request's (``None``: too many combinations to list).

        Facts left unchanged keep their classes, so the group's answer can only become that of a
        combination whose differing facts were all changed."""
        firing = self._layout.firing[rule]
        if firing is None:
            return None
        facts, combos = firing
        classes = self._base
        mine = [(1 << k, offsets[classes[k]]) for k, offsets in facts]
        found = []
        for combo in combos:
            bits = 0
            for (bit, current), value in zip(mine, combo, strict=True):
                if value != current:
                    bits |= bit
            found.append(bits)
        return found

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
