"""The admin API refuses what it cannot use with a problem naming the field, never a 500.

Before: ``GET /v1/admin/decisions?since=0001-01-01`` overflowed the date arithmetic (midnight in Tokyo
of 0001-01-01 is in the year 0 in UTC), a limit of ``²`` or of 5,000 digits crashed ``int``, an impact
candidate with a NUL or longer than the file system takes crashed the path lookup, and deeply nested
JSON crashed the parser: all 500s. Each is now a 400 or 422 in the language asked for.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.paths import rules_dir
from webapp.admin_schemas import FIRST_DAY, LAST_DAY, MAX_QUERY_LIMIT

TOKEN = "admin-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EN = {**AUTH, "Accept-Language": "en"}
JA = {**AUTH, "Accept-Language": "ja"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def admin(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FlaskClient:
    """The session's app with an admin token, and an impact root holding a ``candidate`` folder."""
    (tmp_path / "candidate").mkdir()
    shutil.copy(rules_dir() / "tv_application.yaml", tmp_path / "candidate")
    monkeypatch.setitem(app.config, "ADMIN_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "IMPACT_ROOT", str(tmp_path))
    return app.test_client()


def problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["type"] == f"/problems/{slug}"
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def texts_of(body: dict[str, Any]) -> list[str]:
    return [body["title"], body["detail"], *(e["message"] for e in body["errors"])]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=0001-01-01", "since"),
        ("until=0001-01-01", "until"),
        ("since=0001-01-01T00:00:00%2B00:00", "since"),
        ("until=9999-12-31T23:59:59-12:00", "until"),
        ("since=2025-13-01", "since"),
        ("limit=%C2%B2", "limit"),  # '²': a digit to str.isdigit, not to int
        ("limit=" + "9" * 5000, "limit"),  # more digits than int() converts
        ("limit=0", "limit"),
        (f"limit={MAX_QUERY_LIMIT + 1}", "limit"),
        ("ruleset=%00", "ruleset"),
        ("request_id=a%0Ab", "request_id"),
        ("outcome=" + "x" * 201, "outcome"),
    ],
)
def test_a_bad_decision_query_is_a_422_naming_the_field(
    admin: FlaskClient, query: str, field: str
) -> None:
    ja = problem(admin.get(f"/v1/admin/decisions?{query}", headers=JA), 422, "invalid-fields")
    assert fields_of(ja) == [field]
    assert all(JAPANESE.search(text) for text in texts_of(ja)), texts_of(ja)
    en = problem(admin.get(f"/v1/admin/decisions?{query}", headers=EN), 422, "invalid-fields")
    assert not any(JAPANESE.search(text) for text in texts_of(en)), texts_of(en)


def test_the_date_bounds_are_named(admin: FlaskClient) -> None:
    body = problem(admin.get("/v1/admin/decisions?since=0001-01-01", headers=EN), 422,
                   "invalid-fields")  # fmt: skip
    assert body["errors"][0]["message"] == (
        f"Must be a date (or date-time) from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."
    )


@pytest.mark.parametrize(
    "query",
    [
        f"since={FIRST_DAY.isoformat()}",
        f"until={LAST_DAY.isoformat()}",
        "since=9999-12-31T00:00:00%2B00:00",
        "until=0001-01-02T00:00:00-12:00",
        f"limit={MAX_QUERY_LIMIT}",
        "limit=0001",
        "ruleset=&outcome=&request_id=",
        "ruleset=" + "x" * 200,
    ],
)
def test_queries_at_the_bounds_are_answered(admin: FlaskClient, query: str) -> None:
    response = admin.get(f"/v1/admin/decisions?{query}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decisions"] == []


def impact(admin: FlaskClient, body: Any, headers: dict[str, str] = EN) -> TestResponse:
    return admin.post("/v1/admin/impact", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"candidate": "can\u0000didate"}, "candidate"),
        ({"candidate": "candidate\n"}, "candidate"),
        ({"candidate": "a" * 5000}, "candidate"),  # longer than any path
        ({"candidate": "a" * 300}, "candidate"),  # one name longer than the file system takes
        ({"candidate": "a/" * 500}, "candidate"),
        ({"candidate": "../../etc"}, "candidate"),
        ({"candidate": "candidate", "since": "0001-01-01"}, "since"),
        (
            {"candidate": "candidate", "cases": [{"ruleset": "tv_application", "facts": {},
                                                  "as_of": "0001-01-01"}]},
            "cases.0.as_of",
        ),
    ],
)  # fmt: skip
def test_a_bad_impact_request_is_a_422_naming_the_field(
    admin: FlaskClient, body: dict[str, Any], field: str
) -> None:
    en = problem(impact(admin, body), 422, "invalid-fields")
    assert fields_of(en) == [field]
    assert not any(JAPANESE.search(text) for text in texts_of(en)), texts_of(en)
    ja = problem(impact(admin, body, JA), 422, "invalid-fields")
    assert all(JAPANESE.search(text) for text in texts_of(ja)), texts_of(ja)


def nested(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        b'{"candidate": "candidate", "cases": ' + nested(100_000) + b"}",
        b'{"candidate": ' + nested(5_000, b'"candidate"') + b"}",
        b'{"candidate": "candidate", "cases": [{"ruleset": "tv_application", "facts": {"x": '
        + b'{"a": ' * 5_000
        + b"1"
        + b"}" * 5_000
        + b"}}]}",
        b'{"candidate": ',
    ],
    ids=["cases", "candidate", "facts", "truncated"],
)
def test_deeply_nested_or_broken_admin_json_is_a_400(admin: FlaskClient, raw: bytes) -> None:
    response = admin.post("/v1/admin/impact", data=raw, content_type="application/json", headers=EN)
    body = problem(response, 400, "malformed-json")
    assert body["detail"].startswith("The body is not valid JSON")


def test_an_impact_request_at_the_bounds_is_answered(admin: FlaskClient) -> None:
    for since in (FIRST_DAY.isoformat(), LAST_DAY.isoformat()):
        response = impact(admin, {"candidate": "candidate", "since": since})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["changed"] == 0


def test_an_impact_body_that_is_not_json_is_still_a_422(admin: FlaskClient) -> None:
    response = admin.post("/v1/admin/impact", data="candidate=x", headers=EN,
                          content_type="application/x-www-form-urlencoded")  # fmt: skip
    body = problem(response, 422, "invalid-fields")
    assert body["detail"] == "Send a JSON object."
