"""The durable_rules runtime: sessions always cleaned up, thread safety, failures contained."""

import threading
from datetime import date
from typing import Any

import pytest

import engine.rules.runtime as runtime
from engine import Rulebook
from engine.errors import EvaluationError

DAY = date(2023, 1, 10)
GOOD = {"contractor": True, "units": 6, "prefecture": "tokyo"}
CASES: list[dict[str, Any]] = [
    GOOD,
    {**GOOD, "contractor": False},
    {**GOOD, "units": 3, "prefecture": "osaka"},
    {**GOOD, "services": ["phone"], "fee": 5000},
    {**GOOD, "prefecture": "other", "applied_on": "2024-01-01"},
]


def answers(book: Rulebook, facts: dict[str, Any]) -> tuple[str, frozenset[str]]:
    decision = book.decide("sample_refusals", facts, DAY)
    return decision.outcome.id, decision.reason_codes


def test_sessions_are_deleted_after_every_decision(sample_book: Rulebook) -> None:
    # durable_rules fails at the 1,025th live session of a ruleset; 5,000 decisions on one handle
    # only pass if every session was deleted, and none had to be abandoned.
    for i in range(5000):
        answers(sample_book, CASES[i % len(CASES)])
    engine_ruleset = next(iter(sample_book.runtime._rulesets.values()))
    assert engine_ruleset.abandoned == 0


def test_eight_threads_get_the_same_answers_as_one(sample_book: Rulebook) -> None:
    expected = [answers(sample_book, facts) for facts in CASES]
    failures: list[str] = []

    def hammer(offset: int) -> None:
        for i in range(600):
            index = (i + offset) % len(CASES)
            got = answers(sample_book, CASES[index])
            if got != expected[index]:
                failures.append(f"case {index}: {got} != {expected[index]}")

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


class _FailingEngine:
    """Stands in for the C extension with an assert_fact that fails, delegating everything else."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.deleted_states = 0

    def assert_fact(self, handle: Any, payload: str) -> Any:
        raise RuntimeError("boom")

    def delete_state(self, handle: Any, sid: str) -> None:
        self.deleted_states += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_failed_assertion_is_contained_and_its_session_never_deleted(
    sample_book: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _FailingEngine(runtime._engine)
    monkeypatch.setattr(runtime, "_engine", fake)
    engine_ruleset = next(iter(sample_book.runtime._rulesets.values()))
    first_handle = engine_ruleset.handle
    for _ in range(runtime.MAX_ABANDONED_SESSIONS - 1):
        with pytest.raises(EvaluationError, match="refused the facts: boom"):
            sample_book.decide("sample_refusals", GOOD, DAY)
    assert fake.deleted_states == 0  # deleting after a failed assertion can abort the process
    assert engine_ruleset.abandoned == runtime.MAX_ABANDONED_SESSIONS - 1
    with pytest.raises(EvaluationError):
        sample_book.decide("sample_refusals", GOOD, DAY)
    assert engine_ruleset.abandoned == 0 and engine_ruleset.handle != first_handle  # renewed
    monkeypatch.undo()
    assert answers(sample_book, GOOD) == ("approved", frozenset({"no_ground"}))


def test_action_names_are_read_from_engine_messages() -> None:
    assert runtime._action_name('{"r12":{"m":{"x":1}}}') == "r12"
    assert runtime._action_name(' {"odd": 1}') == "odd"
