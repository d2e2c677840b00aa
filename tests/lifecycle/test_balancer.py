"""Several machines, as operators run them: a load balancer in front of two instances on one
PostgreSQL, and one instance killed with SIGKILL under load (issue 18, "Several machines").

Each instance is `make run`'s server (``python -m webapp.serving``: nginx in front of gunicorn), in
its own process group so that SIGKILL takes the whole machine's worth of processes at once, as a
power cut would. The balancer is Debian's nginx running ``deploy/balancer.nginx.conf`` itself. What
must hold: requests keep being answered after the kill (the balancer routes around the dead
instance); every decision a client got a 200 for is in the one log; both instances' decisions are.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from engine.paths import PROJECT_ROOT

from ..webapp.conftest import free_port, server_command, wait_until_up

pytestmark = pytest.mark.slow

BALANCER_CONF = PROJECT_ROOT / "deploy" / "balancer.nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
EVALUATE = "/v1/rulesets/passport_continuation/evaluate"
FACTS = {"facts": {"line_provider": "ntt_west", "access_service": "flets_hikari_next",
                   "change_type": "relocation", "customer_id_change": "unchanged"}}  # fmt: skip


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def served(self) -> set[str]:
        """The request ids this instance answered 200 to evaluate, from its JSON access lines."""
        ids = set()
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by SIGKILL
            if (
                entry.get("logger") == "webapp.access"
                and entry.get("path") == EVALUATE
                and entry.get("status") == 200
            ):
                ids.add(entry["request_id"])
        return ids


def _start_instance(folder: Path, audit_url: str) -> Instance:
    port = free_port()
    folder.mkdir()
    log = folder / "server.log"
    env = {**os.environ, "FLETS_AUDIT_URL": audit_url, "FLETS_SECRET_KEY": "balancer-test"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(server_command(port, "--workers", "1"), cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)  # fmt: skip
    return Instance(f"http://127.0.0.1:{port}", process, log)


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        _kill_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            _kill_group(process, signal.SIGKILL)
            process.wait()


@dataclass
class Cluster:
    balancer: str
    instances: list[Instance]


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str) -> Iterator[Cluster]:
    instances = [_start_instance(tmp_path / name, postgres_url) for name in ("a", "b")]
    run = tmp_path / "balancer"
    run.mkdir()
    port = free_port()
    servers = "\n        ".join(
        f"server {i.url.removeprefix('http://')} max_fails=1 fail_timeout=5s;" for i in instances
    )
    conf = (BALANCER_CONF.read_text(encoding="utf-8").replace("@RUN@", str(run))
            .replace("@SERVERS@", servers).replace("@LISTEN@", f"127.0.0.1:{port}"))  # fmt: skip
    if os.geteuid() == 0:  # as root, nginx's workers would drop to nobody: keep them ours
        conf = "user root;\n" + conf
    (run / "nginx.conf").write_text(conf, encoding="utf-8")
    balancer = subprocess.Popen([NGINX, "-p", str(run), "-c", str(run / "nginx.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for instance in instances:
            wait_until_up(instance.url, instance.process, timeout=120)
        wait_until_up(f"http://127.0.0.1:{port}", balancer, timeout=30)
        yield Cluster(f"http://127.0.0.1:{port}", instances)
    finally:
        balancer.send_signal(signal.SIGQUIT)
        try:
            balancer.wait(timeout=20)
        except subprocess.TimeoutExpired:
            balancer.kill()
        for instance in instances:
            _stop(instance.process)


@dataclass
class Load:
    """Clients sending decisions through the balancer until told to stop; what each got."""

    url: str
    answers: list[tuple[str, int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                request_id = uuid.uuid4().hex
                try:
                    status = session.post(f"{self.url}{EVALUATE}", json=FACTS, timeout=10,
                                          headers={"X-Request-ID": request_id}).status_code  # fmt: skip
                except requests.RequestException:
                    status = 0  # the connection broke: not acknowledged
                with self.lock:
                    self.answers.append((request_id, status, time.monotonic()))


def test_killing_one_instance_under_load_loses_no_acknowledged_decision(
    cluster: Cluster, postgres_url: str
) -> None:
    load = Load(cluster.balancer)
    clients = [threading.Thread(target=load.client) for _ in range(4)]
    for thread in clients:
        thread.start()
    time.sleep(3)
    victim, survivor = cluster.instances
    _kill_group(victim.process, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.process.wait(timeout=10)
    time.sleep(4)
    load.stop.set()
    for thread in clients:
        thread.join(timeout=30)

    acknowledged = {rid for rid, status, _ in load.answers if status == 200}
    assert len(acknowledged) >= 20
    after = [status for _, status, at in load.answers if at > killed_at + 1]
    assert after and all(status == 200 for status in after), "the balancer did not route around"
    failures = [status for _, status, _ in load.answers if status != 200]
    assert all(status in (0, 502) for status in failures), failures  # only requests in flight
    assert len(failures) <= 8

    with psycopg.connect(postgres_url) as connection:
        logged = {row[0] for row in connection.execute("SELECT request_id FROM decisions")}
    assert acknowledged <= logged, f"{len(acknowledged - logged)} acknowledged decisions lost"
    by_victim, by_survivor = victim.served(), survivor.served()
    assert by_victim and by_survivor, "both instances must have answered"
    assert (by_victim | by_survivor) & acknowledged <= logged
