"""Raw YAML of a rule set → the validated :mod:`engine.rules.model`, or every problem at once.

Validation runs as named stages (header, readings, parameters, facts, outcomes, rules, default, examples,
cross-checks). Each stage reads the raw mapping and records diagnostics with file, line and field path;
later stages only run on what earlier ones accepted, so one typo yields one message, not a cascade.
A file with any error raises :class:`ValidationError` and nothing of it is used.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from ..clock import today_in_tokyo
from ..errors import Diagnostic, FactsError, SourceLocation, ValidationError
from ..format.common import PROVENANCES, REGIONS, Citation, Gap, Reading, Source, Text
from ..format.loader import MarkedDict, MarkedList
from ..format.sources import is_known_seed
from .facts import FactNormalizer
from .model import (
    AS_OF,
    NUMERIC_TYPES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    DecideMode,
    EnumValue,
    Example,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    Note,
    NotOf,
    Operand,
    Operator,
    Outcome,
    OutcomeKind,
    Parameter,
    Rule,
    RuleSet,
)

#: snake_case without doubled or trailing underscores: the compiler builds engine keys with "__".
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

TOP_LEVEL_KEYS = {
    "ruleset": True, "version": True, "title": True, "description": False, "region": True,
    "effective_from": True, "effective_to": False, "sources": True, "readings": False,
    "parameters": False, "facts": True, "outcomes": True, "decide": True, "precedence": False,
    "default": True, "rules": True, "examples": True,
}  # fmt: skip


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
class _Checker:
    """Collects diagnostics for one file and offers small typed readers of raw values."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, where: SourceLocation, path: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, where, path))

    def warn(self, code: str, message: str, where: SourceLocation, path: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, where, path, "warning"))

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    # -- readers: each returns None (after recording why) when the value is unusable --------------

    def mapping(self, value: object, where: SourceLocation, path: str) -> MarkedDict | None:
        if isinstance(value, MarkedDict):
            return value
        self.error(
            "wrong-type", f"expected a mapping (key: value), got {_kind(value)}", where, path
        )
        return None

    def sequence(self, value: object, where: SourceLocation, path: str) -> MarkedList | None:
        if isinstance(value, MarkedList):
            return value
        self.error("wrong-type", f"expected a list, got {_kind(value)}", where, path)
        return None

    def string(self, value: object, where: SourceLocation, path: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.error("wrong-type", f"expected non-empty text, got {_kind(value)}", where, path)
        return None

    def identifier(self, value: object, where: SourceLocation, path: str) -> str | None:
        text = self.string(value, where, path)
        if text is not None and not IDENTIFIER.match(text):
            self.error(
                "bad-identifier",
                f"{text!r} must be lower snake_case (a-z, 0-9, single _), starting with a letter",
                where,
                path,
            )
            return None
        return text

    def text(self, value: object, where: SourceLocation, path: str) -> Text | None:
        mapping = self.mapping(value, where, path)
        if mapping is None:
            return None
        self.known_keys(mapping, {"ja": True, "en": True}, path)
        ja = self.string(mapping.get("ja"), mapping.where("ja"), f"{path}.ja")
        en = self.string(mapping.get("en"), mapping.where("en"), f"{path}.en")
        return Text(ja, en) if ja is not None and en is not None else None

    def a_date(self, value: object, where: SourceLocation, path: str) -> date | None:
        parsed = parse_date(value)
        if parsed is None:
            self.error("wrong-type", f"expected a date YYYY-MM-DD, got {_kind(value)}", where, path)
        return parsed

    def choice(
        self, value: object, choices: Iterable[str], where: SourceLocation, path: str
    ) -> str | None:
        options = list(choices)
        if isinstance(value, str) and value in options:
            return value
        hint = ""
        if isinstance(value, bool):
            hint = " (YAML reads bare yes/no/true/false as booleans)"
        self.error(
            "bad-value",
            f"{_show(value)} is not one of {', '.join(options)}{hint}{suggest(value, options)}",
            where,
            path,
        )
        return None

    def cite(self, value: object, where: SourceLocation, path: str) -> Citation | None:
        if value is None:
            self.error("missing-citation", "every rule and note must cite its source", where, path)
            return None
        mapping = self.mapping(value, where, path)
        if mapping is None:
            return None
        self.known_keys(mapping, {"source": True, "clause": True, "reading": False}, path)
        source = self.string(mapping.get("source"), mapping.where("source"), f"{path}.source")
        clause = self.string(mapping.get("clause"), mapping.where("clause"), f"{path}.clause")
        reading = mapping.get("reading")
        if reading is not None:
            reading = self.string(reading, mapping.where("reading"), f"{path}.reading")
        if source is None or clause is None:
            return None
        return Citation(source, clause, reading)

    def known_keys(self, mapping: MarkedDict, keys: Mapping[str, bool], path: str) -> bool:
        """Report unknown keys (with a suggestion) and missing required keys; True when all is well."""
        ok = True
        for key in mapping:
            if key not in keys:
                self.error(
                    "unknown-key",
                    f"unknown key {key!r}{suggest(key, keys)}",
                    mapping.where(key),
                    _join(path, key),
                )
                ok = False
        for key, required in keys.items():
            if required and key not in mapping:
                self.error(
                    "missing-key", f"{key!r} is required", mapping.location, _join(path, key)
                )
                ok = False
        return ok


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, MarkedDict):
        return "a mapping"
    if isinstance(value, MarkedList):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else _kind(value)


def suggest(word: object, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close option exists, else empty."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_date(value: object) -> date | None:
    """A ``date`` from a YAML date or an ISO ``YYYY-MM-DD`` string; None otherwise."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


# --- the stages ------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """What the stages have built so far for one file."""

    header: dict[str, Any] = field(default_factory=dict)
    readings: dict[str, Reading] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    facts: dict[str, FactSpec] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    # Names declared, even when their definition was faulty: references to them are not errors
    # again (one typo, one message).
    declared_facts: set[str] = field(default_factory=set)
    declared_outcomes: set[str] = field(default_factory=set)
    precedence: tuple[str, ...] = ()
    rules: list[Rule] = field(default_factory=list)
    default: tuple[str, Note] | None = None
    examples: list[Example] = field(default_factory=list)


def build_ruleset(raw: object, file: str) -> RuleSet:
    """Validate one parsed rule file and return its model.

    :raises ValidationError: with every error found (warnings are attached to the result instead).
    """
    ruleset, diagnostics = check_ruleset(raw, file)
    if ruleset is None:
        raise ValidationError(diagnostics)
    return ruleset


def check_ruleset(raw: object, file: str) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Run every stage; return the rule set (None on any error) and all diagnostics."""
    checker = _Checker(file)
    top = checker.mapping(raw, SourceLocation(file, 1, 1), "")
    if top is None:
        return None, checker.diagnostics
    checker.known_keys(top, TOP_LEVEL_KEYS, "")
    draft = _Draft()
    for stage in STAGES:
        stage(checker, top, draft)
    if checker.failed:
        return None, checker.diagnostics
    return _assemble(top, draft, file), checker.diagnostics


def _stage_header(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    h = draft.header
    h["id"] = checker.identifier(top.get("ruleset"), top.where("ruleset"), "ruleset")
    version = top.get("version")
    if isinstance(version, int | float) and not isinstance(version, bool):
        checker.error(
            "wrong-type",
            f'version {version!r} was read as a number; quote it, e.g. "{version}"',
            top.where("version"),
            "version",
        )
    else:
        h["version"] = checker.string(version, top.where("version"), "version")
    h["title"] = checker.text(top.get("title"), top.where("title"), "title")
    if "description" in top:
        h["description"] = checker.text(top["description"], top.where("description"), "description")
    h["region"] = checker.choice(top.get("region"), REGIONS, top.where("region"), "region")
    start = checker.a_date(top.get("effective_from"), top.where("effective_from"), "effective_from")
    end = None
    if top.get("effective_to") is not None:
        end = checker.a_date(top["effective_to"], top.where("effective_to"), "effective_to")
    if start and end and end < start:
        checker.error(
            "bad-value", "effective_to is before effective_from", top.where("effective_to"),
            "effective_to",
        )  # fmt: skip
    h["effective_from"], h["effective_to"] = start, end
    h["sources"] = _sources(checker, top)


def _sources(checker: _Checker, top: MarkedDict) -> tuple[Source, ...]:
    items = checker.sequence(top.get("sources"), top.where("sources"), "sources")
    found: list[Source] = []
    for i, item in enumerate(items or []):
        path = f"sources[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None:
            continue
        checker.known_keys(entry, {"file": True, "title": True}, path)
        name = checker.string(entry.get("file"), entry.where("file"), f"{path}.file")
        title = checker.string(entry.get("title"), entry.where("title"), f"{path}.title")
        if name and not is_known_seed(name):
            checker.error(
                "unknown-source", f"{name!r} is not a seed document", entry.where("file"),
                f"{path}.file",
            )  # fmt: skip
        if name and title:
            found.append(Source(name, title))
    if items is not None and not found and not checker.failed:
        checker.error("missing-key", "name at least one source", top.where("sources"), "sources")
    return tuple(found)


def _stage_readings(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    if top.get("readings") is None:
        return
    items = checker.sequence(top["readings"], top.where("readings"), "readings")
    keys = {"id": True, "cite": True, "passage": True, "chosen": True, "other": True}
    for i, item in enumerate(items or []):
        path = f"readings[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None or not checker.known_keys(entry, keys, path):
            continue
        rid = checker.string(entry["id"], entry.where("id"), f"{path}.id")
        cite = checker.cite(entry["cite"], entry.where("cite"), f"{path}.cite")
        passage = checker.string(entry["passage"], entry.where("passage"), f"{path}.passage")
        chosen = checker.text(entry["chosen"], entry.where("chosen"), f"{path}.chosen")
        other = checker.text(entry["other"], entry.where("other"), f"{path}.other")
        if rid in draft.readings:
            checker.error(
                "duplicate-id", f"reading {rid!r} is defined twice", entry.where("id"), path
            )
        elif rid and cite and passage and chosen and other:
            draft.readings[rid] = Reading(rid, cite, passage, chosen, other)


def _named_entries(
    checker: _Checker,
    section: MarkedDict | None,
    section_name: str,
    keys: Mapping[str, bool],
    declared: set[str] | None = None,
) -> Iterator[tuple[str, MarkedDict, SourceLocation, str]]:
    """Each well-formed ``name: {...}`` entry of a section (facts, outcomes, parameters).

    Yields the name, the entry, where it is written and its field path; a bad name, a non-mapping or
    unknown/missing keys are recorded and the entry skipped. Every name, good or bad, goes into
    ``declared`` so later references to it do not repeat the error.
    """
    for key, raw in (section or {}).items():
        path = f"{section_name}.{key}"
        where = section.where(key) if section is not None else SourceLocation(checker.file)
        if declared is not None:
            declared.add(str(key))
        name = checker.identifier(key, where, path)
        entry = checker.mapping(raw, where, path)
        if name is None or entry is None or not checker.known_keys(entry, keys, path):
            continue
        yield name, entry, where, path


def _stage_parameters(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    if top.get("parameters") is None:
        return
    params = checker.mapping(top["parameters"], top.where("parameters"), "parameters")
    keys = {"type": True, "value": True, "provenance": True, "label": True, "note": False,
            "cite": False}  # fmt: skip
    for pname, entry, where, path in _named_entries(checker, params, "parameters", keys):
        ptype = _fact_type(checker, entry, path)
        provenance = checker.choice(
            entry["provenance"], PROVENANCES, entry.where("provenance"), f"{path}.provenance"
        )
        label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
        cite = None
        if "cite" in entry:
            cite = checker.cite(entry["cite"], entry.where("cite"), f"{path}.cite")
        if ptype in (None, FactType.ENUM_LIST, FactType.ENUM):
            if ptype is not None:
                checker.error("bad-value", "parameters are bool, int, money, date or string",
                              entry.where("type"), f"{path}.type")  # fmt: skip
            continue
        value = _scalar_of_type(checker, entry["value"], ptype, (), entry.where("value"),
                                f"{path}.value")  # fmt: skip
        note = entry.get("note", "")
        if value is not None and provenance and label:
            draft.parameters[pname] = Parameter(
                pname, ptype, value, cast(Any, provenance), label, where, str(note), cite
            )


def _fact_type(checker: _Checker, entry: MarkedDict, path: str) -> FactType | None:
    raw = checker.choice(entry.get("type"), [t.value for t in FactType], entry.where("type"),
                         f"{path}.type")  # fmt: skip
    return FactType(raw) if raw else None


def _scalar_of_type(
    checker: _Checker,
    value: object,
    ftype: FactType,
    enum_values: tuple[str, ...],
    where: SourceLocation,
    path: str,
) -> FactValue | None:
    """Check that a constant written in the file fits a fact type; return it normalised."""
    ok: FactValue | None = None
    match ftype:
        case FactType.BOOL:
            ok = value if isinstance(value, bool) else None
        case FactType.INT | FactType.MONEY:
            ok = value if isinstance(value, int) and not isinstance(value, bool) else None
        case FactType.DATE:
            ok = parse_date(value)
        case FactType.STRING:
            ok = value if isinstance(value, str) else None
        case FactType.ENUM:
            if isinstance(value, str) and value in enum_values:
                return value
            checker.error(
                "value-not-in-enum",
                f"{_show(value)} is not a value of this fact: {', '.join(enum_values)}"
                f"{suggest(value, enum_values)}",
                where,
                path,
            )
            return None
        case FactType.ENUM_LIST:
            return _enum_tuple(checker, value, enum_values, where, path)
    if ok is None:
        checker.error("type-mismatch", f"{_kind(value)} is not a {ftype.value}", where, path)
    return ok


def _enum_tuple(
    checker: _Checker, value: object, enum_values: tuple[str, ...], where: SourceLocation, path: str
) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        checker.error("type-mismatch", f"{_kind(value)} is not a list", where, path)
        return None
    items: list[str] = []
    for i, item in enumerate(value):
        found = _scalar_of_type(checker, item, FactType.ENUM, enum_values, where, _join(path, i))
        if isinstance(found, str):
            items.append(found)
    return tuple(items) if len(items) == len(value) else None


def _stage_facts(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    facts = checker.mapping(top.get("facts"), top.where("facts"), "facts")
    keys = {"type": True, "label": True, "help": False, "values": False, "required": False,
            "default": False, "min": False, "max": False, "personal": False}  # fmt: skip
    for fname, entry, where, path in _named_entries(
        checker, facts, "facts", keys, draft.declared_facts
    ):
        spec = _fact_spec(checker, fname, entry, where, path)
        if spec is not None:
            draft.facts[fname] = spec
    if facts is not None and not facts:
        checker.error("missing-key", "declare at least one fact", top.where("facts"), "facts")


def _fact_spec(
    checker: _Checker, name: str, entry: MarkedDict, where: SourceLocation, path: str
) -> FactSpec | None:
    ftype = _fact_type(checker, entry, path)
    label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
    help_text = None
    if "help" in entry:
        help_text = checker.text(entry["help"], entry.where("help"), f"{path}.help")
    values = _enum_values(checker, entry, ftype, path)
    required = entry.get("required", True)
    if not isinstance(required, bool):
        checker.error("wrong-type", "required is true or false", entry.where("required"),
                      f"{path}.required")  # fmt: skip
        return None
    if ftype is None or label is None or values is None:
        return None
    default = _fact_default(checker, entry, ftype, values, required, path)
    bounds = _bounds(checker, entry, ftype, path)
    if bounds is None or (not required and default is None):
        return None
    personal = entry.get("personal", False) is True
    return FactSpec(name, ftype, label, where, help_text, values, required, default, *bounds,
                    personal=personal)  # fmt: skip


def _enum_values(
    checker: _Checker, entry: MarkedDict, ftype: FactType | None, path: str
) -> tuple[EnumValue, ...] | None:
    raw = entry.get("values")
    is_enum = ftype in (FactType.ENUM, FactType.ENUM_LIST)
    if raw is None:
        if is_enum:
            checker.error("missing-key", "an enum fact lists its values", entry.location,
                          f"{path}.values")  # fmt: skip
            return None
        return ()
    if not is_enum:
        checker.error("unknown-key", "only enum facts have values", entry.where("values"),
                      f"{path}.values")  # fmt: skip
        return None
    found: list[EnumValue] = []
    if isinstance(raw, MarkedList):
        for i, item in enumerate(raw):
            value = checker.identifier(item, raw.where(i), f"{path}.values[{i}]")
            if value:
                found.append(EnumValue(value, Text(value, value)))
    elif isinstance(raw, MarkedDict):
        for key, label_raw in raw.items():
            value = checker.identifier(key, raw.where(key), f"{path}.values.{key}")
            label = checker.text(label_raw, raw.where(key), f"{path}.values.{key}")
            if value and label:
                found.append(EnumValue(value, label))
    else:
        checker.error("wrong-type", "values is a list or a mapping value: {ja, en}",
                      entry.where("values"), f"{path}.values")  # fmt: skip
        return None
    if not found:
        return None
    return tuple(found)


def _fact_default(
    checker: _Checker,
    entry: MarkedDict,
    ftype: FactType,
    values: tuple[EnumValue, ...],
    required: bool,
    path: str,
) -> FactValue | None:
    where = entry.where("default")
    if "default" not in entry:
        if not required:
            checker.error("missing-default", "a fact that is not required needs a default",
                          entry.location, f"{path}.default")  # fmt: skip
        return None
    if required:
        checker.error("bad-value", "a required fact has no default (set required: false)",
                      where, f"{path}.default")  # fmt: skip
        return None
    raw = entry["default"]
    if ftype is FactType.DATE and raw == AS_OF:
        return AS_OF
    names = tuple(v.value for v in values)
    return _scalar_of_type(checker, raw, ftype, names, where, f"{path}.default")


def _bounds(
    checker: _Checker, entry: MarkedDict, ftype: FactType, path: str
) -> tuple[int | None, int | None] | None:
    found: list[int | None] = []
    for key in ("min", "max"):
        raw = entry.get(key)
        if raw is None:
            found.append(None)
            continue
        if ftype not in NUMERIC_TYPES:
            checker.error("unknown-key", f"{key} applies to int and money facts only",
                          entry.where(key), f"{path}.{key}")  # fmt: skip
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            checker.error("wrong-type", f"{key} must be a whole number", entry.where(key),
                          f"{path}.{key}")  # fmt: skip
            return None
        found.append(raw)
    low, high = found
    if low is not None and high is not None and low > high:
        checker.error("bad-value", "min is greater than max", entry.where("min"), f"{path}.min")
        return None
    return low, high


def _stage_outcomes(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    outcomes = checker.mapping(top.get("outcomes"), top.where("outcomes"), "outcomes")
    keys = {"kind": True, "label": True, "consequences": False, "gap": False}
    for oid, entry, _, path in _named_entries(
        checker, outcomes, "outcomes", keys, draft.declared_outcomes
    ):
        outcome = _outcome(checker, oid, entry, path)
        if outcome is not None:
            draft.outcomes[oid] = outcome
    _precedence(checker, top, draft)


def _outcome(checker: _Checker, oid: str, entry: MarkedDict, path: str) -> Outcome | None:
    kind_raw = checker.choice(entry["kind"], [k.value for k in OutcomeKind], entry.where("kind"),
                              f"{path}.kind")  # fmt: skip
    label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
    notes = _notes(checker, entry.get("consequences"), entry.where("consequences"),
                   f"{path}.consequences")  # fmt: skip
    gap = None
    if "gap" in entry:
        gap = _gap(checker, entry["gap"], entry.where("gap"), f"{path}.gap")
    elif kind_raw == OutcomeKind.UNDECIDABLE:
        checker.error("missing-gap", "an undecidable outcome must name the gap (missing, ask)",
                      entry.location, f"{path}.gap")  # fmt: skip
    if kind_raw is None or label is None or notes is None:
        return None
    return Outcome(oid, OutcomeKind(kind_raw), label, notes, gap)


def _notes(
    checker: _Checker, raw: object, where: SourceLocation, path: str
) -> tuple[Note, ...] | None:
    if raw is None:
        return ()
    items = checker.sequence(raw, where, path)
    if items is None:
        return None
    notes: list[Note] = []
    keys = {"code": True, "message": True, "cite": True}
    for i, item in enumerate(items):
        ipath = f"{path}[{i}]"
        entry = checker.mapping(item, items.where(i), ipath)
        if entry is None or not checker.known_keys(entry, keys, ipath):
            continue
        code = checker.identifier(entry["code"], entry.where("code"), f"{ipath}.code")
        message = checker.text(entry["message"], entry.where("message"), f"{ipath}.message")
        cite = checker.cite(entry["cite"], entry.where("cite"), f"{ipath}.cite")
        if code and message and cite:
            notes.append(Note(code, message, cite))
    return tuple(notes)


def _gap(checker: _Checker, raw: object, where: SourceLocation, path: str) -> Gap | None:
    entry = checker.mapping(raw, where, path)
    if entry is None or not checker.known_keys(entry, {"missing": True, "ask": True}, path):
        return None
    missing = checker.text(entry["missing"], entry.where("missing"), f"{path}.missing")
    ask = checker.text(entry["ask"], entry.where("ask"), f"{path}.ask")
    return Gap(missing, ask) if missing and ask else None


def _precedence(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    mode = checker.choice(top.get("decide"), ["first_match", "collect"], top.where("decide"),
                          "decide")  # fmt: skip
    draft.header["decide"] = mode
    raw = top.get("precedence")
    if mode == "first_match":
        if raw is not None:
            checker.error("unknown-key", "precedence applies to decide: collect only",
                          top.where("precedence"), "precedence")  # fmt: skip
        return
    if mode != "collect":
        return
    items = checker.sequence(raw, top.where("precedence"), "precedence")
    if items is None:
        return
    order: list[str] = []
    for i, item in enumerate(items):
        oid = checker.choice(
            item, sorted(draft.declared_outcomes), items.where(i), f"precedence[{i}]"
        )
        if oid in order:
            checker.error("duplicate-id", f"{oid!r} is listed twice", items.where(i),
                          f"precedence[{i}]")  # fmt: skip
        elif oid:
            order.append(oid)
    missing = sorted(o for o in draft.declared_outcomes if o not in order)
    if missing:
        checker.error("bad-value", f"precedence must list every outcome; missing {missing}",
                      top.where("precedence"), "precedence")  # fmt: skip
    draft.precedence = tuple(order)


def _stage_rules(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    items = checker.sequence(top.get("rules"), top.where("rules"), "rules")
    keys = {"id": True, "when": True, "outcome": True, "reason": True, "message": True, "cite": False}  # cite: own error  # fmt: skip
    seen_ids: set[str] = set()
    seen_reasons: dict[str, str] = {}
    for i, item in enumerate(items or []):
        path = f"rules[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None:
            continue
        checker.known_keys(entry, keys, path)
        rule = _rule(checker, entry, draft, path)
        if rule is None:
            continue
        if rule.id in seen_ids:
            checker.error("duplicate-id", f"rule id {rule.id!r} is used twice", entry.where("id"),
                          f"{path}.id")  # fmt: skip
            continue
        code = rule.reason.code
        if seen_reasons.get(code, rule.outcome) != rule.outcome:
            checker.error("duplicate-id", f"reason {code!r} is used with two outcomes",
                          entry.where("reason"), f"{path}.reason")  # fmt: skip
        seen_ids.add(rule.id)
        seen_reasons[code] = rule.outcome
        draft.rules.append(rule)
    if items is not None and not items:
        checker.error("missing-key", "write at least one rule", top.where("rules"), "rules")


def _rule(checker: _Checker, entry: MarkedDict, draft: _Draft, path: str) -> Rule | None:
    rid = checker.identifier(entry.get("id"), entry.where("id"), f"{path}.id")
    outcome = checker.choice(entry.get("outcome"), sorted(draft.declared_outcomes),
                             entry.where("outcome"), f"{path}.outcome")  # fmt: skip
    reason = _reason(checker, entry, draft, path)
    condition = None
    if "when" in entry:
        condition = _ConditionReader(checker, draft).read(entry["when"], entry.where("when"),
                                                          f"{path}.when")  # fmt: skip
    if rid is None or outcome is None or reason is None or condition is None:
        return None
    return Rule(rid, condition, outcome, reason, entry.location)


def _reason(checker: _Checker, entry: MarkedDict, draft: _Draft, path: str) -> Note | None:
    code = checker.identifier(entry.get("reason"), entry.where("reason"), f"{path}.reason")
    message = checker.text(entry.get("message"), entry.where("message"), f"{path}.message")
    cite = checker.cite(entry.get("cite"), entry.where("cite"), f"{path}.cite")
    if cite and cite.reading and cite.reading not in draft.readings:
        checker.error(
            "unknown-reading",
            f"reading {cite.reading!r} is not under readings{suggest(cite.reading, draft.readings)}",
            entry.where("cite"),
            f"{path}.cite.reading",
        )
        return None
    if code and message and cite:
        return Note(code, message, cite)
    return None


@dataclass
class _ConditionReader:
    """Parses the ``when:`` language into model conditions, checking facts, values and types."""

    checker: _Checker
    draft: _Draft

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
                self.checker.error("wrong-type", "fact names a declared fact", entry.where("fact"),
                                   f"{path}.fact")  # fmt: skip
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
        if any(p is None for p in parts):
            return None
        done = tuple(cast(Condition, p) for p in parts)
        return AllOf(done) if key == "all" else AnyOf(done)

    def _comparison(
        self, fact_name: str, word: str, raw: object, where: SourceLocation, path: str
    ) -> Condition | None:
        spec = self.draft.facts.get(fact_name)
        if spec is None and fact_name in self.draft.declared_facts:
            return None  # its declaration already has an error
        if spec is None:
            self.checker.error(
                "unknown-fact",
                f"condition uses {fact_name!r}, which is not declared under facts"
                f"{suggest(fact_name, self.draft.facts)}",
                where,
                f"{path}.fact" if not path.endswith(fact_name) else path,
            )
            return None
        allowed = COMPARISONS.get(word, (None, COMPOUND_COMPARISONS.get(word)))[1]
        if allowed is None:
            words = [*COMPARISONS, *COMPOUND_COMPARISONS]
            self.checker.error("unknown-comparison", f"unknown comparison {word!r}"
                               f"{suggest(word, words)}", where, f"{path}.{word}")  # fmt: skip
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
        name = spec.name
        if word == "between":
            pair = raw if isinstance(raw, list) and len(raw) == 2 else None
            if pair is None:
                self.checker.error("wrong-type", "between takes [low, high]", where, path)
                return None
            low, high = (self._operand(spec, v, where, path, "ge") for v in pair)
            if low is None or high is None:
                return None
            return AllOf((Compare(name, "ge", low, where), Compare(name, "le", high, where)))
        if word == "is_empty":
            if not isinstance(raw, bool):
                self.checker.error("wrong-type", "is_empty takes true or false", where, path)
                return None
            return Compare(name, "is_empty" if raw else "not_empty", None, where)
        if word in ("includes_any", "includes_all", "includes_none"):
            values = self._list_operand(spec, raw, where, path)
            if values is None:
                return None
            op: Operator = "excludes" if word == "includes_none" else "includes"
            parts = tuple(Compare(name, op, v, where) for v in values)
            return AnyOf(parts) if word == "includes_any" else AllOf(parts)
        op = COMPARISONS[word][0]
        if op in ("in", "not_in", "only_from"):
            values = self._list_operand(spec, raw, where, path)
            return Compare(name, op, values, where) if values is not None else None
        operand = self._operand(spec, raw, where, path, op)
        return Compare(name, op, operand, where) if operand is not None else None

    def _list_operand(
        self, spec: FactSpec, raw: object, where: SourceLocation, path: str
    ) -> tuple[Any, ...] | None:
        if not isinstance(raw, list) or not raw:
            self.checker.error("wrong-type", "expected a non-empty list of values", where, path)
            return None
        item_type = FactType.ENUM if spec.type is FactType.ENUM_LIST else spec.type
        values = [
            _scalar_of_type(self.checker, v, item_type, spec.value_names, where, f"{path}[{i}]")
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
        return _scalar_of_type(self.checker, raw, item_type, spec.value_names, where, path)

    def _param(self, spec: FactSpec, name: object, where: SourceLocation, path: str) -> Operand:
        param = self.draft.parameters.get(name) if isinstance(name, str) else None
        if param is None:
            self.checker.error("unknown-parameter", f"{_show(name)} is not under parameters"
                               f"{suggest(name, self.draft.parameters)}", where, path)  # fmt: skip
            return None
        if not _comparable(param.type, spec.type):
            self.checker.error("type-mismatch", f"parameter {param.name!r} is a {param.type.value},"
                               f" fact {spec.name!r} a {spec.type.value}", where, path)  # fmt: skip
            return None
        return param.value

    def _fact_ref(
        self, spec: FactSpec, name: object, where: SourceLocation, path: str, op: str
    ) -> Operand:
        other = self.draft.facts.get(name) if isinstance(name, str) else None
        if other is None:
            self.checker.error("unknown-fact", f"{_show(name)} is not declared under facts"
                               f"{suggest(name, self.draft.facts)}", where, path)  # fmt: skip
            return None
        if op not in FACT_REF_OPERATORS or not _comparable(other.type, spec.type):
            self.checker.error("type-mismatch", f"cannot compare {spec.type.value} fact "
                               f"{spec.name!r} with {other.type.value} fact {other.name!r}"
                               " this way", where, path)  # fmt: skip
            return None
        if other.type is FactType.ENUM and other.value_names != spec.value_names:
            self.checker.error("type-mismatch", "enum facts compared with each other must have"
                               " the same values", where, path)  # fmt: skip
            return None
        return FactRef(other.name)


def _comparable(a: FactType, b: FactType) -> bool:
    return a == b or (a in NUMERIC_TYPES and b in NUMERIC_TYPES)


def _stage_default(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    entry = checker.mapping(top.get("default"), top.where("default"), "default")
    keys = {"outcome": True, "reason": True, "message": True, "cite": True}
    if entry is None or not checker.known_keys(entry, keys, "default"):
        return
    outcome = checker.choice(entry["outcome"], sorted(draft.declared_outcomes),
                             entry.where("outcome"), "default.outcome")  # fmt: skip
    reason = _reason(checker, entry, draft, "default")
    if outcome and reason:
        draft.default = (outcome, reason)


def _stage_examples(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    items = checker.sequence(top.get("examples"), top.where("examples"), "examples")
    if items is not None and not items:
        checker.error("missing-key", "give at least one example", top.where("examples"),
                      "examples")  # fmt: skip
    if checker.failed:
        return  # examples are checked against a sound rule set only
    normalizer = FactNormalizer(_assemble(top, draft, checker.file))
    reasons = {r.reason.code for r in draft.rules}
    if draft.default:
        reasons.add(draft.default[1].code)
    keys = {"note": True, "facts": True, "as_of": False, "expect": True}
    for i, item in enumerate(items or []):
        path = f"examples[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None or not checker.known_keys(entry, keys, path):
            continue
        example = _example(checker, entry, draft, normalizer, reasons, path)
        if example is not None:
            draft.examples.append(example)


def _example(
    checker: _Checker,
    entry: MarkedDict,
    draft: _Draft,
    normalizer: FactNormalizer,
    reasons: set[str],
    path: str,
) -> Example | None:
    note = checker.string(entry["note"], entry.where("note"), f"{path}.note")
    as_of = None
    if entry.get("as_of") is not None:
        as_of = checker.a_date(entry["as_of"], entry.where("as_of"), f"{path}.as_of")
    facts = checker.mapping(entry["facts"], entry.where("facts"), f"{path}.facts")
    if facts is not None:
        plain = to_plain(facts)
        try:
            normalizer.normalize(plain, as_of or today_in_tokyo())
        except FactsError as exc:
            for field_path, problems in exc.fields.items():
                key = field_path.split(".")[0]
                checker.error("bad-example-facts", f"{field_path}: {_join_problems(problems)}",
                              facts.where(key), f"{path}.facts.{field_path}")  # fmt: skip
            facts = None
    expect = checker.mapping(entry["expect"], entry.where("expect"), f"{path}.expect")
    if expect is None or not checker.known_keys(expect, {"outcome": True, "reasons": True},
                                                f"{path}.expect"):  # fmt: skip
        return None
    outcome = checker.choice(expect["outcome"], draft.outcomes, expect.where("outcome"),
                             f"{path}.expect.outcome")  # fmt: skip
    codes = _expected_reasons(checker, expect, reasons, f"{path}.expect.reasons")
    if note is None or facts is None or outcome is None or codes is None:
        return None
    return Example(note, to_plain(facts), outcome, codes, entry.location, as_of)


def _join_problems(problems: object) -> str:
    return "; ".join(map(str, problems)) if isinstance(problems, list) else str(problems)


def _expected_reasons(
    checker: _Checker, expect: MarkedDict, reasons: set[str], path: str
) -> frozenset[str] | None:
    items = checker.sequence(expect["reasons"], expect.where("reasons"), path)
    if items is None:
        return None
    codes = [checker.choice(c, sorted(reasons), items.where(i), f"{path}[{i}]")
             for i, c in enumerate(items)]  # fmt: skip
    if any(c is None for c in codes):
        return None
    return frozenset(cast(list[str], codes))


def to_plain(value: Any) -> Any:
    """Marked YAML containers → plain JSON-like values (dates as ISO strings), as an API caller sends."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _stage_cross_checks(checker: _Checker, top: MarkedDict, draft: _Draft) -> None:
    """Whole-file checks: citations name declared sources; outcomes used; rules exemplified."""
    declared = {s.file for s in draft.header.get("sources") or ()}
    for where, path, cite in _citations(draft, checker.file):
        if declared and cite.source not in declared:
            checker.error("undeclared-source", f"{cite.source!r} is not listed under sources"
                          f"{suggest(cite.source, declared)}", where, path)  # fmt: skip
    used = {r.outcome for r in draft.rules}
    if draft.default:
        used.add(draft.default[0])
    for oid in draft.outcomes:
        if oid not in used:
            checker.warn("unused-outcome", f"outcome {oid!r} is never given",
                         top["outcomes"].where(oid), f"outcomes.{oid}")  # fmt: skip
    if checker.failed:
        return  # examples were not checked, so coverage would be noise
    covered = {code for ex in draft.examples for code in ex.expect_reasons}
    for rule in draft.rules:
        if rule.reason.code not in covered:
            checker.warn("rule-without-example", f"no example expects reason {rule.reason.code!r}"
                         f" (rule {rule.id!r})", rule.location, f"rules.{rule.id}")  # fmt: skip


def _citations(draft: _Draft, file: str) -> list[tuple[SourceLocation, str, Citation]]:
    found = [(r.location, f"rules.{r.id}.cite", r.reason.cite) for r in draft.rules]
    for outcome in draft.outcomes.values():
        for note in outcome.consequences:
            found.append((SourceLocation(file), f"outcomes.{outcome.id}.consequences", note.cite))
    for reading in draft.readings.values():
        found.append((SourceLocation(file), f"readings.{reading.id}.cite", reading.cite))
    if draft.default:
        found.append((SourceLocation(file), "default.cite", draft.default[1].cite))
    return found


#: Order matters: facts before rules (conditions name facts), outcomes before rules and default,
#: rules and default before examples (expected reasons must exist), examples last but for cross-checks.
STAGES: tuple[Callable[[_Checker, MarkedDict, _Draft], None], ...] = (
    _stage_header,
    _stage_readings,
    _stage_parameters,
    _stage_facts,
    _stage_outcomes,
    _stage_rules,
    _stage_default,
    _stage_examples,
    _stage_cross_checks,
)


def _assemble(top: MarkedDict, draft: _Draft, file: str) -> RuleSet:
    h = draft.header
    assert draft.default is not None
    default_outcome, default_reason = draft.default
    return RuleSet(
        id=h["id"],
        version=h["version"],
        title=h["title"],
        region=h["region"],
        effective_from=h["effective_from"],
        effective_to=h["effective_to"],
        sources=h["sources"],
        facts=tuple(draft.facts.values()),
        outcomes=tuple(draft.outcomes.values()),
        decide=cast(DecideMode, h["decide"]),
        precedence=draft.precedence,
        default_outcome=default_outcome,
        default_reason=default_reason,
        rules=tuple(draft.rules),
        examples=tuple(draft.examples),
        file=file,
        description=h.get("description"),
        readings=tuple(draft.readings.values()),
        parameters=tuple(draft.parameters.values()),
    )
