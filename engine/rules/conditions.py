"""The ``when:`` language of rule files → model conditions, checking facts, values and types.

``all:``/``any:``/``not:`` nest; a leaf is ``{fact: name, <comparison>: operand}`` or the shorthand
``name: value``. The comparison words and the fact types each applies to are the tables below; the
operand is a constant of the fact's type, ``{param: name}`` or ``{fact: name}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import SourceLocation
from ..format.checker import Checker, show, suggest
from ..format.loader import MarkedDict
from .declarations import scalar_of_type
from .model import (
    NUMERIC_TYPES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FactRef,
    FactSpec,
    FactType,
    NotOf,
    Operand,
    Operator,
    Parameter,
)

#: Comparison words of the file format → (engine operator, fact types it applies to).
_EQUALITY_TYPES = frozenset(FactType) - {FactType.ENUM_LIST}
_DATE = frozenset({FactType.DATE})
_LIST = frozenset({FactType.ENUM_LIST})
COMPARISONS: dict[str, tuple[Operator, frozenset[FactType]]] = {
    "is": ("is", _EQUALITY_TYPES),
    "is_not": ("is_not", _EQUALITY_TYPES),
    "in": ("in", _EQUALITY_TYPES),
    "not_in": ("not_in", _EQUALITY_TYPES),
    "less_than": ("lt", NUMERIC_TYPES),
    "at_most": ("le", NUMERIC_TYPES),
    "greater_than": ("gt", NUMERIC_TYPES),
    "at_least": ("ge", NUMERIC_TYPES),
    "before": ("lt", _DATE),
    "on_or_before": ("le", _DATE),
    "after": ("gt", _DATE),
    "on_or_after": ("ge", _DATE),
    "includes": ("includes", _LIST),
    "only_from": ("only_from", _LIST),
}
#: Words that expand into several comparisons.
COMPOUND_COMPARISONS = {
    "between": NUMERIC_TYPES | _DATE,
    "includes_any": _LIST,
    "includes_all": _LIST,
    "includes_none": _LIST,
    "is_empty": _LIST,
}
#: Comparisons whose operand may name another fact.
FACT_REF_OPERATORS = frozenset({"is", "is_not", "lt", "le", "gt", "ge"})


@dataclass
class ConditionReader:
    """Parses ``when:`` conditions against the facts and parameters a rule set declared.

    ``declared_facts`` also holds names whose declaration was faulty: a condition on such a fact is
    dropped without a second message (its declaration already has one).
    """

    checker: Checker
    facts: dict[str, FactSpec]
    declared_facts: set[str]
    parameters: dict[str, Parameter]

    def read(self, raw: object, where: SourceLocation, path: str) -> Condition | None:
        entry = self.checker.mapping(raw, where, path)
        if entry is None:
            return None
        where = entry.location
        if len(entry) == 1:
            key = next(iter(entry))
            if key in ("all", "any"):
                return self._group(key, entry[key], entry.where(key), f"{path}.{key}")
            if key == "not":
                inner = self.read(entry[key], entry.where(key), f"{path}.not")
                return NotOf(inner) if inner is not None else None
            if key != "fact":
                return self._comparison(key, "is", entry[key], entry.where(key), f"{path}.{key}")
        if "fact" in entry and len(entry) == 2:
            word = next(k for k in entry if k != "fact")
            fact = entry["fact"]
            if not isinstance(fact, str):
                self.checker.error(
                    "wrong-type", "fact names a declared fact", entry.where("fact"), f"{path}.fact"
                )
                return None
            return self._comparison(fact, word, entry[word], entry.where(word), path)
        self.checker.error(
            "bad-condition",
            "a condition is all:, any:, not:, {fact: name, <comparison>: value} or name: value",
            where,
            path,
        )
        return None

    def _group(self, key: str, raw: object, where: SourceLocation, path: str) -> Condition | None:
        items = self.checker.sequence(raw, where, path)
        if items is None:
            return None
        if not items:
            self.checker.error("bad-condition", f"{key}: needs at least one condition", where, path)
            return None
        parts = [self.read(item, items.where(i), f"{path}[{i}]") for i, item in enumerate(items)]
        done = tuple(p for p in parts if p is not None)
        if len(done) != len(parts):
            return None
        return AllOf(done) if key == "all" else AnyOf(done)

    def _comparison(
        self, fact_name: str, word: str, raw: object, where: SourceLocation, path: str
    ) -> Condition | None:
        spec = self.facts.get(fact_name)
        if spec is None and fact_name in self.declared_facts:
            return None  # its declaration already has an error
        if spec is None:
            self.checker.error(
                "unknown-fact",
                f"condition uses {fact_name!r}, which is not declared under facts"
                f"{suggest(fact_name, self.facts)}",
                where,
                f"{path}.fact" if not path.endswith(fact_name) else path,
            )
            return None
        allowed = COMPARISONS.get(word, (None, COMPOUND_COMPARISONS.get(word)))[1]
        if allowed is None:
            words = [*COMPARISONS, *COMPOUND_COMPARISONS]
            self.checker.error(
                "unknown-comparison",
                f"unknown comparison {word!r}{suggest(word, words)}",
                where,
                f"{path}.{word}",
            )
            return None
        if spec.type not in allowed:
            self.checker.error(
                "type-mismatch",
                f"{word!r} does not apply to {spec.type.value} fact {fact_name!r}",
                where,
                f"{path}.{word}",
            )
            return None
        return self._build(spec, word, raw, where, f"{path}.{word}" if word != "is" else path)

    def _build(
        self, spec: FactSpec, word: str, raw: object, where: SourceLocation, path: str
    ) -> Condition | None:
        if word == "between":
            return self._between(spec, raw, where, path)
        if word == "is_empty":
            if not isinstance(raw, bool):
                self.checker.error("wrong-type", "is_empty takes true or false", where, path)
                return None
            return Compare(spec.name, "is_empty" if raw else "not_empty", None, where)
        if word in ("includes_any", "includes_all", "includes_none"):
            return self._includes(spec, word, raw, where, path)
        op = COMPARISONS[word][0]
        if op in ("in", "not_in", "only_from"):
            values = self._list_operand(spec, raw, where, path)
            return Compare(spec.name, op, values, where) if values is not None else None
        operand = self._operand(spec, raw, where, path, op)
        return Compare(spec.name, op, operand, where) if operand is not None else None

    def _between(
        self, spec: FactSpec, raw: object, where: SourceLocation, path: str
    ) -> Condition | None:
        pair = raw if isinstance(raw, list) and len(raw) == 2 else None
        if pair is None:
            self.checker.error("wrong-type", "between takes [low, high]", where, path)
            return None
        low, high = (self._operand(spec, v, where, path, "ge") for v in pair)
        if low is None or high is None:
            return None
        return AllOf((Compare(spec.name, "ge", low, where), Compare(spec.name, "le", high, where)))

    def _includes(
        self, spec: FactSpec, word: str, raw: object, where: SourceLocation, path: str
    ) -> Condition | None:
        values = self._list_operand(spec, raw, where, path)
        if values is None:
            return None
        op: Operator = "excludes" if word == "includes_none" else "includes"
        parts = tuple(Compare(spec.name, op, v, where) for v in values)
        return AnyOf(parts) if word == "includes_any" else AllOf(parts)

    def _list_operand(
        self, spec: FactSpec, raw: object, where: SourceLocation, path: str
    ) -> tuple[Any, ...] | None:
        if not isinstance(raw, list) or not raw:
            self.checker.error("wrong-type", "expected a non-empty list of values", where, path)
            return None
        item_type = FactType.ENUM if spec.type is FactType.ENUM_LIST else spec.type
        values = [
            scalar_of_type(self.checker, v, item_type, spec.value_names, where, f"{path}[{i}]")
            for i, v in enumerate(raw)
        ]
        if any(v is None for v in values):
            return None
        return tuple(values)

    def _operand(
        self, spec: FactSpec, raw: object, where: SourceLocation, path: str, op: str
    ) -> Operand | None:
        if isinstance(raw, MarkedDict) and set(raw) == {"param"}:
            return self._param(spec, raw["param"], where, path)
        if isinstance(raw, MarkedDict) and set(raw) == {"fact"}:
            return self._fact_ref(spec, raw["fact"], where, path, op)
        item_type = FactType.ENUM if spec.type is FactType.ENUM_LIST else spec.type
        return scalar_of_type(self.checker, raw, item_type, spec.value_names, where, path)

    def _param(self, spec: FactSpec, name: object, where: SourceLocation, path: str) -> Operand:
        param = self.parameters.get(name) if isinstance(name, str) else None
        if param is None:
            self.checker.error(
                "unknown-parameter",
                f"{show(name)} is not under parameters{suggest(name, self.parameters)}",
                where,
                path,
            )
            return None
        if not _comparable(param.type, spec.type):
            self.checker.error(
                "type-mismatch",
                f"parameter {param.name!r} is a {param.type.value},"
                f" fact {spec.name!r} a {spec.type.value}",
                where,
                path,
            )
            return None
        return param.value

    def _fact_ref(
        self, spec: FactSpec, name: object, where: SourceLocation, path: str, op: str
    ) -> Operand:
        other = self.facts.get(name) if isinstance(name, str) else None
        if other is None:
            self.checker.error(
                "unknown-fact",
                f"{show(name)} is not declared under facts{suggest(name, self.facts)}",
                where,
                path,
            )
            return None
        if op not in FACT_REF_OPERATORS or not _comparable(other.type, spec.type):
            self.checker.error(
                "type-mismatch",
                f"cannot compare {spec.type.value} fact "
                f"{spec.name!r} with {other.type.value} fact {other.name!r}"
                " this way",
                where,
                path,
            )
            return None
        if other.type is FactType.ENUM and other.value_names != spec.value_names:
            self.checker.error(
                "type-mismatch",
                "enum facts compared with each other must have the same values",
                where,
                path,
            )
            return None
        return FactRef(other.name)


def _comparable(a: FactType, b: FactType) -> bool:
    return a == b or (a in NUMERIC_TYPES and b in NUMERIC_TYPES)
