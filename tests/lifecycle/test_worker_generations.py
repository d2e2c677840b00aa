"""Every worker of a real gunicorn on one generation: racing writes, and the admin reload.

Each test starts gunicorn with two sync workers on temporary copies of rules/ and tariffs/, with its
own decision log and generation store, and asks which version answers. To know what *each* worker
serves, the other one is stopped (SIGSTOP) for a moment: the listening socket then hands every
connection to the one left running. Stopping a worker is also how the race of the issue is made
exact: a worker that is stopped while the good files are on disk polls, once continued, only the
broken ones — the schedule that left one worker on each version before.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "generations-admin-token"
RULESET = "passport_continuation"
FACTS = {"line_provider": "ntt_west", "access_service": "flets_hikari_next",
         "change_type": "relocation", "customer_id_change": "unchanged"}  # fmt: skip
#: Seconds between folder scans and between looks at the published generation in these servers.
INTERVAL = 0.3
#: What one load of the bundled rules may take here, generously (about 0.5 s on an idle core; the
#: 2-core test machine runs other tests beside these).
LOAD_ALLOWANCE = 6.0
#: The documented bound: scan interval + validation + follow interval + the follower's load.
BOUND = INTERVAL + LOAD_ALLOWANCE + INTERVAL + LOAD_ALLOWANCE

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    rules: Path
    log: Path

    def workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def version(self) -> str:
        response = requests.post(f"{self.url}/v1/rulesets/{RULESET}/evaluate",
                                 json={"facts": FACTS}, timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        found: str = response.json()["version"]
        return found

    def versions(self, n: int = 20) -> list[str]:
        return [self.version() for _ in range(n)]

    @contextmanager
    def only(self, pid: int) -> Iterator[None]:
        """Every worker but ``pid`` stopped: every request is answered by ``pid``."""
        others = [p for p in self.workers() if p != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            yield
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)

    def all_ready(self) -> bool:
        """Whether each worker has loaded its rules (asked one at a time, briefly)."""
        for pid in self.workers():
            with self.only(pid):
                if not _ready(self.url):
                    return False
        return True

    def per_worker(self, n: int = 10) -> dict[int, set[str]]:
        """The versions each worker answers with, ``n`` requests each."""
        found = {}
        for pid in self.workers():
            with self.only(pid):
                found[pid] = set(self.versions(n))
        return found

    def write_version(self, version: str) -> None:
        path = self.rules / f"{RULESET}.yaml"
        text = path.read_text("utf-8")
        path.write_text(re.sub(r"^version: .*$", f"version: \"{version}\"", text, count=1,
                               flags=re.M), "utf-8")  # fmt: skip

    def write_broken(self) -> None:
        path = self.rules / f"{RULESET}.yaml"
        path.write_text(path.read_text("utf-8") + "\nbroken: [never closed\n", "utf-8")


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.fixture
def start_server(tmp_path: Path, free_tcp_port: int) -> Iterator[Callable[..., Server]]:
    """Start gunicorn (2 sync workers) on copies of the bundled rules and tariffs."""
    started: list[Server] = []

    def start(**settings: str) -> Server:
        shutil.copytree(PROJECT_ROOT / "rules", tmp_path / "rules")
        shutil.copytree(PROJECT_ROOT / "tariffs", tmp_path / "tariffs")
        env = {**os.environ, "FLETS_RULES_DIR": str(tmp_path / "rules"),
               "FLETS_TARIFFS_DIR": str(tmp_path / "tariffs"),
               "FLETS_AUDIT_URL": str(tmp_path / "decisions.sqlite3"),
               "FLETS_GENERATIONS_DIR": str(tmp_path / "generations"),
               "FLETS_RELOAD_INTERVAL": str(INTERVAL), "FLETS_FOLLOW_INTERVAL": str(INTERVAL),
               "FLETS_ADMIN_TOKEN": TOKEN, "FLETS_LOG_LEVEL": "INFO", **settings}  # fmt: skip
        log = tmp_path / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "2",
                 "--bind", f"127.0.0.1:{free_tcp_port}", "webapp:create_app()"],  # fmt: skip
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Server(f"http://127.0.0.1:{free_tcp_port}", process, tmp_path / "rules", log)
        started.append(server)
        assert _wait_until(lambda: len(server.workers()) == 2, 60), log.read_text()
        assert _wait_until(lambda: _ready(server.url), 120), log.read_text()
        assert _wait_until(server.all_ready, 120), log.read_text()
        return server

    yield start
    for server in started:
        for pid in server.workers():
            os.kill(pid, signal.SIGCONT)
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_good_then_broken_write_leaves_every_worker_on_the_good_version(
    start_server: Callable[..., Server],
) -> None:
    server = start_server()
    first, second = server.workers()
    bundled = re.search(r"^version: (.*)$", (server.rules / f"{RULESET}.yaml").read_text("utf-8"),
                        re.M)  # fmt: skip
    assert bundled is not None
    assert server.per_worker() == {first: {bundled[1]}, second: {bundled[1]}}
    with server.only(first):  # the second worker does not poll while the good files are there
        written = time.monotonic()
        server.write_version("9.1")
        assert _wait_until(lambda: server.version() == "9.1", BOUND), server.log.read_text()
        server.write_broken()  # right after the first worker answered with the good files
        gap = time.monotonic() - written
    settled = time.monotonic()
    # Both workers end on the last good files, within the bound, and stay there.
    everywhere = {first: {"9.1"}, second: {"9.1"}}
    assert _wait_until(lambda: server.per_worker(2) == everywhere, BOUND), server.per_worker()
    assert time.monotonic() - settled <= BOUND + 2, f"gap {gap:.2f} s"
    assert server.versions(20) == ["9.1"] * 20
    time.sleep(3 * INTERVAL)  # further scans of the broken files change nothing
    assert server.per_worker() == everywhere


def test_admin_reload_reaches_every_worker(start_server: Callable[..., Server]) -> None:
    server = start_server(FLETS_RELOAD_INTERVAL="0")  # no folder watching: only the admin call
    first, second = server.workers()
    server.write_version("9.2")
    response = requests.post(f"{server.url}/v1/admin/reload", timeout=60,
                             headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert response.status_code == 200, response.text
    # Answered once every worker serves it: from now on, every answer is the new version.
    assert server.versions(20) == ["9.2"] * 20
    assert server.per_worker() == {first: {"9.2"}, second: {"9.2"}}
    body = response.json()
    assert body["converged"] is True
    assert sorted(w["pid"] for w in body["workers"]) == [first, second]
    assert {w["generation"] for w in body["workers"]} == {body["generation"]}
