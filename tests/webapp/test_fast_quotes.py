"""``POST /v1/quotes`` on the fast path (:mod:`webapp.fast.quotes`) keeps the contract of
:mod:`webapp.fast`, and its renderer writes exactly what ``jsonify`` wrote.

* The harness of ``test_fast.py`` sends each request to an app with the fast path and one without
  it: every tariff example in every language, a table of requests the fast path must hand to Flask,
  and random variations of the examples (parameters, dates, keys). Status, headers and body bytes are
  the same; the fast path answers exactly the requests Flask answers with a quote.
* :func:`quote_json` is ``jsonify``'s text (without its newline) or ``None``, for every example's
  quote and for random JSON-like values (floats, big integers, keys that are no strings, subclasses).
* :func:`one_language` is the plain recursive definition it replaced.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, cast

import pytest
from flask import Flask, jsonify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from engine.lifecycle.reload import EngineHolder, Lease
from engine.messages.language import LANGUAGES, Lang
from engine.tariff import TariffBook
from webapp.fast.quotes import quick_quote_request, quote_json, quote_text
from webapp.i18n import one_language
from webapp.schemas import QUOTE_REQUEST
from webapp.state import app_state

from .test_fast import BEARER, TOKEN, apps, assert_same, handed_over

__all__ = ["apps", "handed_over"]  # the harness's fixtures, used here by name

QUOTES = "/v1/quotes"
MONTHLY = {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}
ONE = {"as_of": "2025-04-01", "items": [MONTHLY]}


def tariff_book(app: Flask) -> TariffBook:
    lease = app_state(app).holder.acquire()
    try:
        assert lease.bundle.tariffs is not None
        return lease.bundle.tariffs
    finally:
        lease.release()


def example_requests(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    """Every tariff's examples (``tariffs/*.yaml``): (a name, the request)."""
    return [
        (f"{tariff.id}: {example.note}", dict(example.request))
        for tariff in tariff_book(app).tariffs
        for example in tariff.examples
    ]


def post(apps: tuple[Flask, Flask], body: Any, **headers: str) -> tuple[Any, ...]:
    answer: tuple[Any, ...] = assert_same(apps, QUOTES, body, **headers)
    return answer


# --- the fast path answers as Flask does ----------------------------------------------------------


def test_every_example_in_every_language_is_answered_alike(
    apps: tuple[Flask, Flask], handed_over: list[str]
) -> None:
    requests = example_requests(apps[0])
    assert len(requests) > 50
    priced = 0
    for name, request in requests:
        for lang in (*LANGUAGES, "fr, en;q=0.5", ""):
            handed_over.clear()
            status, headers, body = post(apps, request, **{"Accept-Language": lang})
            # a quote is the fast path's, a refused request (an example of errors) Flask's
            assert handed_over == ([] if status == 200 else [QUOTES]), name
            assert status in (200, 422), name
            if status == 200:
                priced += 1
                assert dict(headers)["Content-Language"] == ("en" if "en" in lang else "ja")
                value = json.loads(body)
                assert body == (quote_json(value) or "").encode() + b"\n"
    assert priced > 100


def _case(
    name: str,
    status: int,
    body: Any,
    fast: bool = False,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Any:
    """One request of the table: its path, body, headers, status, and whether the fast path answers
    it itself."""
    return pytest.param(QUOTES + query, body, headers or {}, status, fast, id=name)


BAD_ITEM = {"tariff": "tv_transport", "item": "no_such_item", "params": {}}
CASES = [
    _case("quote", 200, ONE, True),
    _case("english", 200, ONE, True, headers={"Accept-Language": "en-GB,en;q=0.8"}),
    _case("charset", 200, ONE, True, headers={"Content-Type": "application/json; charset=utf-8"}),
    _case("query-ignored", 200, ONE, True, "?explain=whatif"),
    _case("undated", 200, {"items": [MONTHLY]}, True),
    _case("null-date", 200, {"items": [MONTHLY], "as_of": None}, True),
    _case("json-suffix", 200, ONE, headers={"Content-Type": "application/problem+json"}),
    _case("no-items", 422, {"as_of": "2025-04-01"}),
    _case("empty-items", 422, {"items": []}),
    _case("unknown-key", 422, {**ONE, "extra": 1}),
    _case("bad-date", 422, {**ONE, "as_of": "2025-02-30"}),
    _case("item-not-object", 422, {"items": [3]}),
    _case("params-null", 422, {"items": [{**MONTHLY, "params": None}]}),
    _case("unknown-tariff", 422, {"items": [{**MONTHLY, "tariff": "nope"}]}),
    _case("unknown-item", 422, {"items": [BAD_ITEM]}),
    _case("bad-param", 422, {"items": [{**MONTHLY, "params": {"month": "2025-13"}}]}),
    _case("unknown-param", 422, {"items": [{**MONTHLY, "params": {"month": "2025-01", "x": 1}}]}),
    _case("float-param", 422, {"items": [{**MONTHLY, "params": {"lines": 1e-05}}]}),
    _case(
        "huge-integer",
        422,
        b'{"items": [{"tariff": "tv_transport", "item": "monthly_fee", '
        b'"params": {"lines": 123456789012345678901234567890}}]}',
    ),  # fmt: skip
    _case("not-an-object", 422, [ONE]),
    _case("malformed", 400, b'{"items": ['),
    _case("nan", 400, b"NaN"),
    _case("lone-surrogate", 400, b'{"items": [], "as_of": "\\ud800"}'),
    _case("not-json", 415, ONE, headers={"Content-Type": "text/plain"}),
    _case("body-too-large", 413, b"[" * 5000),
]


@pytest.mark.parametrize(("path", "body", "headers", "status", "fast"), CASES)
def test_the_fast_path_answers_quotes_as_flask_does(
    apps: tuple[Flask, Flask],
    handed_over: list[str],
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    fast: bool,
) -> None:
    assert assert_same(apps, path, body, **headers)[0] == status
    assert handed_over == ([] if fast else [QUOTES])


@pytest.mark.parametrize(
    ("headers", "status", "fast"),
    [({}, 401, False), ({"Authorization": "Bearer wrong"}, 403, False), (BEARER, 200, True)],
    ids=["token-missing", "token-wrong", "token-right"],
)
def test_the_decision_token_guards_quotes_on_both_paths(
    apps: tuple[Flask, Flask],
    handed_over: list[str],
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    status: int,
    fast: bool,
) -> None:
    for app in apps:
        monkeypatch.setitem(app.config, "DECISION_TOKEN", TOKEN)
    assert post(apps, ONE, **headers)[0] == status
    assert handed_over == ([] if fast else [QUOTES])


def test_other_routes_and_methods_are_flasks(
    apps: tuple[Flask, Flask], handed_over: list[str]
) -> None:
    assert assert_same(apps, QUOTES + "/", ONE)[0] == 404
    assert handed_over == [QUOTES + "/"]
    for app in apps:
        response = app.test_client().get(QUOTES)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/problem+json"


@pytest.fixture
def no_tariffs(apps: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both apps serve a bundle without tariffs (a service started without a tariff folder)."""
    for app in apps:
        holder = app_state(app).holder
        acquire = holder.acquire

        def without_tariffs(acquire: Any = acquire) -> Lease:
            lease = cast(Lease, acquire())
            lease.bundle = replace(lease.bundle, tariffs=None)
            return lease

        monkeypatch.setattr(holder, "acquire", without_tariffs)


@pytest.mark.usefixtures("no_tariffs")
def test_without_tariffs_flask_answers_503(
    apps: tuple[Flask, Flask], handed_over: list[str]
) -> None:
    assert post(apps, ONE)[0] == 503
    assert handed_over == [QUOTES]


@pytest.fixture
def floats_in_quotes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tariffs answer with a float, which orjson writes otherwise than ``json.dumps``."""
    quote = TariffBook.quote

    def with_float(self: TariffBook, request: Any, as_of: date | None = None) -> dict[str, Any]:
        priced: dict[str, Any] = quote(self, request, as_of)
        return {**priced, "odd": 1e-05}

    monkeypatch.setattr(TariffBook, "quote", with_float)


@pytest.mark.usefixtures("floats_in_quotes")
def test_a_quote_the_fast_renderer_cannot_vouch_for_is_flasks(
    apps: tuple[Flask, Flask], handed_over: list[str]
) -> None:
    status, _headers, body = post(apps, ONE)
    assert status == 200
    assert body.endswith(b',"odd":1e-05}\n')  # json.dumps's spelling, as before
    assert handed_over == [QUOTES]


def test_a_failing_engine_is_flasks_500(
    apps: tuple[Flask, Flask], handed_over: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> dict[str, Any]:
        raise RuntimeError("the tariffs failed")

    monkeypatch.setattr(TariffBook, "quote", broken)
    status, headers, _body = post(apps, ONE)
    assert status == 500
    assert dict(headers)["Content-Type"] == "application/problem+json"
    assert handed_over == [QUOTES]


def test_quote_text_leaves_the_lease_it_took(apps: tuple[Flask, Flask]) -> None:
    holder = app_state(apps[0]).holder
    taken: list[Lease] = []
    acquire = holder.acquire

    def counted() -> Lease:
        taken.append(acquire())
        return taken[-1]

    class Counting:
        acquire = staticmethod(counted)

    bodies: list[dict[str, Any]] = [ONE, {"items": [BAD_ITEM]}, {"items": []}]
    for body in bodies:
        quote_text(cast(EngineHolder, Counting()), body, "ja")
    assert len(taken) == 2  # the schema refuses the third before any lease
    assert all(lease._slot is None for lease in taken)  # released


# --- random requests, from the examples ----------------------------------------------------------

_param_values = st.one_of(
    st.integers(-2, 40),
    st.sampled_from([0.5, 1.5, 1e-05, 1e16, True, None, "", "x", "12", "1.5", "2025-02",
                     "2025-04-01", "2025-04-01T09:00", "2025-04-01T09:00+09:00", "natural"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["2025-01", "2025-02", "x"]), st.integers(0, 5000), max_size=2),
)  # fmt: skip
_days = st.sampled_from(
    [None, "2019-10-01", "2024-04-01", "2025-04-01", "2026-03-31", "1999-01-01"]
)


@st.composite
def varied_requests(draw: st.DrawFn, examples: list[dict[str, Any]]) -> dict[str, Any]:
    """An example with a parameter changed, added or dropped, another date, another item mixed in,
    or a key added: requests Flask quotes and requests it refuses."""
    request: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(examples))))
    items = request.get("items")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        item = items[draw(st.integers(0, len(items) - 1))]
        params = item.setdefault("params", {})
        if isinstance(params, dict):
            names = [*params, "lines", "month", "quantity", "size_mb", "bogus"]
            name = draw(st.sampled_from(names))
            if draw(st.booleans()):
                params[name] = draw(_param_values)
            else:
                params.pop(name, None)
        if draw(st.booleans()):
            items.append(draw(st.sampled_from(examples))["items"][0])
    if draw(st.booleans()):
        request["as_of"] = draw(_days)
    if draw(st.integers(0, 9)) == 0:
        request["other"] = 1
    return request


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), lang=st.sampled_from(["ja", "en", "fr", ""]))
def test_random_quote_requests_are_answered_alike(
    apps: tuple[Flask, Flask], data: st.DataObject, lang: str
) -> None:
    examples = [request for _name, request in example_requests(apps[0])]
    request = data.draw(varied_requests(examples))
    post(apps, request, **{"Accept-Language": lang})


# --- the request read without marshmallow == QUOTE_REQUEST.load ----------------------------------


def _declared(
    schema: Schema, values: Callable[[fields.Field[Any]], st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    """Objects of ``schema``'s declared fields (the required ones mostly present), with an unknown
    key now and then, or no object at all."""
    declared = {name: values(field) for name, field in schema.fields.items()}
    required = {name: declared[name] for name, field in schema.fields.items() if field.required}
    optional = {name: found for name, found in declared.items() if name not in required}
    return _mostly(
        st.fixed_dictionaries(required, optional=optional),
        st.one_of(
            st.fixed_dictionaries(required, optional={**optional, "other": _param_values}),
            st.fixed_dictionaries({}, optional=declared),
            _param_values,
        ),
    )


def _mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` three times in four, else ``other``."""
    chosen: st.SearchStrategy[Any] = st.integers(0, 3).flatmap(lambda n: valid if n else other)
    return chosen


def _quote_field_values(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    """Values for one declared field of a quote request or item: ones it loads, ones it refuses."""
    if isinstance(field, fields.String):
        return _mostly(st.sampled_from(["tv_transport", "monthly_fee", ""]), _param_values)
    if isinstance(field, fields.Dict):
        return _mostly(
            st.dictionaries(st.text(max_size=4), _param_values, max_size=3), _param_values
        )
    if isinstance(field, fields.Date):
        odd_days = st.sampled_from(["2025-02-30", "20250401", " 2025-04-01", "2025-04-01T00:00"])
        return _mostly(_days, st.one_of(odd_days, _param_values))
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        inner: Schema = field.inner.schema
        items = _declared(inner, _quote_field_values)
        return _mostly(
            st.lists(items, min_size=1, max_size=3), st.one_of(st.just([]), _param_values)
        )
    raise TypeError(f"no values for {field!r}: teach this test and webapp/fast/quotes.py")


def _load(data: Any) -> Any:
    try:
        return QUOTE_REQUEST.load(data)
    except ValidationError:
        return "invalid"


@settings(max_examples=500, deadline=None)
@given(_declared(QUOTE_REQUEST, _quote_field_values))
def test_a_quote_request_read_quickly_is_what_the_schema_loads(data: Any) -> None:
    read = quick_quote_request(data)
    if read is not None:
        assert read == _load(data)


def test_the_quick_reader_takes_the_ordinary_requests(apps: tuple[Flask, Flask]) -> None:
    for _name, request in example_requests(apps[0]):
        if _load(request) != "invalid":
            assert quick_quote_request(request) == _load(request)
    assert quick_quote_request(ONE) == {"items": [MONTHLY], "as_of": date(2025, 4, 1)}


# --- the renderer == jsonify ----------------------------------------------------------------------


def test_every_examples_quote_renders_as_jsonify_did(apps: tuple[Flask, Flask]) -> None:
    book = tariff_book(apps[1])
    rendered = 0
    with apps[1].app_context():
        for _name, request in example_requests(apps[1]):
            try:
                priced = book.quote(dict(request))
            except Exception:  # noqa: BLE001 — an example of a refused request
                continue
            for lang in LANGUAGES:
                value = one_language(priced, lang)
                text = quote_json(value)
                assert text is not None  # quotes are plain JSON data: all are fast
                assert (text + "\n").encode() == jsonify(value).get_data()
                rendered += 1
    assert rendered > 100


class _Colour(Enum):
    RED = "red"


class _Text(str):
    pass


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.sampled_from([Decimal("1.5"), date(2025, 4, 1), _Colour.RED, _Text("x"), (1, 2)]),
)
_json_like = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
        st.dictionaries(st.integers(), inner, min_size=1, max_size=2),
        st.dictionaries(st.text(max_size=2), inner, max_size=2).map(OrderedDict),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json_like)
def test_quote_json_is_jsonifys_text_or_none(value: Any) -> None:
    text = quote_json(value)
    if text is not None:
        with Flask(__name__).app_context() as context:
            context.app.json.ensure_ascii = False  # type: ignore[attr-defined]
            context.app.json.sort_keys = False  # type: ignore[attr-defined]
            assert (text + "\n").encode() == jsonify(value).get_data()


_with_texts = st.recursive(
    st.one_of(
        _scalars,
        st.fixed_dictionaries({"ja": st.text(max_size=3), "en": st.text(max_size=3)}),
        st.fixed_dictionaries({"ja": st.text(max_size=2), "en": st.sampled_from([_Text("x"), 1])}),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["ja", "en", "a", "b"]), inner, max_size=3),
        st.dictionaries(st.text(max_size=2), inner, max_size=2).map(OrderedDict),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_with_texts, st.sampled_from(["ja", "en"]))
def test_quote_json_in_a_language_is_jsonifys_text_of_one_language_or_none(
    value: Any, lang: Lang
) -> None:
    """The view and the fast path write a quote's texts in one language in one walk: what they
    write is ``jsonify(one_language(value, lang))``, or they hand the value to ``jsonify``."""
    text = quote_json(value, lang)
    if text is not None:
        with Flask(__name__).app_context() as context:
            context.app.json.ensure_ascii = False  # type: ignore[attr-defined]
            context.app.json.sort_keys = False  # type: ignore[attr-defined]
            expected = jsonify(one_language(value, lang)).get_data()
            assert (text + "\n").encode() == expected


def test_every_character_is_written_as_jsonify_writes_it() -> None:
    """Every code point but the surrogates, in one string: orjson escapes none otherwise."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    with Flask(__name__).app_context() as context:
        context.app.json.ensure_ascii = False  # type: ignore[attr-defined]
        assert (quote_json({every: [every]}) or "") + "\n" == jsonify({every: [every]}).get_data(
            as_text=True
        )


def test_plain_json_is_rendered_and_the_rest_is_not() -> None:
    assert quote_json({"a": [1, "ü\n", None, True]}) == '{"a":[1,"ü\\n",null,true]}'
    for odd in (1.5, Decimal(1), date(2025, 4, 1), {1: "a"}, 2**64, "\ud800", _Text("x"), (1,)):
        assert quote_json({"a": odd}) is None


# --- one_language == its plain recursive definition -----------------------------------------------


def _one_language_reference(value: Any, lang: Lang) -> Any:
    """The definition :func:`webapp.i18n.one_language` was first written as."""
    if isinstance(value, dict):
        if value.keys() == set(LANGUAGES) and all(isinstance(v, str) for v in value.values()):
            return value[lang]
        return {key: _one_language_reference(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [_one_language_reference(item, lang) for item in value]
    return value


_texts = st.fixed_dictionaries({"ja": st.text(max_size=3), "en": st.text(max_size=3)})
_bilingual = st.recursive(
    st.one_of(_scalars, _texts, st.fixed_dictionaries({"ja": st.integers(), "en": st.text()})),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["ja", "en", "x"]), inner, max_size=3),
        st.dictionaries(st.text(max_size=2), inner, max_size=2).map(OrderedDict),
        st.tuples(inner),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_bilingual, st.sampled_from(LANGUAGES))
def test_one_language_is_its_plain_definition(value: Any, lang: Lang) -> None:
    picked = one_language(value, lang)
    expected = _one_language_reference(value, lang)
    assert picked == expected
    assert type(picked) is type(expected)
