"""In-process decisions/s on the TV transport application (rules/tv_application.yaml), peers side by side.

    .venv/bin/python bench/decisions.py            # verify on 100,000 inputs, then 5 timed rounds
    .venv/bin/python bench/decisions.py --quick    # 5,000 verification inputs, 3 rounds

Paths, all measured in the same process and interleaved round by round:

* engine ``Rulebook.decide`` / ``decide_batch`` (batches of 1,000) — the service's API, table fast path;
* engine live (``Decider.decide_live``): the same API with every decision asserted through durable_rules;
* hand-written Python function (the floor);
* raw durable_rules through ``durable.engine.Host`` (public API);
* GoRules zen-engine: ``ZenEngine.evaluate(key)`` with a static loader and ``ZenDecision.evaluate``, for a
  JDM decision table and for an expression node, plus ``evaluate_batch`` with 1,000 requests.

Every path must give the same answer (outcome and reasons in rule order) on every verification input
before anything is timed; the script exits non-zero otherwise. Figures are medians over the rounds;
ratios are against zen's fastest single-decision path and the floor measured in the same run. The
targets are judged per round (the median of each round's ratio), with the two engine paths timed back
to back, because the shared host's load drifts over the minute a round of every path takes.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from common import ROOT, git_revision, machine, median, random_facts, table  # isort: skip

import zen  # type: ignore[import-untyped]
from tv_peers import (
    Answer,
    DurableRaw,
    floor_decide,
    jdm_text,
    zen_expression_answer,
    zen_expression_jdm,
    zen_table_answer,
    zen_table_jdm,
)

from engine import Decision, load_rulebook

AS_OF = date(2024, 4, 1)
#: A pinned copy of rules/tv_application.yaml that bench/tv_peers.py mirrors by hand.
RULES = ROOT / "bench" / "tv_application.yaml"
BATCH = 1_000
ENGINE_SINGLE = "engine Rulebook.decide (table)"
ENGINE_BATCH = "engine Rulebook.decide_batch (table)"


def engine_answer(decision: Decision | Any) -> Answer:
    assert isinstance(decision, Decision), decision
    return decision.outcome.id, tuple(r.code for r in decision.reasons)


def build_paths() -> tuple[dict[str, Callable[[Any], Any]], dict[str, Callable[[Any], Any]], Any]:
    """(single-decision paths, batch paths, answer readers) — each path returns its native answer."""
    book = load_rulebook(RULES)
    decider = book.decider("tv_application", AS_OF)
    if decider.table is None:
        sys.exit("tv_application has no decision table: the fast path is not in use")
    durable = DurableRaw()
    zen_engine = zen.ZenEngine(
        {
            "loader": {
                "type": "static",
                "content": {"table": zen_table_jdm(), "expr": zen_expression_jdm()},
            }
        }
    )
    zen_table = zen_engine.create_decision(jdm_text(zen_table_jdm()))
    zen_expr = zen_engine.create_decision(jdm_text(zen_expression_jdm()))

    def zen_batch(key: str) -> Callable[[Sequence[Any]], Any]:
        return lambda items: zen_engine.evaluate_batch([{"key": key, "context": f} for f in items])

    single: dict[str, Callable[[Any], Any]] = {
        ENGINE_SINGLE: lambda f: book.decide("tv_application", f, AS_OF),
        "engine Rulebook.decide, live durable_rules": lambda f: decider.decide_live(f, AS_OF),
        "hand-written Python (floor)": floor_decide,
        "durable_rules Host API, raw": durable.decide,
        "zen ZenEngine.evaluate(key), table": lambda f: zen_engine.evaluate("table", f),
        "zen ZenDecision.evaluate, table": zen_table.evaluate,
        "zen ZenEngine.evaluate(key), expression": lambda f: zen_engine.evaluate("expr", f),
        "zen ZenDecision.evaluate, expression": zen_expr.evaluate,
    }
    batch: dict[str, Callable[[Any], Any]] = {
        ENGINE_BATCH: lambda items: book.decide_batch("tv_application", items, AS_OF),
        "engine decide_batch, live durable_rules": lambda items: decider.decide_many_live(
            items, AS_OF
        ),
        "hand-written Python (floor), list": lambda items: [floor_decide(f) for f in items],
        "zen evaluate_batch, table": zen_batch("table"),
        "zen evaluate_batch, expression": zen_batch("expr"),
    }
    readers: dict[str, Callable[[Any], Answer]] = {}
    for name in single:
        readers[name] = (
            engine_answer if name.startswith("engine")
            else zen_table_answer if "table" in name and name.startswith("zen")
            else zen_expression_answer if name.startswith("zen")
            else (lambda a: a)
        )  # fmt: skip
    for name in batch:
        readers[name] = (
            engine_answer if name.startswith("engine")
            else (lambda r: zen_table_answer(r["data"])) if "table" in name and name.startswith("zen")
            else (lambda r: zen_expression_answer(r["data"])) if name.startswith("zen")
            else (lambda a: a)
        )  # fmt: skip
    return single, batch, readers


def verify(single: dict[str, Any], batch: dict[str, Any], readers: dict[str, Any], n: int) -> None:
    """Every path gives the floor's answer on ``n`` random inputs; exit non-zero on the first mismatch."""
    rng = random.Random(20240401)
    from engine import load_rulebook as _load

    ruleset = _load(RULES).decider("tv_application", AS_OF).ruleset
    inputs = [random_facts(ruleset, rng) for _ in range(n)]
    expected = [floor_decide(f) for f in inputs]
    started = time.perf_counter()
    for name, fn in single.items():
        read = readers[name]
        for facts, want in zip(inputs, expected, strict=True):
            got = read(fn(facts))
            if got != want:
                sys.exit(f"MISMATCH {name}: {facts} → {got}, floor says {want}")
    for name, fn in batch.items():
        read = readers[name]
        for start in range(0, n, BATCH):
            chunk = inputs[start : start + BATCH]
            for facts, got, want in zip(
                chunk, fn(chunk), expected[start : start + BATCH], strict=True
            ):
                if read(got) != want:
                    sys.exit(f"MISMATCH {name}: {facts} → {read(got)}, floor says {want}")
    distinct = len(set(expected))
    print(f"verified: {len(single) + len(batch)} paths agree on {n:,} random inputs "
          f"({distinct:,} distinct answers) in {time.perf_counter() - started:.0f} s\n")  # fmt: skip


def time_single(fn: Callable[[Any], Any], inputs: Sequence[Any]) -> float:
    started = time.perf_counter()
    for facts in inputs:
        fn(facts)
    return len(inputs) / (time.perf_counter() - started)


def time_batch(fn: Callable[[Any], Any], batches: Sequence[Sequence[Any]]) -> float:
    started = time.perf_counter()
    for chunk in batches:
        fn(chunk)
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


SLOW = ("live", "durable_rules Host")


def run(rounds: int, n_fast: int, n_slow: int) -> None:
    single, batch, readers = build_paths()
    rng = random.Random(7)
    ruleset = load_rulebook(RULES).select("tv_application", AS_OF)
    inputs = [random_facts(ruleset, rng) for _ in range(n_fast)]
    batches = [inputs[i : i + BATCH] for i in range(0, n_fast, BATCH)]
    results: dict[str, list[float]] = {name: [] for name in [*single, *batch]}

    def time_path(name: str) -> None:
        slow = any(s in name for s in SLOW)
        gc.collect()
        if name in single:
            results[name].append(time_single(single[name], inputs[: n_slow if slow else n_fast]))
        else:
            count = max(1, n_slow // BATCH) if slow else len(batches)
            results[name].append(time_batch(batch[name], batches[:count]))

    for round_number in range(rounds):
        # The two engine paths back to back (in turns first), so their per-round ratio compares two
        # measurements seconds apart: the host's load drifts over a round of every path.
        pair = [ENGINE_SINGLE, ENGINE_BATCH][:: 1 if round_number % 2 == 0 else -1]
        for name in [*pair, *(n for n in [*single, *batch] if n not in pair)]:
            time_path(name)
    medians = {name: median(v) for name, v in results.items()}
    zen_best = max(v for k, v in medians.items() if k.startswith("zen") and k in single)
    zen_batch_best = max(v for k, v in medians.items() if k.startswith("zen") and k in batch)
    floor = medians["hand-written Python (floor)"]

    def rows(names: Sequence[str], zen_ref: float) -> list[list[Any]]:
        return [
            [name, medians[name], f"{min(results[name]):,.0f}–{max(results[name]):,.0f}",
             f"{medians[name] / zen_ref:.2f}×", f"{medians[name] / floor:.3f}×"]
            for name in names
        ]  # fmt: skip

    header = ["path", "decisions/s (median)", "range", "vs zen fastest", "vs floor"]
    print(f"machine: {machine()}\nrevision: {git_revision()}; {rounds} rounds; "
          f"{n_fast:,} decisions per round ({n_slow:,} for live/raw durable_rules paths)\n")  # fmt: skip
    print("single decisions (vs zen fastest single path)\n")
    print(table(header, rows(list(single), zen_best)))
    print(f"\nbatches of {BATCH:,} (vs zen fastest batch path)\n")
    print(table(header, rows(list(batch), zen_batch_best)))
    vs_zen = median([mine / max(results[z][i] for z in single if z.startswith("zen"))
                     for i, mine in enumerate(results[ENGINE_SINGLE])])  # fmt: skip
    batch_vs_single = median(
        [b / s for b, s in zip(results[ENGINE_BATCH], results[ENGINE_SINGLE], strict=True)]
    )
    print(f"\nper round (median of the rounds' ratios): engine single vs zen's fastest single "
          f"path {vs_zen:.2f}×; engine batch per decision vs engine single {batch_vs_single:.2f}× "
          f"(timed back to back)")  # fmt: skip
    print(f"target single ≥ 2× zen fastest: {vs_zen:.2f}× ({'met' if vs_zen >= 2 else 'NOT met'}); "
          f"batch per decision ≥ single: {batch_vs_single:.2f}× "
          f"({'met' if batch_vs_single >= 1 else 'NOT met'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verify", type=int, default=100_000, help="verification inputs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000, help="decisions per round, fast paths")
    parser.add_argument("--n-slow", type=int, default=4_000, help="decisions per round, slow paths")
    parser.add_argument("--quick", action="store_true", help="5,000 verification inputs, 3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.verify, args.rounds, args.n, args.n_slow = 5_000, 3, 10_000, 2_000
    single, batch, readers = build_paths()
    verify(single, batch, readers, args.verify)
    run(args.rounds, args.n, args.n_slow)


if __name__ == "__main__":
    main()
