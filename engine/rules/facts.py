"""Fact schemas: the rule set's ``facts:`` section turned into input validation and JSON Schema.

The fact schema in the YAML file is the single source of truth for what a caller may send. From it we
generate a marshmallow schema (used by the engine, the API and the form) and a JSON Schema (served to
clients and editors), so no rule set ever needs a hand-written schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import RAISE, ValidationError, fields, validate

from ..errors import FactsError
from ..format.common import MAX_STRING_LENGTH
from ..jsontext import dumps_facts
from ..messages import Code, Message
from ..messages.schema import CodedSchema
from .model import AS_OF, FactSpec, FactType, FactValue, RuleSet


class StrictInteger(fields.Integer):
    """An integer field that refuses booleans, floats and numeric strings.

    JSON ``true`` is an ``int`` in Python and marshmallow would accept ``"3"``; for contract decisions a
    wrong type must be an error the caller sees, not a silent conversion.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class StrictBoolean(fields.Boolean):
    """Only JSON ``true``/``false``: ``"yes"``, ``1`` or ``"false"`` are errors, not guesses."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    """A string that must really be a JSON string (marshmallow would not coerce, but be explicit)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


#: The largest magnitude an ``int`` or ``money`` value may have, in a request or in a rule file:
#: 2⁵³ − 1. durable_rules holds integers as int64 and compares them exactly, but reads a larger one as
#: a double (measured: there 2⁶³ > 2⁶³ − 1 is false, so ``passport_purchase`` once said yes to an
#: amount over its limit). Every comparison the compiler emits is between two such integers, with no
#: arithmetic, so int64 would do; the bound is the largest integer a double also holds exactly, so
#: that the table's probes (a cut point ± 1), a sum of two facts, and a client reading JSON numbers as
#: doubles (the page's script, I-JSON) stay exact too. docs/rule-format.md states it.
MAX_EXACT_INTEGER = 2**53 - 1


def integer_bounds(spec: FactSpec) -> tuple[int, int]:
    """The values an ``int``/``money`` fact accepts: its declared ``min``/``max``, and on a side it
    leaves open (or declares beyond the bound, which ``flets-elig check`` refuses) the engine's exact
    range. The marshmallow field and the decision table's validator both accept exactly these."""
    low = -MAX_EXACT_INTEGER if spec.minimum is None else max(spec.minimum, -MAX_EXACT_INTEGER)
    high = MAX_EXACT_INTEGER if spec.maximum is None else min(spec.maximum, MAX_EXACT_INTEGER)
    return low, high


class ExactInteger(validate.Validator):
    """Refuses an integer durable_rules cannot compare exactly, on the sides a fact's declared range
    leaves open: where a ``min``/``max`` is declared, its own message speaks (one message per value)."""

    def __init__(self, spec: FactSpec) -> None:
        low, high = integer_bounds(spec)
        self.low = None if spec.minimum == low else low
        self.high = None if spec.maximum == high else high
        self.message = Message(Code.INTEGER_OUT_OF_RANGE, min=low, max=high)
        self.error = self.message  # coded (engine.messages.schema.uncoded_messages looks here)

    def __call__(self, value: int) -> int:
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValidationError(self.message)
        return value


def _one_of(spec: FactSpec) -> validate.OneOf:
    return validate.OneOf(spec.value_names)


def _range(spec: FactSpec) -> list[validate.Validator]:
    declared: list[validate.Validator] = []
    if spec.minimum is not None or spec.maximum is not None:
        declared.append(validate.Range(min=spec.minimum, max=spec.maximum))
    return [*declared, ExactInteger(spec)]


def _unique_items(items: list[str]) -> list[str]:
    if len(set(items)) != len(items):
        raise ValidationError(Message(Code.ITEMS_REPEAT))
    return items


def marshmallow_field(spec: FactSpec) -> fields.Field[Any]:
    """The marshmallow field for one fact, carrying label and help for documentation."""
    metadata = {"title": spec.label.en, "description": spec.help.en if spec.help else spec.label.ja}
    common: dict[str, Any] = {"required": spec.required, "metadata": metadata}
    match spec.type:
        case FactType.BOOL:
            return StrictBoolean(**common)
        case FactType.INT | FactType.MONEY:
            return StrictInteger(validate=_range(spec), **common)
        case FactType.ENUM:
            return StrictString(validate=_one_of(spec), **common)
        case FactType.ENUM_LIST:
            return fields.List(
                StrictString(validate=_one_of(spec)),
                validate=[validate.Length(max=len(spec.values)), _unique_items],
                **common,
            )
        case FactType.DATE:
            return fields.Date(**common)
        case FactType.STRING:
            return StrictString(validate=validate.Length(max=MAX_STRING_LENGTH), **common)
    raise AssertionError(f"unhandled fact type {spec.type}")  # pragma: no cover


def facts_schema_class(ruleset: RuleSet) -> type[CodedSchema]:
    """A marshmallow Schema class for the rule set's facts; unknown fields are refused, and every message
    is coded (:mod:`engine.messages.schema`) so the API can answer in Japanese or English."""
    attrs: dict[str, Any] = {spec.name: marshmallow_field(spec) for spec in ruleset.facts}
    attrs["Meta"] = type("Meta", (), {"unknown": RAISE})
    name = "".join(part.title() for part in ruleset.id.split("_")) + "Facts"
    return type(name, (CodedSchema,), attrs)


class FactNormalizer:
    """Validates raw facts and fills defaults, producing the facts the rules see.

    Built once per rule set: creating marshmallow schemas is far slower than using one.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self._specs = ruleset.facts
        self._schema = facts_schema_class(ruleset)()

    def normalize(self, raw: object, as_of: date) -> dict[str, FactValue]:
        """Return every declared fact with a value, or raise :class:`FactsError` naming each bad field."""
        if not isinstance(raw, Mapping):
            raise FactsError({"_schema": [Message(Code.FACTS_NOT_AN_OBJECT)]})
        try:
            loaded: dict[str, Any] = self._schema.load(raw)
        except ValidationError as exc:
            raise FactsError(_flatten(exc.normalized_messages())) from None  # type: ignore[no-untyped-call]
        return {spec.name: _value_or_default(spec, loaded, as_of) for spec in self._specs}


def _value_or_default(spec: FactSpec, loaded: Mapping[str, Any], as_of: date) -> FactValue:
    if spec.name in loaded:
        value = loaded[spec.name]
    elif spec.default == AS_OF and spec.type is FactType.DATE:
        value = as_of
    else:
        value = spec.default
    if spec.type is FactType.ENUM_LIST:
        return tuple(value)
    return value  # type: ignore[no-any-return]


def _flatten(messages: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict → ``{"field.0": ["reason"]}``, the shape the API returns; the
    reasons stay :class:`~engine.messages.Message` objects."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = list(value) if isinstance(value, list) else [value]
    return flat


def facts_to_json(facts: Mapping[str, FactValue]) -> dict[str, object]:
    """Normalised facts as JSON values (dates as ISO strings, lists as lists)."""
    out: dict[str, object] = {}
    for name, value in facts.items():
        if isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def facts_json_text(facts: Mapping[str, FactValue]) -> str:
    """``json.dumps(facts_to_json(facts))``, compact, in one pass (the hot path of every response and
    log row)."""
    return dumps_facts(facts)


def fact_json_schema(spec: FactSpec) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one fact, with labels and help in both languages."""
    schema: dict[str, Any]
    match spec.type:
        case FactType.BOOL:
            schema = {"type": "boolean"}
        case FactType.INT | FactType.MONEY:
            low, high = integer_bounds(spec)
            schema = {"type": "integer", "minimum": low, "maximum": high}
        case FactType.ENUM:
            schema = {"type": "string", "enum": list(spec.value_names)}
        case FactType.ENUM_LIST:
            schema = {
                "type": "array",
                "items": {"type": "string", "enum": list(spec.value_names)},
                "uniqueItems": True,
            }
        case FactType.DATE:
            schema = {"type": "string", "format": "date"}
        case FactType.STRING:
            schema = {"type": "string", "maxLength": MAX_STRING_LENGTH}
    schema["title"] = spec.label.en
    schema["x-label"] = spec.label.to_dict()
    schema["x-fact-type"] = spec.type.value
    if spec.help:
        schema["description"] = spec.help.en
        schema["x-help"] = spec.help.to_dict()
    if spec.values:
        schema["x-value-labels"] = {v.value: v.label.to_dict() for v in spec.values}
    if not spec.required:
        default = spec.default
        schema["default"] = list(default) if isinstance(default, tuple) else _json_default(default)
    if spec.personal:
        schema["x-personal"] = True
    # For partial answers and what-ifs (engine.rules.partial): must be asked, never proposed to change,
    # and the value that means "not known yet".
    if spec.ask:
        schema["x-ask"] = True
    if spec.fixed:
        schema["x-fixed"] = True
    if spec.unknown_value is not None:
        schema["x-unknown-value"] = spec.unknown_value
    return schema


def _json_default(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def facts_json_schema(ruleset: RuleSet) -> dict[str, Any]:
    """The JSON Schema of a rule set's ``facts`` object."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [s.name for s in ruleset.facts if s.required],
        "properties": {s.name: fact_json_schema(s) for s in ruleset.facts},
    }
