"""JSON text on the hot paths, fast and exactly as the standard library would read and write it.

Every decision parses a request body and writes the facts twice (the response and the decision log).
``orjson`` does both several times faster than :mod:`json`, but it does not agree with it on every
input: it turns integers beyond 64 bits into floats, refuses a byte-order mark, UTF-16 bodies, ``1e400``
and unpaired surrogate escapes, and cannot write integers beyond 64 bits. So each function here uses
``orjson`` only where it provably gives the standard library's answer, and the standard library itself
everywhere else; ``tests/engine/test_jsontext.py`` checks the equivalence with hypothesis.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NoReturn

import orjson


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


#: Maps every ASCII digit to ``0`` and every other byte to a space: 19 digits in a row (an integer that
#: may be beyond 64 bits, which orjson would read as a float) become ``_LONG_RUN``. Translating and
#: searching is ten times faster than a regular expression on a large batch body.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def _has_long_digit_run(raw: bytes) -> bool:
    return _LONG_RUN in raw.translate(_DIGITS_ONLY)


def loads(raw: bytes) -> Any:
    """``json.loads(raw)``, refusing ``NaN``/``Infinity`` (not JSON).

    :raise ValueError: the body does not parse (:class:`RecursionError` when nested too deeply).
    """
    if not _has_long_digit_run(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library decides: it may accept (BOM, UTF-16) or name the error
    return json.loads(raw, parse_constant=_reject_constant)


def _iso_date(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a fact value")


#: ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` with dates as ISO text.
_STDLIB_COMPACT = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_iso_date, check_circular=False
)


def dumps_facts(facts: Mapping[str, Any] | Sequence[Any]) -> str:
    """Facts (bools, integers, strings, dates and lists of them), or lists and mappings of facts, as
    compact JSON text.

    Exactly what the standard library writes (UTF-8 characters as they are, dates as ISO text, tuples as
    lists); floats are not fact values, so orjson's different float notation never shows.
    """
    try:
        return orjson.dumps(facts).decode()
    except TypeError:  # an integer beyond 64 bits, or a value that is not a fact value
        return _STDLIB_COMPACT.encode(facts)


def dumps_strings(values: list[str] | tuple[str, ...]) -> str:
    """A list of strings (reason codes) as compact JSON text, as the standard library writes it."""
    return orjson.dumps(values).decode()
