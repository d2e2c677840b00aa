"""HTTP throughput and latency: the production server under load, against a bare Flask endpoint.

    .venv/bin/python bench/http_load.py                  # 3 rounds of 10-second runs (~10 min)
    .venv/bin/python bench/http_load.py --runs 1 --duration 5
    .venv/bin/python bench/http_load.py --runs 5 --quiet 2   # each round waits for a quiet host

Every server runs as `make run` starts the service (``python -m webapp.serving``: nginx reading each
request whole in front of gunicorn's 2 sync workers), on 127.0.0.1.

* ``bare``: a bare Flask JSON endpoint (``bench/bare_app.py``), the baseline;
* ``service``: the service with its defaults, the decision log on (SQLite, WAL, ``synchronous=NORMAL``;
  the files are in a temporary folder instead of ``instance/`` so runs do not pile up there);
* ``no log``: the same service with ``FLETS_AUDIT_URL=none``, to show what the log costs.

wrk (Debian package; installed with apt-get when missing) drives each endpoint in bounded runs:

* **max**: 8 connections, each sending its next request as soon as the answer arrives: the
  requests/s are the maximum rate, with wrk's p50/p99 at that load;
* **half**: 16 connections, each waiting a fixed delay (wrk's Lua ``delay()``) between an answer and
  its next request, the delay chosen so that the 16 together send about half of the max rate (the
  achieved rate is reported). A 3-second paced run first measures what the delay does not control
  (the request's time, a late timer) and the delay is corrected for it. Debian's wrk cannot pace an
  exact rate (``-R`` is wrk2) and a Python pacer needed half a core of this 2-core machine at 2,000
  requests/s, which skewed what it measured.
  Latency runs from sending a request to its answer; a stalled connection sends nothing meanwhile, so
  stalls are sampled by the other 15 connections only (wrk2 would count them for the requests they
  delay).

Medians over the rounds; ratios against the bare endpoint's max rate in the same run. Before each round
the script measures how late a thread wakes from a 1 ms sleep (p99): on a shared VM the hypervisor may
run a halted vCPU tens of ms late, and no server's paced p99 can beat that. It measures it again after
each round; ``--quiet MS`` makes each round wait (at most ``--quiet-wait`` seconds) until the host is
that quiet. At the end it judges the service's HTTP targets, each a ratio measured in the same run
(evaluate's p99 at half rate over bare's, quotes' rate over bare's, evaluate-batch over HTTP over the same
batches decided and logged in-process), and, with ``--start-rounds``, warm over cold start (bench/startup.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import ROOT, git_revision, machine, median, p99, table  # isort: skip

VENV_BIN = ROOT / ".venv" / "bin"
WORKERS = 2
CONNECTIONS = 8
#: Connections of the half-rate runs; more of them make the integer-millisecond delay finer.
PACED_CONNECTIONS = 16
#: Seconds of the short paced run that calibrates each half-rate run's delay.
CALIBRATION_S = 3.0
#: Seconds between two probes of the host while waiting for it to be quiet (``--quiet``).
QUIET_POLL_S = 10.0
TV = {"prefecture": "tokyo", "district_in_area": "confirmed_inside", "line_kind": "ntt_flets",
      "line_item": "confirmed_eligible", "line_designation": "designated",
      "applicant_is_line_contractor": True}  # fmt: skip
BATCH = 1_000
EVALUATE = "/v1/rulesets/tv_application/evaluate"
EVALUATE_BATCH = "/v1/rulesets/tv_application/evaluate-batch"


@dataclass(frozen=True)
class Server:
    target: str
    port: int
    env: dict[str, str]


@dataclass(frozen=True)
class Target:
    """One endpoint as wrk drives it, and the server's stderr (where the service logs each request)."""

    url: str
    body: bytes
    path: str
    server_log: Path


@dataclass(frozen=True)
class Endpoint:
    label: str
    server: str
    path: str
    body: dict[str, Any]
    decisions: int  # per request (0: not a decision endpoint)


def servers(log_folder: Path) -> dict[str, Server]:
    return {
        "bare": Server("bare_app:create_app()", 18_081, {}),
        "service": Server("webapp:create_app()", 18_082,
                          {"FLETS_AUDIT_URL": str(log_folder / "decisions.sqlite3")}),
        "no log": Server("webapp:create_app()", 18_083, {"FLETS_AUDIT_URL": "none"}),
    }  # fmt: skip


def endpoints() -> list[Endpoint]:
    batch = {"as_of": "2025-04-01",
             "items": [{"facts": {**TV, "in_default_or_likely": i % 3 == 0}} for i in range(BATCH)]}  # fmt: skip
    single = {"as_of": "2025-04-01", "facts": TV}
    quote = {"as_of": "2025-04-01", "items": [
        {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-01"}}]}  # fmt: skip
    items = f"{BATCH:,} items"
    return [
        Endpoint("bare Flask JSON endpoint", "bare", "/echo", {"facts": TV}, 0),
        Endpoint("evaluate", "service", EVALUATE, single, 1),
        Endpoint("evaluate", "no log", EVALUATE, single, 1),
        Endpoint(f"evaluate-batch, {items} (compact, default)", "service", EVALUATE_BATCH, batch, BATCH),
        Endpoint(f"evaluate-batch, {items}, explain=full", "service", EVALUATE_BATCH + "?explain=full",
                 batch, BATCH),
        Endpoint(f"evaluate-batch, {items} (compact, default)", "no log", EVALUATE_BATCH, batch, BATCH),
        Endpoint("quotes", "service", "/v1/quotes", quote, 0),
    ]  # fmt: skip


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


def serve(name: str, server: Server, stderr: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}", **server.env}
    with stderr.open("ab") as log:  # append mode: own_time_p99 empties it between runs
        process = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "webapp.serving", "--workers", str(WORKERS),
             "--bind", f"127.0.0.1:{server.port}", "--log-level", "warning", "--app", server.target],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=1)
            return process
        except urllib.error.HTTPError as answer:
            if answer.code != 503:  # 503: nginx is up, the workers are still loading
                return process  # the app answers (404/405 is fine)
            time.sleep(0.5)
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{name} did not start on port {server.port}")


def check(url: str, body: bytes) -> None:
    """One request before timing: the endpoint must answer 200."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200, response.status


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_script(folder: Path, name: str, body: bytes, delay_ms: int | None = None) -> Path:
    script = folder / f"{name}.lua"
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
             f"wrk.body = {json.dumps(body.decode())}"]  # fmt: skip
    if delay_ms is not None:
        lines.append(f"function delay() return {delay_ms} end")
    script.write_text("\n".join(lines) + "\n")
    return script


def wrk_run(
    wrk: str, url: str, script: Path, duration: float, connections: int = CONNECTIONS
) -> dict[str, float]:
    out = subprocess.run(
        [wrk, "-t", "2", "-c", str(connections), "-d", f"{duration:g}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=duration + 60,
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


def half_rate_delay(max_rps: float) -> int:
    """Milliseconds each of the paced connections waits so that together they send about half of
    ``max_rps``: a cycle is the delay plus the request's own time, about ``WORKERS / max_rps``."""
    cycle_s = PACED_CONNECTIONS / (max_rps / 2)
    return max(1, round((cycle_s - WORKERS / max_rps) * 1000))


def calibrated_delay(delay_ms: int, achieved_rps: float, target_rps: float) -> int:
    """The delay that brings a paced run from ``achieved_rps`` to ``target_rps``.

    A connection's cycle is its delay plus what the delay cannot control: the request's time and how
    late the timer fires (tens of ms on a busy host, which is why the first guess falls short). That
    remainder, measured by a short run at ``delay_ms``, is taken as fixed.
    """
    remainder_ms = PACED_CONNECTIONS / achieved_rps * 1000 - delay_ms
    return max(1, round(PACED_CONNECTIONS / target_rps * 1000 - remainder_ms))


def paced_run(
    wrk: str, target: Target, script_name: Path, max_rps: float, duration: float
) -> dict[str, float]:
    """Latency at about half of ``max_rps``: a short calibration run, then the timed run, with the
    p99 of the service's own time for the same requests (``own_p99``)."""
    folder, name = script_name.parent, script_name.name
    delay = half_rate_delay(max_rps)
    script = wrk_script(folder, name, target.body, delay)
    trial = wrk_run(wrk, target.url, script, CALIBRATION_S, PACED_CONNECTIONS)
    script = wrk_script(
        folder, name, target.body, calibrated_delay(delay, trial["rps"], max_rps / 2)
    )
    own_time_p99(target)  # empties the log of the calibration run's lines
    result = wrk_run(wrk, target.url, script, duration, PACED_CONNECTIONS)
    return {**result, "own_p99": own_time_p99(target)}


def own_time_p99(target: Target) -> float:
    """The p99 of the ``duration_ms`` the service logged for ``target.path`` since the last call (NaN
    when none, as for the bare endpoint): its time from the request's start to the answer's body,
    without the wait for a worker, the connection or the load generator. Empties the log."""
    lines = target.server_log.read_bytes().splitlines()
    os.truncate(target.server_log, 0)  # gunicorn appends (O_APPEND): its next line starts the file
    durations = sorted(
        entry["duration_ms"] for entry in map(_json_or_none, lines)
        if entry and entry.get("path") == target.path and "duration_ms" in entry
    )  # fmt: skip
    return p99(durations) if durations else float("nan")


def _json_or_none(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None  # gunicorn's own lines are not JSON


def measure_round(
    wrk: str, targets: list[Target], folder: Path, duration: float
) -> list[dict[str, float]]:
    """One round: every endpoint's max rate back to back (so each ratio to the bare endpoint pairs
    runs seconds apart), then each endpoint's latency at about half of its max rate."""
    full = [wrk_run(wrk, t.url, wrk_script(folder, str(index), t.body), duration)
            for index, t in enumerate(targets)]  # fmt: skip
    results = []
    for index, (target, top) in enumerate(zip(targets, full, strict=True)):
        half = paced_run(wrk, target, folder / f"{index}-paced", top["rps"], duration)
        results.append({"rps": top["rps"], "p50": top["p50"], "p99": top["p99"],
                        "half_rate": half["rps"], "half_share": half["rps"] / top["rps"],
                        "half_p50": half["p50"], "half_p99": half["p99"],
                        "half_own_p99": half["own_p99"]})  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write every raw result here")
    parser.add_argument("--only", help="comma-separated row numbers (0 = bare, always kept) to run")
    parser.add_argument("--start-rounds", type=int, default=1,
                        help="rounds of bench/startup.py's cold and warm start after the HTTP runs "
                             "(0: none)")  # fmt: skip
    parser.add_argument("--quiet", type=float, metavar="MS",
                        help="before each round, wait until the host's wake-up lateness (p99) is at "
                             "most this many ms (see --quiet-wait)")  # fmt: skip
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=600.0,
        metavar="S",
        help="the longest wait for --quiet before a round runs anyway (seconds)",
    )
    args = parser.parse_args()
    from startup import compile_ahead

    compile_ahead()  # every server starts as `make run` starts it
    wrk = ensure_wrk()
    steal_before = cpu_times()
    results: dict[int, list[dict[str, float]]] = {}
    wakeups: list[float] = []
    wakeups_after: list[float] = []
    waits: list[float] = []
    in_process: list[float] = []
    chosen = endpoints()
    if args.only:
        keep = {0, *(int(n) for n in args.only.split(","))}
        chosen = [e for i, e in enumerate(chosen) if i in keep]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        planned = servers(folder)
        running = {
            name: serve(name, server, folder / f"{name}.log")
            for name, server in planned.items()
            if any(e.server == name for e in chosen)
        }
        try:
            targets = []
            for index, endpoint in enumerate(chosen):
                body = json.dumps(endpoint.body).encode()
                url = f"http://127.0.0.1:{planned[endpoint.server].port}{endpoint.path}"
                check(url, body)
                wrk_run(wrk, url, wrk_script(folder, str(index), body), 2)  # warm-up: both workers
                path = endpoint.path.partition("?")[0]
                targets.append(Target(url, body, path, folder / f"{endpoint.server}.log"))
            for _ in range(args.runs):
                floor, waited = wait_until_quiet(args.quiet, args.quiet_wait)
                wakeups.append(floor)
                waits.append(waited)
                for index, result in enumerate(measure_round(wrk, targets, folder, args.duration)):
                    results.setdefault(index, []).append(result)
                if any(e.path == EVALUATE_BATCH and e.server == "service" for e in chosen):
                    in_process.append(in_process_batch_rate())
                wakeups_after.append(wakeup_lateness_p99())
        finally:
            for process in running.values():
                process.send_signal(signal.SIGTERM)
            for process in running.values():
                process.wait(timeout=30)
    if args.json:
        raw: dict[str, Any] = {chosen[i].label + " @ " + chosen[i].server: r
                               for i, r in results.items()}  # fmt: skip
        raw["host wake-up lateness p99 ms, before each round"] = wakeups
        raw["host wake-up lateness p99 ms, after each round"] = wakeups_after
        raw["seconds waited for a quiet host, before each round"] = waits
        raw["in-process batch decisions/s (decided and logged), each round"] = in_process
        args.json.write_text(json.dumps(raw, indent=1))
    args.steal = stolen_since(steal_before)
    args.wakeups, args.wakeups_after, args.waits = wakeups, wakeups_after, waits
    report(chosen, results, args)
    report_targets(chosen, results, in_process)
    report_start(args.start_rounds)


def wait_until_quiet(limit_ms: float | None, longest_s: float) -> tuple[float, float]:
    """Probe the host until its wake-up lateness is at most ``limit_ms`` (or ``longest_s`` passed).

    The host's floor changes from minute to minute on a shared VM; a round that starts in a quiet
    minute can measure the service's own latency. Every endpoint still runs in the same round, so the
    comparisons stay paired. Returns the last probe (ms) and the seconds waited.
    """
    start = time.monotonic()
    while True:
        floor = wakeup_lateness_p99()
        waited = time.monotonic() - start
        if limit_ms is None or floor <= limit_ms or waited >= longest_s:
            return floor, waited
        time.sleep(QUIET_POLL_S)


def wakeup_lateness_p99(samples: int = 1_000, sleep_s: float = 0.001) -> float:
    """How late a thread wakes from a 1 ms sleep, p99 in ms, on an otherwise idle machine (~1.5 s).

    Every request wakes a waiting worker (and wrk's thread), so this bounds from below what any
    server's p99 at a paced rate can be here. On a busy shared VM the hypervisor runs a halted vCPU
    late: on the build machine it was 30 ms at p99 (and 135 ms at worst) while a busy loop on the same
    machine saw no gap over 5 ms.
    """
    late = []
    for _ in range(samples):
        start = time.perf_counter()
        time.sleep(sleep_s)
        late.append((time.perf_counter() - start - sleep_s) * 1000)
    return p99(sorted(late))


def cpu_times() -> list[int]:
    """The machine's total CPU times (``/proc/stat``): user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


def stolen_since(before: list[int]) -> float:
    """The share of CPU time the hypervisor gave to others since ``before`` (``st`` in top)."""
    delta = [now - then for now, then in zip(cpu_times(), before, strict=True)]
    return delta[7] / max(sum(delta), 1)


def share_of_bare(results: dict[int, list[dict[str, float]]], index: int) -> float:
    """The endpoint's max rate over the bare endpoint's in each round, then the median: the max runs
    of a round are back to back, so this is steadier than the ratio of the medians when the host's
    load drifts between rounds."""
    return median([r["rps"] / b["rps"] for r, b in zip(results[index], results[0], strict=True)])


def report(
    chosen: list[Endpoint], results: dict[int, list[dict[str, float]]], args: argparse.Namespace
) -> None:
    med = {i: {k: median([r[k] for r in runs]) for k in runs[0]} for i, runs in results.items()}
    bare = med[0]["rps"]
    rows = []
    for index, endpoint in enumerate(chosen):
        m = med[index]
        per_round = share_of_bare(results, index)
        rows.append([
            endpoint.label, endpoint.server, m["rps"], f"{m['rps'] / bare:.0%}",
            f"{per_round:.0%}", m["p50"], m["p99"],
            m["half_rate"], f"{m['half_share']:.0%}", m["half_p50"], m["half_p99"],
            "—" if math.isnan(m["half_own_p99"]) else m["half_own_p99"],
            f"{m['rps'] * endpoint.decisions:,.0f}" if endpoint.decisions else "—",
        ])  # fmt: skip
    print(f"machine: {machine()}\nrevision: {git_revision()}; nginx + gunicorn {WORKERS} sync workers; "
          f"max: wrk {CONNECTIONS} connections; half: {PACED_CONNECTIONS} paced connections; "
          f"{args.duration:g} s runs, median of {args.runs}\n")  # fmt: skip
    print(table(["endpoint", "server", "max requests/s", "vs bare", "vs bare, per round",
                 "p50 ms (max)", "p99 ms (max)", "half: requests/s", "half: of max", "half: p50 ms",
                 "half: p99 ms", "half: p99 ms in the service", "decisions/s (max)"], rows))  # fmt: skip
    for title, key, form in (
        ("max requests/s", "rps", "{:,.0f}"),
        ("half-rate p99 ms", "half_p99", "{:.2f}"),
        ("half-rate p99 ms in the service (its own log)", "half_own_p99", "{:.2f}"),
    ):
        print(f"\n{title} in each round:")
        for index, endpoint in enumerate(chosen):
            if all(math.isnan(r[key]) for r in results[index]):
                continue  # the bare endpoint logs no durations
            rounds = " / ".join(form.format(r[key]) for r in results[index])
            print(f"* {endpoint.label} ({endpoint.server}): {rounds}")
    print(f"\nCPU time stolen by the host during the runs: {args.steal:.0%}")
    for when, figures in (("before", args.wakeups), ("after", args.wakeups_after)):
        joined = " / ".join(f"{w:.2f}" for w in figures)
        print(f"A thread woken from a 1 ms sleep was late by, p99 in ms ({when} each round): "
              f"{joined}; median {median(figures):.2f} ms")  # fmt: skip
    if args.quiet is not None:
        waited = " / ".join(f"{w:.0f}" for w in args.waits)
        print(f"Seconds waited for the host to be quiet (≤ {args.quiet:g} ms) before each round: "
              f"{waited}")  # fmt: skip


#: The HTTP targets (issue 18), each a ratio measured in the same run, since absolute figures on a
#: shared 2-core machine drift from minute to minute: the service with its defaults (decision log on).
#: evaluate's p99 at about half its max rate, over the bare endpoint's p99 at half of its own max:
TAIL_P99_OVER_BARE = 1.5
#: quotes' max rate over the bare endpoint's:
QUOTES_SHARE_OF_BARE = 0.80
#: evaluate-batch's decisions/s over HTTP over the same batches decided and logged in-process:
BATCH_SHARE_OF_IN_PROCESS = 0.80
#: Informational since issue 5 (not judged): evaluate's max rate over the bare endpoint's.
EVALUATE_SHARE_OF_BARE = 0.90


def in_process_batch_rate(seconds: float = 3.0) -> float:
    """Decisions/s of the benchmark's batch decided and logged in this process, as one worker would
    without HTTP: ``Rulebook.decide_batch`` then ``Rulebook.record`` into a SQLite decision log."""
    from datetime import date

    from engine import load_rulebook
    from engine.lifecycle.decision_log import log_decisions, open_decision_log
    from engine.paths import rules_dir

    items = [item["facts"] for item in endpoints()[3].body["items"]]
    book = load_rulebook(rules_dir())
    with tempfile.TemporaryDirectory() as folder:
        log = open_decision_log(str(Path(folder) / "decisions.sqlite3"))
        try:
            decided = 0
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                results = book.decide_batch("tv_application", items, date(2025, 4, 1))
                log_decisions(log, [r for r in results if not isinstance(r, Exception)], "bench")
                decided += len(results)
            return decided / (time.perf_counter() - start)
        finally:
            log.close()
            book.close()


#: A start with the machine's plans stored, over a start with none (bench/startup.py).
WARM_START_SHARE_OF_COLD = 0.25


def report_start(rounds: int) -> None:
    """Cold and warm start to ``/readyz`` (bench/startup.py), in the same run as the HTTP figures."""
    if rounds <= 0:
        return
    from startup import measure_start

    cold, warm = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="flets-startup-") as folder:
            c, w, _reload = measure_start(Path(folder), WORKERS)
        cold.append(c)
        warm.append(w)
    share = median([w / c for c, w in zip(cold, warm, strict=True)])
    print(f"* {_ratio_line('warm start / cold start to /readyz', share, WARM_START_SHARE_OF_COLD, at_most=True)}"
          f" (cold {median(cold):.2f} s, warm {median(warm):.2f} s, median of {rounds})")  # fmt: skip


def _ratio_line(label: str, value: float, target: float, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    sign = "≤" if at_most else "≥"
    return f"{label} {sign} {target:.2f}×: {value:.2f}× — {'met' if met else 'not met'}"


def report_targets(chosen: list[Endpoint], results: dict[int, list[dict[str, float]]],
                   in_process: list[float]) -> None:  # fmt: skip
    """Judge the targets whose endpoints ran: each ratio paired per round, then the median."""
    found = {(e.path, e.server): i for i, e in enumerate(chosen)}
    lines = []
    single = found.get((EVALUATE, "service"))
    if single is not None:
        tail = median([r["half_p99"] / b["half_p99"]
                       for r, b in zip(results[single], results[0], strict=True)])  # fmt: skip
        lines.append(_ratio_line("evaluate p99 at half rate / bare's", tail, TAIL_P99_OVER_BARE,
                                 at_most=True))  # fmt: skip
        share = share_of_bare(results, single)
        lines.append(f"(informational) evaluate max rate / bare's: {share:.0%} "
                     f"(issue 5 asked ≥ {EVALUATE_SHARE_OF_BARE:.0%})")  # fmt: skip
    quotes = found.get(("/v1/quotes", "service"))
    if quotes is not None:
        lines.append(_ratio_line("quotes max rate / bare's", share_of_bare(results, quotes),
                                 QUOTES_SHARE_OF_BARE))  # fmt: skip
    batch = found.get((EVALUATE_BATCH, "service"))
    if batch is not None and in_process:
        share = median([r["rps"] * BATCH / p
                        for r, p in zip(results[batch], in_process, strict=True)])  # fmt: skip
        lines.append(_ratio_line("evaluate-batch decisions/s over HTTP / in-process", share,
                                 BATCH_SHARE_OF_IN_PROCESS))  # fmt: skip
        lines.append(f"(in-process batch with its log, decisions/s per round: "
                     f"{' / '.join(f'{p:,.0f}' for p in in_process)})")  # fmt: skip
    if lines:
        print("\nTargets (the service with its decision log, ratios paired per round, medians):")
        print("\n".join(f"* {line}" for line in lines))


if __name__ == "__main__":
    main()
