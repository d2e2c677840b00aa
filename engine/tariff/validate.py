"""Tariff files → validated :mod:`engine.tariff.model` objects, or every problem at once.

Stages, in order: read YAML (with line marks) → check each document's shape and build the model →
cross-file checks (duplicate versions, tax-rate coverage, tax-included figures that disagree with the
tax-excluded ones). Any error anywhere means nothing is loaded: a bad file never half-loads.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SourceLocation, ValidationError
from ..format.common import PROVENANCES, REGIONS, Citation, Gap, Reading, Text
from ..format.loader import MarkedDict, MarkedList, read_yaml_file, yaml_files
from ..format.sources import SEEDS
from .kinds.contract import KindSpec
from .kinds import KINDS
from .model import (
    PARAM_TYPES,
    PRICE_BASES,
    TAX_MODES,
    Band,
    Example,
    Figure,
    Item,
    ParamSpec,
    Tariff,
    TaxRate,
)
from .money import tax_on
from .params import BadValue, parse_value

TARIFF_KEYS = (
    "tariff",
    "version",
    "title",
    "description",
    "region",
    "effective_from",
    "effective_to",
    "sources",
    "tax",
    "readings",
    "figures",
    "items",
    "examples",
)
FIGURE_KEYS = (
    "label",
    "unit",
    "value",
    "bands",
    "provenance",
    "cite",
    "effective_from",
    "effective_to",
    "note",
    "gap",
    "suggested",
    "tax_included",
)
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


class Checker:
    """Collects diagnostics for one file, each with its line and dotted field path."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, node: Any, key: str | int | None, path: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.where(node, key), path))

    def where(self, node: Any, key: str | int | None = None) -> SourceLocation:
        if isinstance(node, MarkedDict) and isinstance(key, str):
            return node.where(key)
        if isinstance(node, MarkedList) and isinstance(key, int):
            return node.where(key)
        location = getattr(node, "location", None)
        return location if isinstance(location, SourceLocation) else SourceLocation(self.file)

    def mapping(self, node: Any, key: str, path: str, required: bool = True) -> MarkedDict | None:
        value = node.get(key) if isinstance(node, Mapping) else None
        if value is None:
            if required:
                self.error("missing-field", f"'{key}' is required", node, key, path)
            return None
        if not isinstance(value, MarkedDict):
            self.error("wrong-type", f"'{key}' must be a mapping", node, key, path)
            return None
        return value

    def sequence(self, node: MarkedDict, key: str, path: str, required: bool) -> MarkedList:
        value = node.get(key)
        if value is None:
            if required:
                self.error("missing-field", f"'{key}' is required", node, key, path)
            return _empty_list()
        if not isinstance(value, MarkedList):
            self.error("wrong-type", f"'{key}' must be a list", node, key, path)
            return _empty_list()
        return value

    def string(self, node: MarkedDict, key: str, path: str, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error("missing-field", f"'{key}' is required", node, key, path)
            return None
        if not isinstance(value, str) or not value.strip():
            self.error("wrong-type", f"'{key}' must be a non-empty text", node, key, path)
            return None
        return value

    def choice(self, node: MarkedDict, key: str, path: str, allowed: Iterable[str]) -> str | None:
        value = self.string(node, key, path)
        options = tuple(allowed)
        if value is not None and value not in options:
            self.error(
                "unknown-value",
                f"'{key}' is {value!r}; expected one of: {', '.join(options)}",
                node,
                key,
                path,
            )
            return None
        return value

    def text(self, node: MarkedDict, key: str, path: str, required: bool = True) -> Text | None:
        value = self.mapping(node, key, path, required)
        return None if value is None else self.text_of(value, path)

    def text_of(self, value: MarkedDict, path: str) -> Text | None:
        """``{ja, en}``: both languages are required."""
        ja = self.string(value, "ja", f"{path}.ja")
        en = self.string(value, "en", f"{path}.en")
        self.known_keys(value, ("ja", "en"), path)
        return Text(ja, en) if ja is not None and en is not None else None

    def day(self, node: MarkedDict, key: str, path: str, required: bool = True) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error("missing-field", f"'{key}' is required", node, key, path)
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            self.error("wrong-type", f"'{key}' must be a date (YYYY-MM-DD)", node, key, path)
            return None
        return value

    def number(self, node: MarkedDict, key: str, path: str) -> Decimal | None:
        """An exact number: an integer, or a decimal written in quotes ("14.5")."""
        value = node.get(key)
        if isinstance(value, float):
            self.error(
                "inexact-number",
                f"write '{key}' in quotes (\"{value}\") so it stays exact",
                node,
                key,
                path,
            )
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.error("wrong-type", f"'{key}' must be a number", node, key, path)
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.error("wrong-type", f"'{key}' must be a number", node, key, path)
            return None
        return number if number.is_finite() else None

    def cite(
        self, node: MarkedDict, key: str, path: str, sources: Iterable[str]
    ) -> Citation | None:
        value = self.mapping(node, key, path)
        return None if value is None else self.cite_value(value, path, sources)

    def cite_value(self, value: MarkedDict, path: str, sources: Iterable[str]) -> Citation | None:
        self.known_keys(value, ("source", "clause", "reading"), path)
        source = self.string(value, "source", f"{path}.source")
        clause = self.string(value, "clause", f"{path}.clause")
        reading = self.string(value, "reading", f"{path}.reading", required=False)
        if source is not None and source not in set(sources):
            self.error(
                "unknown-source",
                f"cites {source!r}, which is not listed under 'sources'",
                value,
                "source",
                f"{path}.source",
            )
        if source is None or clause is None:
            return None
        return Citation(source, clause, reading)

    def gap(self, node: MarkedDict, key: str, path: str) -> Gap | None:
        value = self.mapping(node, key, path, required=False)
        if value is None:
            return None
        self.known_keys(value, ("missing", "ask"), path)
        missing = self.text(value, "missing", f"{path}.missing")
        ask = self.text(value, "ask", f"{path}.ask")
        return Gap(missing, ask) if missing and ask else None

    def known_keys(self, node: MarkedDict, allowed: Iterable[str], path: str) -> None:
        options = tuple(allowed)
        for key in node:
            if key not in options:
                close = difflib.get_close_matches(key, options, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                where = f"{path}.{key}" if path else key
                self.error("unknown-field", f"unknown field '{key}'{hint}", node, key, where)


def _empty_list() -> MarkedList:
    result = MarkedList()
    result.location = SourceLocation("")
    result.item_locations = []
    return result


def _entries(checker: Checker, node: MarkedDict, key: str) -> list[tuple[str, MarkedDict]]:
    """The ``id: {…}`` entries of a section, each checked to be a mapping with a snake_case id."""
    section = checker.mapping(node, key, key)
    if section is None:
        return []
    result = []
    for entry_id, value in section.items():
        path = f"{key}.{entry_id}"
        if not entry_id.replace("_", "").isalnum() or entry_id != entry_id.lower():
            checker.error(
                "bad-id", f"'{entry_id}' must be lower snake_case", section, entry_id, path
            )
        if not isinstance(value, MarkedDict):
            checker.error("wrong-type", f"'{entry_id}' must be a mapping", section, entry_id, path)
            continue
        result.append((entry_id, value))
    return result


def build_tariff(raw: MarkedDict, checker: Checker) -> Tariff | None:
    """One tariff document → :class:`Tariff` (or None, with the problems in ``checker``)."""
    checker.known_keys(raw, TARIFF_KEYS, "")
    tariff_id = checker.string(raw, "tariff", "tariff")
    version = checker.string(raw, "version", "version")
    title = checker.text(raw, "title", "title")
    description = checker.text(raw, "description", "description", required=False)
    region = checker.choice(raw, "region", "region", REGIONS)
    effective_from = checker.day(raw, "effective_from", "effective_from")
    effective_to = checker.day(raw, "effective_to", "effective_to", required=False)
    sources = _sources(raw, checker)
    names = [name for name, _ in sources]
    basis, tax_cite = _tax_section(raw, checker, names)
    readings = _readings(raw, checker, names)
    figure_nodes = _entries(checker, raw, "figures")
    figures = {
        fid: figure
        for fid, node in figure_nodes
        if (figure := _figure(fid, node, checker, names)) is not None
    }
    declared = {fid for fid, _ in figure_nodes}
    items = {
        iid: item
        for iid, node in _entries(checker, raw, "items")
        if (item := _item(iid, node, checker, names, figures, readings, declared)) is not None
    }
    examples = _examples(raw, checker)
    if effective_from and effective_to and effective_to < effective_from:
        checker.error("bad-dates", "effective_to is before effective_from", raw, "effective_to", "")
    if checker.diagnostics:
        return None
    assert tariff_id and version and title and region and effective_from and basis and tax_cite
    return Tariff(
        id=tariff_id,
        version=version,
        title=title,
        description=description,
        region=region,
        effective_from=effective_from,
        effective_to=effective_to,
        sources=tuple(sources),
        price_basis=basis,  # type: ignore[arg-type]
        tax_cite=tax_cite,
        readings=readings,
        figures=figures,
        items=items,
        examples=tuple(examples),
        file=checker.file,
    )


def _sources(raw: MarkedDict, checker: Checker) -> list[tuple[str, str]]:
    result = []
    for index, node in enumerate(checker.sequence(raw, "sources", "sources", required=True)):
        path = f"sources[{index}]"
        if not isinstance(node, MarkedDict):
            checker.error("wrong-type", "a source must be {file, title}", raw, "sources", path)
            continue
        checker.known_keys(node, ("file", "title"), path)
        file = checker.string(node, "file", f"{path}.file")
        title = checker.string(node, "title", f"{path}.title")
        if file is not None and file not in SEEDS:
            checker.error("unknown-source", f"{file!r} is not a seed file", node, "file", path)
        elif file is not None and title is not None:
            result.append((file, title))
    return result


def _tax_section(
    raw: MarkedDict, checker: Checker, sources: list[str]
) -> tuple[str | None, Citation | None]:
    node = checker.mapping(raw, "tax", "tax")
    if node is None:
        return None, None
    checker.known_keys(node, ("basis", "cite", "note"), "tax")
    basis = checker.choice(node, "basis", "tax.basis", PRICE_BASES)
    return basis, checker.cite(node, "cite", "tax.cite", sources)


def _readings(raw: MarkedDict, checker: Checker, sources: list[str]) -> dict[str, Reading]:
    result: dict[str, Reading] = {}
    for index, node in enumerate(checker.sequence(raw, "readings", "readings", required=False)):
        path = f"readings[{index}]"
        if not isinstance(node, MarkedDict):
            checker.error("wrong-type", "a reading must be a mapping", raw, "readings", path)
            continue
        checker.known_keys(node, ("id", "cite", "passage", "chosen", "other"), path)
        reading_id = checker.string(node, "id", f"{path}.id")
        cite = checker.cite(node, "cite", f"{path}.cite", sources)
        passage = checker.string(node, "passage", f"{path}.passage")
        chosen = checker.text(node, "chosen", f"{path}.chosen")
        other = checker.text(node, "other", f"{path}.other")
        if reading_id and cite and passage and chosen and other:
            if reading_id in result:
                checker.error("duplicate-id", f"reading {reading_id} twice", node, "id", path)
            result[reading_id] = Reading(reading_id, cite, passage, chosen, other)
    return result


def _figure(fid: str, node: MarkedDict, checker: Checker, sources: list[str]) -> Figure | None:
    path = f"figures.{fid}"
    before = len(checker.diagnostics)
    checker.known_keys(node, FIGURE_KEYS, path)
    label = checker.text(node, "label", f"{path}.label")
    unit = checker.string(node, "unit", f"{path}.unit")
    provenance = checker.choice(node, "provenance", f"{path}.provenance", PROVENANCES)
    cite = checker.cite(node, "cite", f"{path}.cite", sources)
    gap = checker.gap(node, "gap", f"{path}.gap")
    value = _figure_value(node, checker, path, gap)
    bands = _bands(node, checker, path)
    if "value" in node and "bands" in node:
        checker.error("conflict", "give 'value' or 'bands', not both", node, "bands", path)
    tax_included = node.get("tax_included")
    if tax_included is not None and (
        isinstance(tax_included, bool) or not isinstance(tax_included, int)
    ):
        checker.error("wrong-type", "'tax_included' must be whole yen", node, "tax_included", path)
    if provenance == "sourced" and node.get("value") is None and "bands" not in node:
        checker.error("missing-value", "a sourced figure needs a value", node, "value", path)
    suggested = node.get("suggested")
    effective_from = checker.day(node, "effective_from", path, required=False)
    effective_to = checker.day(node, "effective_to", path, required=False)
    if len(checker.diagnostics) > before or not (label and unit and provenance and cite):
        return None
    return Figure(
        id=fid,
        label=label,
        unit=unit,
        value=value,
        bands=bands,
        provenance=provenance,  # type: ignore[arg-type]
        cite=cite,
        effective_from=effective_from,
        effective_to=effective_to,
        note=node.get("note") if isinstance(node.get("note"), str) else None,
        gap=gap,
        suggested=None if suggested is None else str(suggested),
        tax_included=tax_included,
        location=node.location,
    )


def _figure_value(node: MarkedDict, checker: Checker, path: str, gap: Gap | None) -> Decimal | None:
    if "bands" in node:
        return None
    if node.get("value") is None:
        if gap is None:
            checker.error(
                "missing-gap",
                "a figure without a value must say what is missing under 'gap'",
                node,
                "value",
                f"{path}.value",
            )
        return None
    return checker.number(node, "value", f"{path}.value")


def _bands(node: MarkedDict, checker: Checker, path: str) -> tuple[Band, ...]:
    if "bands" not in node:
        return ()
    result: list[Band] = []
    for index, row in enumerate(checker.sequence(node, "bands", f"{path}.bands", required=True)):
        row_path = f"{path}.bands[{index}]"
        if not isinstance(row, MarkedDict):
            checker.error(
                "wrong-type", "a band must be {below, value, label}", node, "bands", row_path
            )
            continue
        checker.known_keys(row, ("below", "value", "label"), row_path)
        below = checker.number(row, "below", f"{row_path}.below")
        value = checker.number(row, "value", f"{row_path}.value")
        label = checker.text(row, "label", f"{row_path}.label")
        if below is None or value is None or label is None:
            continue
        if result and below <= result[-1].below:
            checker.error(
                "bands-not-ascending",
                f"'below' {below} must be greater than the previous band's {result[-1].below}",
                row,
                "below",
                row_path,
            )
        result.append(Band(below, int(value), label))
    if not result:
        checker.error("empty-table", "a band table needs at least one row", node, "bands", path)
    return tuple(result)


def _item(
    iid: str,
    node: MarkedDict,
    checker: Checker,
    sources: list[str],
    figures: Mapping[str, Figure],
    readings: Mapping[str, Reading],
    declared: set[str],
) -> Item | None:
    path = f"items.{iid}"
    before = len(checker.diagnostics)
    checker.known_keys(node, ITEM_KEYS, path)
    title = checker.text(node, "title", f"{path}.title")
    description = checker.text(node, "description", f"{path}.description", required=False)
    kind_name = checker.choice(node, "kind", f"{path}.kind", KINDS)
    tax = checker.choice(node, "tax", f"{path}.tax", TAX_MODES)
    cites = _item_cites(node, checker, f"{path}.cite", sources)
    params = _params(node, checker, path)
    bound = _bound_figures(node, checker, path)
    notes = [
        text
        for index, _ in enumerate(checker.sequence(node, "notes", f"{path}.notes", required=False))
        if (text := _note(node, index, checker, path)) is not None
    ]
    item_readings = _item_readings(node, checker, path, readings)
    gap = checker.gap(node, "gap", f"{path}.gap")
    if kind_name is not None:
        kind = KINDS[kind_name]
        _check_against_kind(kind, node, checker, path, params, bound, figures, declared)
        if kind_name == "unpriced" and gap is None:
            checker.error("missing-gap", "an unpriced item must name its gap", node, "gap", path)
    if len(checker.diagnostics) > before or not (title and kind_name and tax):
        return None
    return Item(
        id=iid,
        title=title,
        description=description,
        kind=kind_name,
        tax=tax,  # type: ignore[arg-type]
        params=params,
        figures=bound,
        cite=tuple(cites),
        readings=tuple(item_readings),
        notes=tuple(notes),
        gap=gap,
    )


def _note(node: MarkedDict, index: int, checker: Checker, path: str) -> Text | None:
    entry = node["notes"][index]
    if not isinstance(entry, MarkedDict):
        checker.error("wrong-type", "a note must be {ja, en}", node["notes"], index, path)
        return None
    return checker.text_of(entry, f"{path}.notes[{index}]")


def _item_cites(
    node: MarkedDict, checker: Checker, path: str, sources: list[str]
) -> list[Citation]:
    value = node.get("cite")
    entries = [value] if isinstance(value, MarkedDict) else value
    if not isinstance(entries, list) or not entries:
        checker.error(
            "missing-field", "'cite' is required (a cite or a list of them)", node, "cite", path
        )
        return []
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, MarkedDict):
            checker.error("wrong-type", "a cite must be {source, clause}", node, "cite", path)
            continue
        cite = checker.cite_value(entry, f"{path}[{index}]", sources)
        if cite is not None:
            result.append(cite)
    return result


def _item_readings(
    node: MarkedDict, checker: Checker, path: str, readings: Mapping[str, Reading]
) -> list[str]:
    result = []
    listed = checker.sequence(node, "readings", f"{path}.readings", required=False)
    for index, reading_id in enumerate(listed):
        if reading_id not in readings:
            checker.error(
                "unknown-reading",
                f"reading {reading_id!r} is not recorded under 'readings'",
                listed,
                index,
                f"{path}.readings[{index}]",
            )
        else:
            result.append(reading_id)
    return result


def _params(node: MarkedDict, checker: Checker, path: str) -> dict[str, ParamSpec]:
    section = checker.mapping(node, "params", f"{path}.params", required=False)
    if section is None:
        return {}
    result = {}
    for name, spec_node in section.items():
        spec_path = f"{path}.params.{name}"
        if not isinstance(spec_node, MarkedDict):
            checker.error(
                "wrong-type", f"parameter '{name}' must be a mapping", section, name, spec_path
            )
            continue
        spec = _param(name, spec_node, checker, spec_path)
        if spec is not None:
            result[name] = spec
    for name, spec in result.items():
        other = spec.not_before
        if other is not None and (other not in result or result[other].type != spec.type):
            checker.error(
                "bad-reference",
                f"not_before names {other!r}, which is not a parameter of the same type",
                section[name],
                "not_before",
                f"{path}.params.{name}.not_before",
            )
    return result


def _param(name: str, node: MarkedDict, checker: Checker, path: str) -> ParamSpec | None:
    before = len(checker.diagnostics)
    checker.known_keys(node, PARAM_KEYS, path)
    param_type = checker.choice(node, "type", f"{path}.type", PARAM_TYPES)
    label = checker.text(node, "label", f"{path}.label")
    help_text = checker.text(node, "help", f"{path}.help", required=False)
    required = node.get("required", "default" not in node)
    if not isinstance(required, bool):
        checker.error("wrong-type", "'required' must be true or false", node, "required", path)
    values = _enum_values(node, checker, path) if param_type == "enum" else {}
    minimum = checker.number(node, "min", f"{path}.min") if "min" in node else None
    maximum = checker.number(node, "max", f"{path}.max") if "max" in node else None
    not_before = checker.string(node, "not_before", f"{path}.not_before", required=False)
    if len(checker.diagnostics) > before or not (param_type and label):
        return None
    spec = ParamSpec(
        name=name,
        type=param_type,  # type: ignore[arg-type]
        label=label,
        help=help_text,
        required=bool(required),
        default=to_json(node.get("default")),
        minimum=minimum,
        maximum=maximum,
        values=values,
        not_before=not_before,
    )
    if spec.default is not None:
        try:
            parse_value(spec, spec.default)
        except BadValue as exc:
            checker.error("bad-default", f"default: {exc}", node, "default", f"{path}.default")
            return None
    return spec


def _enum_values(node: MarkedDict, checker: Checker, path: str) -> dict[str, Text]:
    section = checker.mapping(node, "values", f"{path}.values")
    if section is None:
        return {}
    result = {}
    for value in section:
        text = checker.text(section, value, f"{path}.values.{value}")
        if text is not None:
            result[value] = text
    return result


def _bound_figures(node: MarkedDict, checker: Checker, path: str) -> dict[str, str]:
    section = checker.mapping(node, "figures", f"{path}.figures", required=False)
    if section is None:
        return {}
    result = {}
    for slot, figure_id in section.items():
        if isinstance(figure_id, str):
            result[slot] = figure_id
        else:
            checker.error(
                "wrong-type", "a slot names a figure id", section, slot, f"{path}.figures"
            )
    return result


def _check_against_kind(
    kind: KindSpec,
    node: MarkedDict,
    checker: Checker,
    path: str,
    params: Mapping[str, ParamSpec],
    bound: Mapping[str, str],
    figures: Mapping[str, Figure],
    declared: set[str],
) -> None:
    """The item declares exactly the parameters and figure slots its kind reads, with the right types."""
    for name, needed in kind.params.items():
        spec = params.get(name)
        if spec is None:
            checker.error(
                "missing-param",
                f"kind '{kind.name}' needs parameter '{name}' ({needed.type})",
                node,
                "params",
                f"{path}.params",
            )
        elif spec.type != needed.type:
            checker.error(
                "wrong-param-type",
                f"'{name}' must have type {needed.type} for kind '{kind.name}'",
                node.get("params"),
                name,
                f"{path}.params.{name}.type",
            )
        elif not needed.optional and not spec.required and spec.default is None:
            checker.error(
                "missing-default",
                f"'{name}' must be required or have a default: kind '{kind.name}' always reads it",
                node.get("params"),
                name,
                f"{path}.params.{name}",
            )
    for name in params:
        if name not in kind.params:
            checker.error(
                "unused-param",
                f"kind '{kind.name}' does not read parameter '{name}'",
                node.get("params"),
                name,
                f"{path}.params.{name}",
            )
    _check_slots(kind, node, checker, path, bound, figures, declared)


def _check_slots(
    kind: KindSpec,
    node: MarkedDict,
    checker: Checker,
    path: str,
    bound: Mapping[str, str],
    figures: Mapping[str, Figure],
    declared: set[str],
) -> None:
    """Each slot names a defined figure of the right shape (a figure with its own errors is skipped)."""
    section = node.get("figures")
    for slot, shape in kind.figures.items():
        figure_id = bound.get(slot)
        if figure_id is None:
            checker.error(
                "missing-figure",
                f"kind '{kind.name}' needs figure slot '{slot}'",
                node,
                "figures",
                f"{path}.figures",
            )
            continue
        figure = figures.get(figure_id)
        if figure is None and figure_id in declared:
            continue
        if figure is None:
            close = difflib.get_close_matches(figure_id, list(figures), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            checker.error(
                "unknown-figure",
                f"slot '{slot}' names figure {figure_id!r}, which is not defined{hint}",
                section,
                slot,
                f"{path}.figures.{slot}",
            )
        elif (shape == "bands") != bool(figure.bands):
            checker.error(
                "wrong-figure-shape",
                f"slot '{slot}' needs a figure with {'bands' if shape == 'bands' else 'a value'}",
                section,
                slot,
                f"{path}.figures.{slot}",
            )
    for slot in bound:
        if slot not in kind.figures:
            checker.error(
                "unused-figure",
                f"kind '{kind.name}' has no figure slot '{slot}'",
                section,
                slot,
                f"{path}.figures.{slot}",
            )


def _examples(raw: MarkedDict, checker: Checker) -> list[Example]:
    result = []
    listed = checker.sequence(raw, "examples", "examples", required=True)
    if not listed and "examples" in raw:
        checker.error(
            "missing-examples", "a tariff needs at least one example", raw, "examples", ""
        )
    for index, node in enumerate(listed):
        path = f"examples[{index}]"
        if not isinstance(node, MarkedDict):
            checker.error("wrong-type", "an example must be a mapping", listed, index, path)
            continue
        checker.known_keys(node, ("note", "request", "expect"), path)
        note = checker.string(node, "note", f"{path}.note")
        request = checker.mapping(node, "request", f"{path}.request")
        expect = checker.mapping(node, "expect", f"{path}.expect")
        if note and request is not None and expect is not None:
            try:
                result.append(Example(note, to_json(request), to_json(expect), node.location))
            except ValueError as exc:
                checker.error("inexact-number", str(exc), node, "request", path)
    return result


def to_json(value: Any) -> Any:
    """Plain JSON data from loaded YAML: dates become ISO text; floats are refused as inexact."""
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        raise ValueError(f"write {value} in quotes so it stays exact")
    return value


def build_tax_rates(raw: MarkedDict, checker: Checker) -> list[TaxRate]:
    """The consumption-tax table document: rates with their effective dates."""
    checker.known_keys(raw, ("consumption_tax", "title", "rates"), "")
    sources = list(SEEDS)
    result = []
    for index, node in enumerate(checker.sequence(raw, "rates", "rates", required=True)):
        path = f"rates[{index}]"
        if not isinstance(node, MarkedDict):
            checker.error("wrong-type", "a rate must be a mapping", raw, "rates", path)
            continue
        keys = ("rate", "effective_from", "effective_to", "provenance", "cite", "note")
        checker.known_keys(node, keys, path)
        rate = checker.number(node, "rate", f"{path}.rate")
        start = checker.day(node, "effective_from", f"{path}.effective_from")
        end = checker.day(node, "effective_to", f"{path}.effective_to", required=False)
        provenance = checker.choice(node, "provenance", f"{path}.provenance", PROVENANCES)
        cite_node = checker.mapping(node, "cite", f"{path}.cite", required=False)
        cite = None if cite_node is None else checker.cite_value(cite_node, path, sources)
        note = node.get("note") if isinstance(node.get("note"), str) else None
        if rate is not None and start is not None and provenance is not None:
            result.append(TaxRate(rate, start, end, provenance, cite, note))  # type: ignore[arg-type]
    ordered = sorted(result, key=lambda r: r.effective_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            checker.error(
                "overlapping-rates",
                f"the rate from {earlier.effective_from} overlaps the one from {later.effective_from}",
                raw,
                "rates",
                "rates",
            )
    return ordered


def load_folder(folder: Path) -> tuple[list[Tariff], list[TaxRate]]:
    """Every tariff and the tax table in ``folder``; raises :class:`ValidationError` on any error."""
    diagnostics: list[Diagnostic] = []
    tariffs: list[Tariff] = []
    rates: list[TaxRate] = []
    if not folder.is_dir():
        raise ValidationError(
            [Diagnostic("missing-folder", "tariff folder not found", SourceLocation(str(folder)))]
        )
    for path in yaml_files(folder):
        try:
            raw = read_yaml_file(path)
        except ValidationError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        checker = Checker(str(path))
        _build_document(raw, checker, tariffs, rates)
        diagnostics.extend(checker.diagnostics)
    diagnostics.extend(_cross_checks(folder, tariffs, rates))
    if any(d.severity == "error" for d in diagnostics):
        raise ValidationError(diagnostics)
    return tariffs, rates


def _build_document(
    raw: Any, checker: Checker, tariffs: list[Tariff], rates: list[TaxRate]
) -> None:
    if isinstance(raw, MarkedDict) and "tariff" in raw:
        tariff = build_tariff(raw, checker)
        if tariff is not None:
            tariffs.append(tariff)
    elif isinstance(raw, MarkedDict) and "consumption_tax" in raw:
        rates.extend(build_tax_rates(raw, checker))
    else:
        checker.error(
            "unknown-document",
            "a tariff file starts with 'tariff:' (or 'consumption_tax:' for the tax table)",
            raw,
            None,
            "",
        )


def _cross_checks(folder: Path, tariffs: list[Tariff], rates: list[TaxRate]) -> list[Diagnostic]:
    result: list[Diagnostic] = []
    if not rates:
        result.append(
            Diagnostic(
                "missing-tax-table",
                "no consumption tax table ('consumption_tax:') in the folder",
                SourceLocation(str(folder)),
            )
        )
    result.extend(_duplicate_versions(tariffs))
    for tariff in tariffs:
        result.extend(_tax_included_mismatches(tariff, rates))
    return result


def _duplicate_versions(tariffs: list[Tariff]) -> list[Diagnostic]:
    result = []
    by_id: dict[str, list[Tariff]] = {}
    for tariff in tariffs:
        by_id.setdefault(tariff.id, []).append(tariff)
    for versions in by_id.values():
        ordered = sorted(versions, key=lambda t: t.effective_from)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                result.append(
                    Diagnostic(
                        "overlapping-versions",
                        f"tariff {later.id!r} version {later.version} overlaps version "
                        f"{earlier.version} ({earlier.file})",
                        SourceLocation(later.file, 1, 1),
                        "effective_from",
                    )
                )
    return result


def _tax_included_mismatches(tariff: Tariff, rates: list[TaxRate]) -> list[Diagnostic]:
    """A figure's stated tax-included price must equal its tax-excluded value plus tax (通則10)."""
    result = []
    for figure in tariff.figures.values():
        if figure.tax_included is None or figure.value is None:
            continue
        day = figure.effective_from or tariff.effective_from
        rate = next((r.rate for r in rates if r.in_force(day)), None)
        if rate is None or tariff.price_basis != "tax_excluded":
            continue
        expected = int(figure.value) + tax_on(int(figure.value), rate)
        if expected != figure.tax_included:
            result.append(
                Diagnostic(
                    "tax-included-mismatch",
                    f"tax_included {figure.tax_included} ≠ {figure.value} + tax at {rate} "
                    f"= {expected}",
                    figure.location,
                    f"figures.{figure.id}.tax_included",
                )
            )
    return result
