"""The ``items:`` section of a tariff file: priced things, their parameters, and the kind they use.

An item names a computation kind; the kind says which parameters and figure slots it reads, so the item
must declare exactly those parameters (with the kind's types) and bind exactly those slots to figures of
the right shape (a single value or a band table).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..errors import SourceLocation
from ..format.checker import Checker, suggest
from ..format.common import Citation, Reading
from ..format.loader import MarkedDict, MarkedList, to_json
from ..messages.language import Text
from .kinds import KINDS
from .kinds.contract import KindSpec
from .model import PARAM_TYPES, TAX_MODES, Figure, Item, ParamSpec, ParamType, TaxMode
from .params import BadValue, parse_value

ITEM_KEYS = (
    "title",
    "description",
    "kind",
    "tax",
    "params",
    "figures",
    "cite",
    "readings",
    "notes",
    "gap",
)
PARAM_KEYS = ("type", "label", "help", "required", "default", "min", "max", "values", "not_before")


def read_item(
    checker: Checker,
    iid: str,
    node: MarkedDict,
    sources: Collection[str],
    figures: Mapping[str, Figure],
    readings: Mapping[str, Reading],
    declared: set[str],
) -> Item | None:
    """One ``items.<iid>`` entry; None when it has an error of its own (recorded in ``checker``).

    ``declared`` holds every figure id written in the file, even a faulty one: a slot naming such a
    figure is not reported again.
    """
    path = f"items.{iid}"
    scope = checker.scope()
    checker.unknown_keys(node, ITEM_KEYS, path)
    title = checker.required(node, "title", f"{path}.title", checker.text)
    description = checker.optional(node, "description", f"{path}.description", checker.text)
    kind_name = checker.required(node, "kind", f"{path}.kind", checker.one_of(KINDS))
    tax: TaxMode | None = checker.required(node, "tax", f"{path}.tax", checker.one_of(TAX_MODES))
    cites = _item_cites(checker, node, f"{path}.cite", sources)
    params = _params(checker, node, path)
    bound = _bound_figures(checker, node, path)
    notes = _notes(checker, node, path)
    item_readings = _item_readings(checker, node, path, readings)
    gap = checker.optional(node, "gap", f"{path}.gap", checker.gap)
    if kind_name is not None:
        _check_against_kind(checker, KINDS[kind_name], node, path, params)
        _check_slots(checker, KINDS[kind_name], node, path, bound, figures, declared)
        if kind_name == "unpriced" and gap is None:
            checker.error(
                "missing-gap", "an unpriced item must name its gap", node.where("gap"), path
            )
    if scope.failed or title is None or kind_name is None or tax is None:
        return None
    return Item(
        id=iid,
        title=title,
        description=description,
        kind=kind_name,
        tax=tax,
        params=params,
        figures=bound,
        cite=tuple(cites),
        readings=tuple(item_readings),
        notes=tuple(notes),
        gap=gap,
    )


def _notes(checker: Checker, node: MarkedDict, path: str) -> list[Text]:
    listed = checker.optional(node, "notes", f"{path}.notes", checker.sequence)
    found: list[Text] = []
    if listed is None:
        return found
    for index, entry in enumerate(listed):
        text = checker.text(entry, listed.where(index), f"{path}.notes[{index}]")
        if text is not None:
            found.append(text)
    return found


def _item_cites(
    checker: Checker, node: MarkedDict, path: str, sources: Collection[str]
) -> list[Citation]:
    """``cite`` is one citation or a list of them, at least one."""
    value = node.get("cite")
    entries = [value] if isinstance(value, MarkedDict) else value
    if not isinstance(entries, list) or not entries:
        checker.error(
            "missing-key", "'cite' is required (a cite or a list of them)", node.where("cite"), path
        )
        return []
    found = []
    for index, entry in enumerate(entries):
        where = entries.where(index) if isinstance(entries, MarkedList) else node.where("cite")
        cite = checker.cite(entry, where, f"{path}[{index}]", sources)
        if cite is not None:
            found.append(cite)
    return found


def _item_readings(
    checker: Checker, node: MarkedDict, path: str, readings: Mapping[str, Reading]
) -> list[str]:
    """The ids of recorded readings the item follows."""
    listed = checker.optional(node, "readings", f"{path}.readings", checker.sequence)
    found: list[str] = []
    if listed is None:
        return found
    for index, raw in enumerate(listed):
        where, reading_path = listed.where(index), f"{path}.readings[{index}]"
        reading_id = checker.string(raw, where, reading_path)
        if reading_id is None:
            continue
        if reading_id not in readings:
            checker.error(
                "unknown-reading",
                f"reading {reading_id!r} is not under readings{suggest(reading_id, readings)}",
                where,
                reading_path,
            )
        else:
            found.append(reading_id)
    return found


def _params(checker: Checker, node: MarkedDict, path: str) -> dict[str, ParamSpec]:
    section = checker.optional(node, "params", f"{path}.params", checker.mapping)
    if section is None:
        return {}
    found = {}
    for name, raw in section.items():
        spec_path = f"{path}.params.{name}"
        entry = checker.mapping(raw, section.where(name), spec_path)
        spec = None if entry is None else _param(checker, name, entry, spec_path)
        if spec is not None:
            found[name] = spec
    for name, spec in found.items():
        other = spec.not_before
        if other is not None and (other not in found or found[other].type != spec.type):
            checker.error(
                "bad-reference",
                f"not_before names {other!r}, which is not a parameter of the same type",
                section[name].where("not_before"),
                f"{path}.params.{name}.not_before",
            )
    return found


def _param(checker: Checker, name: str, node: MarkedDict, path: str) -> ParamSpec | None:
    scope = checker.scope()
    checker.unknown_keys(node, PARAM_KEYS, path)
    param_type: ParamType | None = checker.required(
        node, "type", f"{path}.type", checker.one_of(PARAM_TYPES)
    )
    label = checker.required(node, "label", f"{path}.label", checker.text)
    help_text = checker.optional(node, "help", f"{path}.help", checker.text)
    required = checker.flag(
        node.get("required", "default" not in node), node.where("required"), f"{path}.required"
    )
    values = _enum_values(checker, node, path) if param_type == "enum" else {}
    minimum = checker.optional(node, "min", f"{path}.min", checker.number)
    maximum = checker.optional(node, "max", f"{path}.max", checker.number)
    not_before = checker.optional(node, "not_before", f"{path}.not_before", checker.string)
    try:
        default = to_json(node.get("default"), exact=True)
    except ValueError as exc:
        checker.error("inexact-number", str(exc), node.where("default"), f"{path}.default")
        return None
    if scope.failed or param_type is None or label is None or required is None:
        return None
    spec = ParamSpec(
        name=name,
        type=param_type,
        label=label,
        help=help_text,
        required=required,
        default=default,
        minimum=minimum,
        maximum=maximum,
        values=values,
        not_before=not_before,
    )
    if spec.default is not None:
        try:
            parse_value(spec, spec.default)
        except BadValue as exc:
            checker.error(
                "bad-default", f"default: {exc}", node.where("default"), f"{path}.default"
            )
            return None
    return spec


def _enum_values(checker: Checker, node: MarkedDict, path: str) -> dict[str, Text]:
    """``values: {value: {ja, en}}``; each value is an identifier, as in rule files."""
    section = checker.required(node, "values", f"{path}.values", checker.mapping)
    found: dict[str, Text] = {}
    if section is None:
        return found
    for value, raw in section.items():
        value_path = f"{path}.values.{value}"
        name = checker.identifier(value, section.where(value), value_path)
        text = checker.text(raw, section.where(value), value_path)
        if name is not None and text is not None:
            found[name] = text
    return found


def _bound_figures(checker: Checker, node: MarkedDict, path: str) -> dict[str, str]:
    """``figures: {slot: figure_id}``."""
    section = checker.optional(node, "figures", f"{path}.figures", checker.mapping)
    found: dict[str, str] = {}
    if section is None:
        return found
    for slot, raw in section.items():
        figure_id = checker.string(raw, section.where(slot), f"{path}.figures.{slot}")
        if figure_id is not None:
            found[slot] = figure_id
    return found


def _where(node: MarkedDict, section: str, key: str) -> SourceLocation:
    """Where ``key`` is written inside ``node[section]``, or where the section (or node) is."""
    inner = node.get(section)
    return inner.where(key) if isinstance(inner, MarkedDict) else node.where(section)


def _check_against_kind(
    checker: Checker, kind: KindSpec, node: MarkedDict, path: str, params: Mapping[str, ParamSpec]
) -> None:
    """The item declares exactly the parameters its kind reads, with the right types."""
    written = node.get("params")
    for name, needed in kind.params.items():
        spec = params.get(name)
        if spec is None and isinstance(written, MarkedDict) and name in written:
            continue  # declared, but faulty: its own error is already recorded
        if spec is None:
            checker.error(
                "missing-param",
                f"kind '{kind.name}' needs parameter '{name}' ({needed.type})",
                node.where("params"),
                f"{path}.params",
            )
        elif spec.type != needed.type:
            checker.error(
                "wrong-param-type",
                f"'{name}' must have type {needed.type} for kind '{kind.name}'",
                _where(node, "params", name),
                f"{path}.params.{name}.type",
            )
        elif not needed.optional and not spec.required and spec.default is None:
            checker.error(
                "missing-default",
                f"'{name}' must be required or have a default: kind '{kind.name}' always reads it",
                _where(node, "params", name),
                f"{path}.params.{name}",
            )
    for name in params:
        if name not in kind.params:
            checker.error(
                "unused-param",
                f"kind '{kind.name}' does not read parameter '{name}'",
                _where(node, "params", name),
                f"{path}.params.{name}",
            )


def _check_slots(
    checker: Checker,
    kind: KindSpec,
    node: MarkedDict,
    path: str,
    bound: Mapping[str, str],
    figures: Mapping[str, Figure],
    declared: set[str],
) -> None:
    """Each slot names a defined figure of the right shape (a figure with its own errors is skipped)."""
    for slot, shape in kind.figures.items():
        figure_id = bound.get(slot)
        if figure_id is None:
            checker.error(
                "missing-figure",
                f"kind '{kind.name}' needs figure slot '{slot}'",
                node.where("figures"),
                f"{path}.figures",
            )
            continue
        figure = figures.get(figure_id)
        if figure is None and figure_id in declared:
            continue
        where = _where(node, "figures", slot)
        if figure is None:
            checker.error(
                "unknown-figure",
                f"slot '{slot}' names figure {figure_id!r}, which is not defined"
                f"{suggest(figure_id, figures)}",
                where,
                f"{path}.figures.{slot}",
            )
        elif (shape == "bands") != bool(figure.bands) or (
            shape == "timed" and not figure.time_slots
        ):
            checker.error(
                "wrong-figure-shape",
                f"slot '{slot}' needs a figure with {_SHAPES[shape]}",
                where,
                f"{path}.figures.{slot}",
            )
    for slot in bound:
        if slot not in kind.figures:
            checker.error(
                "unused-figure",
                f"kind '{kind.name}' has no figure slot '{slot}'",
                _where(node, "figures", slot),
                f"{path}.figures.{slot}",
            )


_SHAPES = {"value": "a value", "bands": "bands", "timed": "a value and time_slots"}
