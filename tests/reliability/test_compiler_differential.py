"""Differential testing of the rule compiler: random rule sets and random facts, durable_rules against
:func:`engine.rules.domain.condition_holds`, the definition of what a condition means (:func:`holds` per
comparison), which the static analysis also evaluates.

Conditions are random all/any/not trees over bool, int (one with min/max), enum, date, string and
enum-list facts using every comparison the model has, constants and fact-to-fact operands included; values are drawn from small
domains so comparisons land on, below and above their thresholds. The decision table (when the rule set
has no fact-to-fact comparison) is checked against the same reference.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SourceLocation
from engine.format.common import Citation
from engine.messages.language import Text
from engine.rules.compiler import compile_ruleset
from engine.rules.domain import OTHER_TEXT, condition_holds
from engine.rules.model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    EnumValue,
    FactRef,
    FactSpec,
    FactType,
    Note,
    NotOf,
    Outcome,
    OutcomeKind,
    Rule,
    RuleSet,
)
from engine.rules.runtime import DurableRuntime
from engine.rules.table import NotTabulable, build_plan

HERE = SourceLocation("random.yaml", 1, 1)
T = Text("x", "x")
CITE = Citation("004_84a0a3d01f54d5ce.txt", "1")
ENUM = ("a", "b", "c")
ITEMS = ("x", "y", "z")
BASE_DAY = date(2024, 1, 1)
DAYS = [BASE_DAY + timedelta(days=d) for d in range(-2, 3)]
#: Texts for string facts, among them the domain's own "any other text" representative.
STRINGS = ("", "a", "b", OTHER_TEXT, "zz")


def fact(
    name: str, kind: FactType, bounds: tuple[int | None, int | None] = (None, None)
) -> FactSpec:
    names = ENUM if kind is FactType.ENUM else ITEMS if kind is FactType.ENUM_LIST else ()
    values = tuple(EnumValue(v, T) for v in names)
    return FactSpec(name, kind, T, HERE, values=values, minimum=bounds[0], maximum=bounds[1])


FACTS = (
    fact("b1", FactType.BOOL), fact("b2", FactType.BOOL),
    fact("n1", FactType.INT), fact("n2", FactType.INT), fact("n3", FactType.INT, (-1, 1)),
    fact("e1", FactType.ENUM), fact("e2", FactType.ENUM),
    fact("d1", FactType.DATE), fact("d2", FactType.DATE),
    fact("l1", FactType.ENUM_LIST),
    fact("s1", FactType.STRING), fact("s2", FactType.STRING),
)  # fmt: skip
BY_NAME = {f.name: f for f in FACTS}
SAME_TYPE = {
    "b1": "b2",
    "b2": "b1",
    "n1": "n2",
    "n2": "n1",
    "n3": "n1",
    "e1": "e2",
    "e2": "e1",
    "d1": "d2",
    "d2": "d1",
    "s1": "s2",
    "s2": "s1",
}

# --- strategies ----------------------------------------------------------------------------------

ORDERED = ("is", "is_not", "lt", "le", "gt", "ge")


def comparisons() -> st.SearchStrategy[Compare]:
    def scalar(name: str, ops: tuple[str, ...], constants: st.SearchStrategy[Any]) -> Any:
        operand = st.one_of(constants, st.just(FactRef(SAME_TYPE[name])))
        return st.builds(lambda op, o: Compare(name, op, o, HERE), st.sampled_from(ops), operand)

    def member(name: str, values: st.SearchStrategy[Any]) -> Any:
        return st.builds(
            lambda op, vs: Compare(name, op, tuple(vs), HERE),
            st.sampled_from(("in", "not_in")),
            st.lists(values, min_size=1, max_size=3, unique=True),
        )

    ints, days, enums = st.integers(-2, 2), st.sampled_from(DAYS), st.sampled_from(ENUM)
    texts = st.sampled_from(STRINGS)
    lists = st.one_of(
        st.builds(lambda op, v: Compare("l1", op, v, HERE),
                  st.sampled_from(("includes", "excludes")), st.sampled_from(ITEMS)),
        st.builds(lambda op: Compare("l1", op, None, HERE), st.sampled_from(("is_empty", "not_empty"))),
        st.builds(lambda op, vs: Compare("l1", op, tuple(vs), HERE),
                  st.sampled_from(("only_from", "not_only_from")),
                  st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3, unique=True)),
    )  # fmt: skip
    return st.one_of(
        *(scalar(n, ("is", "is_not"), st.booleans()) for n in ("b1", "b2")),
        *(scalar(n, ORDERED, ints) for n in ("n1", "n2", "n3")),
        *(member(n, ints) for n in ("n1", "n2", "n3")),
        *(scalar(n, ("is", "is_not"), enums) for n in ("e1", "e2")),
        *(member(n, enums) for n in ("e1", "e2")),
        *(scalar(n, ORDERED, days) for n in ("d1", "d2")),
        *(scalar(n, ("is", "is_not"), texts) for n in ("s1", "s2")),
        *(member(n, texts) for n in ("s1", "s2")),
        lists,
    )


conditions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda ps: AllOf(tuple(ps))),
        st.lists(inner, min_size=1, max_size=3).map(lambda ps: AnyOf(tuple(ps))),
        inner.map(NotOf),
    ),
    max_leaves=6,
)

fact_values = st.fixed_dictionaries({
    "b1": st.booleans(), "b2": st.booleans(),
    "n1": st.integers(-3, 3), "n2": st.integers(-3, 3), "n3": st.integers(-1, 1),
    "e1": st.sampled_from(ENUM), "e2": st.sampled_from(ENUM),
    "d1": st.sampled_from(DAYS + [BASE_DAY + timedelta(days=9)]), "d2": st.sampled_from(DAYS),
    "l1": st.lists(st.sampled_from(ITEMS), unique=True).map(tuple),
    "s1": st.sampled_from(STRINGS), "s2": st.sampled_from(STRINGS),
})  # fmt: skip

_versions = itertools.count()


def ruleset_of(conds: list[Condition]) -> RuleSet:
    note = Note("r", T, CITE)
    rules = tuple(
        Rule(f"rule{i}", c, "hit", Note(f"r{i}", T, CITE), HERE) for i, c in enumerate(conds)
    )
    return RuleSet(
        id="random", version=str(next(_versions)), title=T, region="ntt_east",
        effective_from=date(2000, 1, 1), effective_to=None, sources=(), facts=FACTS,
        outcomes=(Outcome("hit", OutcomeKind.NEGATIVE, T), Outcome("none", OutcomeKind.POSITIVE, T)),
        decide="collect", precedence=("hit", "none"), default_outcome="none", default_reason=note,
        rules=rules, examples=(), file="random.yaml",
    )  # fmt: skip


def as_json(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v
            for k, v in facts.items()}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    conds=st.lists(conditions, min_size=1, max_size=4),
    samples=st.lists(fact_values, min_size=1, max_size=8),
)
def test_durable_rules_agrees_with_the_reference(
    conds: list[Condition], samples: list[dict[str, Any]]
) -> None:
    ruleset = ruleset_of(conds)
    compiled = compile_ruleset(ruleset)
    runtime = DurableRuntime([compiled])
    try:
        check(ruleset, compiled, runtime, conds, samples)
    finally:
        runtime.close()


def check(
    ruleset: RuleSet, compiled: Any, runtime: DurableRuntime, conds: list[Condition],
    samples: list[dict[str, Any]],
) -> None:  # fmt: skip
    try:
        plan = build_plan(compiled, runtime)
    except NotTabulable:
        plan = None
    for facts in samples:
        expected = {f"r{i}" for i, c in enumerate(conds) if condition_holds(c, facts)}
        fired = runtime.fire(ruleset.key, compiled.encode(facts))
        assert fired == expected, (conds, facts)
        if plan is not None:
            found = plan.lookup(as_json(facts), BASE_DAY)
            assert found is not None
            assert {f"r{i}" for i in range(len(conds)) if found[1] >> i & 1} == expected
