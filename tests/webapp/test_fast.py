"""The fast twins of :mod:`webapp.fast` keep the contract stated there.

* The WSGI fast path: one harness sends the same request to an app with the fast path and to one
  without it, each with its own decision log, and compares status, headers, body and log rows; a
  table of requests (the common case it answers itself, and every kind it must hand to Flask) and
  random requests go through it.
* The envelopes: on envelopes generated from the schemas' declared fields, every envelope read
  without marshmallow is what ``schema.load`` returns.
* The JSON text: cached and spliced text is exactly ``dumps`` of the plain value.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from engine import Decision, Rulebook
from engine.lifecycle.decision_log import Query
from engine.messages.language import LANGUAGES
from engine.rules import partial
from webapp import create_app
from webapp.decisions import decide_batch
from webapp.fast import wsgi
from webapp.fast.envelopes import is_plain_batch_item, quick_batch_request, quick_evaluate_request
from webapp.fast.render import (
    batch_json,
    compact_decision,
    compact_decision_json,
    decision_json,
    dumps,
)
from webapp.problems import PROBLEM_MIMETYPE
from webapp.schemas import BATCH_ITEM, BATCH_REQUEST, EVALUATE_REQUEST, EXPLAIN_LEVELS
from webapp.state import app_state, get_rulebook

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

TOKEN = "s3cret-decisions"
EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"


# --- the WSGI fast path == Flask ------------------------------------------------------------------


def make_app(folder: Path, fast: bool) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "LOG_LEVEL": "WARNING",
            "FAST_PATH": fast,
            "AUDIT_URL": str(folder / "decisions.sqlite3"),
            "MAX_BATCH_ITEMS": 5,
            "MAX_CONTENT_LENGTH": 4096,
        }
    )


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Flask]]:
    """An app with the fast path, and one without it."""
    pair = (
        make_app(tmp_path_factory.mktemp("fast"), True),
        make_app(tmp_path_factory.mktemp("flask"), False),
    )
    yield pair
    for app in pair:
        app_state(app).decision_log.close()


@pytest.fixture
def handed_over(apps: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the fast path hands to Flask."""
    fast_path = apps[0].wsgi_app
    assert isinstance(fast_path, wsgi.DecisionFastPath)
    flask, paths = fast_path.flask, []

    def counted(environ: wsgi.Environ, start_response: wsgi.StartResponse) -> Any:
        paths.append(environ["PATH_INFO"])
        return flask(environ, start_response)

    monkeypatch.setattr(fast_path, "flask", counted)
    return paths


def exchange(app: Flask, path: str, body: bytes, headers: dict[str, str]) -> tuple[Any, ...]:
    response = app.test_client().post(path, data=body, headers=headers)
    kept = sorted((k, v) for k, v in response.headers.items())
    return response.status_code, kept, response.get_data()


def log_rows(app: Flask, request_id: str) -> list[dict[str, object]]:
    records = app_state(app).decision_log.query(Query(request_id=request_id, limit=None))
    return [{k: v for k, v in r.to_dict().items() if k != "decided_at"} for r in records]


counter = iter(range(10**9))


def assert_same(apps: tuple[Flask, Flask], path: str, body: Any, **headers: str) -> tuple[Any, ...]:
    """Both apps answer alike and log alike; returns the fast app's answer."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    request_id = f"fastpath-{next(counter)}"
    sent = {"Content-Type": "application/json", "X-Request-ID": request_id, **headers}
    fast, flask = (exchange(app, path, raw, sent) for app in apps)
    assert fast == flask
    assert log_rows(apps[0], request_id) == log_rows(apps[1], request_id)
    return fast


def case(
    name: str,
    status: int,
    path: str,
    body: Any,
    fast: bool = False,
    headers: dict[str, str] | None = None,
    token: bool = False,
) -> Any:
    """One request of the harness, to apps that need a decision token when ``token``; ``fast`` when
    the fast path answers it itself."""
    config = {"DECISION_TOKEN": TOKEN} if token else {}
    return pytest.param(path, body, headers or {}, config, status, fast, id=name)


ACCEPTED = {"facts": TV_ACCEPTED}
ONE = {"items": [ACCEPTED]}
MIXED = {"items": [ACCEPTED, {"facts": {"x": 1}}, {"f": 1}, 3]}
EN_GB = {"Accept-Language": "en-GB,en;q=0.8"}
UTF8 = {"Content-Type": "application/json; charset=utf-8"}
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PARTIAL = {
    "facts": {k: v for k, v in TV_ACCEPTED.items() if k != "line_designation"},
    "unknown": ["line_designation"],
}
BAD_UNKNOWN = {"facts": TV_ACCEPTED, "unknown": ["prefecture"]}
TV_FACTS = [*TV_ACCEPTED, "line_has_tv_contract", "several_contractors", "form_names_line",
            "technically_very_difficult", "termination_place", "use_beyond_household_or_premises",
            "bulk_plan", "serious_business_hindrance"]  # fmt: skip
CASES = [
    case("evaluate", 200, EVALUATE, {"facts": TV_TWO_REFUSALS}, True),
    case("dated-english", 200, EVALUATE, {**ACCEPTED, "as_of": "2024-04-01"}, True, EN_GB),
    case("charset-query", 200, EVALUATE + "?ignored=1", ACCEPTED, True, UTF8),
    case("batch", 200, BATCH, {"items": [ACCEPTED] * 3}, True),
    case("batch-full", 200, BATCH + "?explain=full", ONE, True),
    case("batch-compact", 200, BATCH + "?explain=compact", ONE, True),
    case("batch-bad-items", 200, BATCH, MIXED, True),
    case("token-right", 200, EVALUATE, ACCEPTED, True, BEARER, token=True),
    # everything else is Flask's
    case("token-missing", 401, EVALUATE, ACCEPTED, token=True),
    case("token-wrong", 403, EVALUATE, ACCEPTED, headers={"Authorization": "Bearer x"}, token=True),
    case("bad-facts", 422, EVALUATE, {"facts": {**TV_ACCEPTED, "prefecture": "mars"}}),
    case("no-facts", 422, EVALUATE, {"facts": {}}),
    case("not-plain", 422, EVALUATE, {**ACCEPTED, "extra": 1}),
    case("bad-date", 422, EVALUATE, {**ACCEPTED, "as_of": "2024-13-01"}),
    case("no-version-in-force", 422, EVALUATE, {**ACCEPTED, "as_of": "1900-01-01"}),
    case("unknown-rule-set", 404, "/v1/rulesets/no_such_rules/evaluate", ACCEPTED),
    case("no-identifier", 404, "/v1/rulesets/TV/evaluate", ACCEPTED),
    case("malformed", 400, EVALUATE, b"{not json"),
    case("nan", 400, EVALUATE, b"NaN"),
    case("lone-surrogate", 400, EVALUATE, b'{"facts": {"prefecture": "\\ud800"}}'),
    case("huge-integer", 422, EVALUATE, b'{"facts": {"n": 123456789012345678901234567890}}'),
    case("not-json", 415, EVALUATE, ACCEPTED, headers={"Content-Type": "text/plain"}),
    case("json-suffix", 200, EVALUATE, ACCEPTED, headers={"Content-Type": PROBLEM_MIMETYPE}),
    case("body-too-large", 413, EVALUATE, b"[" * 5000),
    case("batch-too-large", 413, BATCH, {"items": [ACCEPTED] * 6}),
    case("batch-empty", 422, BATCH, {"items": []}),
    case("explain-unknown", 422, BATCH + "?explain=verbose", ONE),
    case("explain-and-more", 200, BATCH + "?explain=full&x=1", ONE),
    case("explain-encoded", 200, BATCH + "?explain=%66ull", ONE),
    case("trailing-slash", 404, EVALUATE + "/", ACCEPTED),
    # partial answers and what-ifs (engine.rules.partial): Flask's, except batch items with unknown
    # facts, which the shared decide_batch and batch_json answer alike on both paths
    case("evaluate-unknown", 200, EVALUATE, PARTIAL),
    case("evaluate-unknown-empty", 200, EVALUATE, {**ACCEPTED, "unknown": []}),
    case("evaluate-whatif", 200, EVALUATE + "?explain=whatif", {"facts": TV_TWO_REFUSALS}),
    case("evaluate-whatif-encoded", 200, EVALUATE + "?%65xplain=whatif", ACCEPTED),
    case("evaluate-explain-full", 200, EVALUATE + "?explain=full", ACCEPTED),
    case("evaluate-explain-compact", 200, EVALUATE + "?explain=compact", ACCEPTED),
    case("evaluate-explain-other", 422, EVALUATE + "?explain=terse", ACCEPTED),
    case("unknown-not-a-fact", 422, EVALUATE, {**PARTIAL, "unknown": ["nope"]}),
    case("unknown-too-many", 422, EVALUATE, {"facts": {}, "unknown": TV_FACTS}),
    case("batch-whatif", 200, BATCH + "?explain=whatif", {"items": [ACCEPTED, PARTIAL]}),
    case("batch-unknown-items", 200, BATCH, {"items": [ACCEPTED, PARTIAL, BAD_UNKNOWN]}, True),
    case("batch-unknown-full", 200, BATCH + "?explain=full", {"items": [PARTIAL]}, True),
]


@pytest.mark.parametrize(("path", "body", "headers", "config", "status", "fast"), CASES)
def test_the_fast_path_answers_as_flask_does(
    apps: tuple[Flask, Flask],
    handed_over: list[str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: Any,
    headers: dict[str, str],
    config: dict[str, Any],
    status: int,
    fast: bool,
) -> None:
    for app in apps:
        for key, value in config.items():
            monkeypatch.setitem(app.config, key, value)
    assert assert_same(apps, path, body, **headers)[0] == status
    assert handed_over == ([] if fast else [path.partition("?")[0]])


def test_other_methods_reach_flask(apps: tuple[Flask, Flask]) -> None:
    for app in apps:
        response = app.test_client().get(EVALUATE)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/problem+json"


fact_values = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    st.none(),
    st.text(max_size=3),
    st.sampled_from(["tokyo", "osaka", "confirmed_inside", "ntt_flets", "designated", "unknown"]),
)
facts = st.fixed_dictionaries(
    {}, optional={name: fact_values for name in TV_TWO_REFUSALS} | {"bogus": fact_values}
) | st.builds(
    lambda f: {**TV_ACCEPTED, **f},
    st.dictionaries(st.sampled_from(list(TV_ACCEPTED)), fact_values, max_size=2),
)  # noqa: E501


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    facts,
    st.lists(facts, min_size=1, max_size=4),
    st.sampled_from([None, "2024-04-01", "2019-09-30", "nope"]),
    st.sampled_from(["ja", "en", "fr", "en;q=0.1, ja;q=0.9", ""]),
)
def test_random_requests_are_answered_alike(
    apps: tuple[Flask, Flask],
    one: dict[str, Any],
    many: list[dict[str, Any]],
    as_of: str | None,
    lang: str,
) -> None:
    dated = {"as_of": as_of} if as_of else {}
    assert_same(apps, EVALUATE, {"facts": one, **dated}, **{"Accept-Language": lang})
    items = [{"facts": f} for f in many]
    assert_same(apps, BATCH, {"items": items, **dated}, **{"Accept-Language": lang})


def test_a_failure_after_logging_is_a_500_problem_and_one_log_row(
    apps: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(wsgi, "decision_json", broken)
    response = (
        apps[0]
        .test_client()
        .post(EVALUATE, json={"facts": TV_ACCEPTED}, headers={"X-Request-ID": "render-fails"})
    )
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "render-fails"
    assert response.get_json()["request_id"] == "render-fails"
    assert "Traceback" not in response.get_data(as_text=True)
    assert len(log_rows(apps[0], "render-fails")) == 1


@pytest.fixture
def access_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the JSON log handler writes, at level INFO, for the duration of a test."""
    logger = logging.getLogger("webapp")
    handler = next(h for h in logger.handlers if getattr(h, "_flets_json", False))
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.setLevel(level)


def access_entries(stream: io.StringIO) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    stream.truncate(0)
    stream.seek(0)
    return [e for e in entries if e["logger"] == "webapp.access"]


def test_both_paths_write_the_same_access_line(
    apps: tuple[Flask, Flask], access_lines: io.StringIO
) -> None:
    seen = []
    for app in apps:
        app.test_client().post(
            EVALUATE, json={"facts": TV_ACCEPTED}, headers={"X-Request-ID": "access-line"}
        )
        (entry,) = access_entries(access_lines)
        assert entry.pop("duration_ms") >= 0
        assert entry.pop("ts").endswith("+00:00")
        seen.append(entry)
    assert (
        seen[0]
        == seen[1]
        == {
            "level": "info",
            "logger": "webapp.access",
            "message": "request",
            "request_id": "access-line",
            "method": "POST",
            "path": EVALUATE,
            "status": 200,
        }
    )


def test_another_log_handler_gets_the_access_record_too(
    apps: tuple[Flask, Flask], access_lines: io.StringIO
) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    extra = Collect()
    logger = logging.getLogger("webapp")
    logger.addHandler(extra)
    try:
        apps[0].test_client().post(EVALUATE, json={"facts": TV_ACCEPTED})
    finally:
        logger.removeHandler(extra)
    (record,) = [r for r in records if r.name == "webapp.access"]
    assert (record.status, record.path) == (200, EVALUATE)  # type: ignore[attr-defined]
    assert len(access_entries(access_lines)) == 1


# --- the envelopes read without marshmallow == schema.load ----------------------------------------

_day_texts = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "2025-02-30",
            "20250401",
            "2025-W14-2",
            "2025-4-1",
            "",
            " 2025-04-01",
            "2025-04-01T00:00",
            "２０２５-04-01",
            "2025-04-01\n",
        ]
    ),
    st.text(max_size=12),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _day_texts,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
_facts = st.dictionaries(st.text(max_size=8), _values, max_size=4)


def _field_values(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    """Values for one declared field of an envelope: ones it loads, and ones it refuses."""
    if isinstance(field, fields.Dict):
        return st.one_of(_facts, _values)
    if isinstance(field, fields.Date):
        return st.one_of(_day_texts, _values)
    if isinstance(field, fields.List):
        items = st.one_of(_values, st.fixed_dictionaries({"facts": _facts}))
        return st.one_of(st.lists(items, max_size=3), _values)
    raise TypeError(f"no values for {field!r}: teach this test and webapp/fast/envelopes.py")


def envelopes(schema: Schema) -> st.SearchStrategy[Any]:
    """Envelopes of ``schema``'s declared fields (the required ones mostly present), with an unknown
    key now and then, or no object at all."""
    declared = {name: _field_values(field) for name, field in schema.fields.items()}
    required = {name: declared[name] for name, field in schema.fields.items() if field.required}
    optional = {name: values for name, values in declared.items() if name not in required}
    return st.one_of(
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries(required, optional={**optional, "other": _values}),
        st.fixed_dictionaries({}, optional=declared),
        _values,
    )


def _schema_load(schema: Schema, data: Any) -> Any:
    try:
        return schema.load(data)
    except ValidationError:
        return "invalid"


@pytest.mark.parametrize(
    ("schema", "quick"),
    [(EVALUATE_REQUEST, quick_evaluate_request), (BATCH_REQUEST, quick_batch_request)],
    ids=["evaluate", "batch"],
)
def test_an_envelope_read_quickly_is_what_the_schema_loads(
    schema: Schema, quick: Callable[[Any], dict[str, Any] | None]
) -> None:
    @settings(max_examples=400, deadline=None)
    @given(envelopes(schema))
    def agrees(data: Any) -> None:
        read = quick(data)
        if read is not None:
            assert read == _schema_load(schema, data)

    agrees()


@settings(max_examples=300, deadline=None)
@given(st.one_of(_values, envelopes(BATCH_ITEM), envelopes(EVALUATE_REQUEST)))
def test_plain_batch_items_are_exactly_items_the_schema_accepts(item: Any) -> None:
    if is_plain_batch_item(item):
        assert BATCH_ITEM.validate(item) == {}


def test_the_quick_readers_take_the_ordinary_envelopes() -> None:
    assert quick_evaluate_request({"facts": {"a": 1}, "as_of": "2025-04-01"}) == {
        "facts": {"a": 1},
        "as_of": date(2025, 4, 1),
    }
    assert quick_batch_request({"items": [{"facts": {}}]}) == {
        "items": [{"facts": {}}],
        "as_of": None,
    }
    assert is_plain_batch_item({"facts": {}})


# --- cached and spliced JSON text == dumps of the plain value -------------------------------------


@pytest.fixture
def book(app: Flask) -> Rulebook:
    with app.app_context():
        return get_rulebook()


def _example_decisions(book: Rulebook) -> list[Decision]:
    return [
        book.decide(rs.id, example.facts, example.as_of or date(2025, 4, 1))
        for rs in book.all_rulesets()
        for example in rs.examples
        if rs.in_force(example.as_of or date(2025, 4, 1))
    ]


def test_cached_rendering_is_exactly_the_full_json_for_every_example(book: Rulebook) -> None:
    decisions = _example_decisions(book)
    assert len({d.ruleset.id for d in decisions}) == len(book.ids())
    for decision in decisions:
        for lang in LANGUAGES:
            expected = dumps(decision.to_dict(lang))
            assert decision_json(decision, lang) == expected  # fills the cache
            assert decision_json(decision, lang) == expected  # served from it
            assert json.loads(expected) == decision.to_dict(lang)
        assert compact_decision_json(decision) == dumps(compact_decision(decision))


def test_a_cached_answer_is_never_served_for_other_reasons(book: Rulebook) -> None:
    decision = book.decide("tv_application", TV_TWO_REFUSALS, date(2025, 4, 1))
    decision_json(decision, "en")
    other = replace(decision, reasons=decision.reasons[:1])  # same outcome and fired rules
    assert decision_json(other, "en") == dumps(other.to_dict("en"))
    assert compact_decision_json(other) == dumps(compact_decision(other))


def test_same_answer_other_facts_and_date_renders_its_own(book: Rulebook) -> None:
    first = book.decide("tv_application", TV_ACCEPTED, date(2025, 4, 1))
    second = book.decide("tv_application", {**TV_ACCEPTED, "bulk_plan": True}, date(2024, 1, 2))
    for decision in (first, second, first):
        assert decision_json(decision, "ja") == dumps(decision.to_dict("ja"))


def test_a_spliced_batch_is_exactly_the_json_of_its_value(book: Rulebook) -> None:
    items = [
        {"facts": TV_TWO_REFUSALS},
        {"facts": {**TV_ACCEPTED, "prefecture": "mars"}},
        "nope",
        {"facts": TV_ACCEPTED, "extra": 1},
        {"facts": TV_ACCEPTED},
    ]
    outcome = decide_batch(book, "tv_application", {"items": items, "as_of": date(2025, 4, 1)})
    first, *_, last = outcome.results
    assert isinstance(first, Decision) and isinstance(last, Decision)
    for lang in LANGUAGES:
        for explain in EXPLAIN_LEVELS:
            text = batch_json(outcome, lang, explain)
            value = json.loads(text)
            assert dumps(value) == text
            assert [value[k] for k in ("ruleset", "as_of", "explain", "count", "errors")] == [
                "tv_application",
                "2025-04-01",
                explain,
                5,
                3,
            ]
            assert [r["ok"] for r in value["results"]] == [True, False, False, False, True]
            for decision, result in ((first, value["results"][0]), (last, value["results"][4])):
                full = explain != "compact"  # whatif is full (these decisions have no changes)
                plain = decision.to_dict(lang) if full else compact_decision(decision)
                assert result["decision"] == plain


def test_whatif_and_partial_answers_render_exactly_as_their_json(book: Rulebook) -> None:
    """A what-if's changes are spliced from each change's cached text; a partial answer is rendered
    afresh: both equal ``dumps`` of the plain value, for every example of two rule sets."""
    for ruleset_id in ("tv_application", "passport_purchase"):
        rs = book.select(ruleset_id, date(2025, 4, 1))
        for example in rs.examples:
            day = example.as_of or date(2025, 4, 1)
            decided = partial.decide(book, ruleset_id, example.facts, (), day, whatif=True)
            first = next(iter(example.facts))
            rest = {k: v for k, v in example.facts.items() if k != first}
            unknown = partial.decide(book, ruleset_id, rest, [first], day, whatif=True)
            for decision in (decided, unknown):
                for lang in LANGUAGES:
                    expected = dumps(decision.to_dict(lang))
                    assert decision_json(decision, lang) == expected  # fills the caches
                    assert decision_json(decision, lang) == expected  # served from them
                    assert json.loads(expected) == decision.to_dict(lang)
