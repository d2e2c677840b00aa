"""Several workers, one generation: the store they share, driven step by step in one process.

Each :class:`Reloader` here stands for one gunicorn worker (its own holder, the same store); the
tests call its thread's two steps, ``check_folders`` and ``follow``, in the order a race would run
them. The same races against a real gunicorn: tests/lifecycle/test_worker_generations.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.errors import ValidationError
from engine.lifecycle.generations import (
    STALE_STORE,
    GenerationStore,
    Snapshot,
    Sources,
    default_store_folder,
)
from engine.lifecycle.reload import Bundle, load_bundle, load_snapshot
from engine.lifecycle.reloader import Reloader
from engine.paths import PROJECT_ROOT
from engine.rules import plans, table
from webapp.logs import JsonFormatter
from webapp.state import app_state

from .conftest import ADMIN_TOKEN, table_app

FACTS = {"plan": "basic", "users": 3}
ALLOW = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)
REFUSE = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"),)
TOKEN = ADMIN_TOKEN


@pytest.fixture
def store(tmp_path: Path) -> GenerationStore:
    return GenerationStore(tmp_path / "store")


@pytest.fixture
def workers(
    rules_folder: Path, write_table: Callable[..., Path], store: GenerationStore
) -> Iterator[Callable[[], Reloader]]:
    """Start "workers" on the rules folder and the shared store (no threads: the test drives them)."""
    write_table(rows=ALLOW, version="1.0")
    started: list[Reloader] = []

    def start() -> Reloader:
        reloader = Reloader(Sources(rules_folder), store, watch_interval=60, follow_interval=60)
        started.append(reloader)
        return reloader

    yield start
    for reloader in started:
        reloader.close()


def version(reloader: Reloader) -> str:
    with reloader.holder.lease() as bundle:
        return bundle.rulebook.select("plan_change").version


def break_file(rules_folder: Path) -> None:
    path = rules_folder / "plan_change.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("decide: first_match", "decide: first_mtach"), "utf-8")


def test_good_then_broken_write_leaves_every_worker_on_the_good_files(
    workers: Callable[[], Reloader], write_table: Callable[..., Path], rules_folder: Path
) -> None:
    first, second = workers(), workers()
    assert first.holder.current.generation == second.holder.current.generation == 1
    write_table(rows=REFUSE, version="1.1")
    published = first.check_folders()  # the first worker polls between the two writes
    assert published is not None and (published.ok, published.role) == (True, "published")
    break_file(rules_folder)
    refused = second.check_folders()  # the second polls only after the broken write
    assert refused is not None and (refused.ok, refused.role) == (False, "refused")
    assert any(d.code == "bad-value" for d in refused.errors)
    followed = second.follow()  # ... and catches up on the good files no longer on disk
    assert followed is not None and (followed.role, followed.generation) == ("followed", 2)
    assert version(first) == version(second) == "1.1"
    assert first.check_folders() is None  # the broken files were refused once, for everyone
    assert first.follow() is None
    assert len(first.store.refusals()) == 1


def test_touching_files_without_changing_them_publishes_nothing(
    workers: Callable[[], Reloader], rules_folder: Path
) -> None:
    worker = workers()
    (rules_folder / "plan_change.yaml").touch()
    assert worker.check_folders() is None  # the same digest: still generation 1
    assert worker.holder.current.generation == 1


def test_admin_reload_publishes_for_every_worker_and_waits_for_them(
    workers: Callable[[], Reloader], write_table: Callable[..., Path]
) -> None:
    first, second = workers(), workers()
    write_table(rows=REFUSE, version="2.0")
    result = first.reload("admin")
    assert (result.ok, result.generation) == (True, 2)
    everywhere, reports = first.wait_for_workers(2, timeout=0.2)
    assert not everywhere  # the second worker has not looked yet
    assert sorted(w.generation for w in reports) == [1, 2]
    second.follow()
    everywhere, reports = first.wait_for_workers(2, timeout=5)
    assert everywhere and [w.generation for w in reports] == [2, 2]
    assert version(second) == "2.0"
    again = second.reload("admin")  # nothing changed since: the published generation, no new one
    assert (again.ok, again.role, again.generation) == (True, "unchanged", 2)


def test_a_worker_started_while_the_folder_is_broken_joins_the_live_generation(
    workers: Callable[[], Reloader], write_table: Callable[..., Path], rules_folder: Path
) -> None:
    first = workers()
    write_table(rows=REFUSE, version="1.1")
    assert first.check_folders() is not None
    break_file(rules_folder)
    restarted = workers()  # gunicorn replaces a worker while the folder is broken
    assert version(restarted) == "1.1" and restarted.holder.current.generation == 2


def test_a_new_session_starts_from_the_folders_not_from_a_stale_store(
    rules_folder: Path, write_table: Callable[..., Path], store: GenerationStore
) -> None:
    write_table(rows=ALLOW, version="1.0")
    old = Reloader(Sources(rules_folder), store, watch_interval=60, follow_interval=60)
    write_table(rows=REFUSE, version="1.1")
    old.check_folders()
    old.close()  # the server stopped: nobody follows this store any more
    write_table(rows=ALLOW, version="3.0")
    new = Reloader(Sources(rules_folder), store, watch_interval=60, follow_interval=60)
    try:
        assert (version(new), new.holder.current.generation) == ("3.0", 1)
    finally:
        new.close()
    break_file(rules_folder)
    with pytest.raises(ValidationError):  # no live worker to join: a broken folder does not start
        Reloader(Sources(rules_folder), store, watch_interval=60, follow_interval=60)


def test_a_dead_worker_is_not_waited_for(store: GenerationStore) -> None:
    code = (
        "import os, sys; from pathlib import Path; "
        "from engine.lifecycle.generations import GenerationStore; "
        "GenerationStore(Path(sys.argv[1])).join(); os._exit(0)"  # dies without leaving
    )
    subprocess.run([sys.executable, "-c", code, str(store.root)], cwd=PROJECT_ROOT, check=True,
                   timeout=60)  # fmt: skip
    assert list((store.root / "workers").glob("*.lock"))
    assert store.workers() == []  # its lock is free: gone, and its files with it
    assert not list((store.root / "workers").glob("*.lock"))
    member = store.join()
    try:
        assert [w.generation for w in store.workers()] == [0]
    finally:
        member.leave()


def test_a_generation_keeps_the_folders_file_names(tmp_path: Path) -> None:
    """Loaded from its snapshot copy, a generation names files as in the folder: answers cite
    them, and the plan cache finds every unchanged rule set's plan."""
    sources = Sources(PROJECT_ROOT / "rules", PROJECT_ROOT / "tariffs")
    direct = load_bundle(sources.rules, sources.tariffs)
    reloader = Reloader.private(sources)
    try:
        copy = reloader.holder.current
        assert copy.digest and not str(copy.rulebook.all_rulesets()[0].file).startswith("/tmp")
        assert [rs.file for rs in copy.rulebook.all_rulesets()] == [
            rs.file for rs in direct.rulebook.all_rulesets()
        ]
        assert copy.tariffs is not None and direct.tariffs is not None
        assert [t.file for t in copy.tariffs.tariffs] == [t.file for t in direct.tariffs.tariffs]
    finally:
        reloader.close()
        direct.close()


def test_a_reload_builds_plans_only_for_changed_rule_sets(
    workers: Callable[[], Reloader],
    write_table: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = workers()
    monkeypatch.setattr(plans, "_store", None)  # this process's plans only: nothing built elsewhere
    built: list[str] = []
    original = table.build_plan

    def counting(compiled: Any, runtime: Any) -> Any:
        built.append(compiled.ruleset.id)
        return original(compiled, runtime)

    monkeypatch.setattr(table, "build_plan", counting)
    write_table(rows=ALLOW, version="1.1", name="other.yaml")
    (Path(worker.sources.rules) / "other.yaml").write_text(
        (Path(worker.sources.rules) / "other.yaml").read_text("utf-8")
        .replace("ruleset: plan_change", "ruleset: other_change")
        .replace("less_than: 10", "less_than: 7"), "utf-8")  # fmt: skip
    assert worker.check_folders() is not None
    assert built == ["other_change"]  # plan_change's plan came from the cache
    built.clear()
    # The same conditions and facts under another id and file: the same plan, not built again.
    write_table(rows=ALLOW, version="1.0", name="third.yaml")
    (Path(worker.sources.rules) / "third.yaml").write_text(
        (Path(worker.sources.rules) / "third.yaml").read_text("utf-8")
        .replace("ruleset: plan_change", "ruleset: third_change"), "utf-8")  # fmt: skip
    assert worker.check_folders() is not None
    assert built == []
    built.clear()
    write_table(rows=ALLOW, version="1.2")  # a new version, the same conditions and facts
    result = worker.check_folders()
    assert result is not None and result.ok and built == []


@pytest.fixture
def shared_app(
    rules_folder: Path, write_table: Callable[..., Path], tmp_path: Path
) -> Iterator[Flask]:
    """An app that follows a shared store, as a server worker does (its thread does not run)."""
    write_table(rows=ALLOW, version="1.0")
    yield from table_app(rules_folder, tmp_path, LOG_LEVEL="INFO", FOLLOW_INTERVAL=3600,
                         GENERATIONS_DIR=str(tmp_path / "generations"), RELOAD_WAIT=0.3)  # fmt: skip


def test_admin_reload_answers_202_while_a_worker_is_behind(
    shared_app: Flask, rules_folder: Path, write_table: Callable[..., Path]
) -> None:
    state = app_state(shared_app)
    lagging = Reloader(state.reloader.sources, state.reloader.store, follow_interval=3600)
    try:
        write_table(rows=REFUSE, version="2.0")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = shared_app.test_client().post("/v1/admin/reload", headers=headers)
        body = response.get_json()
        assert response.status_code == 202, body
        assert (body["generation"], body["converged"]) == (2, False)
        assert sorted(w["generation"] for w in body["workers"]) == [1, 2]
        lagging.follow()
        response = shared_app.test_client().post("/v1/admin/reload", headers=headers)
        assert response.status_code == 200
        assert response.get_json()["role"] == "unchanged"
        status = shared_app.test_client().get("/v1/admin/status", headers=headers).get_json()
        assert status["published"]["generation"] == 2 and status["converged"] is True
        assert [w["generation"] for w in status["workers"]] == [2, 2]
    finally:
        lagging.close()


def test_every_reload_writes_one_json_log_line(
    shared_app: Flask, write_table: Callable[..., Path], rules_folder: Path
) -> None:
    lines: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    logger = logging.getLogger("webapp.state")
    handler = Collect()
    logger.addHandler(handler)
    try:
        reloader = app_state(shared_app).reloader
        write_table(rows=REFUSE, version="1.1")
        assert reloader.check_folders() is not None
        break_file(rules_folder)
        assert reloader.check_folders() is not None
    finally:
        logger.removeHandler(handler)
    published, refused = lines
    assert published["message"] == "reload" and published["level"] == "info"
    assert (published["generation"], published["trigger"], published["role"]) == (2, "watcher",
                                                                                   "published")  # fmt: skip
    assert published["changed"] == {"added": [], "changed": ["rules/plan_change.yaml"],
                                    "removed": []}  # fmt: skip
    assert isinstance(published["duration_ms"], float) and published["duration_ms"] > 0
    assert refused["message"] == "reload refused" and refused["level"] == "error"
    assert refused["generation"] == 2 and "bad-value" in str(refused["errors"])


def test_a_slow_validation_never_publishes_older_files_over_newer_ones(
    workers: Callable[[], Reloader],
    write_table: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow, quick = workers(), workers()
    overtaken: list[bool] = []

    def overtaking_load(snapshot: Snapshot, sources: Sources) -> Bundle:
        if not overtaken:  # while the slow worker validates 1.1, 1.2 is written and published
            overtaken.append(True)
            write_table(rows=ALLOW, version="1.2")
            assert quick.check_folders() is not None
        return load_snapshot(snapshot, sources)

    monkeypatch.setattr("engine.lifecycle.reloader.load_snapshot", overtaking_load)
    write_table(rows=REFUSE, version="1.1")
    assert slow.check_folders() is None  # validated, but older than what was published meanwhile
    assert (version(quick), quick.holder.current.generation) == ("1.2", 2)
    assert slow.follow() is not None
    assert version(slow) == "1.2" and slow.store.current().seq == 2  # type: ignore[union-attr]


def test_workers_validating_the_same_change_at_once_each_load_it_once(
    workers: Callable[[], Reloader],
    write_table: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = workers(), workers()
    loads: list[str] = []

    def load_while_the_other_publishes(snapshot: Snapshot, sources: Sources) -> Bundle:
        loads.append("load")
        if len(loads) == 1:  # the second worker validates; meanwhile the first publishes
            assert first.check_folders() is not None
        return load_snapshot(snapshot, sources)

    monkeypatch.setattr("engine.lifecycle.reloader.load_snapshot", load_while_the_other_publishes)
    write_table(rows=REFUSE, version="1.1")
    result = second.check_folders()
    assert result is not None and (result.role, result.generation) == ("followed", 2)
    assert second.follow() is None  # it serves what it validated: no second load
    assert len(loads) == 2 and version(first) == version(second) == "1.1"
    assert first.store.current().seq == 2  # type: ignore[union-attr]  # published once


def test_the_default_store_parent_is_private_and_stale_stores_are_removed(
    tmp_path: Path, rules_folder: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(PermissionError):  # others could plant a generation there
        default_store_folder(Sources(rules_folder), shared)
    fresh = tmp_path / "fresh"
    default_store_folder(Sources(rules_folder), fresh)
    assert fresh.stat().st_mode & 0o777 == 0o700
    parent = tmp_path / "private"
    stale, alive = GenerationStore(parent / "stale"), GenerationStore(parent / "alive")
    for store in (stale, alive):
        with store.publishing():
            pass
    member = alive.join()
    an_hour_ago = time.time() - 2 * STALE_STORE
    for store in (stale, alive):
        for name in ("lock", "staging", "workers"):
            os.utime(store.root / name, (an_hour_ago, an_hour_ago))
    try:
        folder = default_store_folder(Sources(rules_folder), parent)
        assert folder.parent == parent
        assert not stale.root.exists() and alive.root.exists()  # a live worker's store is kept
    finally:
        member.leave()
