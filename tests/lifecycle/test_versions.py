"""Two versions of one rule set in one folder: ``as_of`` picks the version, the answer names it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import NoVersionInForceError, load_rulebook
from webapp import create_app
from webapp.state import app_state

OLD_ROWS = (("family_any", "{plan: family}", "allowed"),)
NEW_ROWS = (("family_refused", "{plan: family}", "refused"),)


@pytest.fixture
def two_versions(write_table: Callable[..., Path], rules_folder: Path) -> Path:
    write_table("plan_v1.yaml", rows=OLD_ROWS, version="1.0", start="2024-01-01", end="2024-12-31")
    write_table("plan_v2.yaml", rows=NEW_ROWS, version="2.0", start="2025-01-01")
    return rules_folder


@pytest.mark.parametrize(
    ("as_of", "version", "outcome"),
    [
        (date(2024, 1, 1), "1.0", "allowed"),
        (date(2024, 12, 31), "1.0", "allowed"),
        (date(2025, 1, 1), "2.0", "refused"),
        (date(2030, 6, 1), "2.0", "refused"),
    ],
)
def test_as_of_selects_the_version_in_force(
    two_versions: Path, as_of: date, version: str, outcome: str
) -> None:
    book = load_rulebook(two_versions)
    try:
        decision = book.decide("plan_change", {"plan": "family", "users": 1}, as_of)
    finally:
        book.close()
    assert (decision.ruleset.version, decision.outcome.id) == (version, outcome)
    assert decision.to_dict("en")["version"] == version


def test_no_version_before_the_first(two_versions: Path) -> None:
    book = load_rulebook(two_versions)
    try:
        with pytest.raises(NoVersionInForceError):
            book.decide("plan_change", {"plan": "family", "users": 1}, date(2023, 12, 31))
    finally:
        book.close()


@pytest.fixture
def client(two_versions: Path) -> Iterator[FlaskClient]:
    app: Flask = create_app({"TESTING": True, "RULES_DIR": str(two_versions), "LOG_LEVEL": "ERROR"})
    yield app.test_client()
    app_state(app).holder.close()


@pytest.mark.parametrize(("as_of", "version"), [("2024-06-30", "1.0"), ("2025-01-01", "2.0")])
def test_api_response_names_the_version(client: FlaskClient, as_of: str, version: str) -> None:
    response = client.post(
        "/v1/rulesets/plan_change/evaluate",
        json={"facts": {"plan": "family", "users": 2}, "as_of": as_of},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["version"], body["as_of"]) == (version, as_of)
