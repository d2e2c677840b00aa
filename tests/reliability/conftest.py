"""Helpers for reliability tests: run a scenario in a child process, so a crash fails the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from engine.paths import PROJECT_ROOT

#: A child scenario that runs longer than this is a hang, and fails.
CHILD_TIMEOUT_S = 120


def run_child(code: str) -> str:
    """Run ``code`` in a fresh Python; fail (with its output) unless it exits 0. Returns its stdout.

    durable_rules can abort or segfault the whole process; in a child that becomes a failed test.
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"child exited with {done.returncode} (negative: killed by signal)\n"
            f"stdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-4000:]}"
        )
    return done.stdout


@pytest.fixture
def child() -> Callable[[str], str]:
    return run_child
