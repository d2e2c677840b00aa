"""marshmallow with coded messages: the errors a :class:`CodedSchema` raises are :class:`Message` objects.

marshmallow writes English from two places: a field's ``error_messages`` (by key: ``required``,
``invalid`` …) and its validators (``Length``, ``Range``, ``OneOf``). When a schema binds a field, each
of marshmallow's default messages is replaced by a Message chosen by the field's class and the key, or
by the validator and its bounds, never by reading the English. marshmallow then raises our Message
unchanged (its ``format`` returns the Message itself), so the English is exactly what marshmallow would
have written, and the Japanese comes from the catalogue.

A message the schema's author wrote (``error_messages={...}``, ``OneOf(..., error=...)``) is theirs and
stays as written. So does a default we have no code for; :func:`uncoded_messages` lists those, and the
tests require it to find none in the schemas that read requests. Keys in :data:`UNREACHABLE_KEYS` are
exempt: loading JSON into our fields cannot raise them.
"""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import Schema, fields, validate

from . import Code, Message

#: Which code each of marshmallow's error keys means, by the field class that defines the key.
FIELD_CODES: dict[tuple[type[fields.Field[Any]], str], Code] = {
    (fields.Field, "required"): Code.REQUIRED,
    (fields.Field, "null"): Code.NULL,
    (fields.Field, "validator_failed"): Code.INVALID_VALUE,
    (fields.String, "invalid"): Code.NOT_A_STRING,
    (fields.Number, "invalid"): Code.NOT_A_NUMBER,
    (fields.Integer, "invalid"): Code.NOT_AN_INTEGER,
    (fields.Boolean, "invalid"): Code.NOT_A_BOOLEAN,
    (fields.Date, "invalid"): Code.NOT_A_DATE,
    (fields.List, "invalid"): Code.NOT_A_LIST,
    (fields.Mapping, "invalid"): Code.NOT_A_MAPPING,
}


class RefusedChoice(Message):
    """``one_of`` that remembers the value it refused, so the web layer can suggest the closest
    choice ("Tokyo": did you mean ``tokyo``?). marshmallow formats a validator's message with the
    ``input`` it refused; this one answers with a copy holding it as :attr:`sent` (the text is
    unchanged). A copy or a pickle is a plain Message: the value is only a hint."""

    sent: object = None
    #: The choices, when the message's text does not list them (set by whoever refused the value).
    options: tuple[str, ...] | None = None

    def format(self, *args: object, **kwargs: object) -> str:
        if "input" not in kwargs:
            return self
        refused = RefusedChoice(self.code, **self.params)
        refused.sent = kwargs["input"]
        return refused


#: Made once: request schemas are built per request, and a Message is immutable.
_FIELD_MESSAGES = {code: Message(code) for code in FIELD_CODES.values()}

#: marshmallow's keys that loading JSON cannot raise here: the UTF-8 check of bytes, float overflow,
#: time-zone awareness (datetimes only), a Nested field with ``many``, and dumping.
UNREACHABLE_KEYS = frozenset({"invalid_utf8", "too_large", "invalid_awareness", "type", "format"})


class CodedSchema(Schema):
    """A Schema whose messages are coded: the base of every schema that reads a request."""

    error_messages = {
        "type": Message(Code.INVALID_INPUT_TYPE),
        "unknown": Message(Code.UNKNOWN_FIELD),
    }

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        code_field(field_obj)


def code_field(field: fields.Field[Any]) -> None:
    """Put coded messages in ``field`` (the schema's own copy) and in the fields it contains."""
    field.error_messages = {
        key: _field_message(type(field), key, text) for key, text in field.error_messages.items()
    }
    field.validators = [_coded_validator(v, field) for v in field.validators]
    if isinstance(field, fields.List):
        field.inner = _coded_copy(field.inner)
    if isinstance(field, fields.Mapping):
        field.key_field = field.key_field and _coded_copy(field.key_field)
        field.value_field = field.value_field and _coded_copy(field.value_field)


def _coded_copy(field: fields.Field[Any]) -> fields.Field[Any]:
    # Inner fields may be shared with the declaring class; code a copy so only this schema changes.
    inner = copy.copy(field)
    code_field(inner)
    return inner


def _default_message(kind: type[fields.Field[Any]], key: str) -> Any:
    """marshmallow's own message for ``key`` on ``kind`` (the most derived class that sets one)."""
    for cls in kind.__mro__:
        defaults = vars(cls).get("default_error_messages", {})
        if key in defaults:
            return defaults[key]
    return None


def _field_message(kind: type[fields.Field[Any]], key: str, text: Any) -> Any:
    if text is not _default_message(kind, key):
        return text  # the schema's author wrote it, or it is coded already
    for cls in kind.__mro__:
        code = FIELD_CODES.get((cls, key))
        if code is not None:
            return _FIELD_MESSAGES[code]
    return text


def _coded_validator(validator: Any, field: fields.Field[Any]) -> Any:
    """``validator`` raising a Message: a copy with ``error`` set to the one message its bounds allow
    (marshmallow words a ``Length(min=1)`` failure one way only, and so on)."""
    message = _validator_message(validator, field)
    if message is None:
        return validator
    coded = copy.copy(validator)
    coded.error = message
    return coded


def _validator_message(validator: Any, field: fields.Field[Any]) -> Message | None:
    """The Message for one of marshmallow's validators left with its default wording, else ``None``."""
    if isinstance(validator, validate.OneOf):
        if validator.error is not validate.OneOf.default_message:
            return None  # its author's own message
        return RefusedChoice(Code.ONE_OF, choices=validator.choices_text)
    if isinstance(validator, validate.Range) and validator.error is None:
        return _range_message(validator)
    if isinstance(validator, validate.Length) and validator.error is None:
        return _length_message(validator, field)
    return None


def _range_message(validator: validate.Range) -> Message | None:
    low, high = validator.min, validator.max
    if not (validator.min_inclusive and validator.max_inclusive):
        return None
    if low is None:
        return None if high is None else Message(Code.AT_MOST, max=high)
    return (
        Message(Code.AT_LEAST, min=low)
        if high is None
        else Message(Code.BETWEEN, min=low, max=high)
    )


def _length_message(validator: validate.Length, field: fields.Field[Any]) -> Message | None:
    low, high = validator.min, validator.max
    if validator.equal is not None:
        return None
    if low is None:
        return None if high is None else Message(Code.TOO_LONG, max=high)
    if high is None:
        return Message(Code.TOO_SHORT, min=low)
    text = isinstance(field, fields.String)
    return Message(
        Code.TEXT_LENGTH_BETWEEN if text else Code.LIST_LENGTH_BETWEEN, min=low, max=high
    )


def uncoded_messages(schema: Schema) -> list[str]:
    """Where ``schema`` (an instance) could still raise marshmallow's English: ``field.key`` for each
    error message and ``field: Validator`` for each validator that is not coded."""
    found = [
        f"<schema>.{key}"
        for key, text in schema.error_messages.items()
        if not isinstance(text, Message)
    ]
    for name, field in schema.fields.items():
        found.extend(_uncoded_in_field(name, field))
    return found


def _uncoded_in_field(name: str, field: fields.Field[Any]) -> list[str]:
    found = [
        f"{name}.{key}"
        for key, text in field.error_messages.items()
        if key not in UNREACHABLE_KEYS and not isinstance(text, Message)
    ]
    found.extend(
        f"{name}: {type(validator).__name__}"
        for validator in field.validators
        if isinstance(validator, validate.Validator)
        and not isinstance(getattr(validator, "error", None), Message)
    )
    inner: list[tuple[str, fields.Field[Any] | None]] = []
    if isinstance(field, fields.List):
        inner.append((f"{name}[]", field.inner))
    if isinstance(field, fields.Mapping):
        inner.extend([(f"{name}{{key}}", field.key_field), (f"{name}{{value}}", field.value_field)])
    for inner_name, inner_field in inner:
        if inner_field is not None:
            found.extend(_uncoded_in_field(inner_name, inner_field))
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        found.extend(f"{name}.{where}" for where in uncoded_messages(field.schema))
    return found
