"""Tariff files → validated :mod:`engine.tariff.model` objects, or every problem at once.

Each file is read as YAML with line marks and is either a tariff (``tariff:``) or the consumption-tax
table (``consumption_tax:``). A tariff runs through :data:`STAGES` (header, tax, readings, figures,
items, examples); then :data:`FOLDER_CHECKS` look across files (the tax table exists, versions of one
tariff do not overlap, stated tax-included prices agree with the tax-excluded ones). Any error anywhere
means nothing is loaded: a bad file never half-loads.

The readers of values and of the sections tariffs share with rule files (texts, citations, readings,
gaps, sources, ids, dates) are :mod:`engine.format.checker`'s; items are read in :mod:`.validate_items`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SourceLocation, ValidationError
from ..format.checker import Checker
from ..format.common import PROVENANCES, Citation, Gap, Provenance, Reading
from ..format.header import HEADER_KEYS, Header, read_header
from ..format.loader import MarkedDict, read_yaml_file, to_json, yaml_files
from ..format.sources import SEEDS
from .model import (
    PRICE_BASES,
    Band,
    EarlierPeriod,
    Example,
    Figure,
    Item,
    PriceBasis,
    Tariff,
    TaxRate,
)
from .money import tax_on
from .validate_items import read_item
from .validate_slots import read_time_slots

TARIFF_KEYS = (
    "tariff",
    *HEADER_KEYS,
    "tax",
    "earlier_period",
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
    "time_slots",
)
RATE_KEYS = ("rate", "effective_from", "effective_to", "provenance", "cite", "note")


@dataclass
class _Draft:
    """What the stages have built so far for one tariff file; header fields are None until read."""

    header: Header = field(default_factory=Header)
    price_basis: PriceBasis | None = None
    tax_cite: Citation | None = None
    earlier_period: EarlierPeriod | None = None
    readings: dict[str, Reading] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    # Every figure id written, even a faulty one: an item naming it is not reported again.
    declared_figures: set[str] = field(default_factory=set)
    items: dict[str, Item] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)

    @property
    def source_names(self) -> list[str]:
        return self.header.source_names


def build_tariff(raw: MarkedDict, checker: Checker) -> Tariff | None:
    """One tariff document → :class:`Tariff` (or None, with the problems in ``checker``)."""
    draft = _Draft()
    for stage in STAGES:
        stage(checker, raw, draft)
    return None if checker.failed else _assemble(draft, checker.file)


def _stage_header(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    checker.unknown_keys(raw, TARIFF_KEYS, "")
    draft.header = read_header(checker, raw, "tariff")


def _stage_tax(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    node = checker.required(raw, "tax", "tax", checker.mapping)
    if node is None:
        return
    checker.unknown_keys(node, ("basis", "cite", "note"), "tax")
    draft.price_basis = checker.required(node, "basis", "tax.basis", checker.one_of(PRICE_BASES))
    draft.tax_cite = checker.required(node, "cite", "tax.cite", checker.cite, draft.source_names)
    checker.optional(node, "note", "tax.note", checker.string)


def _stage_earlier_period(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    """``earlier_period: {from?, cite, gap}``: days before ``effective_from`` the sources do not price."""
    node = checker.optional(raw, "earlier_period", "earlier_period", checker.mapping)
    if node is None:
        return
    path = "earlier_period"
    checker.unknown_keys(node, ("from", "cite", "gap"), path)
    start = checker.optional(node, "from", f"{path}.from", checker.day)
    cite = checker.required(node, "cite", f"{path}.cite", checker.cite, draft.source_names)
    gap = checker.required(node, "gap", f"{path}.gap", checker.gap)
    effective_from = draft.header.effective_from
    if start is not None and effective_from is not None and start >= effective_from:
        checker.error("bad-value", "'from' must be before effective_from", node.where("from"), path)
    if cite is not None and gap is not None:
        draft.earlier_period = EarlierPeriod(start, gap, cite)


def _stage_readings(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    readings = checker.optional(raw, "readings", "readings", checker.readings, draft.source_names)
    draft.readings = readings or {}


def _stage_figures(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    section = checker.required(raw, "figures", "figures", checker.mapping)
    entries = checker.entries(section, "figures", declared=draft.declared_figures)
    for fid, node, _, path in entries:
        figure = _figure(checker, fid, node, path, draft.source_names)
        if figure is not None:
            draft.figures[fid] = figure


def _stage_items(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    section = checker.required(raw, "items", "items", checker.mapping)
    for iid, node, _, _ in checker.entries(section, "items"):
        item = read_item(
            checker,
            iid,
            node,
            draft.source_names,
            draft.figures,
            draft.readings,
            draft.declared_figures,
        )
        if item is not None:
            draft.items[iid] = item


def _stage_examples(checker: Checker, raw: MarkedDict, draft: _Draft) -> None:
    listed = checker.required(raw, "examples", "examples", checker.sequence)
    if listed is None:
        return
    if not listed:
        checker.error("missing-key", "give at least one example", raw.where("examples"), "examples")
    for index, node in enumerate(listed):
        path = f"examples[{index}]"
        entry = checker.mapping(node, listed.where(index), path)
        if entry is None:
            continue
        checker.unknown_keys(entry, ("note", "request", "expect"), path)
        note = checker.required(entry, "note", f"{path}.note", checker.string)
        request = checker.required(entry, "request", f"{path}.request", checker.mapping)
        expect = checker.required(entry, "expect", f"{path}.expect", checker.mapping)
        if note is None or request is None or expect is None:
            continue
        try:
            plain = to_json(request, exact=True), to_json(expect, exact=True)
        except ValueError as exc:
            checker.error("inexact-number", str(exc), entry.where("request"), path)
            continue
        draft.examples.append(Example(note, *plain, entry.location))


#: Order matters: sources (header) before every citation, readings before the items that follow them,
#: figures before the items whose slots name them.
STAGES: tuple[Callable[[Checker, MarkedDict, _Draft], None], ...] = (
    _stage_header,
    _stage_tax,
    _stage_earlier_period,
    _stage_readings,
    _stage_figures,
    _stage_items,
    _stage_examples,
)


def _assemble(draft: _Draft, file: str) -> Tariff:
    """The model, from a draft whose stages recorded no error (so every required field is set)."""
    h = draft.header
    assert h.id and h.version and h.title and h.region and h.effective_from
    assert draft.price_basis and draft.tax_cite
    return Tariff(
        id=h.id,
        version=h.version,
        title=h.title,
        description=h.description,
        region=h.region,
        effective_from=h.effective_from,
        effective_to=h.effective_to,
        sources=tuple((s.file, s.title) for s in h.sources),
        price_basis=draft.price_basis,
        tax_cite=draft.tax_cite,
        readings=draft.readings,
        figures=draft.figures,
        items=draft.items,
        examples=tuple(draft.examples),
        file=file,
        earlier_period=draft.earlier_period,
    )


def _figure(
    checker: Checker, fid: str, node: MarkedDict, path: str, sources: Collection[str]
) -> Figure | None:
    """One ``figures.<fid>`` entry; None when it has an error of its own."""
    scope = checker.scope()
    checker.unknown_keys(node, FIGURE_KEYS, path)
    label = checker.required(node, "label", f"{path}.label", checker.text)
    unit = checker.required(node, "unit", f"{path}.unit", checker.string)
    provenance: Provenance | None = checker.required(
        node, "provenance", f"{path}.provenance", checker.one_of(PROVENANCES)
    )
    cite = checker.required(node, "cite", f"{path}.cite", checker.cite, sources)
    gap = checker.optional(node, "gap", f"{path}.gap", checker.gap)
    value = _figure_value(checker, node, path, gap)
    bands = _bands(checker, node, path)
    time_slots = read_time_slots(checker, node, path)
    if "value" in node and "bands" in node:
        checker.error("conflict", "give 'value' or 'bands', not both", node.where("bands"), path)
    tax_included = node.get("tax_included")
    if tax_included is not None and (
        isinstance(tax_included, bool) or not isinstance(tax_included, int)
    ):
        checker.error(
            "wrong-type", "'tax_included' must be whole yen", node.where("tax_included"), path
        )
    if provenance == "sourced" and node.get("value") is None and "bands" not in node:
        checker.error("missing-value", "a sourced figure needs a value", node.where("value"), path)
    effective_from = checker.optional(node, "effective_from", f"{path}.effective_from", checker.day)
    effective_to = checker.optional(node, "effective_to", f"{path}.effective_to", checker.day)
    checker.in_order(
        effective_from, effective_to, node.where("effective_to"), f"{path}.effective_to"
    )
    # Shown in quote warnings in both languages: a {ja, en} text, not one string for both.
    note = checker.optional(node, "note", f"{path}.note", checker.text)
    suggested = node.get("suggested")
    if scope.failed or label is None or unit is None or provenance is None or cite is None:
        return None
    return Figure(
        id=fid,
        label=label,
        unit=unit,
        value=value,
        bands=bands,
        provenance=provenance,
        cite=cite,
        effective_from=effective_from,
        effective_to=effective_to,
        note=note,
        gap=gap,
        suggested=None if suggested is None else str(suggested),
        tax_included=tax_included,
        location=node.location,
        time_slots=time_slots,
    )


def _figure_value(checker: Checker, node: MarkedDict, path: str, gap: Gap | None) -> Decimal | None:
    if "bands" in node:
        return None
    if node.get("value") is None:
        if gap is None:
            checker.error(
                "missing-gap",
                "a figure without a value must say what is missing under 'gap'",
                node.where("value"),
                f"{path}.value",
            )
        return None
    return checker.number(node["value"], node.where("value"), f"{path}.value")


def _bands(checker: Checker, node: MarkedDict, path: str) -> tuple[Band, ...]:
    """``bands: [{below, value, label}]`` with ``below`` strictly ascending."""
    if "bands" not in node:
        return ()
    rows = checker.required(node, "bands", f"{path}.bands", checker.sequence)
    found: list[Band] = []
    for index, row in enumerate(rows or []):
        row_path = f"{path}.bands[{index}]"
        entry = checker.mapping(row, rows.where(index) if rows else node.location, row_path)
        if entry is None:
            continue
        checker.unknown_keys(entry, ("below", "value", "label"), row_path)
        below = checker.required(entry, "below", f"{row_path}.below", checker.number)
        value = checker.required(entry, "value", f"{row_path}.value", checker.number)
        label = checker.required(entry, "label", f"{row_path}.label", checker.text)
        if below is None or value is None or label is None:
            continue
        if found and below <= found[-1].below:
            checker.error(
                "bands-not-ascending",
                f"'below' {below} must be greater than the previous band's {found[-1].below}",
                entry.where("below"),
                row_path,
            )
        found.append(Band(below, int(value), label))
    if not found:
        checker.error(
            "empty-table", "a band table needs at least one row", node.where("bands"), path
        )
    return tuple(found)


# --- the consumption-tax table ---------------------------------------------------------------------


def build_tax_rates(raw: MarkedDict, checker: Checker) -> list[TaxRate]:
    """The consumption-tax table document: rates with their effective dates, not overlapping."""
    checker.unknown_keys(raw, ("consumption_tax", "title", "rates"), "")
    listed = checker.required(raw, "rates", "rates", checker.sequence)
    found = []
    for index, node in enumerate(listed or []):
        path = f"rates[{index}]"
        entry = checker.mapping(node, listed.where(index) if listed else raw.location, path)
        rate = None if entry is None else _tax_rate(checker, entry, path)
        if rate is not None:
            found.append(rate)
    ordered = sorted(found, key=lambda r: r.effective_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            checker.error(
                "overlapping-rates",
                f"the rate from {earlier.effective_from} overlaps the one from {later.effective_from}",
                raw.where("rates"),
                "rates",
            )
    return ordered


def _tax_rate(checker: Checker, entry: MarkedDict, path: str) -> TaxRate | None:
    checker.unknown_keys(entry, RATE_KEYS, path)
    rate = checker.required(entry, "rate", f"{path}.rate", checker.number)
    start = checker.required(entry, "effective_from", f"{path}.effective_from", checker.day)
    end = checker.optional(entry, "effective_to", f"{path}.effective_to", checker.day)
    checker.in_order(start, end, entry.where("effective_to"), f"{path}.effective_to")
    provenance: Provenance | None = checker.required(
        entry, "provenance", f"{path}.provenance", checker.one_of(PROVENANCES)
    )
    cite = checker.optional(entry, "cite", f"{path}.cite", checker.cite, SEEDS)
    note = checker.optional(entry, "note", f"{path}.note", checker.string)
    if rate is None or start is None or provenance is None:
        return None
    return TaxRate(rate, start, end, provenance, cite, note)


# --- a folder --------------------------------------------------------------------------------------


def load_folder(
    folder: Path, label: Callable[[Path], str] = str
) -> tuple[list[Tariff], list[TaxRate]]:
    """Every tariff and the tax table in ``folder``; raises :class:`ValidationError` on any error.

    ``label`` names the folder and each file in diagnostics and in the tariffs (default: the path as
    given): a server loading a snapshot copy of the folder names them as they are in the folder.
    """
    diagnostics: list[Diagnostic] = []
    tariffs: list[Tariff] = []
    rates: list[TaxRate] = []
    if not folder.is_dir():
        raise ValidationError(
            [Diagnostic("missing-folder", "tariff folder not found", SourceLocation(label(folder)))]
        )
    for path in yaml_files(folder):
        try:
            raw = read_yaml_file(path, label(path))
        except ValidationError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        checker = Checker(label(path))
        _read_document(raw, checker, tariffs, rates)
        diagnostics.extend(checker.diagnostics)
    for check in FOLDER_CHECKS:
        diagnostics.extend(check(Path(label(folder)), tariffs, rates))
    if any(d.severity == "error" for d in diagnostics):
        raise ValidationError(diagnostics)
    return tariffs, rates


def _read_document(raw: Any, checker: Checker, tariffs: list[Tariff], rates: list[TaxRate]) -> None:
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
            raw.location if isinstance(raw, MarkedDict) else SourceLocation(checker.file),
            "",
        )


def _missing_tax_table(folder: Path, _: list[Tariff], rates: list[TaxRate]) -> list[Diagnostic]:
    if rates:
        return []
    message = "no consumption tax table ('consumption_tax:') in the folder"
    return [Diagnostic("missing-tax-table", message, SourceLocation(str(folder)))]


def _duplicate_versions(_: Path, tariffs: list[Tariff], __: list[TaxRate]) -> list[Diagnostic]:
    found = []
    by_id: dict[str, list[Tariff]] = {}
    for tariff in tariffs:
        by_id.setdefault(tariff.id, []).append(tariff)
    for versions in by_id.values():
        ordered = sorted(versions, key=lambda t: t.effective_from)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                found.append(
                    Diagnostic(
                        "overlapping-versions",
                        f"tariff {later.id!r} version {later.version} overlaps version "
                        f"{earlier.version} ({earlier.file})",
                        SourceLocation(later.file, 1, 1),
                        "effective_from",
                    )
                )
    return found


def _tax_included_mismatches(
    _: Path, tariffs: list[Tariff], rates: list[TaxRate]
) -> list[Diagnostic]:
    """A figure's stated tax-included price must equal its tax-excluded value plus tax (通則10)."""
    found = []
    for tariff in tariffs:
        for figure in tariff.figures.values():
            if figure.tax_included is None or figure.value is None:
                continue
            day = figure.effective_from or tariff.effective_from
            rate = next((r.rate for r in rates if r.in_force(day)), None)
            if rate is None or tariff.price_basis != "tax_excluded":
                continue
            expected = int(figure.value) + tax_on(int(figure.value), rate)
            if expected != figure.tax_included:
                found.append(
                    Diagnostic(
                        "tax-included-mismatch",
                        f"tax_included {figure.tax_included} ≠ {figure.value} + tax at {rate} "
                        f"= {expected}",
                        figure.location,
                        f"figures.{figure.id}.tax_included",
                    )
                )
    return found


#: Checks across the files of a folder, run after every file was read on its own.
FOLDER_CHECKS: tuple[Callable[[Path, list[Tariff], list[TaxRate]], list[Diagnostic]], ...] = (
    _missing_tax_table,
    _duplicate_versions,
    _tax_included_mismatches,
)
