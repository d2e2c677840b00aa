"""What a class of a fact's values stands for, as JSON values and in words a seller can read out.

Labels use the rule set's own words (its enum values' labels) and the catalogue's for the rest (yes,
no, ranges, "any other text", relations); numbers and dates are written as they are. A set of list
classes is described by its smallest cubes ("includes A, not B", any other item free), so an option
made of a thousand combinations still reads as one or two lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ...messages.catalogue import CATALOGUE, Code
from ...messages.language import Text
from ..domain import Partition
from ..explain import FactCondition
from ..model import FactSpec, FactType


def catalogue_text(code: Code, **params: Text | str) -> Text:
    """The catalogue's text with parameters that may differ by language (a fact's ja and en label)."""
    template = CATALOGUE[code]

    def pick(lang: str) -> dict[str, str]:
        return {
            k: (v.ja if lang == "ja" else v.en) if isinstance(v, Text) else v
            for k, v in params.items()
        }

    return Text(template.ja.format(**pick("ja")), template.en.format(**pick("en")))


def _join(texts: Sequence[Text]) -> Text:
    return Text("、".join(t.ja for t in texts), ", ".join(t.en for t in texts))


def class_condition(spec: FactSpec, found: Partition, members: Sequence[int]) -> FactCondition:
    """The values of the fine classes ``members`` of ``spec`` (one option), for a branch or a change."""
    match spec.type:
        case FactType.BOOL | FactType.ENUM:
            values = [found.classes[i].value for i in members]
            return FactCondition(spec.name, tuple(values), tuple(_point(spec, v) for v in values))
        case FactType.STRING:
            named = [v for v in found.index]
            entries: list[object] = []
            labels: list[Text] = []
            for i in members:
                if i == found.other:
                    entries.append({"not": named})
                    labels.append(catalogue_text(Code.TEXT_OTHER))
                else:
                    value = found.classes[i].value
                    entries.append(value)
                    labels.append(catalogue_text(Code.TEXT_EXACTLY, text=str(value)))
            return FactCondition(spec.name, tuple(entries), tuple(labels))
        case FactType.INT | FactType.MONEY | FactType.DATE:
            ranges = _ranges(spec, found, members)
            return FactCondition(
                spec.name,
                tuple({"min": _show(spec, lo), "max": _show(spec, hi)} for lo, hi in ranges),
                tuple(_range_label(spec, lo, hi) for lo, hi in ranges),
            )
        case FactType.ENUM_LIST:
            return _list_condition(spec, found, members)
    raise AssertionError(f"unhandled fact type {spec.type}")  # pragma: no cover


def _point(spec: FactSpec, value: object) -> Text:
    if spec.type is FactType.BOOL:
        return catalogue_text(Code.VALUE_YES if value else Code.VALUE_NO)
    return next(v.label for v in spec.values if v.value == value)


# --- numbers and dates ------------------------------------------------------------------------


def _ranges(
    spec: FactSpec, found: Partition, members: Sequence[int]
) -> list[tuple[int | None, int | None]]:
    """The intervals of ``members`` as ordinals (``None``: unbounded), neighbours merged."""
    cuts = [c.toordinal() if isinstance(c, date) else c for c in found.cuts]
    merged: list[tuple[int | None, int | None]] = []
    for i in sorted(members):
        low = cuts[i - 1] if i > 0 else spec.minimum
        high = cuts[i] - 1 if i < len(cuts) else spec.maximum
        if merged and merged[-1][1] is not None and low is not None and merged[-1][1] + 1 == low:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _show(spec: FactSpec, number: int | None) -> int | str | None:
    if number is None:
        return None
    return date.fromordinal(number).isoformat() if spec.type is FactType.DATE else number


def _range_label(spec: FactSpec, low: int | None, high: int | None) -> Text:
    if low is None and high is None:
        return catalogue_text(Code.VALUE_ANY)
    dated = spec.type is FactType.DATE

    def shown(number: int) -> str:
        return date.fromordinal(number).isoformat() if dated else f"{number:,}"

    if low is not None and low == high:
        return Text(shown(low), shown(low))
    if high is None:
        assert low is not None
        return catalogue_text(Code.DATE_FROM if dated else Code.NUMBER_FROM, low=shown(low))
    if low is None:
        return catalogue_text(Code.DATE_UP_TO if dated else Code.NUMBER_UP_TO, high=shown(high))
    code = Code.DATE_FROM_TO if dated else Code.NUMBER_FROM_TO
    return catalogue_text(code, low=shown(low), high=shown(high))


# --- lists ------------------------------------------------------------------------------------


def _list_condition(spec: FactSpec, found: Partition, members: Sequence[int]) -> FactCondition:
    """List classes as cubes: items a list must hold, items it must not, the rest free."""
    named = [
        v for v, bit in sorted(found.index.items(), key=lambda kv: kv[1]) if bit != found.other
    ]
    width = len(named) + (1 if found.other != -1 else 0)
    items = [_item_label(spec, v) for v in named]
    if found.other != -1:
        others = [v for v, bit in found.index.items() if bit == found.other]
        items.append(
            catalogue_text(
                Code.LIST_OTHER_VALUES, values=_join([_item_label(spec, v) for v in others])
            )
        )
    keys = [*named, "*"] if found.other != -1 else named
    values: list[dict[str, list[str]]] = []
    labels: list[Text] = []
    for cube in _cubes(list(members), width):
        has = [i for i in range(width) if cube[i] == 1]
        has_not = [i for i in range(width) if cube[i] == 0]
        values.append({"includes": [keys[i] for i in has], "excludes": [keys[i] for i in has_not]})
        labels.append(_cube_label([items[i] for i in has], [items[i] for i in has_not]))
    return FactCondition(spec.name, tuple(values), tuple(labels))


def _item_label(spec: FactSpec, value: str) -> Text:
    return next(v.label for v in spec.values if v.value == value)


def _cube_label(has: Sequence[Text], has_not: Sequence[Text]) -> Text:
    if has and has_not:
        return catalogue_text(Code.LIST_HAS_NOT, has=_join(has), has_not=_join(has_not))
    if has:
        return catalogue_text(Code.LIST_HAS_ALL, has=_join(has))
    if has_not:
        return catalogue_text(Code.LIST_HAS_NONE, has_not=_join(has_not))
    return catalogue_text(Code.VALUE_ANY)


def _cubes(minterms: list[int], width: int) -> list[tuple[int, ...]]:
    """A small set of cubes (per bit 1, 0 or 2 for "either") covering exactly ``minterms``: the prime
    implicants (Quine–McCluskey), then a greedy cover."""
    terms = {tuple((m >> b) & 1 for b in range(width)) for m in minterms}
    primes: set[tuple[int, ...]] = set()
    current = set(terms)
    while current:
        merged: set[tuple[int, ...]] = set()
        used: set[tuple[int, ...]] = set()
        by_shape: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
        for cube in current:
            by_shape.setdefault(tuple(b for b in range(width) if cube[b] == 2), []).append(cube)
        for cubes in by_shape.values():
            present = set(cubes)
            for cube in cubes:
                for b in range(width):
                    if cube[b] == 0:
                        other = cube[:b] + (1,) + cube[b + 1 :]
                        if other in present:
                            merged.add(cube[:b] + (2,) + cube[b + 1 :])
                            used |= {cube, other}
        primes |= current - used
        current = merged
    chosen: list[tuple[int, ...]] = []
    uncovered = set(terms)
    ordered = sorted(primes, key=lambda c: (-c.count(2), c))
    while uncovered:
        best = max(ordered, key=lambda c: sum(1 for t in uncovered if _covers(c, t)))
        chosen.append(best)
        uncovered = {t for t in uncovered if not _covers(best, t)}
    return chosen


def _covers(cube: tuple[int, ...], term: tuple[int, ...]) -> bool:
    return all(c == 2 or c == t for c, t in zip(cube, term, strict=True))


# --- relations between two facts ---------------------------------------------------------------

_RELATION_CODES = {
    "lt": Code.RELATION_LT,
    "eq": Code.RELATION_EQ,
    "gt": Code.RELATION_GT,
    "ne": Code.RELATION_NE,
}


def relation_condition(fact: str, other: FactSpec, relation: str) -> FactCondition:
    """``fact`` stands in ``relation`` (lt, eq, gt, ne) to fact ``other``."""
    label = catalogue_text(_RELATION_CODES[relation], other=other.label)
    return FactCondition(fact, (relation,), (label,), other=other.name)


def merged(conditions: Sequence[FactCondition]) -> FactCondition:
    """One condition holding every value of ``conditions`` (all on the same fact or relation)."""
    first = conditions[0]
    return FactCondition(
        first.fact,
        tuple(v for c in conditions for v in c.values),
        tuple(label for c in conditions for label in c.labels),
        first.other,
    )


__all__ = ["catalogue_text", "class_condition", "merged", "relation_condition"]
