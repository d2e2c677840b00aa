"""What-if answers against plain decisions on the TV transport application, in-process, same run.

    .venv/bin/python bench/whatif.py            # 2,000 inputs, 7 rounds
    .venv/bin/python bench/whatif.py --quick    # 300 inputs, 3 rounds

Paths, timed one after the other in every round, on the same inputs:

* plain: ``Rulebook.decide`` (the decision table; no decision log attached), and the same with its
  JSON (``webapp.fast.render.decision_json``, what the API sends);
* what-if: ``engine.rules.partial.decide(..., whatif=True)`` — the decision, and its changes (the
  smallest changes that make it positive, or the risks of a positive one) — and the same with its
  JSON. Results are kept per combination of the rules' classes, so from the second round on this is
  the cost of a class combination asked before (``warm``);
* what-if, cold: the same with the kept results emptied before the round, so every answer is searched
  (the first time a class combination is asked);
* partial: the broadcaster's designation sent as unknown (warm), the outcomes still possible.

Inputs (seeded): half are applications sales staff ask about — everything favourable except 0 to 2
random grounds or open points — half are random over every fact's values. Before timing, every change
of every input is sent back as facts and must get the outcome it promised; the script exits non-zero
otherwise. Figures are medians over the rounds (µs per answer); the target — a what-if answer costs at
most 10× a plain decision — is judged on the median of the rounds' ratios, warm and cold alike (the
exit status is non-zero when either misses it).
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

from common import git_revision, machine, median, random_facts, table  # isort: skip

from engine import load_rulebook
from engine.paths import rules_dir
from engine.rules import partial
from webapp.fast.render import decision_json

AS_OF = date(2025, 4, 1)
RULESET = "tv_application"
FAVOURABLE = {
    "prefecture": "tokyo",
    "district_in_area": "confirmed_inside",
    "line_kind": "ntt_flets",
    "line_item": "confirmed_eligible",
    "line_designation": "designated",
    "applicant_is_line_contractor": True,
}
#: What sales staff meet: a ground of refusal, or a point not confirmed yet.
SETBACKS: list[tuple[str, Any]] = [
    ("in_default_or_likely", True),
    ("likely_to_breach_article_32", True),
    ("technically_very_difficult", True),
    ("use_beyond_household_or_premises", True),
    ("form_names_line", False),
    ("district_in_area", "not_confirmed"),
    ("line_item", "not_confirmed"),
    ("line_designation", "unknown"),
    ("line_kind", "collab_direct"),
    ("applicant_is_line_contractor", False),
]
TARGET = 10.0


def inputs(ruleset: Any, count: int) -> list[dict[str, Any]]:
    rng = random.Random(20250401)
    found = []
    for i in range(count):
        if i % 2:
            found.append(random_facts(ruleset, rng))
            continue
        facts = dict(FAVOURABLE)
        for name, value in rng.sample(SETBACKS, rng.randint(0, 2)):
            facts[name] = value
        found.append(facts)
    return found


def timed(run: Callable[[], None], count: int) -> float:
    """µs per answer of one pass over the inputs."""
    gc.collect()
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) / count * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 inputs, 3 rounds")
    parser.add_argument("--inputs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.inputs or (300 if args.quick else 2000)
    rounds = args.rounds or (3 if args.quick else 7)

    book = load_rulebook(rules_dir())
    ruleset = book.select(RULESET, AS_OF)
    decider = book.decider(RULESET, AS_OF)
    facts = inputs(ruleset, count)
    partial_facts = [{k: v for k, v in f.items() if k != "line_designation"} for f in facts]

    # Verify: every change, sent back as facts, gets the outcome it promised.
    changes = 0
    for raw in facts:
        answer = partial.decide(book, RULESET, raw, (), AS_OF, whatif=True)
        for change in answer.changes or ():
            after = book.decide(RULESET, {**raw, **dict(change.set)}, AS_OF)
            if after.outcome.id != change.outcome.id:
                print(f"MISMATCH {raw} {change.set}: {after.outcome.id} != {change.outcome.id}")
                return 1
            changes += 1

    def plain() -> None:
        for raw in facts:
            book.decide(RULESET, raw, AS_OF)

    def plain_json() -> None:
        for raw in facts:
            decision_json(book.decide(RULESET, raw, AS_OF), "ja")

    def whatif() -> None:
        for raw in facts:
            partial.decide(book, RULESET, raw, (), AS_OF, whatif=True)

    def whatif_json() -> None:
        for raw in facts:
            decision_json(partial.decide(book, RULESET, raw, (), AS_OF, whatif=True), "ja")

    def whatif_cold() -> None:
        partial.forget(decider)  # every result and engine answer kept for the rule set
        whatif()

    def unknown() -> None:
        for raw in partial_facts:
            partial.decide(book, RULESET, raw, ("line_designation",), AS_OF)

    paths: list[tuple[str, Callable[[], None]]] = [
        ("plain decision (`Rulebook.decide`)", plain),
        ("what-if, warm (`partial.decide(..., whatif=True)`)", whatif),
        ("plain decision + JSON", plain_json),
        ("what-if, warm + JSON", whatif_json),
        ("partial: designation unknown, warm", unknown),
        ("what-if, cold (search every answer)", whatif_cold),
    ]
    unknown()  # fill the partial answers' memo once, as a warm what-if's is by the verification
    figures: dict[str, list[float]] = {name: [] for name, _ in paths}
    for _ in range(rounds):
        for name, run in paths:
            figures[name].append(timed(run, count))
        unknown()  # untimed: refills the partial answers the cold path emptied
    plain_rounds = figures[paths[0][0]]
    ratios = {
        name: median([f / p for f, p in zip(figures[name], base, strict=True)])
        for name, base in (
            (paths[1][0], plain_rounds),
            (paths[3][0], figures[paths[2][0]]),
            (paths[4][0], plain_rounds),
            (paths[5][0], plain_rounds),
        )
    }
    rows = []
    for name, _ in paths:
        values = figures[name]
        ratio = ratios.get(name)
        rows.append(
            (
                name,
                median(values),
                f"{min(values):,.1f}–{max(values):,.1f}",
                f"{ratio:.1f}×" if ratio is not None else "—",
            )
        )
    print(f"Machine: {machine()}. Revision {git_revision()}.\n")
    print(
        f"{count:,} TV applications (half favourable but for 0–2 setbacks, half random), "
        f"{rounds} rounds; every one of the {changes:,} changes re-evaluated to its promised "
        "outcome before timing. µs per answer, medians of the rounds; ratios are medians of the "
        "rounds' ratios (JSON paths against plain + JSON).\n"
    )
    print(table(("path", "µs per answer", "range", "vs plain"), rows))
    met = True
    print()
    for label, name in (("warm", paths[1][0]), ("cold", paths[5][0])):
        ratio = ratios[name]
        verdict = "met" if ratio <= TARGET else "NOT met"
        met = met and ratio <= TARGET
        print(
            f"What-if vs plain ({label}, in-process): {ratio:.1f}× — target ≤ {TARGET:g}× {verdict}."
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
