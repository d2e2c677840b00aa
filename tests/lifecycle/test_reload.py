"""Hot reload in one process: a broken file never replaces a good one; swaps under load lose no request.

(Several workers on one generation: tests/lifecycle/test_generations.py and test_worker_generations.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.errors import ValidationError
from engine.lifecycle.generations import Sources
from engine.lifecycle.reload import EngineHolder, load_bundle
from engine.lifecycle.reloader import Reloader
from webapp import create_app
from webapp.state import app_state

from .conftest import ADMIN_TOKEN, table_app

TOKEN = ADMIN_TOKEN
FACTS = {"plan": "basic", "users": 3}
ALLOW = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)
REFUSE = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"),)


@pytest.fixture
def app(write_table: Callable[..., Path], rules_folder: Path, tmp_path: Path) -> Iterator[Flask]:
    write_table(rows=ALLOW, version="1.0")
    yield from table_app(rules_folder, tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def admin(client: FlaskClient, method: str, path: str, **kwargs: object) -> object:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return client.open(f"/v1/admin/{path}", method=method, headers=headers, **kwargs)  # type: ignore[arg-type]


def decide(client: FlaskClient) -> dict[str, object]:
    response = client.post("/v1/rulesets/plan_change/evaluate", json={"facts": FACTS})
    assert response.status_code == 200, response.get_json()
    body: dict[str, object] = response.get_json()
    return body


def test_reload_swaps_in_the_new_version(
    client: FlaskClient, write_table: Callable[..., Path]
) -> None:
    assert decide(client)["outcome"] == "allowed"
    write_table(rows=REFUSE, version="1.1")
    response = admin(client, "POST", "reload")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.get_json()["generation"] == 2  # type: ignore[attr-defined]
    body = decide(client)
    assert (body["version"], body["outcome"]) == ("1.1", "refused")


def test_broken_file_never_replaces_a_good_one(client: FlaskClient, rules_folder: Path) -> None:
    path = rules_folder / "plan_change.yaml"
    path.write_text(path.read_text().replace("outcome: allowed", "outcome: alowed"), "utf-8")
    response = admin(client, "POST", "reload")
    assert response.status_code == 422  # type: ignore[attr-defined]
    problem = response.get_json()  # type: ignore[attr-defined]
    assert problem["type"] == "/problems/reload-refused"
    assert problem["serving_generation"] == 1
    assert any("plan_change.yaml:" in e["field"] and "bad-value" in e["message"]
               for e in problem["errors"])  # fmt: skip
    body = decide(client)  # the old version keeps answering
    assert (body["version"], body["outcome"]) == ("1.0", "allowed")
    status = admin(client, "GET", "status").get_json()  # type: ignore[attr-defined]
    assert status["serving"]["generation"] == 1
    assert status["last_error"]["ok"] is False
    assert status["last_error"]["errors"][0]["code"] == "bad-value"


def test_analysis_error_is_refused_too(
    client: FlaskClient, write_table: Callable[..., Path]
) -> None:
    shadowed = (*ALLOW, ("basic_tiny", "{all: [{plan: basic}, {fact: users, less_than: 2}]}",
                         "refused"))  # fmt: skip
    write_table(rows=shadowed, version="1.2")
    response = admin(client, "POST", "reload")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "shadowed-row" in str(response.get_json()["errors"])  # type: ignore[attr-defined]
    assert decide(client)["version"] == "1.0"


@pytest.mark.parametrize(
    ("headers", "status", "slug"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "unauthorized"),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "reload"), ("GET", "status"),
                                              ("GET", "decisions"), ("POST", "impact")])  # fmt: skip
def test_no_admin_action_without_the_token(
    client: FlaskClient, method: str, path: str, headers: dict[str, str], status: int, slug: str
) -> None:
    response = client.open(f"/v1/admin/{path}", method=method, headers=headers, json={})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == f"/problems/{slug}"
    assert app_state(client.application).holder.current.generation == 1


def test_admin_api_is_closed_when_no_token_is_configured(rules_folder: Path, tmp_path: Path,
                                                         write_table: Callable[..., Path]) -> None:  # fmt: skip
    write_table(rows=ALLOW)
    app = create_app({"TESTING": True, "RULES_DIR": str(rules_folder), "LOG_LEVEL": "CRITICAL",
                      "TARIFFS_DIR": str(tmp_path / "none")})  # fmt: skip
    try:
        response = app.test_client().post("/v1/admin/reload", headers={"Authorization": "Bearer "})
        assert response.status_code == 401
        response = app.test_client().post("/v1/admin/reload", headers={"Authorization": "Bearer x"})
        assert response.status_code == 403
    finally:
        app_state(app).reloader.close()


def test_decision_endpoints_can_be_restricted(app: Flask) -> None:
    app.config["DECISION_TOKEN"] = "orders-token"
    client = app.test_client()
    url = "/v1/rulesets/plan_change/evaluate"
    assert client.post(url, json={"facts": FACTS}).status_code == 401
    assert client.post(url, json={"facts": FACTS},
                       headers={"Authorization": "Bearer nope"}).status_code == 403  # fmt: skip
    ok = client.post(url, json={"facts": FACTS}, headers={"Authorization": "Bearer orders-token"})
    assert ok.status_code == 200
    assert client.get("/v1/rulesets").status_code == 200  # reading the catalogue stays open


def test_in_flight_lease_keeps_its_version_and_old_engine_closes_after(
    rules_folder: Path, write_table: Callable[..., Path]
) -> None:
    write_table(rows=ALLOW, version="1.0")
    holder = EngineHolder(load_bundle(rules_folder))
    try:
        with holder.lease() as old:
            write_table(rows=REFUSE, version="2.0")
            holder.install(load_bundle(rules_folder))
            # the swap happened, but this request still decides with what it started on
            assert old.rulebook.decide("plan_change", FACTS).outcome.id == "allowed"
            with holder.lease() as new:
                assert new.rulebook.decide("plan_change", FACTS).outcome.id == "refused"
        assert old.rulebook.runtime._closed  # released last: the old engine is closed now
        assert not holder.current.rulebook.runtime._closed
    finally:
        holder.close()


def test_first_load_failure_raises(rules_folder: Path) -> None:
    (rules_folder / "bad.yaml").write_text("ruleset: [", "utf-8")
    with pytest.raises(ValidationError):
        Reloader.private(Sources(rules_folder))


def test_watcher_reloads_on_change_and_not_otherwise(
    rules_folder: Path, write_table: Callable[..., Path]
) -> None:
    write_table(rows=ALLOW, version="1.0")
    watcher = Reloader.private(Sources(rules_folder), watch_interval=60)
    holder = watcher.holder
    try:
        assert watcher.check_folders() is None
        write_table(rows=REFUSE, version="1.1")
        result = watcher.check_folders()
        assert result is not None and result.ok and holder.current.generation == 2
        assert result.changed == {"added": [], "changed": ["rules/plan_change.yaml"], "removed": []}
        (rules_folder / "plan_change.yaml").write_text("ruleset: [", "utf-8")
        refused = watcher.check_folders()
        assert refused is not None and not refused.ok
        assert watcher.check_folders() is None  # a refused version is not retried until it changes
        assert holder.current.rulebook.select("plan_change").version == "1.1"
        (rules_folder / "plan_change.yaml").touch()  # scanned again, but the same refused bytes
        assert watcher.check_folders() is None
    finally:
        watcher.close()


def test_watcher_thread_picks_up_a_change(
    rules_folder: Path, write_table: Callable[..., Path]
) -> None:
    write_table(rows=ALLOW, version="1.0")
    reloaded = threading.Event()
    watcher = Reloader.private(
        Sources(rules_folder), watch_interval=0.05, report=lambda result: reloaded.set()
    )
    reloaded.clear()  # the first load reports too
    watcher.start()
    try:
        write_table(rows=REFUSE, version="1.1")
        assert reloaded.wait(10)
        assert watcher.holder.current.rulebook.select("plan_change").version == "1.1"
    finally:
        watcher.close()


def test_reload_under_concurrent_load_loses_no_request(
    app: Flask, write_table: Callable[..., Path]
) -> None:
    per_thread, threads = 60, 4
    answers: list[tuple[int, str]] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        client = app.test_client()
        start.wait()
        for _ in range(per_thread):
            response = client.post("/v1/rulesets/plan_change/evaluate", json={"facts": FACTS})
            body = response.get_json()
            with lock:
                if response.status_code == 200:
                    answers.append((response.status_code, f"{body['version']}:{body['outcome']}"))
                else:
                    failures.append(f"{response.status_code} {body}")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    reloader = app_state(app).reloader
    holder = reloader.holder
    for i in range(6):
        rows, version = (REFUSE, f"2.{i}") if i % 2 == 0 else (ALLOW, f"3.{i}")
        write_table(rows=rows, version=version)
        assert reloader.reload().ok
    for thread in pool:
        thread.join()
    assert failures == []
    assert len(answers) == per_thread * threads
    # every answer is consistent with one version: 1.x/3.x allow, 2.x refuse
    assert all(a.endswith("allowed") == (a[0] in "13") for _, a in answers)
    assert holder.current.generation == 7
