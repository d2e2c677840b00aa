"""The layering contract of pyproject.toml ([tool.importlinter]) holds, and it really catches a breach.

`make lint` runs `lint-imports`; these tests prove the contract is not vacuous: a copy of the tree with
one forbidden import added (the core importing the web layer, Flask, psycopg, sqlite3 or the lifecycle
side) must fail it, naming the offending import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.paths import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for folder in ("engine", "webapp"):
        shutil.copytree(
            PROJECT_ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("__pycache__", "static", "templates"),
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    done = _lint(tree_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "statement", "named"),
    [
        ("engine/rules/explain.py", "import flask", "engine.rules.explain -> flask"),
        ("engine/rules/model.py", "import sqlite3", "engine.rules.model -> sqlite3"),
        ("engine/tariff/money.py", "import psycopg", "engine.tariff.money -> psycopg"),
        ("engine/format/common.py", "import webapp", "engine.format.common -> webapp"),
        (
            "engine/rules/evaluate.py",
            "from engine.lifecycle import reload",
            "engine.rules.evaluate -> engine.lifecycle",
        ),
        (
            "engine/tariff/money.py",
            "import engine.rules.model",
            "engine.tariff.money -> engine.rules",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_contract(
    tree_copy: Path, module: str, statement: str, named: str
) -> None:
    path = tree_copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}  # noqa\n", encoding="utf-8")
    done = _lint(tree_copy)
    assert done.returncode != 0
    assert named in done.stdout, done.stdout
