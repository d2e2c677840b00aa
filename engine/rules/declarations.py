"""The ``parameters:`` and ``facts:`` sections of a rule file: the names its rules may use, with types.

Also the one check that a constant written in the file fits a fact type (:func:`scalar_of_type`), used
for parameter values, fact defaults and the operands of conditions alike.
"""

from __future__ import annotations

from ..errors import SourceLocation
from ..format.checker import Checker, describe, join_path, parse_date, show, suggest
from ..format.common import PROVENANCES
from ..format.loader import MarkedDict, MarkedList
from ..messages.language import Text
from .facts import MAX_EXACT_INTEGER
from .model import AS_OF, NUMERIC_TYPES, EnumValue, FactSpec, FactType, FactValue, Parameter

PARAMETER_KEYS = {
    "type": True,
    "value": True,
    "provenance": True,
    "label": True,
    "note": False,
    "cite": False,
}
FACT_KEYS = {
    "type": True,
    "label": True,
    "help": False,
    "values": False,
    "required": False,
    "default": False,
    "min": False,
    "max": False,
    "personal": False,
    "ask": False,
    "fixed": False,
    "unknown_value": False,
}

FACT_TYPES = tuple(t.value for t in FactType)


def read_parameters(checker: Checker, top: MarkedDict) -> dict[str, Parameter]:
    """The ``parameters:`` section (optional): figures a policy owner sets, with their provenance."""
    found: dict[str, Parameter] = {}
    if top.get("parameters") is None:
        return found
    params = checker.mapping(top["parameters"], top.where("parameters"), "parameters")
    for pname, entry, where, path in checker.entries(params, "parameters", PARAMETER_KEYS):
        ptype = fact_type(checker, entry, path)
        provenance = checker.choice(
            entry["provenance"], entry.where("provenance"), f"{path}.provenance", PROVENANCES
        )
        label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
        cite = None
        if "cite" in entry:
            cite = checker.cite(entry["cite"], entry.where("cite"), f"{path}.cite")
        if ptype in (None, FactType.ENUM_LIST, FactType.ENUM):
            if ptype is not None:
                checker.error(
                    "bad-value",
                    "parameters are bool, int, money, date or string",
                    entry.where("type"),
                    f"{path}.type",
                )
            continue
        value = scalar_of_type(
            checker, entry["value"], ptype, (), entry.where("value"), f"{path}.value"
        )
        note: str | None = ""
        if "note" in entry:
            note = checker.string(entry["note"], entry.where("note"), f"{path}.note")
        if value is not None and provenance and label and note is not None:
            found[pname] = Parameter(pname, ptype, value, provenance, label, where, note, cite)
    return found


def read_facts(checker: Checker, top: MarkedDict, declared: set[str]) -> dict[str, FactSpec]:
    """The ``facts:`` section: the input schema. Every name, even a faulty one, goes into ``declared``."""
    found: dict[str, FactSpec] = {}
    facts = checker.mapping(top.get("facts"), top.where("facts"), "facts")
    for fname, entry, where, path in checker.entries(facts, "facts", FACT_KEYS, declared):
        spec = _fact_spec(checker, fname, entry, where, path)
        if spec is not None:
            found[fname] = spec
    if facts is not None and not facts:
        checker.error("missing-key", "declare at least one fact", top.where("facts"), "facts")
    return found


def fact_type(checker: Checker, entry: MarkedDict, path: str) -> FactType | None:
    raw = checker.choice(entry.get("type"), entry.where("type"), f"{path}.type", FACT_TYPES)
    return FactType(raw) if raw else None


def _fact_spec(
    checker: Checker, name: str, entry: MarkedDict, where: SourceLocation, path: str
) -> FactSpec | None:
    ftype = fact_type(checker, entry, path)
    label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
    help_text = None
    if "help" in entry:
        help_text = checker.text(entry["help"], entry.where("help"), f"{path}.help")
    values = _enum_values(checker, entry, ftype, path)
    required = checker.flag(
        entry.get("required", True), entry.where("required"), f"{path}.required"
    )
    # Only a real boolean: ``personal: "true"`` or ``1`` would otherwise leave the fact unmasked in
    # the decision log without a word.
    personal = checker.flag(
        entry.get("personal", False), entry.where("personal"), f"{path}.personal"
    )
    if required is None or personal is None:
        return None
    if ftype is None or label is None or values is None:
        return None
    default = _fact_default(checker, entry, ftype, values, required, path)
    bounds = _bounds(checker, entry, ftype, path)
    partial = _partial_keys(checker, entry, ftype, values, path)
    if bounds is None or partial is None or (not required and default is None):
        return None
    ask, fixed, unknown_value = partial
    return FactSpec(
        name,
        ftype,
        label,
        where,
        help_text,
        values,
        required,
        default,
        *bounds,
        personal=personal,
        ask=ask,
        fixed=fixed,
        unknown_value=unknown_value,
    )


def _partial_keys(
    checker: Checker, entry: MarkedDict, ftype: FactType, values: tuple[EnumValue, ...], path: str
) -> tuple[bool, bool, str | None] | None:
    """``ask``, ``fixed`` and ``unknown_value``: what partial answers and what-ifs need to know of a
    fact (:mod:`engine.rules.partial`). Flags are real booleans, as ``personal``; ``unknown_value``
    names one of an enum fact's own values."""
    ask = checker.flag(entry.get("ask", False), entry.where("ask"), f"{path}.ask")
    fixed = checker.flag(entry.get("fixed", False), entry.where("fixed"), f"{path}.fixed")
    unknown_value: str | None = None
    if "unknown_value" in entry:
        where = entry.where("unknown_value")
        if ftype is not FactType.ENUM:
            checker.error(
                "unknown-key",
                "unknown_value applies to enum facts only",
                where,
                f"{path}.unknown_value",
            )
            return None
        found = scalar_of_type(
            checker,
            entry["unknown_value"],
            ftype,
            tuple(v.value for v in values),
            where,
            f"{path}.unknown_value",
        )
        if not isinstance(found, str):
            return None
        unknown_value = found
    if ask is None or fixed is None:
        return None
    return ask, fixed, unknown_value


def _enum_values(
    checker: Checker, entry: MarkedDict, ftype: FactType | None, path: str
) -> tuple[EnumValue, ...] | None:
    raw = entry.get("values")
    is_enum = ftype in (FactType.ENUM, FactType.ENUM_LIST)
    if raw is None:
        if is_enum:
            checker.error(
                "missing-key", "an enum fact lists its values", entry.location, f"{path}.values"
            )
            return None
        return ()
    if not is_enum:
        checker.error(
            "unknown-key", "only enum facts have values", entry.where("values"), f"{path}.values"
        )
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
        checker.error(
            "wrong-type",
            "values is a list or a mapping value: {ja, en}",
            entry.where("values"),
            f"{path}.values",
        )
        return None
    if not raw:
        checker.error(
            "missing-key", "an enum fact lists its values", entry.where("values"), f"{path}.values"
        )
    if not found:
        return None
    return tuple(found)


def _fact_default(
    checker: Checker,
    entry: MarkedDict,
    ftype: FactType,
    values: tuple[EnumValue, ...],
    required: bool,
    path: str,
) -> FactValue | None:
    where = entry.where("default")
    if "default" not in entry:
        if not required:
            checker.error(
                "missing-default",
                "a fact that is not required needs a default",
                entry.location,
                f"{path}.default",
            )
        return None
    if required:
        checker.error(
            "bad-value",
            "a required fact has no default (set required: false)",
            where,
            f"{path}.default",
        )
        return None
    raw = entry["default"]
    if ftype is FactType.DATE and raw == AS_OF:
        return AS_OF
    names = tuple(v.value for v in values)
    return scalar_of_type(checker, raw, ftype, names, where, f"{path}.default")


def _bounds(
    checker: Checker, entry: MarkedDict, ftype: FactType, path: str
) -> tuple[int | None, int | None] | None:
    found: list[int | None] = []
    for key in ("min", "max"):
        raw = entry.get(key)
        if raw is None:
            found.append(None)
            continue
        if ftype not in NUMERIC_TYPES:
            checker.error(
                "unknown-key",
                f"{key} applies to int and money facts only",
                entry.where(key),
                f"{path}.{key}",
            )
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            checker.error(
                "wrong-type", f"{key} must be a whole number", entry.where(key), f"{path}.{key}"
            )
            return None
        if not exact_integer(checker, raw, entry.where(key), f"{path}.{key}"):
            return None
        found.append(raw)
    low, high = found
    if low is not None and high is not None and low > high:
        checker.error("bad-value", "min is greater than max", entry.where("min"), f"{path}.min")
        return None
    return low, high


def exact_integer(checker: Checker, number: int, where: SourceLocation, path: str) -> bool:
    """Whether ``number`` lies in the range durable_rules compares exactly (:data:`MAX_EXACT_INTEGER`);
    reports ``number-out-of-range`` when not. Every ``min``, ``max`` and integer constant passes here,
    so no declared range and no comparison of a rule file can reach beyond the engine's exact range."""
    if -MAX_EXACT_INTEGER <= number <= MAX_EXACT_INTEGER:
        return True
    # Short, and never str() of a huge number (Python refuses over 4,300 digits; YAML reads 0x… too).
    text = str(number) if number.bit_length() <= 64 else f"a number of {number.bit_length()} bits"
    checker.error(
        "number-out-of-range",
        f"{text} is beyond ±{MAX_EXACT_INTEGER} (2**53 - 1), "
        "the largest whole numbers the engine compares exactly",
        where,
        path,
    )
    return False


def scalar_of_type(
    checker: Checker,
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
            if ok is not None and not exact_integer(checker, ok, where, path):
                return None
        case FactType.DATE:
            ok = parse_date(value)
        case FactType.STRING:
            ok = value if isinstance(value, str) else None
        case FactType.ENUM:
            if isinstance(value, str) and value in enum_values:
                return value
            checker.error(
                "value-not-in-enum",
                f"{show(value)} is not a value of this fact: {', '.join(enum_values)}"
                f"{suggest(value, enum_values)}",
                where,
                path,
            )
            return None
        case FactType.ENUM_LIST:
            return _enum_tuple(checker, value, enum_values, where, path)
    if ok is None:
        checker.error("type-mismatch", f"{describe(value)} is not a {ftype.value}", where, path)
    return ok


def _enum_tuple(
    checker: Checker, value: object, enum_values: tuple[str, ...], where: SourceLocation, path: str
) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        checker.error("type-mismatch", f"{describe(value)} is not a list", where, path)
        return None
    items: list[str] = []
    for i, item in enumerate(value):
        found = scalar_of_type(checker, item, FactType.ENUM, enum_values, where, join_path(path, i))
        if isinstance(found, str):
            items.append(found)
    return tuple(items) if len(items) == len(value) else None
