"""Thread stress: 8 threads hammering one rulebook (table and live paths, single and batch) at once.

Runs in a child process: an unguarded durable_rules call from two threads segfaults, which must fail
this test, not kill pytest. Every answer is compared with the single-threaded answer for the same input.
"""

from __future__ import annotations

from collections.abc import Callable

SCENARIO = """
import random, threading
from datetime import date
from engine import load_rulebook
from engine.paths import rules_dir

book = load_rulebook(rules_dir())
day = date(2024, 4, 1)
rng = random.Random(5)
jobs = []
for rs_id in book.ids():
    rs = book.versions(rs_id)[-1]
    rs_day = rs.effective_from
    for _ in range(40):
        facts = {}
        for spec in rs.facts:
            if spec.type.value == "bool":
                facts[spec.name] = rng.random() < 0.5
            elif spec.type.value == "enum":
                facts[spec.name] = rng.choice(spec.value_names)
            elif spec.type.value == "enum_list":
                facts[spec.name] = [v for v in spec.value_names if rng.random() < 0.3]
            elif spec.type.value in ("int", "money"):
                low = spec.minimum if spec.minimum is not None else -5
                high = spec.maximum if spec.maximum is not None else 200
                facts[spec.name] = rng.randint(low, min(high, low + 200))
            elif spec.type.value == "date":
                facts[spec.name] = date(2018 + rng.randrange(8), 1 + rng.randrange(12), 1).isoformat()
            else:
                facts[spec.name] = "x"
        jobs.append((rs_id, facts, rs_day))

def answer(d):
    return (d.ruleset.key, d.outcome.id, tuple(r.code for r in d.reasons), d.fired)

def decide(rs_id, facts, live, day=day):
    decider = book.decider(rs_id, day)
    try:
        return answer(decider.decide_live(facts, day) if live else decider.decide(facts, day))
    except Exception as exc:
        return type(exc).__name__

expected = [decide(rs_id, facts, True, d) for rs_id, facts, d in jobs]
assert [decide(rs_id, facts, False, d) for rs_id, facts, d in jobs] == expected
failures = []

def hammer(seed):
    order = list(range(len(jobs)))
    random.Random(seed).shuffle(order)
    for round_ in range(3):
        for i in order:
            rs_id, facts, d = jobs[i]
            got = decide(rs_id, facts, (i + seed + round_) % 2 == 0, d)
            if got != expected[i]:
                failures.append((i, got, expected[i]))
        batch = [jobs[i][1] for i in order if jobs[i][0] == "tv_application"]
        for facts, got in zip(batch, book.decide_batch("tv_application", batch, day)):
            if answer(got) != decide("tv_application", facts, True):
                failures.append(("batch", facts))

threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not failures, failures[:5]
print("decisions", len(jobs) * 8 * 3)
"""


def test_eight_threads_give_the_single_threaded_answers(child: Callable[[str], str]) -> None:
    out = child(SCENARIO)
    assert int(out.split()[-1]) > 1000
