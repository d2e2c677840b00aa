"""HTTP throughput and latency: the production server under wrk, against a bare Flask endpoint.

    .venv/bin/python bench/http_load.py              # 3 runs of 10 s per endpoint and load
    .venv/bin/python bench/http_load.py --runs 1

Both apps run as `make run` starts the service: gunicorn, 2 sync workers, on 127.0.0.1. wrk (Debian
package; installed with apt-get when missing) drives each endpoint for bounded 10-second runs at full load
(8 connections) and at a lighter load (1 connection, reported with the share of the full rate it reached),
reporting requests/s and p50/p99. Medians over the runs; ratios against the bare endpoint of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import ROOT, git_revision, machine, median, table  # isort: skip

VENV_BIN = ROOT / ".venv" / "bin"
WORKERS = 2
DURATION_S = 10
TV = {"prefecture": "tokyo", "district_in_area": "confirmed_inside", "line_kind": "ntt_flets",
      "line_item": "confirmed_eligible", "line_designation": "designated",
      "applicant_is_line_contractor": True}  # fmt: skip
BATCH = 1_000


def bodies() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """endpoint label → (app, path, JSON body)."""
    batch_items = [{"facts": {**TV, "in_default_or_likely": i % 3 == 0}} for i in range(BATCH)]
    return {
        "bare Flask JSON endpoint": ("bare", "/echo", {"facts": TV}),
        "POST /v1/rulesets/tv_application/evaluate": (
            "service", "/v1/rulesets/tv_application/evaluate", {"as_of": "2025-04-01", "facts": TV}),
        f"POST …/evaluate-batch ({BATCH:,} items)": (
            "service", "/v1/rulesets/tv_application/evaluate-batch",
            {"as_of": "2025-04-01", "items": batch_items}),
        "POST /v1/quotes": ("service", "/v1/quotes", {"as_of": "2025-04-01", "items": [
            {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}]}),
    }  # fmt: skip


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    subprocess.run([*apt, "install", "-y", "-q", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def serve(app: str, port: int) -> subprocess.Popen[bytes]:
    target = "webapp:create_app()" if app == "service" else "bare_app:create_app()"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", target],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # it answers (404/405 is fine)
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def check(port: int, path: str, body: dict[str, Any]) -> None:
    """One request before timing: the endpoint must answer 200."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_run(wrk: str, url: str, script: Path, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [wrk, "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{DURATION_S}s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=DURATION_S + 60,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    result = {"rps": rate}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{pct}"] = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    ports = {"bare": 18_081, "service": 18_082}
    servers = {app: serve(app, port) for app, port in ports.items()}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scripts = {}
            for label, (app, path, body) in bodies().items():
                check(ports[app], path, body)
                script = Path(tmp) / f"{len(scripts)}.lua"
                script.write_text(
                    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(json.dumps(body))}\n"
                )
                scripts[label] = (f"http://127.0.0.1:{ports[app]}{path}", script)
            for _ in range(args.runs):
                for label, (url, script) in scripts.items():
                    for load, connections in (("full (8 conn.)", 8), ("light (1 conn.)", 1)):
                        results.setdefault((label, load), []).append(
                            wrk_run(wrk, url, script, connections)
                        )
    finally:
        for process in servers.values():
            process.send_signal(signal.SIGTERM)
        for process in servers.values():
            process.wait(timeout=30)
    med = {
        k: {m: median([r[m] for r in v]) for m in ("rps", "p50", "p99")} for k, v in results.items()
    }
    bare_full = med[("bare Flask JSON endpoint", "full (8 conn.)")]["rps"]
    rows = []
    for (label, load), m in med.items():
        full = med[(label, "full (8 conn.)")]["rps"]
        decisions = (
            m["rps"] * BATCH if "batch" in label else m["rps"] if "evaluate" in label else None
        )
        rows.append([
            label, load, m["rps"], f"{m['rps'] / bare_full:.0%}",
            f"{m['rps'] / full:.0%}", m["p50"], m["p99"],
            f"{decisions:,.0f}" if decisions is not None else "—",
        ])  # fmt: skip
    print(f"machine: {machine()}\nrevision: {git_revision()}; gunicorn {WORKERS} sync workers; "
          f"wrk {DURATION_S} s runs, median of {args.runs}\n")  # fmt: skip
    print(table(["endpoint", "load", "requests/s", "vs bare (full)", "of own full rate",
                 "p50 ms", "p99 ms", "decisions/s"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
