"""A reload under load is bounded: a long batch of live decisions takes turns with the engine.

Building a reloaded rule set's decision table asserts its facts through durable_rules a chunk at a
time, each chunk under the process-wide engine lock. A batch of live decisions held that lock for
the whole batch (5,000 facts: up to 0.3 s), so each of a reload's hundred or so chunks could wait
that long behind it; the batch now yields the lock every ``LOCK_TURN`` facts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from engine import load_rulebook
from engine.rules import runtime
from engine.rules.compiler import compile_ruleset

ROWS = (("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),)


def test_a_long_live_batch_lets_a_waiting_thread_take_the_engine_lock(
    write_table: Callable[..., Path], rules_folder: Path
) -> None:
    write_table(rows=ROWS)
    book = load_rulebook(rules_folder)
    try:
        ruleset = book.select("plan_change")
        compiled = compile_ruleset(ruleset)
        engine = runtime.DurableRuntime([compiled])
        facts = [compiled.encode({"plan": "basic", "users": n % 100, "migrated": False,
                                  "customer_name": ""}) for n in range(1024)]  # fmt: skip
        fired_so_far: list[int] = []
        started = threading.Event()
        original = engine._fire_one

        def counting(*args: object) -> frozenset[str]:
            fired_so_far.append(1)
            started.set()
            return original(*args)  # type: ignore[arg-type]

        engine._fire_one = counting  # type: ignore[method-assign]
        when_the_other_got_in: list[int] = []

        def waiting_thread() -> None:  # a reload's table build, in miniature
            started.wait(10)
            with runtime.ENGINE_LOCK:
                when_the_other_got_in.append(len(fired_so_far))

        other = threading.Thread(target=waiting_thread)
        other.start()
        results = engine.fire_many(ruleset.key, facts)
        other.join(10)
        assert len(results) == len(facts)
        assert when_the_other_got_in and when_the_other_got_in[0] < len(facts)
        engine.close()
    finally:
        book.close()
