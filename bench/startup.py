"""Start and reload time of the server, with and without the machine's stored decision-table plans.

    python bench/startup.py [--rounds 3] [--workers 2]

Each round starts the server as `make run` does (``python -m webapp.serving``: nginx and gunicorn,
``--workers`` workers) on a copy of the bundled rules and measures the time until ``/readyz`` answers
200, twice: **cold** with an empty plan folder (every worker builds, or waits for, every plan) and
**warm** with the folder the cold start filled. Then, on the warm server, one rule set's condition is
changed and ``POST /v1/admin/reload`` timed: only that rule set's plan is built again. The target
(issue 18) is warm ≤ ¼ of cold; the report gives medians and the ratio, measured in one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import ROOT, git_revision, machine, median

TOKEN = "bench-admin"
CHANGED = "passport_continuation.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(
    rules: Path, plans: Path, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "FLETS_RULES_DIR": str(rules), "FLETS_PLAN_CACHE": str(plans),
           "FLETS_AUDIT_URL": "none", "FLETS_ADMIN_TOKEN": TOKEN, "FLETS_LOG_LEVEL": "WARNING"}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp.serving", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def _ready(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def compile_ahead() -> None:
    """The app's bytecode written ahead, as `make run` does, so that no process of a start compiles
    the app's modules (with ``PYTHONDONTWRITEBYTECODE`` set, each would, at every start)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "engine", "webapp"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def measure_start(folder: Path, workers: int) -> tuple[float, float, float]:
    """One round in ``folder``: seconds to ready cold, warm, and of the one-file reload."""
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    plans = folder / "plans"
    log = folder / "server.log"
    times = []
    for _ in ("cold", "warm"):
        started = time.perf_counter()
        process, url = _start(rules, plans, workers, log)
        try:
            times.append(_ready(url, process, started))
        finally:
            if len(times) == 1:
                _stop(process)
    try:  # the warm server is still running: change one rule set and reload
        path = rules / CHANGED
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("version: ", "version: 9", 1).replace(
            "relocation", "relocation_moved"), encoding="utf-8")  # fmt: skip
        started = time.perf_counter()
        answer = requests.post(f"{url}/v1/admin/reload", timeout=120,
                               headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        reload_s = time.perf_counter() - started
        if answer.status_code != 200:
            raise SystemExit(f"reload answered {answer.status_code}: {answer.text[:300]}")
    finally:
        _stop(process)
    return times[0], times[1], reload_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    compile_ahead()
    cold, warm, reloads = [], [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="flets-startup-") as folder:
            c, w, r = measure_start(Path(folder), args.workers)
        cold.append(c)
        warm.append(w)
        reloads.append(r)
        print(f"round: cold {c:.2f} s, warm {w:.2f} s, reload of one changed rule set {r:.2f} s",
              file=sys.stderr)  # fmt: skip
    print(f"## Start and reload time (`bench/startup.py`, {git_revision()})\n")
    print(f"{machine()}; {args.workers} workers; median of {args.rounds} rounds.\n")
    print("| | median | ratio to cold |")
    print("| --- | ---: | ---: |")
    print(f"| cold start to `/readyz` (empty plan folder) | {median(cold):.2f} s | 1.00 |")
    print(f"| warm start to `/readyz` (plans stored) | {median(warm):.2f} s | "
          f"{median(warm) / median(cold):.2f} |")  # fmt: skip
    print(f"| admin reload after one rule set changed (warm) | {median(reloads):.2f} s | "
          f"{median(reloads) / median(cold):.2f} |")  # fmt: skip
    print("\nRounds (cold / warm / reload, s): "
          + "; ".join(f"{c:.2f} / {w:.2f} / {r:.2f}" for c, w, r in zip(cold, warm, reloads, strict=False)))  # fmt: skip


if __name__ == "__main__":
    main()
