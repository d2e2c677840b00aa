"""The space a partial answer or a what-if searches: for each fact, the classes of its values the
rules can tell apart, and the dimensions a set of free facts spans given the others' values.

The classes are :mod:`engine.rules.domain`'s (the same partition the decision table probes), grouped
further into *options*: fine classes that satisfy the same comparisons, by durable_rules' own verdict
(the table's group answers, or :func:`engine.rules.table.atom_signatures` for a rule set evaluated
live), are one option, because every rule answers the same for them. So the 47 prefectures are two
options of ``tv_application`` (served or not), and an operator's 2,048 possible line-ups five of
``collab_order``. An enum's ``unknown_value`` ("not known yet") is never an option: a fact that is
unknown is completed with the values the world can take, not with a state of knowledge.

Facts compared with each other (``purchase_amount ≤ id_limit``) are never grouped. When one of the two
is known, its value becomes a constant of the other's comparisons; when both are free, their
*relation* (``<``, ``=``, ``>``; ``=``/``≠`` for other types) is a coordinate of its own, and each
combination of classes and relations that some values realise is one option, with values found by a
small difference-constraint solver (:func:`_solve`). Everything here is exact: two values in one
option, or two assignments in one cell, get the same answer from every rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..compiler import negation_normal_form
from ..domain import OTHER_TEXT, Partition, comparisons, partition
from ..evaluate import Decider
from ..explain import FactCondition
from ..model import (
    ORDERED_TYPES,
    Compare,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    Operator,
    OutcomeKind,
)
from ..table import atom_signatures
from .labels import class_condition, relation_condition

#: A fact whose values fall into more classes than this cannot be enumerated (an enum list naming
#: more than 14 of its values).
MAX_FINE_CLASSES = 1 << 14

#: The relations between two facts compared with each other, as coordinate values.
ORDER_RELATIONS = ("lt", "eq", "gt")
EQUALITY_RELATIONS = ("eq", "ne")

#: Where an ordered fact without bounds takes values when a relation needs room (dates stay valid).
_DATE_BOUNDS = (date(1900, 1, 1).toordinal(), date(9999, 12, 31).toordinal())

#: A substitution: fact position, fine class in the space's own partition (``-1`` when the value was
#: placed by a relation), the value.
Sub = tuple[int, int, FactValue]


class NotEnumerable(Exception):
    """A fact has too many classes to enumerate."""

    def __init__(self, fact: str, classes: int) -> None:
        self.fact = fact
        self.classes = classes
        super().__init__(f"fact {fact!r} has {classes} classes")


@dataclass(frozen=True)
class Axis:
    """One fact's values as the rules see them: fine classes, and the options they form."""

    spec: FactSpec
    partition: Partition
    coarse_of: tuple[int, ...]  # fine class → option (-1: only the unknown value is in that class)
    options: tuple[tuple[int, ...], ...]  # option → its fine classes (never the unknown value)

    def option_of(self, value: FactValue) -> int:
        return self.coarse_of[self.partition.classify(value)]


class Space:
    """Everything about one rule set that does not depend on a request; built once per Decider."""

    def __init__(self, decider: Decider) -> None:
        rs = decider.ruleset
        self.decider = decider
        self.ruleset = rs
        self.names = tuple(s.name for s in rs.facts)
        self.position = {name: i for i, name in enumerate(self.names)}
        atoms: dict[tuple[str, str, Any], Compare] = {}
        for rule in rs.rules:
            for atom in comparisons(negation_normal_form(rule.condition)):
                atoms.setdefault((atom.fact, atom.op, atom.operand), atom)
        self.constant_atoms = [a for a in atoms.values() if not isinstance(a.operand, FactRef)]
        #: Per fact, the comparisons with another fact it takes part in (on either side).
        self.links: dict[str, list[Compare]] = {name: [] for name in self.names}
        for atom in atoms.values():
            if isinstance(atom.operand, FactRef):
                self.links[atom.fact].append(atom)
                self.links[atom.operand.name].append(atom)
        table = decider.table
        if table is not None:
            partitions = table.plan.partitions
        else:
            partitions = tuple(self._partition(spec, ()) for spec in rs.facts)
        for found in partitions:
            if len(found.classes) > MAX_FINE_CLASSES:
                raise NotEnumerable(found.spec.name, len(found.classes))
        self.axes = tuple(
            _axis(p, keys) for p, keys in zip(partitions, self._keys(partitions), strict=True)
        )
        self.linked = any(self.links.values())
        self._plain: dict[str, Dimension] = {}
        #: Per rule, the facts its condition reads (a rule's answer depends on nothing else).
        self.rule_facts = tuple(
            frozenset(
                n
                for c in comparisons(rule.condition)
                for n in (c.fact, *((c.operand.name,) if isinstance(c.operand, FactRef) else ()))
            )
            for rule in rs.rules
        )
        #: The same as bits of the facts' positions; the positive rules; the facts never proposed.
        self.rule_bits = tuple(
            sum(1 << self.position[n] for n in names) for names in self.rule_facts
        )
        self.rule_index = {r.id: i for i, r in enumerate(rs.rules)}
        self.positive_rules = tuple(
            i for i, r in enumerate(rs.rules) if rs.outcome(r.outcome).kind is OutcomeKind.POSITIVE
        )
        self.fixed = frozenset(s.name for s in rs.facts if s.fixed)
        #: What the searches derive from the rule set alone, kept on first use.
        self.kept: dict[str, Any] = {}
        #: Per fact, fine class → option (:attr:`Axis.coarse_of`).
        self.coarse = tuple(axis.coarse_of for axis in self.axes)
        #: Per fact, what finds a value's fine class (a dict lookup for bool and enum facts).
        self._classify = tuple(
            (
                axis.partition.index.__getitem__
                if axis.spec.type in (FactType.BOOL, FactType.ENUM)
                else axis.partition.classify
            )
            for axis in self.axes
        )

    def classes_of(self, facts: Mapping[str, FactValue]) -> list[int] | None:
        """The fine class of every fact's value (``None`` unless every fact has one)."""
        try:
            return [find(facts[n]) for n, find in zip(self.names, self._classify, strict=True)]
        except KeyError:
            return None

    def _partition(self, spec: FactSpec, extra: Iterable[Compare]) -> Partition:
        mine = [a for a in self.constant_atoms if a.fact == spec.name]
        return partition(spec, [*mine, *extra])

    def _keys(self, partitions: Sequence[Partition]) -> list[list[Any]]:
        """Per fact, per fine class: what tells its class apart for the rules (same key, same
        option). From the table's own group answers, else from durable_rules' verdict on every
        comparison with a constant; a fact compared with another fact keeps every fine class."""
        table = self.decider.table
        if table is not None:
            keys: list[list[Any]] = [[()] * len(p.classes) for p in partitions]
            for group in table.plan.groups:
                for name, offsets in zip(group.facts, group.offsets, strict=True):
                    k = self.position[name]
                    keys[k] = [(*key, offsets[fine]) for fine, key in enumerate(keys[k])]
            return keys
        if not self.constant_atoms:  # every comparison is between two facts
            return [list(range(len(p.classes))) for p in partitions]
        signatures = atom_signatures(self.decider.compiled, partitions, self.constant_atoms)
        return [
            list(range(len(p.classes))) if self.links[p.spec.name] else signatures[p.spec.name]
            for p in partitions
        ]

    # -- the dimensions of a set of free facts ---------------------------------------------------

    def dimensions(self, free: Sequence[str], base: Mapping[str, FactValue]) -> list[Dimension]:
        """The dimensions spanned by ``free`` (in declared order) while every other fact has its
        value in ``base``: one per free fact, or one per group of free facts compared with each
        other."""
        free_set = set(free)
        seen: set[str] = set()
        found: list[Dimension] = []
        for name in sorted(free_set, key=self.position.__getitem__):
            if name in seen:
                continue
            component = self._component(name, free_set)
            seen |= component
            ordered = sorted(component, key=self.position.__getitem__)
            if len(ordered) == 1 and not self.links[name]:
                found.append(self._plain_dimension(name))
            else:
                found.append(self._linked_dimension(ordered, base))
        return found

    def _component(self, name: str, free: set[str]) -> set[str]:
        """``name`` and the free facts reachable through comparisons between facts."""
        component, todo = {name}, [name]
        while todo:
            for atom in self.links[todo.pop()]:
                assert isinstance(atom.operand, FactRef)
                for other in (atom.fact, atom.operand.name):
                    if other in free and other not in component:
                        component.add(other)
                        todo.append(other)
        return component

    def _plain_dimension(self, name: str) -> Dimension:
        """The options of a fact compared with constants only (the same for every request)."""
        found = self._plain.get(name)
        if found is None:
            found = self._plain[name] = self._new_plain_dimension(name)
        return found

    def _new_plain_dimension(self, name: str) -> Dimension:
        k = self.position[name]
        axis = self.axes[k]
        options = []
        values = []
        for index, members in enumerate(axis.options):
            fine = members[0]
            options.append(
                Option(((k, fine, axis.partition.classes[fine].value),), (index,), {name: index})
            )
            values.append(class_condition(axis.spec, axis.partition, members))
        return Dimension((name,), (Coordinate(name, None, tuple(values)),), options)

    def _linked_dimension(self, facts: Sequence[str], base: Mapping[str, FactValue]) -> Dimension:
        """Facts compared with each other: their classes (another fact's known value is a constant
        of the comparison) and the relations between the free ones, as far as values realise them."""
        inside = set(facts)
        parts: list[Partition] = []
        for name in facts:
            extra = [_with_constant(atom, name, base) for atom in self.links[name]]
            spec = self.axes[self.position[name]].spec
            parts.append(self._partition(spec, [a for a in extra if a is not None]))
        pairs = sorted(
            {
                tuple(sorted((a.fact, a.operand.name), key=self.position.__getitem__))
                for name in facts
                for a in self.links[name]
                if isinstance(a.operand, FactRef) and {a.fact, a.operand.name} <= inside
            }
        )
        unknown_values = [self.axes[self.position[n]].spec.unknown_value for n in facts]
        choices = [
            [i for i, c in enumerate(p.classes) if c.value != unknown]
            for p, unknown in zip(parts, unknown_values, strict=True)
        ]
        ordered = [_is_ordered(p.spec) for p in parts]
        relations = [
            ORDER_RELATIONS
            if ordered[facts.index(a)] and ordered[facts.index(b)]
            else EQUALITY_RELATIONS
            for a, b in pairs
        ]
        coordinates = [
            Coordinate(
                name, None, tuple(class_condition(p.spec, p, (i,)) for i in range(len(p.classes)))
            )
            for name, p in zip(facts, parts, strict=True)
        ]
        for (a, b), names in zip(pairs, relations, strict=True):
            labels = tuple(relation_condition(a, self.ruleset.fact(b), r) for r in names)
            coordinates.append(Coordinate(a, b, labels))
        options: list[Option] = []
        for classes in itertools.product(*choices):
            for rels in itertools.product(*(range(len(r)) for r in relations)):
                wanted = {
                    pair: names[r] for pair, names, r in zip(pairs, relations, rels, strict=True)
                }
                values = _solve(facts, parts, classes, wanted)
                if values is None:
                    continue
                subs = tuple((self.position[n], -1, v) for n, v in zip(facts, values, strict=True))
                options.append(
                    Option(subs, (*classes, *rels), dict(zip(facts, classes, strict=True)))
                )
        return Dimension(tuple(facts), tuple(coordinates), options, tuple(parts))


def _axis(found: Partition, keys: Sequence[Any]) -> Axis:
    """Options: fine classes with equal keys, the unknown value left out (unless it is the only one)."""
    unknown = found.spec.unknown_value if len(found.classes) > 1 else None
    by_key: dict[Any, list[int]] = {}
    for fine, key in enumerate(keys):
        if unknown is not None and found.classes[fine].value == unknown:
            continue
        by_key.setdefault(key, []).append(fine)
    options = tuple(tuple(members) for members in by_key.values())
    index = {key: i for i, key in enumerate(by_key)}
    coarse_of = tuple(index.get(key, -1) for key in keys)
    return Axis(found.spec, found, coarse_of, options)


def _is_ordered(spec: FactSpec) -> bool:
    return spec.type in ORDERED_TYPES


_FLIPPED: dict[str, Operator] = {
    "lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "is": "is", "is_not": "is_not"
}  # fmt: skip


def _with_constant(atom: Compare, name: str, base: Mapping[str, FactValue]) -> Compare | None:
    """``atom`` as a comparison of ``name`` with the known value of the other fact (``None`` when
    the other fact is free too)."""
    assert isinstance(atom.operand, FactRef)
    op: Operator
    if atom.fact == name:
        other, op = atom.operand.name, atom.op
    else:
        other, op = atom.fact, _FLIPPED[atom.op]
    if other not in base:
        return None
    return Compare(name, op, base[other], atom.location)


@dataclass(frozen=True)
class Coordinate:
    """One coordinate of a dimension: a fact's class, or (``other`` set) the relation between two
    facts. ``values`` holds, per coordinate value, what it stands for."""

    fact: str
    other: str | None
    values: tuple[FactCondition, ...]


@dataclass(frozen=True)
class Option:
    """One choice along a dimension: the values to put in, its coordinates, and the class (index
    into the dimension's partition, or the option of the fact's axis) of each of its facts."""

    subs: tuple[Sub, ...]
    coords: tuple[int, ...]
    classes: dict[str, int] = field(compare=False)


@dataclass(frozen=True)
class Dimension:
    """The options of one free fact, or of free facts compared with each other."""

    facts: tuple[str, ...]
    coordinates: tuple[Coordinate, ...]
    options: list[Option]
    partitions: tuple[Partition, ...] = ()  # linked dimensions: each fact's partition, in order

    def current(self, space: Space, name: str, value: FactValue) -> int:
        """The class ``value`` of fact ``name`` is in, as this dimension numbers them."""
        if not self.partitions:
            return space.axes[space.position[name]].option_of(value)
        return self.partitions[self.facts.index(name)].classify(value)


# --- values for facts compared with each other -------------------------------------------------


def _solve(
    facts: Sequence[str],
    parts: Sequence[Partition],
    classes: Sequence[int],
    relations: Mapping[tuple[str, ...], str],
) -> list[FactValue] | None:
    """Values of ``facts``, each in its chosen class, that stand in the wanted relations; ``None``
    when no values do. Ordered facts are solved as difference constraints (Bellman-Ford over at most
    a handful of facts); the others take their class's samples, tried in turn."""
    candidates: list[list[FactValue]] = []
    for p, index in zip(parts, classes, strict=True):
        cls = p.classes[index]
        if _is_ordered(p.spec):
            candidates.append([cls.value])  # placeholder: solved below
        elif p.spec.type is FactType.STRING and cls.value not in p.index:
            candidates.append([cls.value, cls.value + OTHER_TEXT[0]])  # type: ignore[operator]
        else:
            candidates.append([cls.value])
    ordered = [i for i, p in enumerate(parts) if _is_ordered(p.spec)]
    ordinals = _ordinals(facts, parts, classes, relations, ordered)
    if ordered and ordinals is None:
        return None
    for values in itertools.product(*candidates):
        chosen = list(values)
        if ordinals is not None:
            for i in ordered:
                chosen[i] = _from_ordinal(parts[i].spec, ordinals[i])
        if all(
            _relation(chosen[facts.index(a)], chosen[facts.index(b)], r)
            for (a, b), r in relations.items()
        ):
            return chosen
    return None


def _relation(a: FactValue, b: FactValue, relation: str) -> bool:
    if relation == "eq":
        return a == b
    if relation == "ne":
        return a != b
    x, y = _ordinal(a), _ordinal(b)
    return x < y if relation == "lt" else x > y


def _ordinal(value: FactValue) -> int:
    if isinstance(value, date):
        return value.toordinal()
    assert isinstance(value, int)
    return value


def _from_ordinal(spec: FactSpec, number: int) -> FactValue:
    return date.fromordinal(number) if spec.type is FactType.DATE else number


def _ordinals(
    facts: Sequence[str],
    parts: Sequence[Partition],
    classes: Sequence[int],
    relations: Mapping[tuple[str, ...], str],
    ordered: Sequence[int],
) -> dict[int, int] | None:
    """Integers for the ordered facts within their classes' bounds and the wanted order relations
    (``x_j − x_i ≤ w`` as an edge i → j of weight w; node ``n`` is zero), or ``None``."""
    if not ordered:
        return {}
    n = len(facts)
    edges: list[tuple[int, int, int]] = []
    for i in ordered:
        low, high = _bounds(parts[i], classes[i])
        if high is not None:
            edges.append((n, i, high))  # x_i − 0 ≤ high
        if low is not None:
            edges.append((i, n, -low))  # 0 − x_i ≤ −low
    for (a, b), relation in relations.items():
        i, j = facts.index(a), facts.index(b)
        if i not in ordered or j not in ordered:
            continue
        if relation == "lt":
            edges.append((j, i, -1))  # x_i − x_j ≤ −1
        elif relation == "gt":
            edges.append((i, j, -1))  # x_j − x_i ≤ −1
        elif relation == "eq":
            edges += [(i, j, 0), (j, i, 0)]
    distance = [0] * (n + 1)  # a virtual source at distance 0 from every node
    for _ in range(n + 1):
        changed = False
        for u, v, w in edges:
            if distance[u] + w < distance[v]:
                distance[v] = distance[u] + w
                changed = True
        if not changed:
            break
    else:
        return None  # a negative cycle: the constraints contradict each other
    zero = distance[n]
    return {i: distance[i] - zero for i in ordered}


def _bounds(found: Partition, index: int) -> tuple[int | None, int | None]:
    """The first and last ordinal of an interval class (``None``: unbounded), dates kept valid."""
    spec, cuts = found.spec, [_ordinal(c) for c in found.cuts]
    low = cuts[index - 1] if index > 0 else spec.minimum
    high = cuts[index] - 1 if index < len(cuts) else spec.maximum
    if spec.type is FactType.DATE:
        low = _DATE_BOUNDS[0] if low is None else max(low, _DATE_BOUNDS[0])
        high = _DATE_BOUNDS[1] if high is None else min(high, _DATE_BOUNDS[1])
    return low, high


__all__ = ["Axis", "Coordinate", "Dimension", "NotEnumerable", "Option", "Space", "Sub"]
