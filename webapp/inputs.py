"""Reading request bodies and query values, turning every kind of bad input into a problem."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from flask import request

from engine import jsontext
from engine.messages import Code, Message

from .problems import Problem, invalid_fields

#: A JSON escape of a UTF-16 surrogate; only bodies containing one need the (slower) pairing check.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string in ``value`` holds an unpaired surrogate (``"\\ud800"``), which no UTF-8
    response, log line or database row can carry."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_json() -> Any:
    """The request body as JSON.

    :raise 415: when the body is not declared as JSON.
    :raise 400: when it does not parse (including NaN/Infinity and nesting too deep to read).
    """
    if not request.is_json:
        raise Problem("unsupported-media-type", Message(Code.NOT_JSON))
    raw = request.get_data(cache=True)
    try:
        value = jsontext.loads(raw)
    except RecursionError:
        reason = "nested too deeply"
    except ValueError as exc:
        reason = str(exc)
    else:
        if not SURROGATE_ESCAPE.search(raw) or not _has_lone_surrogate(value):
            return value
        reason = "a string holds an unpaired UTF-16 surrogate escape"
    raise Problem("malformed-json", Message(Code.MALFORMED_JSON, reason=reason))


def query_date(name: str) -> date | None:
    """An optional ``YYYY-MM-DD`` query parameter; 422 naming it when it is not a date."""
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_fields({name: [Message(Code.NOT_A_DATE)]}) from None
