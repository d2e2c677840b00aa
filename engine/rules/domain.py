"""What a comparison means, and the classes of a fact's values that a rule set's comparisons cannot
tell apart.

Conditions compare facts with constants (and sometimes with other facts). However many values a fact
may take, the comparisons a rule set makes on it see only finitely many *classes* of them: two values
in one class satisfy exactly the same comparisons, so every rule answers the same for both. Reasoning
over the classes is therefore exact, not sampled. Two modules do it, and this one gives them the same
classes and the same meaning of a comparison:

* the decision table (:mod:`engine.rules.table`) asks durable_rules one representative of each class at
  load time and looks a request's classes up afterwards;
* the static analysis (:mod:`engine.rules.analysis`) evaluates every rule on every combination of
  classes: rules that never fire, shadowed rows, gaps, comparisons that always hold.

The public API:

* :func:`comparisons` walks a condition to its comparisons, :func:`constants` lists the constants one
  comparison names;
* :func:`holds` *defines* a comparison (and :func:`condition_holds` a condition). The compiler
  (:mod:`engine.rules.compiler`) implements the same meaning in durable_rules;
  ``tests/reliability/test_compiler_differential.py`` checks the two agree, with :func:`holds` as the
  reference;
* :func:`partition` cuts one fact's domain given the comparisons made on it, into a :class:`Partition`
  of :class:`FactClass` (a representative value, a label for people, a membership test); :func:`classes`
  is the same as a plain list.

The classes of each fact type, in the order :func:`partition` lists them:

* ``bool``: true, false. ``enum``: each declared value, in declared order.
* ``string``: each constant the comparisons name (sorted), then "any other text".
* ``int``/``money``/``date``: the intervals between the *cut points* the comparisons make, clipped to
  the fact's ``min``/``max``, in ascending order. ``x < 10`` cuts the domain before 10, ``x ≤ 10`` after
  it, ``x = 10`` (``≠``, ``in``, ``not in``) on both sides, so a value compared for equality is a class
  of its own.
* ``enum_list``: each combination of "contains v" for the declared values the comparisons name, crossed
  with "contains some value no comparison names" when such values exist (the representative then holds
  the first of them): 2ⁿ or 2ⁿ⁺¹ classes. Class ``i`` contains named value ``j`` when bit ``j`` of ``i``
  is set, and an unnamed value when bit ``n`` is.

Negating a comparison (``lt`` ↔ ``ge``, ``is`` ↔ ``is_not``, ``includes`` ↔ ``excludes`` …) keeps its
cut points and named values, so a condition and its negation normal form have the same classes.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .model import AllOf, AnyOf, Compare, Condition, FactRef, FactSpec, FactType, FactValue, NotOf

#: The representative of "any text no comparison names" (lengthened if a constant is this very text).
OTHER_TEXT = "\u2063other"

#: How many distinct values :attr:`FactClass.samples` offers for an interval: with three, a comparison
#: between two facts can come out ``<``, ``=`` and ``>`` for every pair of their classes.
SAMPLES = 3

#: Where an unbounded ordered domain with no cut point takes its values from (as ordinals).
_UNBOUNDED_BASE = {FactType.INT: 0, FactType.MONEY: 0, FactType.DATE: date(2000, 1, 1).toordinal()}


# --- comparisons and what they mean ------------------------------------------------------------------


def comparisons(condition: Condition) -> Iterator[Compare]:
    """Every comparison of ``condition``, in order, through ``all``, ``any`` and ``not``."""
    match condition:
        case Compare():
            yield condition
        case AllOf(parts) | AnyOf(parts):
            for part in parts:
                yield from comparisons(part)
        case NotOf(part):
            yield from comparisons(part)


def constants(compare: Compare) -> tuple[FactValue, ...]:
    """The constants a comparison names: none for a fact operand or none at all, each item of a list."""
    operand = compare.operand
    if operand is None or isinstance(operand, FactRef):
        return ()
    if isinstance(operand, tuple):
        return operand
    return (operand,)


def holds(compare: Compare, facts: Mapping[str, FactValue]) -> bool:
    """Whether ``compare`` holds for ``facts`` (normalised values by fact name): the meaning of each
    operator.

    Dates compare as days, as the compiler sends them (ordinals); ``in`` is membership of the operand's
    values; a list fact's ``only_from`` needs a non-empty list of operand values, and ``not_only_from``
    is its negation.
    """
    value = facts[compare.fact]
    operand = compare.operand
    if isinstance(operand, FactRef):
        operand = facts[operand.name]
    match compare.op:
        case "is":
            return value == operand
        case "is_not":
            return value != operand
        case "in":
            return value in _items(operand)
        case "not_in":
            return value not in _items(operand)
        case "lt":
            return _order(value) < _order(operand)
        case "le":
            return _order(value) <= _order(operand)
        case "gt":
            return _order(value) > _order(operand)
        case "ge":
            return _order(value) >= _order(operand)
        case "includes":
            return operand in _items(value)
        case "excludes":
            return operand not in _items(value)
        case "is_empty":
            return not _items(value)
        case "not_empty":
            return bool(_items(value))
        case "only_from":
            return bool(value) and all(v in _items(operand) for v in _items(value))
        case "not_only_from":
            return not value or any(v not in _items(operand) for v in _items(value))
    raise AssertionError(f"unknown operator {compare.op}")  # pragma: no cover


def condition_holds(condition: Condition, facts: Mapping[str, FactValue]) -> bool:
    """Whether ``condition`` holds for ``facts``: :func:`holds` under ``all``, ``any`` and ``not``."""
    match condition:
        case Compare():
            return holds(condition, facts)
        case AllOf(parts):
            return all(condition_holds(p, facts) for p in parts)
        case AnyOf(parts):
            return any(condition_holds(p, facts) for p in parts)
        case NotOf(part):
            return not condition_holds(part, facts)
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover


def condition_state(
    condition: Condition, facts: Mapping[str, FactValue], unknown: Container[str]
) -> bool | None:
    """Whether ``condition`` holds while the facts in ``unknown`` are not known: ``True`` or
    ``False`` when the known facts settle it, ``None`` when it depends on an unknown one (three-valued
    logic: ``all`` is false once a part is false, ``any`` true once a part is true)."""
    match condition:
        case Compare(fact=fact, operand=operand):
            other = operand.name if isinstance(operand, FactRef) else None
            if fact in unknown or (other is not None and other in unknown):
                return None
            return holds(condition, facts)
        case AllOf(parts):
            states = [condition_state(p, facts, unknown) for p in parts]
            return False if False in states else (None if None in states else True)
        case AnyOf(parts):
            states = [condition_state(p, facts, unknown) for p in parts]
            return True if True in states else (None if None in states else False)
        case NotOf(part):
            state = condition_state(part, facts, unknown)
            return None if state is None else not state
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover


def _order(value: object) -> int:
    """An ordered value as the engine compares it: a date as its day number, an int as itself."""
    if isinstance(value, date):
        return value.toordinal()
    assert isinstance(value, int), value
    return value


def _items(value: object) -> tuple[Any, ...]:
    assert isinstance(value, tuple), value
    return value


# --- the classes of one fact ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FactClass:
    """One class of a fact's domain: values no comparison of the rule set tells apart.

    ``value`` is its representative, ``label`` says which values it holds (``10 ≤ users ≤ 100``,
    ``plan = basic``), ``samples`` are up to :data:`SAMPLES` distinct members (``value`` first; more
    than one only for intervals), and ``contains(v)`` tells whether a valid value is a member.
    """

    value: FactValue
    label: str
    samples: tuple[FactValue, ...]
    contains: Callable[[FactValue], bool] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Partition:
    """The classes of one fact, in a fixed order, and what finds a value's class quickly.

    The lookup data depends on the type: ``cuts`` (ordered types) are the first value of every class
    but the first, so a value's class is ``bisect_right(cuts, value)``; ``index`` maps a ``bool``,
    ``enum`` or named ``string`` value to its class, and each declared item of an ``enum_list`` to its
    bit; ``other`` is the class of any other text (``string``) or the bit of the unnamed items
    (``enum_list``), ``-1`` when there is none.
    """

    spec: FactSpec
    classes: tuple[FactClass, ...]
    cuts: tuple[int | date, ...] = ()
    index: Mapping[Any, int] = field(default_factory=dict)
    other: int = -1

    def classify(self, value: FactValue) -> int:
        """The index of the class of a valid, normalised value (one the fact schema accepts).

        :raises KeyError: for an enum value or list item the fact does not declare.
        """
        kind = self.spec.type
        if kind in (FactType.INT, FactType.MONEY, FactType.DATE):
            return bisect.bisect_right(self.cuts, value)
        if kind is FactType.STRING:
            return self.index.get(value, self.other)
        if kind is FactType.ENUM_LIST:
            found = 0
            for item in _items(value):
                found |= self.index[item]
            return found
        return self.index[value]


def partition(spec: FactSpec, compares: Iterable[Compare]) -> Partition:
    """The classes of ``spec``'s domain given every comparison the rules make on it.

    ``compares`` are the comparisons whose subject is this fact (others are ignored); comparing with
    another fact adds no cut point, which is why intervals offer several :attr:`FactClass.samples`.
    """
    mine = [c for c in compares if c.fact == spec.name]
    match spec.type:
        case FactType.BOOL:
            return _bool_partition(spec)
        case FactType.ENUM:
            names = spec.value_names
            return Partition(
                spec,
                tuple(_point(v, f"{spec.name} = {v}") for v in names),
                index={v: i for i, v in enumerate(names)},
            )
        case FactType.STRING:
            return _string_partition(spec, mine)
        case FactType.ENUM_LIST:
            return _list_partition(spec, mine)
        case FactType.INT | FactType.MONEY | FactType.DATE:
            return _ordered_partition(spec, mine)
    raise AssertionError(f"unhandled fact type {spec.type}")  # pragma: no cover


def classes(spec: FactSpec, compares: Iterable[Compare]) -> list[FactClass]:
    """The classes of :func:`partition`, as a list."""
    return list(partition(spec, compares).classes)


def _point(value: FactValue, label: str) -> FactClass:
    return FactClass(value, label, (value,), lambda v: v == value)


def _bool_partition(spec: FactSpec) -> Partition:
    points = tuple(_point(v, f"{spec.name} = {str(v).lower()}") for v in (True, False))
    return Partition(spec, points, index={True: 0, False: 1})


def _string_partition(spec: FactSpec, compares: Sequence[Compare]) -> Partition:
    named = sorted({str(c) for cmp in compares for c in constants(cmp)})
    other = OTHER_TEXT
    while other in named:
        other += OTHER_TEXT[0]
    excluded = frozenset(named)
    rest = FactClass(other, f"{spec.name} is other text", (other,), lambda v: v not in excluded)
    points = tuple(_point(v, f"{spec.name} = {v!r}") for v in named)
    return Partition(
        spec, (*points, rest), index={v: i for i, v in enumerate(named)}, other=len(named)
    )


def _list_partition(spec: FactSpec, compares: Sequence[Compare]) -> Partition:
    """Which named values a list contains, and whether it contains some unnamed one."""
    mentioned = {str(c) for cmp in compares for c in constants(cmp)}
    named = [v for v in spec.value_names if v in mentioned]
    others = [v for v in spec.value_names if v not in mentioned]
    width = len(named) + (1 if others else 0)
    other_bit = 1 << len(named) if others else -1
    index = {v: 1 << i for i, v in enumerate(named)} | {v: other_bit for v in others}
    shown = [*named, f"other ({'|'.join(others)})"]
    items = [*named, *others[:1]]
    found: list[FactClass] = []
    for bits in range(1 << width):
        chosen = [i for i in range(width) if bits >> i & 1]
        value = tuple(items[i] for i in chosen)
        label = f"{spec.name} = [{', '.join(shown[i] for i in chosen)}]"
        found.append(FactClass(value, label, (value,), _has_bits(index, bits)))
    return Partition(spec, tuple(found), index=index, other=other_bit)


def _has_bits(index: Mapping[str, int], bits: int) -> Callable[[FactValue], bool]:
    def contains(value: FactValue) -> bool:
        found = 0
        for item in _items(value):
            found |= index[item]
        return found == bits

    return contains


def _ordered_partition(spec: FactSpec, compares: Sequence[Compare]) -> Partition:
    """The intervals between the cut points the comparisons make, clipped to ``min``/``max``."""
    low, high = spec.minimum, spec.maximum
    cuts: set[int] = set()
    for compare in compares:
        for constant in constants(compare):
            cuts.update(_cuts(compare.op, _order(constant)))
    inside = sorted(c for c in cuts if (low is None or c > low) and (high is None or c <= high))
    bounds = [low, *inside]
    lasts = [c - 1 for c in inside] + [high]
    found = tuple(_interval(spec, first, last) for first, last in zip(bounds, lasts, strict=True))
    return Partition(spec, found, cuts=tuple(_value(spec, c) for c in inside))


def _cuts(op: str, value: int) -> tuple[int, ...]:
    """Where a comparison with ``value`` cuts the domain: the first value of each upper class."""
    if op in ("lt", "ge"):
        return (value,)
    if op in ("le", "gt"):
        return (value + 1,)
    return (value, value + 1)  # is, is_not, in, not_in single the value out


def _interval(spec: FactSpec, first: int | None, last: int | None) -> FactClass:
    """The class of ``first..last`` (as ordinals; ``None``: unbounded), never empty."""
    name = spec.name
    if first is None and last is None:
        base = _UNBOUNDED_BASE[spec.type]
        numbers = [base + i for i in range(SAMPLES)]
        label = f"{name} (any)"
    elif first is None:
        assert last is not None
        numbers = [last - i for i in range(SAMPLES)]
        label = f"{name} ≤ {_show(spec, last)}"
    elif last is None:
        numbers = [first + i for i in range(SAMPLES)]
        label = f"{name} ≥ {_show(spec, first)}"
    else:
        numbers = [first + i for i in range(min(SAMPLES, last - first + 1))]
        label = (
            f"{name} = {_show(spec, first)}"
            if first == last
            else f"{_show(spec, first)} ≤ {name} ≤ {_show(spec, last)}"
        )
    samples = tuple(_value(spec, n) for n in numbers)

    def contains(value: FactValue) -> bool:
        number = _order(value)
        return (first is None or first <= number) and (last is None or number <= last)

    return FactClass(samples[0], label, samples, contains)


def _value(spec: FactSpec, number: int) -> int | date:
    return date.fromordinal(number) if spec.type is FactType.DATE else number


def _show(spec: FactSpec, number: int) -> str:
    return date.fromordinal(number).isoformat() if spec.type is FactType.DATE else str(number)


__all__ = [
    "OTHER_TEXT",
    "SAMPLES",
    "FactClass",
    "Partition",
    "classes",
    "comparisons",
    "condition_holds",
    "constants",
    "holds",
    "partition",
]
