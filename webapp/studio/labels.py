"""The table's cells in the rule set's own words: ``＝ 設置場所変更`` rather than ``= relocation``.

The sheet (:func:`engine.rules.sheet.build_sheet`) gives each cell's comparison as data (operator and
operand); this module only says it for people in the page's language, with the labels the rule file
gives its enum values (the codes stay visible beside them). Pure functions, no Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.messages import Code, Message
from engine.messages.language import Lang, Text
from engine.rules.model import FactSpec, FactType, RuleSet

#: How each operator reads in a cell; the value follows.
OPERATORS: Mapping[str, Text] = {
    "is": Text("＝", "="),
    "is_not": Text("≠", "≠"),
    "in": Text("いずれか", "one of"),
    "not_in": Text("いずれでもない", "none of"),
    "lt": Text("＜", "<"),
    "le": Text("≦", "≤"),
    "gt": Text("＞", ">"),
    "ge": Text("≧", "≥"),
    "includes": Text("含む", "includes"),
    "excludes": Text("含まない", "excludes"),
    "only_from": Text("次のみ", "only from"),
    "not_only_from": Text("次以外も", "not only from"),
    "is_empty": Text("空", "empty"),
    "not_empty": Text("空でない", "not empty"),
}


def value_text(spec: FactSpec | None, value: object, lang: Lang) -> str:
    """A JSON operand as people read it: the enum value's label, yes/no, ``1,000``; lists joined."""
    if isinstance(value, list | tuple):
        return ("、" if lang == "ja" else ", ").join(value_text(spec, v, lang) for v in value)
    if isinstance(value, bool):
        return Message(Code.VALUE_YES if value else Code.VALUE_NO).render(lang)
    if isinstance(value, int):
        return f"{value:,}"
    if spec is not None and spec.type in (FactType.ENUM, FactType.ENUM_LIST):
        labels = {v.value: v.label(lang) for v in spec.values}
        return labels.get(str(value), str(value))
    return "" if value is None else str(value)


def cell_text(ruleset: RuleSet, fact: str, cell: Mapping[str, Any], lang: Lang) -> str:
    """One comparison of a cell: the operator, then the operand in the rule set's labels (another
    fact by its label)."""
    specs = {f.name: f for f in ruleset.facts}
    op = str(cell.get("op", ""))
    word = OPERATORS[op](lang) if op in OPERATORS else op
    operand = cell.get("operand")
    if operand is None:
        return word
    if isinstance(operand, dict) and "fact" in operand:
        other = specs.get(str(operand["fact"]))
        return f"{word} {other.label(lang) if other else operand['fact']}"
    return f"{word} {value_text(specs.get(fact), operand, lang)}"
