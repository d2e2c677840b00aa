"""Helpers shared by the bench scripts: machine description, medians, markdown tables, inputs."""

from __future__ import annotations

import platform
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # scripts run as `python bench/x.py` from the project root
    sys.path.insert(0, str(ROOT))

from engine.rules.model import FactType, RuleSet  # noqa: E402


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """One line naming the CPU, cores, OS and the versions that matter for the figures."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(__import__("os").sched_getaffinity(0))
    packages = ", ".join(
        f"{p} {version(p)}"
        for p in ("durable_rules", "zen-engine", "marshmallow", "flask", "gunicorn")
    )
    return (
        f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {packages}"
    )


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(ordered: Sequence[float]) -> float:
    """The 99th percentile of values sorted ascending (the value below which 99 % of them lie)."""
    return ordered[int(len(ordered) * 0.99) - 1]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if i else "---" for i in range(len(header))) + " |"]  # fmt: skip
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def random_facts(ruleset: RuleSet, rng: random.Random) -> dict[str, Any]:
    """Complete random facts for an enum/bool rule set (every field present, JSON values)."""
    facts: dict[str, Any] = {}
    for spec in ruleset.facts:
        if spec.type is FactType.BOOL:
            facts[spec.name] = rng.random() < 0.5
        elif spec.type is FactType.ENUM:
            facts[spec.name] = rng.choice(spec.value_names)
        else:
            raise ValueError(f"random_facts only knows bool and enum facts, not {spec.type}")
    return facts
