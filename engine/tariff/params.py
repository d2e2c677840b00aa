"""Request parameters: parsing the JSON a caller sends against an item's parameter specs.

Every problem becomes a coded :class:`~engine.messages.Message` under the field's path
(``items.0.params.size_mb``), all of them at once, so the web app can answer 422 naming each field in
the caller's language. The same specs yield the JSON Schema that
``describe`` publishes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..format.common import MAX_STRING_LENGTH
from ..messages import Code, Message
from .model import ParamSpec, number_json
from .periods import FIRST_DAY, FIRST_MONTH, LAST_DAY, LAST_MONTH, YearMonth

FieldErrors = dict[str, list[str]]

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadValue(ValueError):
    """A parameter value of the wrong type or shape; ``message`` is shown to the caller (``str()`` of
    the error is its English, for the tariff validator's diagnostics)."""

    def __init__(self, code: Code, **params: object) -> None:
        self.message = Message(code, **params)
        super().__init__(self.message)


def _int(value: Any, spec: ParamSpec) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(Code.NOT_AN_INTEGER)
    return value


def _decimal(value: Any, spec: ParamSpec) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BadValue(Code.NOT_A_NUMBER)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadValue(Code.NOT_A_NUMBER) from None
    if not number.is_finite():
        raise BadValue(Code.NOT_A_NUMBER)
    return number


def _bool(value: Any, spec: ParamSpec) -> bool:
    if not isinstance(value, bool):
        raise BadValue(Code.PARAM_NOT_A_BOOLEAN)
    return value


def _in_calendar(day: date) -> None:
    """Refuse a day outside the calendar the kinds' arithmetic covers (:data:`.periods.FIRST_DAY` …
    :data:`.periods.LAST_DAY`)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadValue(Code.DATE_OUT_OF_RANGE, min=FIRST_DAY.isoformat(), max=LAST_DAY.isoformat())


def _date(value: Any, spec: ParamSpec) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        # Only YYYY-MM-DD: ``fromisoformat`` would also read the week date 2024-W01-1.
        raise BadValue(Code.PARAM_NOT_A_DATE)
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise BadValue(Code.PARAM_NOT_A_DATE) from None
    _in_calendar(day)
    return day


def _datetime(value: Any, spec: ParamSpec) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and "T" in value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadValue(Code.PARAM_NOT_A_DATETIME) from None
    else:
        raise BadValue(Code.PARAM_NOT_A_DATETIME)
    if parsed.tzinfo is not None:
        raise BadValue(Code.PARAM_TIME_ZONE)
    _in_calendar(parsed.date())
    return parsed


def _month(value: Any, spec: ParamSpec) -> YearMonth:
    if not isinstance(value, str):
        raise BadValue(Code.PARAM_NOT_A_MONTH)
    try:
        month = YearMonth.parse(value)
    except ValueError:
        raise BadValue(Code.PARAM_NOT_A_MONTH) from None
    if not FIRST_MONTH <= month <= LAST_MONTH:
        raise BadValue(Code.MONTH_OUT_OF_RANGE, min=str(FIRST_MONTH), max=str(LAST_MONTH))
    return month


def _enum(value: Any, spec: ParamSpec) -> str:
    if not isinstance(value, str) or value not in spec.values:
        raise BadValue(Code.ONE_OF, choices=", ".join(spec.values))
    return value


def _string(value: Any, spec: ParamSpec) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadValue(Code.PARAM_NOT_A_TEXT)
    if len(value) > MAX_STRING_LENGTH:
        raise BadValue(Code.PARAM_TEXT_TOO_LONG, max=MAX_STRING_LENGTH)
    return value


#: How many months a ``month_amounts`` parameter may list: five years of bills is more than any
#: schedule question needs, and keeps a request small.
MAX_MONTHS = 60


def _month_amounts(value: Any, spec: ParamSpec) -> dict[YearMonth, int]:
    """``{"YYYY-MM": whole yen, …}``: an amount per month (e.g. each month's bill), 1 to 60 months,
    each amount within the parameter's ``min``/``max``; in month order."""
    if not isinstance(value, Mapping) or not 1 <= len(value) <= MAX_MONTHS:
        raise BadValue(Code.PARAM_MONTH_AMOUNTS, max=MAX_MONTHS)
    found: dict[YearMonth, int] = {}
    for key, amount in value.items():
        month = _month(key, spec)
        found[month] = _int(amount, spec)
        _check_range(spec, Decimal(found[month]))
    return dict(sorted(found.items()))


PARSERS: Mapping[str, Callable[[Any, ParamSpec], Any]] = {
    "int": _int,
    "money": _int,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
    "month": _month,
    "enum": _enum,
    "string": _string,
    "month_amounts": _month_amounts,
}


def parse_value(spec: ParamSpec, value: Any) -> Any:
    """Parse one value and check its range; raises :class:`BadValue`."""
    parsed = PARSERS[spec.type](value, spec)
    if spec.type in ("int", "money", "decimal"):
        _check_range(spec, Decimal(parsed))
    return parsed


def _check_range(spec: ParamSpec, number: Decimal) -> None:
    if spec.minimum is not None and number < spec.minimum:
        raise BadValue(Code.AT_LEAST, min=number_json(spec.minimum))
    if spec.maximum is not None and number > spec.maximum:
        raise BadValue(Code.AT_MOST, max=number_json(spec.maximum))


def parse_params(
    specs: Mapping[str, ParamSpec], raw: Any, prefix: str, errors: FieldErrors
) -> dict[str, Any]:
    """The parsed parameters of one requested item; problems are added to ``errors``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        errors.setdefault(prefix, []).append(Message(Code.PARAMS_NOT_AN_OBJECT))
        return {}
    unknown = (
        Message(Code.UNKNOWN_PARAM, expected=", ".join(specs))
        if specs
        else Message(Code.UNKNOWN_PARAM_NONE_EXPECTED)
    )
    for name in raw:
        if name not in specs:
            errors.setdefault(f"{prefix}.{name}", []).append(unknown)
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        try:
            values[name] = _one_param(spec, raw)
        except BadValue as exc:
            errors.setdefault(f"{prefix}.{name}", []).append(exc.message)
    _check_order(specs, values, prefix, errors)
    return values


def _one_param(spec: ParamSpec, raw: Mapping[str, Any]) -> Any:
    if spec.name not in raw or raw[spec.name] is None:
        if spec.required:
            raise BadValue(Code.REQUIRED)
        return None if spec.default is None else parse_value(spec, spec.default)
    return parse_value(spec, raw[spec.name])


def _check_order(
    specs: Mapping[str, ParamSpec], values: Mapping[str, Any], prefix: str, errors: FieldErrors
) -> None:
    """``not_before``: an end must not come before its start (cancel before start, restore before
    outage …)."""
    for name, spec in specs.items():
        other = spec.not_before
        if other is None or values.get(name) is None or values.get(other) is None:
            continue
        if values[name] < values[other]:
            errors.setdefault(f"{prefix}.{name}", []).append(
                Message(Code.PARAM_BEFORE, other=other)
            )


_JSON_TYPES: Mapping[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "money": {"type": "integer"},
    "decimal": {"type": ["number", "string"], "pattern": r"^-?\d+(\.\d+)?$"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"},
    "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
    "enum": {"type": "string"},
    "string": {"type": "string", "maxLength": MAX_STRING_LENGTH},
    "month_amounts": {
        "type": "object",
        "patternProperties": {r"^\d{4}-(0[1-9]|1[0-2])$": {"type": "integer"}},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": MAX_MONTHS,
    },
}


def json_schema(specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for an item's ``params`` object."""
    properties = {name: _property_schema(spec) for name, spec in specs.items()}
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name, spec in specs.items() if spec.required],
        "additionalProperties": False,
    }


def _property_schema(spec: ParamSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {**_JSON_TYPES[spec.type], "title": spec.label.en}
    schema["x-label"] = spec.label.to_dict()
    if spec.help is not None:
        schema["description"] = spec.help.en
        schema["x-help"] = spec.help.to_dict()
    if spec.type == "enum":
        schema["enum"] = list(spec.values)
        schema["x-values"] = {name: text.to_dict() for name, text in spec.values.items()}
    target = schema
    if spec.type == "month_amounts":  # the bounds are each amount's, not the object's
        [(pattern, inner)] = schema["patternProperties"].items()
        target = dict(inner)
        schema["patternProperties"] = {pattern: target}
    if spec.minimum is not None:
        target["minimum"] = number_json(spec.minimum)
    if spec.maximum is not None:
        target["maximum"] = number_json(spec.maximum)
    if spec.default is not None:
        schema["default"] = spec.default
    if spec.not_before is not None:
        schema["x-not-before"] = spec.not_before
    return schema
