"""The WSGI fast path answers exactly as the Flask app does: same status, headers, body and log rows.

Two apps with their own decision logs, one with the fast path and one without, get the same requests:
the common case (which the fast path answers itself) and every kind of request it must hand to Flask.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.lifecycle.audit import Query
from webapp import create_app, fastpath
from webapp.admin import AUDIT_KEY

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

TOKEN = "s3cret-decisions"
EVALUATE = "/v1/rulesets/tv_application/evaluate"
BATCH = "/v1/rulesets/tv_application/evaluate-batch"


def make_app(folder: Path, fast: bool, **config: Any) -> Flask:
    return create_app({"TESTING": True, "LOG_LEVEL": "WARNING", "FAST_PATH": fast,
                       "AUDIT_URL": str(folder / "decisions.sqlite3"), "MAX_BATCH_ITEMS": 5,
                       "MAX_CONTENT_LENGTH": 4096, **config})  # fmt: skip


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Flask]]:
    pair = (make_app(tmp_path_factory.mktemp("fast"), True),
            make_app(tmp_path_factory.mktemp("flask"), False))  # fmt: skip
    yield pair
    close(*pair)


def close(*apps: Flask) -> None:
    for app in apps:
        app.extensions[AUDIT_KEY].close()


class Counted:
    """Counts the requests that reach Flask's own views."""

    def __init__(self, app: Flask) -> None:
        self.calls = 0
        for name in ("api.evaluate", "api.evaluate_batch"):
            view = app.view_functions[name]

            def counted(*args: Any, _view: Any = view, **kwargs: Any) -> Any:
                self.calls += 1
                return _view(*args, **kwargs)

            app.view_functions[name] = counted


def exchange(app: Flask, path: str, body: bytes, headers: dict[str, str]) -> tuple[Any, ...]:
    response = app.test_client().post(path, data=body, headers=headers)
    kept = sorted((k, v) for k, v in response.headers.items())
    return response.status_code, kept, response.get_data()


def log_rows(app: Flask, request_id: str) -> list[dict[str, object]]:
    records = app.extensions[AUDIT_KEY].query(Query(request_id=request_id, limit=None))
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


def test_the_common_case_is_answered_without_flask_and_alike(apps: tuple[Flask, Flask]) -> None:
    counted = Counted(apps[0])
    status, _, body = assert_same(apps, EVALUATE, {"facts": TV_TWO_REFUSALS})
    assert status == 200 and json.loads(body)["outcome"] == "may_refuse"
    status, _, body = assert_same(apps, BATCH, {"items": [{"facts": TV_ACCEPTED}] * 3})
    assert status == 200 and json.loads(body)["count"] == 3
    assert_same(apps, BATCH + "?explain=full", {"items": [{"facts": TV_ACCEPTED}]})
    assert_same(apps, EVALUATE, {"facts": TV_ACCEPTED, "as_of": "2024-04-01"},
                **{"Accept-Language": "en-GB,en;q=0.8"})  # fmt: skip
    assert_same(apps, EVALUATE + "?ignored=1", {"facts": TV_ACCEPTED},
                **{"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert counted.calls == 0


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        (EVALUATE, {"facts": {**TV_ACCEPTED, "prefecture": "mars"}}, {}),  # bad facts: 422
        (EVALUATE, {"facts": {}}, {}),
        (EVALUATE, {"facts": TV_ACCEPTED, "extra": 1}, {}),  # not a plain envelope
        (EVALUATE, {"facts": TV_ACCEPTED, "as_of": "2024-13-01"}, {}),
        (EVALUATE, {"facts": TV_ACCEPTED, "as_of": "1900-01-01"}, {}),  # no version in force
        ("/v1/rulesets/no_such_rules/evaluate", {"facts": TV_ACCEPTED}, {}),
        ("/v1/rulesets/TV/evaluate", {"facts": TV_ACCEPTED}, {}),
        (EVALUATE, b"{not json", {}),
        (EVALUATE, b"NaN", {}),
        (EVALUATE, b'{"facts": {"prefecture": "\\ud800"}}', {}),
        (EVALUATE, b'{"facts": {"n": 123456789012345678901234567890}}', {}),
        (EVALUATE, {"facts": TV_ACCEPTED}, {"Content-Type": "text/plain"}),
        (EVALUATE, {"facts": TV_ACCEPTED}, {"Content-Type": "application/problem+json"}),
        (EVALUATE, b"[" * 5000, {}),  # beyond MAX_CONTENT_LENGTH: 413
        (BATCH, {"items": [{"facts": TV_ACCEPTED}] * 6}, {}),  # beyond MAX_BATCH_ITEMS
        (BATCH, {"items": []}, {}),
        (BATCH, {"items": [{"facts": TV_ACCEPTED}, {"facts": {"x": 1}}, {"f": 1}, 3]}, {}),
        (BATCH + "?explain=verbose", {"items": [{"facts": TV_ACCEPTED}]}, {}),
        (BATCH + "?explain=full&x=1", {"items": [{"facts": TV_ACCEPTED}]}, {}),
        (EVALUATE + "/", {"facts": TV_ACCEPTED}, {}),
    ],
)
def test_everything_else_is_answered_by_flask_alike(
    apps: tuple[Flask, Flask], path: str, body: Any, headers: dict[str, str]
) -> None:
    status, _, _ = assert_same(apps, path, body, **headers)
    assert status != 500


def test_other_methods_reach_flask(apps: tuple[Flask, Flask]) -> None:
    for app in apps:
        response = app.test_client().get(EVALUATE)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_decision_token_is_checked_alike(tmp_path: Path) -> None:
    apps = (make_app(tmp_path / "a", True, DECISION_TOKEN=TOKEN),
            make_app(tmp_path / "b", False, DECISION_TOKEN=TOKEN))  # fmt: skip
    assert assert_same(apps, EVALUATE, {"facts": TV_ACCEPTED})[0] == 401
    assert (
        assert_same(apps, EVALUATE, {"facts": TV_ACCEPTED}, Authorization="Bearer nope")[0] == 403
    )
    ok = assert_same(apps, EVALUATE, {"facts": TV_ACCEPTED}, Authorization=f"Bearer {TOKEN}")
    assert ok[0] == 200
    close(*apps)


fact_values = st.one_of(
    st.booleans(), st.integers(-3, 3), st.none(), st.text(max_size=3),
    st.sampled_from(["tokyo", "osaka", "confirmed_inside", "ntt_flets", "designated", "unknown"]),
)  # fmt: skip
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
    apps: tuple[Flask, Flask], one: dict[str, Any], many: list[dict[str, Any]], as_of: str | None,
    lang: str,
) -> None:  # fmt: skip
    dated = {"as_of": as_of} if as_of else {}
    assert_same(apps, EVALUATE, {"facts": one, **dated}, **{"Accept-Language": lang})
    items = [{"facts": f} for f in many]
    assert_same(apps, BATCH, {"items": items, **dated}, **{"Accept-Language": lang})


def test_a_failure_after_logging_is_a_500_problem_and_one_log_row(
    apps: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(fastpath, "one_json", broken)
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
        app.test_client().post(EVALUATE, json={"facts": TV_ACCEPTED},
                               headers={"X-Request-ID": "access-line"})  # fmt: skip
        (entry,) = access_entries(access_lines)
        assert entry.pop("duration_ms") >= 0
        assert entry.pop("ts").endswith("+00:00")
        seen.append(entry)
    assert seen[0] == seen[1] == {
        "level": "info", "logger": "webapp.access", "message": "request",
        "request_id": "access-line", "method": "POST", "path": EVALUATE, "status": 200,
    }  # fmt: skip


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
