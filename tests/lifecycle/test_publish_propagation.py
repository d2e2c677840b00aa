"""A publish from the studio reaches every server instance sharing one PostgreSQL database: two real
servers (gunicorn, separate rules folders, one throwaway PostgreSQL), a publish on the first is
served by the second within 5 seconds, its file written into the second's folder; and the publish
record lives in that database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.lifecycle.publishes import PostgresPublishStore
from engine.paths import PROJECT_ROOT

TOKEN = "propagation-admin-token"
FACTS = {"plan": "basic", "users": 3}
ALLOW = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)
REFUSE = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"),)

pytestmark = pytest.mark.slow


def http(
    port: int, method: str, path: str, body: object = None, token: str | None = TOKEN
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def evaluate(port: int) -> dict[str, Any]:
    status, body = http(port, "POST", "/v1/rulesets/plan_change/evaluate", {"facts": FACTS}, None)
    assert status == 200, body
    answer: dict[str, Any] = body
    return answer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(tmp_path: Path, name: str, port: int, url: str, text: str) -> subprocess.Popen[bytes]:
    folder = tmp_path / name / "rules"
    folder.mkdir(parents=True)
    (folder / "plan_change.yaml").write_text(text, encoding="utf-8")
    env = {**os.environ, "FLETS_RULES_DIR": str(folder), "FLETS_AUDIT_URL": url,
           "FLETS_TARIFFS_DIR": str(tmp_path / "none"), "FLETS_RELOAD_INTERVAL": "0",
           "FLETS_ADMIN_TOKEN": TOKEN, "FLETS_PUBLISH_POLL_INTERVAL": "0.5",
           "FLETS_GENERATIONS_DIR": str(tmp_path / name / "generations"),
           "FLETS_LOG_LEVEL": "WARNING"}  # fmt: skip
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1",
               "--bind", f"127.0.0.1:{port}", "webapp:create_app()"]  # fmt: skip
    with (tmp_path / f"{name}.log").open("wb") as server_log:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=server_log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server on port {port} did not get ready")


def test_a_publish_on_one_instance_is_served_by_the_other_within_5_seconds(
    tmp_path: Path, postgres_url: str, make_table: Callable[..., str]
) -> None:
    first_port, second_port = _free_port(), _free_port()
    servers = [
        _start(tmp_path, "first", first_port, postgres_url, make_table(rows=ALLOW, version="1.0")),
        _start(
            tmp_path, "second", second_port, postgres_url, make_table(rows=ALLOW, version="1.0")
        ),
    ]
    try:
        deadline = time.monotonic() + 60
        _ready(first_port, deadline)
        _ready(second_port, deadline)
        assert evaluate(second_port)["outcome"] == "allowed"
        draft = make_table(rows=REFUSE, version="1.1")
        status, body = http(first_port, "POST", "/v1/studio/rules/plan_change/publish",
                            {"text": draft, "reason": "basic refused"})  # fmt: skip
        assert status == 201, body
        published_at = time.monotonic()
        assert evaluate(first_port)["version"] == "1.1"
        seen = None
        while time.monotonic() - published_at < 5:
            answer = evaluate(second_port)
            if answer["version"] == "1.1":
                seen = time.monotonic() - published_at
                break
            time.sleep(0.1)
        assert seen is not None, "the second instance did not serve the publish within 5 s"
        assert answer["outcome"] == "refused"
        written = (tmp_path / "second" / "rules" / "plan_change.yaml").read_text(encoding="utf-8")
        assert written == draft
        # The second instance lists the publish the first took: one record, in the database.
        status, listed = http(second_port, "GET", "/v1/studio/publishes")
        assert status == 200
        assert [(p["version"], p["who"]) for p in listed["publishes"]] == [("1.1", "admin")]
        assert [p.version for p in PostgresPublishStore(postgres_url).recent(None, None, 10)] == [
            "1.1"
        ]
        # A changed file under the published version is refused on the second instance too.
        status, body = http(second_port, "POST", "/v1/studio/rules/plan_change/publish",
                            {"text": make_table(rows=ALLOW, version="1.1"), "reason": "x"})  # fmt: skip
        assert status == 422 and body["diagnostics"][0]["code"] == "version-not-bumped"
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
