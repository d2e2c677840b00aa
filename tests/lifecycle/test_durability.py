"""The decision log keeps every decision acknowledged before a ``kill -9`` of a real gunicorn server."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from engine.lifecycle.decision_log import Query, open_decision_log

FACTS = {"plan": "family", "users": 3}


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


@pytest.mark.slow
def test_every_acknowledged_decision_survives_kill_9(
    write_table: Callable[..., Path],
    tmp_path: Path,
    free_tcp_port: int,
    two_worker_server: Callable[..., subprocess.Popen[bytes]],
) -> None:
    write_table(rows=(("family_any", "{plan: family}", "allowed"),))
    database = tmp_path / "decisions.sqlite3"
    url = f"http://127.0.0.1:{free_tcp_port}"
    server = two_worker_server(database)  # its own process group: kill -9 hits master and workers
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(name: str) -> None:
        session = requests.Session()
        n = 0
        while not stop.is_set():
            request_id = f"{name}-{n}"
            n += 1
            try:
                response = session.post(f"{url}/v1/rulesets/plan_change/evaluate", json={"facts": FACTS},
                                        headers={"X-Request-ID": request_id}, timeout=5)  # fmt: skip
            except requests.RequestException:
                continue  # the server is gone: this one was never acknowledged
            if response.status_code == 200:
                with lock:
                    acknowledged.append(request_id)

    try:
        _wait_until_up(url, server)
        threads = [threading.Thread(target=client, args=(f"c{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(server.pid, signal.SIGKILL)  # mid-traffic, no chance to flush anything
        server.wait(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 200
    log = open_decision_log(str(database))  # every worker's shard of the log
    try:
        logged = {record.request_id for record in log.query(Query(limit=None))}
    finally:
        log.close()
    missing = sorted(set(acknowledged) - logged)
    assert missing == []
