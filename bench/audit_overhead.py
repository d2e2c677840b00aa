"""How much the decision log adds to one decision: no log, SQLite (NORMAL and FULL), PostgreSQL.

    .venv/bin/python bench/audit_overhead.py [--n 2000] [--postgres postgresql://…]

Decides the same fact set ``n`` times through :meth:`Rulebook.decide` with the log attached as the
server attaches it (one commit per decision, before the answer), and prints per-decision latency; then
the same for batches of 1,000 (:meth:`Rulebook.decide_batch`, one commit per batch), per decision.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from common import p99  # isort: skip
from engine.lifecycle.decision_log import DecisionLog, log_decisions, open_decision_log
from engine.paths import rules_dir
from engine.rules.rulebook import Rulebook, load_rulebook

RULESET = "passport_continuation"
FACTS = {"line_provider": "ntt_west", "access_service": "flets_hikari_next",
         "change_type": "relocation", "customer_id_change": "unchanged"}  # fmt: skip


BATCH = 1000


def measure(book: Rulebook, log: DecisionLog | None, n: int, batch: bool = False) -> list[float]:
    """Milliseconds per decision: of each single decision, or of each batch divided by its size."""
    book.observer = None if log is None else (lambda ds: log_decisions(log, ds, uuid.uuid4().hex))
    timings: list[float] = []
    for _ in range(max(n // BATCH, 5) if batch else n):
        start = time.perf_counter()
        if batch:
            book.decide_batch(RULESET, [FACTS] * BATCH)
        else:
            book.decide(RULESET, FACTS)
        timings.append((time.perf_counter() - start) * 1000 / (BATCH if batch else 1))
    return timings


def report(label: str, timings: list[float]) -> None:
    print(f"| {label} | {statistics.mean(timings):.3f} | {statistics.median(timings):.3f} | "
          f"{p99(sorted(timings)):.3f} | {1000 / statistics.mean(timings):,.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--postgres", help="also measure a PostgreSQL log at this URL")
    args = parser.parse_args()
    book = load_rulebook(rules_dir())
    folder = Path(tempfile.mkdtemp(prefix="flets-bench-"))
    setups: list[tuple[str, str]] = [
        ("no log", "none"),
        ("SQLite WAL, synchronous=NORMAL (default)", f"sqlite:///{folder / 'normal.db'}"),
        ("SQLite WAL, synchronous=FULL", f"sqlite:///{folder / 'full.db'}?synchronous=full"),
    ]
    if args.postgres:
        setups.append(("PostgreSQL (synchronous_commit=on)", args.postgres))
    print("| decision log | mean ms per decision | median ms | p99 ms | decisions/s (one thread) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    measure(book, None, 200)  # warm up
    for batch in (False, True):
        for label, url in setups:
            fresh = url.replace(".db", "-batch.db") if batch and url.startswith("sqlite") else url
            log = open_decision_log(fresh)
            try:
                report(f"{label}, batches of {BATCH:,}" if batch else label,
                       measure(book, log, args.n * 10 if batch else args.n, batch))  # fmt: skip
            finally:
                log.close()
    book.close()


if __name__ == "__main__":
    main()
