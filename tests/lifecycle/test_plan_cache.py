"""Decision-table plans built once per machine (issue 18, "Start and reload time").

A plan read from the folder must give exactly the answers of a plan built now; a damaged file costs a
rebuild, never a wrong answer; processes asking for one plan at once build it once; the identity
ignores what cannot change an answer (file positions, labels) and follows what can.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import load_rulebook
from engine.lifecycle.plan_cache import OFF, PlanFolder, default_folder, open_plan_cache
from engine.paths import rules_dir
from engine.rules import table
from engine.rules.plans import decode_groups, plan_identity, plan_store, use_plan_store

RULESET = "passport_continuation"


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """An empty plan folder installed as the store, and the process's own plans forgotten; both put
    back afterwards."""
    previous = plan_store()
    cached = dict(table._plans)
    table._plans.clear()
    use_plan_store(PlanFolder(tmp_path / "plans"))
    try:
        yield tmp_path / "plans"
    finally:
        use_plan_store(previous)
        table._plans.clear()
        table._plans.update(cached)


def _copy(tmp_path: Path, name: str = RULESET) -> Path:
    target = tmp_path / "rules"
    target.mkdir(exist_ok=True)
    shutil.copy(rules_dir() / f"{name}.yaml", target / f"{name}.yaml")
    return target / f"{name}.yaml"


def _plans_in(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*.json") if not p.name.startswith("check")]


def _answers(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every example of the rule set decided through the table (which must exist)."""
    book = load_rulebook(path)
    try:
        decider = book.decider(RULESET)
        assert decider.table is not None
        found = []
        for example in decider.ruleset.examples:
            decision = decider.table.decide(
                example.facts, example.as_of or decider.ruleset.effective_from
            )
            assert decision is not None
            found.append((decision.outcome.id, tuple(r.code for r in decision.reasons)))
        return found
    finally:
        book.close()


def test_a_stored_plan_answers_as_a_fresh_one_and_is_not_built_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tmp_path)
    built = _answers(path)
    stored = _plans_in(folder)
    assert len(stored) == 1
    assert len(list(folder.glob("check*.json"))) == 1  # the table's self-check, proven once
    table._plans.clear()  # a new process: only the folder remembers

    def no_build(*_args: object) -> None:
        raise AssertionError("the stored plan should have been used")

    monkeypatch.setattr(table, "build_plan", no_build)
    assert _answers(path) == built


def test_a_damaged_or_wrong_plan_is_rebuilt_not_believed(folder: Path, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    expected = _answers(path)
    (stored,) = _plans_in(folder)
    data = json.loads(stored.read_text())
    groups = decode_groups(data)
    assert groups
    # Every answer of every group flipped: the spot check must notice and rebuild.
    for group in data["groups"]:
        group["answers"] = [a ^ 1 for a in group["answers"]]
    stored.write_text(json.dumps(data))
    table._plans.clear()
    assert _answers(path) == expected
    assert decode_groups(json.loads(stored.read_text())) == groups  # replaced by the right one
    stored.write_text("{not json")
    table._plans.clear()
    assert _answers(path) == expected


def test_the_identity_ignores_positions_and_labels_and_follows_conditions(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    text = path.read_text(encoding="utf-8")
    book = load_rulebook(path)
    original = plan_identity(book.select(RULESET))
    book.close()
    moved = "# a comment that moves every line\n\n" + text.replace("異動の種類", "異動の種別", 1)
    path.write_text(moved, encoding="utf-8")
    book = load_rulebook(path)
    assert plan_identity(book.select(RULESET)) == original
    book.close()
    changed = text.replace("relocation", "relocation_x")  # an enum value: another domain
    path.write_text(changed, encoding="utf-8")
    book = load_rulebook(path)
    assert plan_identity(book.select(RULESET)) != original
    book.close()


#: One process asking the folder for a plan whose build takes half a second and leaves a mark.
_FETCH = """
import sys, time
from pathlib import Path
from engine.lifecycle.plan_cache import PlanFolder

def build():
    with open(sys.argv[3], "a") as out:
        out.write("built\\n")
    time.sleep(0.5)  # long enough that the other processes ask meanwhile
    return {"format": 1, "live": "test"}

print(PlanFolder(Path(sys.argv[1])).fetch(sys.argv[2], build))
"""


def test_processes_asking_at_once_build_a_plan_once(tmp_path: Path) -> None:
    marker = tmp_path / "builds.txt"
    key = "ab" * 32
    command = [sys.executable, "-c", _FETCH, str(tmp_path / "plans"), key, str(marker)]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [child.communicate(timeout=60)[0].strip() for child in children]
    assert all(child.returncode == 0 for child in children)
    assert outputs == ["{'format': 1, 'live': 'test'}"] * 3
    assert marker.read_text().count("built") == 1


def test_the_folder_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert open_plan_cache(OFF) is None
    assert default_folder(str(tmp_path)) == tmp_path
    monkeypatch.delenv("FLETS_PLAN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_folder() == tmp_path / "xdg" / "flets-eligibility" / "plans"
    made = open_plan_cache()
    assert made is not None and (tmp_path / "xdg" / "flets-eligibility" / "plans").is_dir()
    with pytest.raises(ValueError):
        made.fetch("../escape", lambda: {})
