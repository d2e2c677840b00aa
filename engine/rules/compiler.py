"""Rule set model → ``durable_rules`` JSON rulesets. Pure data in, pure data out; no engine import.

Each rule becomes one durable rule whose condition is the rule's ``when`` in negation normal form
(durable_rules has ``$and``/``$or`` and negated comparisons but no ``not``). Facts are encoded so every
condition is a plain comparison on one field:

* every fact ``x`` is sent as ``f_x`` (so no fact name can clash with the engine's own ``sid``/``id``);
* a date is sent as its proleptic ordinal (an integer), so date order is integer order;
* a list fact ``xs`` is sent as ``f_xs__<value>`` = 0/1 for every declared value plus ``f_xs__len``.

Every request fact also carries ``__d: 1``. Each rule tests it, and a catch-all rule (``guard``) matches
it alone: the guard guarantees every assertion is handled (durable_rules aborts the process when a
no-match is followed by ``delete_state``), while the session's own state fact, which lacks ``__d``,
matches nothing and cannot loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    NotOf,
    Operator,
    Rule,
    RuleSet,
)

REQUEST_MARK = "__d"
GUARD_ACTION = "guard"

NEGATION: dict[Operator, Operator] = {
    "is": "is_not", "in": "not_in", "lt": "ge", "le": "gt",
    "includes": "excludes", "only_from": "not_only_from", "is_empty": "not_empty",
}  # fmt: skip
NEGATION.update({v: k for k, v in list(NEGATION.items())})

_ORDER_OPS = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}

Json = dict[str, Any]


def negation_normal_form(condition: Condition, negate: bool = False) -> Condition:
    """Push every ``not`` down to the comparisons (De Morgan), leaving only all/any/compare."""
    match condition:
        case NotOf(part):
            return negation_normal_form(part, not negate)
        case AllOf(parts):
            inner = tuple(negation_normal_form(p, negate) for p in parts)
            return AnyOf(inner) if negate else AllOf(inner)
        case AnyOf(parts):
            inner = tuple(negation_normal_form(p, negate) for p in parts)
            return AllOf(inner) if negate else AnyOf(inner)
        case Compare():
            if not negate:
                return condition
            return Compare(condition.fact, NEGATION[condition.op], condition.operand,
                           condition.location)  # fmt: skip
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover


def fact_key(name: str) -> str:
    return f"f_{name}"


def list_key(name: str, value: str) -> str:
    return f"f_{name}__{value}"


def list_length_key(name: str) -> str:
    return f"f_{name}__len"


def encode_value(value: FactValue) -> bool | int | str:
    """A constant as the engine compares it (dates become ordinals)."""
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, tuple):
        raise TypeError("lists are encoded per item")
    return value


def _operand(value: Any) -> Any:
    if isinstance(value, FactRef):
        return {"$m": fact_key(value.name)}
    return encode_value(value)


def _either(parts: list[Json]) -> Json:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _both(parts: list[Json]) -> Json:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def compile_compare(compare: Compare, spec: FactSpec) -> Json:
    """One comparison → one durable_rules expression."""
    key, op, operand = fact_key(compare.fact), compare.op, compare.operand
    match op:
        case "is":
            return {key: _operand(operand)}
        case "is_not":
            return {"$neq": {key: _operand(operand)}}
        case "in":
            return _either([{key: encode_value(v)} for v in _values(operand)])
        case "not_in":
            return _both([{"$neq": {key: encode_value(v)}} for v in _values(operand)])
        case "lt" | "le" | "gt" | "ge":
            return {_ORDER_OPS[op]: {key: _operand(operand)}}
        case "includes" | "excludes":
            return {list_key(compare.fact, str(operand)): 1 if op == "includes" else 0}
        case "is_empty":
            return {list_length_key(compare.fact): 0}
        case "not_empty":
            return {"$gt": {list_length_key(compare.fact): 0}}
        case "only_from" | "not_only_from":
            outside = [v for v in spec.value_names if v not in _values(operand)]
            if op == "only_from":
                parts = [{"$gt": {list_length_key(compare.fact): 0}}]
                return _both(parts + [{list_key(compare.fact, v): 0} for v in outside])
            empty = {list_length_key(compare.fact): 0}
            return _either([empty] + [{list_key(compare.fact, v): 1} for v in outside])
    raise AssertionError(f"unknown operator {op}")  # pragma: no cover


def _values(operand: object) -> tuple[Any, ...]:
    assert isinstance(operand, tuple)
    return operand


def compile_condition(condition: Condition, specs: Mapping[str, FactSpec]) -> Json:
    """A condition in negation normal form → a durable_rules expression."""
    match condition:
        case AllOf(parts):
            return _both([compile_condition(p, specs) for p in parts])
        case AnyOf(parts):
            return _either([compile_condition(p, specs) for p in parts])
        case Compare():
            return compile_compare(condition, specs[condition.fact])
    raise AssertionError("conditions must be in negation normal form")  # pragma: no cover


def rule_action(index: int) -> str:
    return f"r{index}"


def compile_rule(rule: Rule, specs: Mapping[str, FactSpec]) -> Json:
    expression = compile_condition(negation_normal_form(rule.condition), specs)
    return {"all": [{"m": {"$and": [{REQUEST_MARK: 1}, expression]}}]}


Encoder = Callable[[Mapping[str, FactValue]], Json]


def build_encoder(specs: tuple[FactSpec, ...]) -> Encoder:
    """A function that turns normalised facts into the flat engine fact the rules compare."""
    scalar_names = [(s.name, fact_key(s.name)) for s in specs if s.type is not FactType.ENUM_LIST]
    dates = {s.name for s in specs if s.type is FactType.DATE}
    lists = [(s.name, s.value_names) for s in specs if s.type is FactType.ENUM_LIST]

    def encode(facts: Mapping[str, FactValue]) -> Json:
        fact: Json = {REQUEST_MARK: 1}
        for name, key in scalar_names:
            value = facts[name]
            fact[key] = value.toordinal() if name in dates else value  # type: ignore[union-attr]
        for name, values in lists:
            chosen = facts[name]
            assert isinstance(chosen, tuple)
            for value in values:
                fact[list_key(name, value)] = 1 if value in chosen else 0
            fact[list_length_key(name)] = len(chosen)
        return fact

    return encode


@dataclass(frozen=True)
class CompiledRuleSet:
    """What the runtime needs: the durable_rules definition and how to read its answers back."""

    ruleset: RuleSet
    definition: Json
    rule_by_action: Mapping[str, Rule]
    encode: Encoder


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    """Compile one validated rule set. The definition's keys are durable rule (action) names."""
    specs = {s.name: s for s in ruleset.facts}
    definition: Json = {}
    rule_by_action: dict[str, Rule] = {}
    for index, rule in enumerate(ruleset.rules):
        action = rule_action(index)
        definition[action] = compile_rule(rule, specs)
        rule_by_action[action] = rule
    definition[GUARD_ACTION] = {"all": [{"m": {REQUEST_MARK: 1}}]}
    return CompiledRuleSet(ruleset, definition, rule_by_action, build_encoder(ruleset.facts))
