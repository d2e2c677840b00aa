"""engine.jsontext reads and writes exactly what the standard library would, only faster."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import jsontext

# Integers around the 64-bit edges, where orjson stops agreeing with the standard library.
edge_ints = st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30])
ints = st.integers() | edge_ints
texts = st.text()
json_values = st.recursive(
    st.none() | st.booleans() | ints | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def stdlib_loads(raw: bytes) -> Any:
    def reject(name: str) -> Any:
        raise ValueError(name)

    return json.loads(raw, parse_constant=reject)


def outcome(function: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", function(raw)
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


@settings(max_examples=300)
@given(json_values)
def test_loads_equals_the_standard_library_on_json(value: Any) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    got = jsontext.loads(raw)
    assert got == stdlib_loads(raw)
    assert json.dumps(got) == json.dumps(stdlib_loads(raw))  # same types too (int is not float)


@settings(max_examples=300)
@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_loads_fails_or_succeeds_like_the_standard_library(raw: bytes) -> None:
    got, expected = outcome(jsontext.loads, raw), outcome(stdlib_loads, raw)
    assert got[0] == expected[0]
    if got[0] == "ok":
        assert json.dumps(got[1]) == json.dumps(expected[1])


@pytest.mark.parametrize(
    "raw",
    [
        b"18446744073709551616",  # beyond 64 bits: orjson would read a float
        b"-9223372036854775809",
        b'{"n": 123456789012345678901234567890}',
        b"\xef\xbb\xbf{}",  # byte-order mark
        '{"a": 1}'.encode("utf-16"),
        b"1e400",
        b'"\\ud800"',  # unpaired surrogate escape: the standard library reads it, the API then refuses
    ],
)
def test_loads_follows_the_standard_library_where_orjson_differs(raw: bytes) -> None:
    got, expected = outcome(jsontext.loads, raw), outcome(stdlib_loads, raw)
    assert got[0] == expected[0] == "ok"
    assert json.dumps(got[1]) == json.dumps(expected[1])


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b"-Infinity", b"{", b""])
def test_loads_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(raw)


fact_values = (
    st.booleans()
    | ints
    | texts
    | st.dates()
    | st.lists(texts, max_size=3).map(tuple)
    | st.lists(texts, max_size=3)
)


@settings(max_examples=300)
@given(st.dictionaries(texts, fact_values, max_size=8))
def test_dumps_facts_equals_the_standard_library(facts: dict[str, Any]) -> None:
    expected = json.dumps(
        facts,
        ensure_ascii=False,
        separators=(",", ":"),
        default=lambda v: v.isoformat() if isinstance(v, date) else None,
    )
    assert jsontext.dumps_facts(facts) == expected


@given(st.lists(texts, max_size=5))
def test_dumps_strings_equals_the_standard_library(codes: list[str]) -> None:
    expected = json.dumps(codes, ensure_ascii=False, separators=(",", ":"))
    assert jsontext.dumps_strings(codes) == expected
    assert jsontext.dumps_strings(tuple(codes)) == expected
