"""The two searches: the outcomes still possible while facts are unknown, and the smallest changes of
facts that would change the answer.

Both enumerate cells (one option per free dimension, :mod:`.space`) and ask each cell's answer of the
rules (:mod:`.probe`); nothing is evaluated by hand. Their cost is counted before the engine is asked:
a search that needs more cells than its :class:`Budget` allows, or outlives its deadline, stops with
:class:`~.errors.TooManyCombinationsError` (a what-if that already found smaller changes returns them:
they are still the smallest ones).

A what-if through a decision table tries only the fact sets that can help: a rule of the positive
outcome must come to fire, and the table's group answers say in which combinations of its group's
classes durable_rules fired it, so a change must include the facts that differ from one of them
(and touch every rule of a stronger outcome that fires now). The fact sets left are still answered
cell by cell, in the order a full enumeration would meet them, so the changes found are the same.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..explain import Change, FactCondition, Possible, Reason
from ..model import FactValue, Outcome, OutcomeKind, RuleSet
from .errors import TooManyCombinationsError
from .labels import merged
from .probe import Answer, Probe, TableProbe, TooSlow
from .space import Dimension, Option, Space, Sub

#: The largest change a what-if proposes, and how many alternatives it lists.
MAX_CHANGED_FACTS = 3
MAX_ALTERNATIVES = 5


@dataclass
class Budget:
    """How many cells one request may have answered, and until when."""

    limit: int
    seconds: float
    deadline: float = 0.0
    used: int = 0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def fits(self, count: int) -> bool:
        return self.used + count <= self.limit

    def take(self, count: int) -> None:
        if not self.fits(count):
            raise TooManyCombinationsError.counted(self.used + count, self.limit)
        self.used += count


def rank(ruleset: RuleSet) -> dict[str, int]:
    """Outcome id → position: by precedence (``collect``), else in declared order."""
    order = list(ruleset.precedence) + [o.id for o in ruleset.outcomes]
    return {oid: i for i, oid in reversed(list(enumerate(order)))}


def _reason_order(ruleset: RuleSet) -> dict[str | None, int]:
    found: dict[str | None, int] = {r.id: i for i, r in enumerate(ruleset.rules)}
    found[None] = len(ruleset.rules)  # the default's reason comes last
    return found


def united(
    ruleset: RuleSet, answers: Iterable[Answer]
) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
    """Every reason and fired rule of ``answers``, once each, in rule order."""
    reasons: dict[tuple[str, str | None], Reason] = {}
    fired: dict[str, None] = {}
    for _, why, ids in answers:
        for r in why:
            reasons.setdefault((r.code, r.rule), r)
        fired.update(dict.fromkeys(ids))
    order = _reason_order(ruleset)
    rule_order = {r.id: i for i, r in enumerate(ruleset.rules)}
    return (
        tuple(sorted(reasons.values(), key=lambda r: order[r.rule])),
        tuple(sorted(fired, key=rule_order.__getitem__)),
    )


def common(
    ruleset: RuleSet, answers: Sequence[Answer]
) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
    """The reasons and fired rules every one of ``answers`` shares, in rule order."""
    reasons, fired = united(ruleset, answers)
    keep_reasons = [r for r in reasons if all(r in why for _, why, _ in answers)]
    keep_fired = [f for f in fired if all(f in ids for _, _, ids in answers)]
    return tuple(keep_reasons), tuple(keep_fired)


# --- the outcomes still possible --------------------------------------------------------------


def cells(dims: Sequence[Dimension]) -> tuple[list[tuple[Sub, ...]], list[tuple[int, ...]]]:
    """Every cell of ``dims``: its substitutions and its coordinates (dimension by dimension)."""
    subs: list[tuple[Sub, ...]] = []
    coords: list[tuple[int, ...]] = []
    for combo in itertools.product(*(d.options for d in dims)):
        subs.append(tuple(s for o in combo for s in o.subs))
        coords.append(tuple(c for o in combo for c in o.coords))
    return subs, coords


#: The most completions of the unknown facts one partial answer considers: beyond, the conditions
#: that tell its outcomes apart stop being something a seller can read out (and cost more to find).
MAX_COMPLETIONS = 4096


def possible(
    space: Space, probe: Probe, dims: Sequence[Dimension], budget: Budget
) -> tuple[list[Possible], list[Answer]]:
    """The outcomes of every completion of the free facts, each with the conditions that lead to it
    (as few boxes of coordinates as a greedy cover finds), sorted by precedence; and every answer."""
    count = math.prod(len(d.options) for d in dims)
    if count > MAX_COMPLETIONS:
        raise TooManyCombinationsError.counted(count, MAX_COMPLETIONS)
    budget.take(count)
    subs, coords = cells(dims)
    try:
        answers = probe.answers(subs, budget.deadline)
    except TooSlow:
        raise TooManyCombinationsError.timed_out(budget.seconds) from None
    coordinates = [c for d in dims for c in d.coordinates]
    ranks = rank(space.ruleset)
    realised = set(coords)
    seen_values = [{cell[d] for cell in coords} for d in range(len(coordinates))]
    regions: dict[str, dict[tuple[int, ...], Answer]] = {}
    first: dict[str, int] = {}
    for i, (cell, answer) in enumerate(zip(coords, answers, strict=True)):
        regions.setdefault(answer[0].id, {})[cell] = answer
        first.setdefault(answer[0].id, i)
    found: list[tuple[int, int, Possible]] = []
    for oid, region in regions.items():
        for order, box in enumerate(_boxes(region, realised, [len(c.values) for c in coordinates])):
            inside = [
                a for cell, a in region.items() if all(cell[d] in box[d] for d in range(len(box)))
            ]
            when = tuple(
                merged([coordinate.values[v] for v in sorted(box[d])])
                for d, coordinate in enumerate(coordinates)
                if not seen_values[d] <= box[d]
            )
            reasons, _ = united(space.ruleset, inside)
            outcome = inside[0][0]
            found.append(
                (ranks.get(oid, len(ranks)), first[oid] + order, Possible(outcome, when, reasons))
            )
    found.sort(key=lambda entry: entry[:2])
    return [p for _, _, p in found], answers


def _boxes(
    region: Mapping[tuple[int, ...], Answer], realised: set[tuple[int, ...]], sizes: Sequence[int]
) -> list[list[set[int]]]:
    """Boxes (a set of values per coordinate) whose realised cells all lie in ``region`` and which
    together cover it: each uncovered cell grown greedily, coordinate by coordinate."""
    boxes: list[list[set[int]]] = []
    covered: set[tuple[int, ...]] = set()
    for cell in region:
        if cell in covered:
            continue
        box = [{v} for v in cell]
        for d, size in enumerate(sizes):
            for value in range(size):
                if value in box[d]:
                    continue
                trial = [*box[:d], {value}, *box[d + 1 :]]
                if all(c in region or c not in realised for c in itertools.product(*trial)):
                    box[d].add(value)
        boxes.append(box)
        covered |= {c for c in itertools.product(*box) if c in region}
    return boxes


# --- what would change the answer -------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """One proposed change: the facts changed, and the cells (completions) it stands for."""

    facts: frozenset[str]
    subs: tuple[Sub, ...]  # the values to set (of the first completion)
    to: tuple[FactCondition, ...]
    cells: list[tuple[Sub, ...]]


def changes(
    space: Space,
    probe: Probe,
    known: Mapping[str, FactValue],
    unknown: Sequence[str],
    positive: bool,
    budget: Budget,
) -> tuple[Change, ...]:
    """For an answer that is not ``positive``: the smallest sets of changed facts (at most
    :data:`MAX_CHANGED_FACTS`, fixed facts never) after which every completion of the unknown facts
    gets one and the same positive outcome, fewest facts first, at most :data:`MAX_ALTERNATIVES`.
    For a ``positive`` one: every change of one fact after which some completion is negative.
    Changes of the same facts to the same outcome that differ in one fact's values are one entry."""
    rs = space.ruleset
    changeable = [
        n for n in space.names if n not in space.fixed and not (positive and n in unknown)
    ]
    ranks = space.kept.get("ranks")
    if ranks is None:
        ranks = space.kept["ranks"] = rank(rs)
    bit = {name: 1 << space.position[name] for name in changeable}
    name_of = {b: n for n, b in bit.items()}
    helps, only = (
        _necessary(space, probe, ranks, budget, list(bit.values()))
        if not positive and not unknown
        else (None, None)
    )
    found: list[tuple[_Candidate, Answer]] = []
    done: list[int] = []  # the facts of each change found, as bits
    for size in range(1, 2 if positive else MAX_CHANGED_FACTS + 1):
        level: list[_Candidate] = []
        count = 0
        combos = itertools.combinations(bit.values(), size) if only is None else only.get(size, ())
        for combo in combos:
            bits = sum(combo)
            if helps is not None and not helps(bits):
                continue  # a rule that keeps the answer where it is would still fire
            if any(d & bits == d for d in done):
                continue  # a smaller change already does it
            chosen = [name_of[b] for b in combo]
            more = _candidates(space, known, unknown, chosen)
            level.extend(more)
            count += sum(len(c.cells) for c in more)
            if not budget.fits(count):
                break  # over the budget already: no need to list the rest
        if found and not budget.fits(count):
            break  # the smaller changes found are still the smallest
        budget.take(count)  # raises, naming the count so far, when nothing was found yet
        try:
            answers = probe.answers([s for c in level for s in c.cells], budget.deadline)
        except TooSlow:
            if found:
                break
            raise TooManyCombinationsError.timed_out(budget.seconds) from None
        at = 0
        for candidate in level:
            mine = answers[at : at + len(candidate.cells)]
            at += len(candidate.cells)
            verdict = _risk(mine, ranks) if positive else _success(mine)
            if verdict is not None and not any(c.facts < candidate.facts for c, _ in found):
                _add(found, candidate, verdict)
        done = [sum(bit[n] for n in c.facts) for c, _ in found]
        if not positive and len(found) >= MAX_ALTERNATIVES:
            break
    if not positive:
        found = found[:MAX_ALTERNATIVES]
    return tuple(_change(space, c, answer) for c, answer in found)


def _add(found: list[tuple[_Candidate, Answer]], candidate: _Candidate, answer: Answer) -> None:
    """Append, or widen an entry of the same facts and outcome whose values differ in one fact."""
    for i, (other, theirs) in enumerate(found):
        if other.facts != candidate.facts or theirs[0].id != answer[0].id:
            continue
        differ = [j for j, (a, b) in enumerate(zip(other.to, candidate.to, strict=True)) if a != b]
        if len(differ) == 1 and other.to[differ[0]].other is None:
            j = differ[0]
            to = (*other.to[:j], merged([other.to[j], candidate.to[j]]), *other.to[j + 1 :])
            reasons, fired = united_answers(theirs, answer)
            found[i] = (replace(other, to=to), (theirs[0], reasons, fired))
            return
    found.append((candidate, answer))


def united_answers(a: Answer, b: Answer) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
    reasons = tuple(dict.fromkeys((*a[1], *b[1])))
    return reasons, tuple(dict.fromkeys((*a[2], *b[2])))


def _necessary(
    space: Space, probe: Probe, ranks: Mapping[str, int], budget: Budget, changeable: Sequence[int]
) -> tuple[Callable[[int], bool], dict[int, list[tuple[int, ...]]] | None]:
    """What any change that makes this (complete, not positive) answer positive must touch, as a
    test of the changed facts' bits (bit ``i``: fact ``i`` in declared order).

    A rule's answer depends on its own facts only (the premise of the decision table), so a rule that
    fires now still fires after a change of none of its facts, and one that does not fire now stays
    silent. ``collect``: for some positive outcome P, every firing rule of a stronger outcome must be
    touched, and a rule of outcome P must fire (one fires now, one is touched, or P is the default).
    ``first_match``: the first firing rule must be touched, or a positive rule before it.

    Also, when the test pins every helpful change down to supersets of a few fact sets (``collect``
    through a table, no positive outcome reached already): those changes per size, each as the bits
    of ``changeable`` (in declared order) it sets, in the order :func:`itertools.combinations` would
    meet them; else ``None``."""
    rs = space.ruleset
    if isinstance(probe, TableProbe):
        mask = probe.mask()
        fired = [i for i in range(mask.bit_length()) if mask >> i & 1]
    else:
        (current,) = probe.answers([()], budget.deadline)
        fired = sorted(space.rule_index[i] for i in current[2])
    facts = space.rule_bits
    positive = space.positive_rules
    if rs.decide == "first_match":
        first = fired[0] if fired else len(rs.rules)
        need = 0
        for i in positive:
            if i < first:
                need |= facts[i]
        if fired:
            need |= facts[first]
        return (lambda changed: bool(changed & need)), None
    diffs = probe.diffs if isinstance(probe, TableProbe) else None
    ways: list[tuple[list[int], bool, int, list[int] | None]] = []
    for stronger, mine, default in _positive_outcomes(space, ranks):
        blocking = [facts[i] for i in fired if i in stronger]
        already = default or any(i in fired for i in mine)
        reach = 0
        # With a table: the rule of P must come to fire, so the change includes every fact that
        # differs from one of the combinations in which durable_rules fired it.
        within: list[int] | None = [] if diffs is not None else None
        for i in mine:
            reach |= facts[i]
            found = diffs(i) if diffs is not None else None
            within = None if found is None or within is None else within + found
        ways.append((blocking, already, reach, within))

    def helps(changed: int) -> bool:
        for blocking, already, reach, within in ways:
            for b in blocking:
                if not changed & b:
                    break
            else:
                if already:
                    return True
                if within is None:
                    if changed & reach:
                        return True
                elif any(d & changed == d for d in within):
                    return True
        return False

    if any(already or within is None for _, already, _, within in ways):
        return helps, None
    # Every change that can help includes one of the listed fact sets: those, and their supersets
    # up to the largest change, are the only ones to try (instead of every combination).
    allowed = 0
    for b in changeable:
        allowed |= b
    singles = list(changeable)
    sets: set[int] = set()
    for _, _, _, within in ways:
        assert within is not None
        for d in within:
            if d & ~allowed or d.bit_count() > MAX_CHANGED_FACTS:
                continue
            grown = {d}
            for _ in range(MAX_CHANGED_FACTS - d.bit_count()):
                grown |= {g | b for g in grown for b in singles if not g & b}
            sets |= grown
    sizes: dict[int, list[tuple[int, ...]]] = {}
    for combo in sorted(_bits(bits) for bits in sets if bits and helps(bits)):
        sizes.setdefault(len(combo), []).append(combo)
    return helps, sizes


def _bits(bits: int) -> tuple[int, ...]:
    """The single bits of ``bits``, lowest first (a fact set as :func:`itertools.combinations`
    would give it: same-sized sets then sort in its order)."""
    found = []
    while bits:
        low = bits & -bits
        found.append(low)
        bits ^= low
    return tuple(found)


def _positive_outcomes(
    space: Space, ranks: Mapping[str, int]
) -> list[tuple[frozenset[int], list[int], bool]]:
    """Per positive outcome (in id order): the rules of stronger outcomes, its own rules, and
    whether it is the default. Depends on the rule set alone, so it is kept with the space."""
    found: list[tuple[frozenset[int], list[int], bool]] | None = space.kept.get("positive")
    if found is None:
        rs = space.ruleset
        found = []
        for outcome in sorted(
            {rs.rules[i].outcome for i in space.positive_rules} | {rs.default_outcome}
        ):
            if rs.outcome(outcome).kind is not OutcomeKind.POSITIVE:
                continue
            stronger = frozenset(
                i for i, r in enumerate(rs.rules) if ranks[r.outcome] < ranks[outcome]
            )
            mine = [i for i in space.positive_rules if rs.rules[i].outcome == outcome]
            found.append((stronger, mine, outcome == rs.default_outcome))
        space.kept["positive"] = found
    return found


def _success(answers: Sequence[Answer]) -> Answer | None:
    """The one positive answer every completion gets, if there is one."""
    outcome = answers[0][0]
    if outcome.kind is not OutcomeKind.POSITIVE or any(a[0].id != outcome.id for a in answers):
        return None
    return answers[0]


def _risk(answers: Sequence[Answer], ranks: Mapping[str, int]) -> Answer | None:
    """The strongest negative answer some completion gets, if any does."""
    negative = [a for a in answers if a[0].kind is OutcomeKind.NEGATIVE]
    return min(negative, key=lambda a: ranks.get(a[0].id, len(ranks))) if negative else None


def _candidates(
    space: Space, known: Mapping[str, FactValue], unknown: Sequence[str], chosen: Sequence[str]
) -> list[_Candidate]:
    """Every way to change the facts ``chosen`` (each to a class other than its current one), with
    the completions of the unknown facts left free."""
    changed = set(chosen)
    free = [n for n in space.names if n in changed or n in unknown]
    base = {n: v for n, v in known.items() if n not in changed}
    dims = space.dimensions(free, base)
    if all(not d.partitions for d in dims):
        return _plain_candidates(space, known, chosen, dims)
    # Per dimension: its options grouped by what they say of the changed facts, with the conditions
    # that say it.
    groups: list[list[tuple[tuple[FactCondition, ...], list[Option]]]] = []
    for dim in dims:
        mine = [
            d
            for d, c in enumerate(dim.coordinates)
            if c.fact in changed and (c.other is None or c.other in changed)
        ]
        current = {
            n: dim.current(space, n, known[n]) for n in dim.facts if n in changed and n in known
        }
        by_key: dict[tuple[int, ...], list[Option]] = {}
        for option in dim.options:
            if any(option.classes[n] == cls for n, cls in current.items()):
                continue  # that fact would not change
            by_key.setdefault(tuple(option.coords[d] for d in mine), []).append(option)
        groups.append(
            [
                (
                    tuple(dim.coordinates[d].values[v] for d, v in zip(mine, key, strict=True)),
                    options,
                )
                for key, options in by_key.items()
            ]
        )
    found: list[_Candidate] = []
    facts = frozenset(chosen)
    for combo in itertools.product(*groups):
        to = tuple(c for conditions, _ in combo for c in conditions)
        completions = itertools.product(*(options for _, options in combo))
        cells = [tuple(s for o in cell for s in o.subs) for cell in completions]
        found.append(_Candidate(facts, cells[0], to, cells))
    return found


def _plain_candidates(
    space: Space, known: Mapping[str, FactValue], chosen: Sequence[str], dims: Sequence[Dimension]
) -> list[_Candidate]:
    """:func:`_candidates` when every dimension is one fact compared with constants (every rule set
    with a decision table): each changed fact's other options, times the unknown facts' options."""
    changed = set(chosen)
    alternatives = []
    completions: list[tuple[Sub, ...]] = [()]
    for dim in dims:
        (name,) = dim.facts
        if name not in changed:
            completions = [c + o.subs for c in completions for o in dim.options]
            continue
        current = space.axes[space.position[name]].option_of(known[name]) if name in known else -2
        values = dim.coordinates[0].values
        alternatives.append(
            [(values[i], o.subs) for i, o in enumerate(dim.options) if i != current]
        )
    facts = frozenset(chosen)
    found = []
    for combo in itertools.product(*alternatives):
        subs = tuple(s for _, sub in combo for s in sub)
        cells = [subs + c for c in completions]
        found.append(_Candidate(facts, subs, tuple(c for c, _ in combo), cells))
    return found


def _change(space: Space, candidate: _Candidate, answer: Answer) -> Change:
    values = {space.names[k]: v for k, _, v in candidate.subs if space.names[k] in candidate.facts}
    ordered = tuple((n, values[n]) for n in space.names if n in values)
    outcome: Outcome = answer[0]
    return Change(ordered, candidate.to, outcome, answer[1])


__all__ = [
    "MAX_ALTERNATIVES",
    "MAX_CHANGED_FACTS",
    "MAX_COMPLETIONS",
    "Budget",
    "changes",
    "possible",
    "rank",
]
