"""End to end against a real gunicorn: the production server, real sockets, real limits."""

from __future__ import annotations

import pytest
import requests

from .conftest import TV_TWO_REFUSALS

pytestmark = pytest.mark.slow


def test_live_server_decides_and_echoes_the_request_id(live_server: str) -> None:
    response = requests.post(
        f"{live_server}/v1/rulesets/tv_application/evaluate",
        json={"facts": TV_TWO_REFUSALS},
        headers={"Accept-Language": "en", "X-Request-ID": "live-1"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "live-1"
    body = response.json()
    assert body["outcome"] == "may_refuse"
    assert [r["code"] for r in body["reasons"]] == [
        "in_default_or_likely",
        "likely_to_breach_article_32",
    ]


def test_live_server_refuses_an_oversized_body_naming_the_limit(live_server: str) -> None:
    big = b'{"items": [' + b'{"facts": {}},' * 800_000 + b'{"facts": {}}]}'
    response = requests.post(
        f"{live_server}/v1/rulesets/tv_application/evaluate-batch",
        data=big,
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["limit"] == 8 * 1024 * 1024


def test_live_server_serves_the_page_and_the_docs(live_server: str) -> None:
    page = requests.get(f"{live_server}/checks/tv_application", timeout=10)
    assert page.status_code == 200 and '<html lang="ja">' in page.text
    assert (
        requests.get(f"{live_server}/openapi.json", timeout=10).json()["openapi"].startswith("3.")
    )
    assert requests.get(f"{live_server}/readyz", timeout=10).json()["status"] == "ready"
