"""What an operator reads: every log line is one JSON object, and /metrics sums every worker.

A real server (`make run`'s: nginx in front of two gunicorn workers) with its own rules folder, so a
broken file can be dropped in to make a reload be refused; its standard error is kept and read after
a graceful stop (issue 18, "Every log line is one JSON object — gunicorn's own lines, refused-reload
messages and errors included; no traceback at shutdown").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from engine.paths import PROJECT_ROOT
from webapp.serving.__main__ import nginx_log_line

from .conftest import free_port, server_command, stop_server, wait_until_up

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer ops-admin"}


@dataclass
class Server:
    url: str
    rules: Path
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ops")
    rules = folder / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    port = free_port()
    log = folder / "stderr.log"
    env = {**os.environ, "FLETS_AUDIT_URL": str(folder / "decisions.sqlite3"),
           "FLETS_RULES_DIR": str(rules), "FLETS_ADMIN_TOKEN": "ops-admin",
           "FLETS_SECRET_KEY": "ops-test"}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(server_command(port, "--workers", "2"), cwd=PROJECT_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield Server(url, rules, log, process)
    finally:
        if process.poll() is None:
            stop_server(process)


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text`` (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        head, _, rest = sample.partition("{")
        if head != name:
            continue
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if got == wanted:
            total += float(value)
    return total


def test_metrics_count_the_requests_and_decisions_of_every_worker(server: Server) -> None:
    facts = {"facts": {"line_provider": "ntt_west", "access_service": "flets_hikari_next",
                       "change_type": "relocation", "customer_id_change": "unchanged"}}  # fmt: skip
    before = requests.get(f"{server.url}/metrics", timeout=10).text
    for _ in range(40):  # sync workers: forty requests in a row reach both
        answer = requests.post(
            f"{server.url}/v1/rulesets/passport_continuation/evaluate", json=facts, timeout=10
        )
        assert answer.status_code == 200
    after = requests.get(f"{server.url}/metrics", timeout=10)
    assert after.status_code == 200
    assert after.headers["Content-Type"].startswith("text/plain; version=")
    route = "/v1/rulesets/<ruleset_id>/evaluate"
    counted = _metric(after.text, "flets_http_requests_total", route=route, method="POST",
                      status="200") - _metric(before, "flets_http_requests_total", route=route,
                                              method="POST", status="200")  # fmt: skip
    assert counted == 40
    assert _metric(after.text, "flets_http_request_duration_seconds_count", route=route) >= 40
    decided = sum(
        _metric(after.text, "flets_decisions_total", ruleset="passport_continuation",
                outcome=outcome, kind=kind, path=path)
        for outcome, kind in (("continues", "positive"),)
        for path in ("table", "live")
    )  # fmt: skip
    assert decided >= 40
    assert "flets_decision_log_backlog_rows" in after.text
    assert "flets_decision_log_lag_seconds" in after.text


def test_every_line_is_json_with_a_refused_reload_and_a_graceful_stop(server: Server) -> None:
    broken = server.rules / "zz_broken.yaml"
    broken.write_text("ruleset: broken\nversion: [\n", encoding="utf-8")
    refused = requests.post(f"{server.url}/v1/admin/reload", headers=ADMIN, timeout=60)
    assert refused.status_code == 422
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    assert _metric(metrics, "flets_reloads_total", result="refused") >= 1
    requests.get(f"{server.url}/no/such/page", timeout=10)
    stop_server(server.process)
    assert server.process.returncode == 0
    lines = [line for line in server.log.read_text(encoding="utf-8").splitlines() if line]
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line, nginx's and gunicorn's included
        assert isinstance(entry, dict) and {"ts", "level", "logger", "message"} <= entry.keys()
        entries.append(entry)
    loggers = {e["logger"] for e in entries}
    assert {"gunicorn.error", "webapp.access", "webapp.state"} <= loggers
    assert any(e["message"] == "reload refused" and e["level"] == "error" for e in entries)
    assert not [e for e in entries if "Traceback" in json.dumps(e, ensure_ascii=False)]
    assert any(e["logger"] == "gunicorn.error" and "Shutting down" in e["message"]
               for e in entries)  # fmt: skip


def test_nginx_lines_become_json_lines() -> None:
    now = time.time()
    line = json.loads(nginx_log_line(
        "2026/12/02 03:09:38 [crit] 19193#19193: *1 connect() to unix:/x.sock failed", now
    ))  # fmt: skip
    assert line["logger"] == "nginx" and line["level"] == "critical" and line["pid"] == 19193
    assert line["message"] == "*1 connect() to unix:/x.sock failed"
    other = json.loads(nginx_log_line("nginx: [emerg] unknown directive", now))
    assert other["level"] == "warning" and other["message"] == "nginx: [emerg] unknown directive"


def test_a_server_worker_settles_its_heap_after_a_load() -> None:
    """What the worker keeps after a load leaves the collector's sight (the tail-latency fix)."""
    import gc

    from webapp.state import settle_heap

    garbage: list[object] = []
    garbage.append(garbage)  # a cycle only the collector frees
    del garbage
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.collect() == 0  # the cycle went before the freeze; nothing frozen is walked
    finally:
        gc.unfreeze()
