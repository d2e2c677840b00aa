"""RSS before and after 1,000,000 decisions on tv_application (single, then batches of 1,000).

    .venv/bin/python bench/memory.py                 # table fast path, 1,000,000 each
    .venv/bin/python bench/memory.py --live -n 100000  # every decision through durable_rules

The rulebook is loaded and warmed (10,000 decisions) before the first reading, so the figure is drift —
what a long-running worker would leak — not start-up cost. Target: ≤ 10 MB per 1,000,000 decisions.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from datetime import date

from common import ROOT, git_revision, machine, random_facts, table  # isort: skip

from engine import load_rulebook

AS_OF = date(2024, 4, 1)
#: A pinned copy of rules/tv_application.yaml that bench/tv_peers.py mirrors by hand.
RULES = ROOT / "bench" / "tv_application.yaml"
BATCH = 1_000
POOL = 10_000  # distinct inputs, cycled


def rss_mb() -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--live", action="store_true", help="bypass the table")
    args = parser.parse_args()
    book = load_rulebook(RULES)
    decider = book.decider("tv_application", AS_OF)
    rng = random.Random(3)
    pool = [random_facts(decider.ruleset, rng) for _ in range(POOL)]
    single = decider.decide_live if args.live else decider.decide
    many = decider.decide_many_live if args.live else decider.decide_many
    for facts in pool:
        single(facts, AS_OF)
    rows = []
    for label in ("single", "batch"):
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        if label == "single":
            for i in range(args.n):
                single(pool[i % POOL], AS_OF)
        else:
            for start in range(0, args.n, BATCH):
                offset = start % POOL
                many(pool[offset : offset + BATCH], AS_OF)
        elapsed = time.perf_counter() - started
        gc.collect()
        after = rss_mb()
        rows.append([label, args.n, before, after, after - before, args.n / elapsed])
    path = "live durable_rules" if args.live else "table fast path"
    print(f"machine: {machine()}\nrevision: {git_revision()}; path: {path}\n")
    print(
        table(
            [
                "decisions",
                "count",
                "RSS before (MB)",
                "RSS after (MB)",
                "drift (MB)",
                "decisions/s",
            ],
            rows,
        )
    )
    worst = max(r[4] for r in rows)
    print(f"\ntarget drift ≤ 10 MB: {'met' if worst <= 10 else 'NOT met'} (worst {worst:.2f} MB)")


if __name__ == "__main__":
    main()
