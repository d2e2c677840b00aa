"""engine.rules.domain: the classes of a fact's values and what a comparison means.

The property every consumer relies on: the classes cover the valid values exactly once, ``classify`` and
``contains`` agree, and two values of one class satisfy exactly the same comparisons. The examples pin
the order and labels that analysis messages (and so ``flets-elig check``) print.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SourceLocation
from engine.messages.language import Text
from engine.rules.compiler import NEGATION
from engine.rules.domain import (
    OTHER_TEXT,
    classes,
    comparisons,
    condition_holds,
    constants,
    holds,
    partition,
)
from engine.rules.model import (
    AllOf,
    AnyOf,
    Compare,
    EnumValue,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    NotOf,
    Operand,
    Operator,
)

HERE = SourceLocation("t.yaml", 1, 1)
T = Text("x", "x")
NAMES = ("a", "b", "c", "d")
DAY = date(2024, 4, 1)


def spec(kind: FactType, low: int | None = None, high: int | None = None) -> FactSpec:
    values = NAMES if kind in (FactType.ENUM, FactType.ENUM_LIST) else ()
    return FactSpec(
        "x", kind, T, HERE, values=tuple(EnumValue(v, T) for v in values), minimum=low, maximum=high
    )


def cmp(op: Operator, operand: Operand, fact: str = "x") -> Compare:
    return Compare(fact, op, operand, HERE)


# --- what a comparison means -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "operand", "value", "expected"),
    [
        ("is", 3, 3, True),
        ("is_not", 3, 3, False),
        ("in", (1, 2), 2, True),
        ("not_in", ("a", "b"), "c", True),
        ("lt", DAY, DAY - timedelta(days=1), True),
        ("le", 10, 10, True),
        ("gt", 10, 10, False),
        ("ge", DAY, DAY, True),
        ("includes", "a", ("a", "b"), True),
        ("excludes", "a", ("b",), True),
        ("is_empty", None, (), True),
        ("not_empty", None, (), False),
        ("only_from", ("a", "b"), ("a",), True),
        ("only_from", ("a", "b"), (), False),  # an empty list holds nothing "only"
        ("only_from", ("a", "b"), ("a", "c"), False),
        ("not_only_from", ("a", "b"), (), True),
        ("not_only_from", ("a", "b"), ("b", "c"), True),
    ],
)
def test_holds(op: Operator, operand: Operand, value: FactValue, expected: bool) -> None:
    assert holds(cmp(op, operand), {"x": value}) is expected


def test_holds_reads_a_compared_fact() -> None:
    compare = cmp("gt", FactRef("y"))
    assert holds(compare, {"x": 5, "y": 4})
    assert not holds(compare, {"x": 4, "y": 4})


def test_condition_holds_and_the_walk() -> None:
    first, second, third = cmp("is", True), cmp("lt", 3, "n"), cmp("in", ("a",), "e")
    condition = AllOf((first, NotOf(AnyOf((second, third)))))
    assert list(comparisons(condition)) == [first, second, third]
    assert condition_holds(condition, {"x": True, "n": 3, "e": "b"})
    assert not condition_holds(condition, {"x": True, "n": 2, "e": "b"})
    assert constants(third) == ("a",) and constants(second) == (3,)
    assert constants(cmp("is_empty", None)) == () and constants(cmp("is", FactRef("y"))) == ()


# --- the classes, by example -------------------------------------------------------------------------


def labels(kind: FactSpec, *compares: Compare) -> list[str]:
    return [c.label for c in classes(kind, compares)]


def test_intervals_are_cut_by_operator_and_clipped_to_min_and_max() -> None:
    users = spec(FactType.INT, 0, 100)
    assert labels(users, cmp("lt", 10)) == ["0 ≤ x ≤ 9", "10 ≤ x ≤ 100"]
    assert labels(users, cmp("le", 10)) == ["0 ≤ x ≤ 10", "11 ≤ x ≤ 100"]
    assert labels(users, cmp("is", 10)) == ["0 ≤ x ≤ 9", "x = 10", "11 ≤ x ≤ 100"]
    assert labels(users, cmp("gt", 100), cmp("lt", 0)) == ["0 ≤ x ≤ 100"]
    assert labels(spec(FactType.INT), cmp("ge", 5)) == ["x ≤ 4", "x ≥ 5"]
    assert labels(spec(FactType.MONEY)) == ["x (any)"]
    assert labels(spec(FactType.DATE), cmp("lt", DAY)) == ["x ≤ 2024-03-31", "x ≥ 2024-04-01"]


def test_samples_of_intervals_let_two_facts_compare_every_way() -> None:
    found = classes(spec(FactType.INT, 0, 100), [cmp("lt", 10), cmp("is", 50)])
    assert [c.samples for c in found] == [(0, 1, 2), (10, 11, 12), (50,), (51, 52, 53)]
    assert [c.samples for c in classes(spec(FactType.INT), [cmp("lt", 0)])] == [
        (-1, -2, -3),
        (0, 1, 2),
    ]
    assert [c.value for c in found] == [0, 10, 50, 51]


def test_bool_enum_and_string_classes() -> None:
    assert labels(spec(FactType.BOOL)) == ["x = true", "x = false"]
    assert labels(spec(FactType.ENUM), cmp("is", "c")) == ["x = a", "x = b", "x = c", "x = d"]
    text = classes(spec(FactType.STRING), [cmp("in", ("b", "a"))])
    assert [c.label for c in text] == ["x = 'a'", "x = 'b'", "x is other text"]
    assert text[-1].value == OTHER_TEXT and text[-1].contains("zz") and not text[-1].contains("a")


def test_other_text_differs_from_every_constant() -> None:
    text = partition(spec(FactType.STRING), [cmp("is", OTHER_TEXT)])
    other = text.classes[-1].value
    assert other != OTHER_TEXT and text.classify(other) == text.other == 1


def test_list_classes_are_the_named_values_and_some_other_value() -> None:
    items = partition(spec(FactType.ENUM_LIST), [cmp("includes", "b"), cmp("only_from", ("d",))])
    assert [c.label for c in items.classes] == [
        "x = []",
        "x = [b]",
        "x = [d]",
        "x = [b, d]",
        "x = [other (a|c)]",
        "x = [b, other (a|c)]",
        "x = [d, other (a|c)]",
        "x = [b, d, other (a|c)]",
    ]
    assert items.classes[5].value == ("b", "a")  # the first unnamed value stands for every other
    assert items.classify(("c", "b")) == 5 and items.classify(("a", "c")) == 4


def test_negation_keeps_the_classes() -> None:
    cases: list[tuple[FactSpec, Operator, Operand]] = [
        (spec(FactType.INT, 0, 9), "lt", 4),
        (spec(FactType.INT), "le", 4),
        (spec(FactType.DATE), "is", DAY),
        (spec(FactType.STRING), "in", ("a", "b")),
        (spec(FactType.ENUM_LIST), "only_from", ("a", "b")),
        (spec(FactType.ENUM_LIST), "includes", "c"),
    ]
    for kind, op, operand in cases:
        assert labels(kind, cmp(op, operand)) == labels(kind, cmp(NEGATION[op], operand))


# --- the property ------------------------------------------------------------------------------------

INTS = st.integers(-3, 3)
DAYS = st.integers(-3, 3).map(lambda d: DAY + timedelta(days=d))
TEXTS = st.sampled_from(("", "a", "b", OTHER_TEXT))


@st.composite
def fact_and_comparisons(draw: st.DrawFn) -> tuple[FactSpec, list[Compare], list[FactValue]]:
    """A fact, comparisons with constants on it, and valid values of it."""
    kind = draw(st.sampled_from(list(FactType)))
    bounds: tuple[int | None, int | None] = (None, None)
    scalars: st.SearchStrategy[Any]
    values: st.SearchStrategy[Any]
    ops: tuple[Operator, ...] = ("is", "is_not", "lt", "le", "gt", "ge")
    if kind in (FactType.INT, FactType.MONEY):
        low = draw(st.none() | st.integers(-2, 0))
        high = draw(st.none() | st.integers(0, 2))
        bounds = (low, high)
        scalars, values = INTS, st.integers(-4 if low is None else low, 4 if high is None else high)
    elif kind is FactType.DATE:
        scalars, values = DAYS, st.integers(-4, 4).map(lambda d: DAY + timedelta(days=d))
    elif kind is FactType.BOOL:
        scalars = values = st.booleans()
        ops = ("is", "is_not")
    elif kind is FactType.ENUM:
        scalars = values = st.sampled_from(NAMES)
        ops = ("is", "is_not")
    elif kind is FactType.STRING:
        scalars, values = TEXTS, st.one_of(TEXTS, st.text(max_size=3))
        ops = ("is", "is_not")
    else:
        return draw(_list_case())
    single = st.builds(cmp, st.sampled_from(ops), scalars)
    several = st.builds(
        cmp, st.sampled_from(("in", "not_in")), st.lists(scalars, min_size=1, max_size=3).map(tuple)
    )
    compares = draw(st.lists(single | several, max_size=4))
    return spec(kind, *bounds), compares, draw(st.lists(values, min_size=1, max_size=12))


def _list_case() -> st.SearchStrategy[tuple[FactSpec, list[Compare], list[FactValue]]]:
    names = st.sampled_from(NAMES)
    subsets = st.lists(names, max_size=3, unique=True).map(tuple)
    compares = st.one_of(
        st.builds(cmp, st.sampled_from(("includes", "excludes")), names),
        st.builds(cmp, st.sampled_from(("is_empty", "not_empty")), st.none()),
        st.builds(cmp, st.sampled_from(("only_from", "not_only_from")), subsets),
    )
    return st.tuples(
        st.just(spec(FactType.ENUM_LIST)),
        st.lists(compares, max_size=4),
        st.lists(st.lists(names, unique=True).map(tuple), min_size=1, max_size=12),
    )


@settings(max_examples=400, deadline=None)
@given(case=fact_and_comparisons())
def test_each_value_is_in_one_class_whose_members_compare_alike(
    case: tuple[FactSpec, list[Compare], list[FactValue]],
) -> None:
    fact, compares, values = case
    found = partition(fact, compares)
    for index, cls in enumerate(found.classes):
        assert cls.value == cls.samples[0]
        for sample in cls.samples:
            assert found.classify(sample) == index and cls.contains(sample)
    representatives = [c.value for c in found.classes]
    for value in values:
        index = found.classify(value)
        assert [c.contains(value) for c in found.classes].count(True) == 1
        assert found.classes[index].contains(value)
        for compare in compares:
            on_value = holds(compare, {"x": value})
            assert on_value == holds(compare, {"x": representatives[index]}), (compare, value)
