"""The built wheel carries the bundled rules, tariffs and clause index: ``pip install`` of the wheel and
``flets-elig check`` work outside a checkout (issue 18, "The wheel carries the bundled rules/ and
tariffs/")."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

FOLDERS = ("rules", "tariffs", "sources")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline from a copy of the checkout (no build isolation)."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, check=True, capture_output=True).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        origin = PROJECT_ROOT / name
        if origin.is_file():
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(origin.read_bytes())
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(source)], check=True)  # fmt: skip
    (built,) = out.glob("flets_eligibility-*.whl")
    return built


def test_the_wheel_carries_every_bundled_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in FOLDERS:
        bundled = sorted(p.name for p in (PROJECT_ROOT / folder).glob("*.yaml"))
        assert bundled, f"{folder}/ has no files"
        for name in bundled:
            assert f"engine/bundled/{folder}/{name}" in names
    assert "webapp/templates/base.html" in names
    assert "webapp/static/style.css" in names
    assert "engine/bundled/docs/rule-format.schema.json" in names  # the studio editor's schema


def test_an_installed_wheel_checks_its_bundled_rules_outside_a_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(wheel)], check=True)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLETS_")}
    env["PYTHONPATH"] = str(target)  # ahead of the checkout's editable install
    where = subprocess.run([sys.executable, "-c", "import engine.paths as p; print(p.rules_dir())"],
                           cwd=tmp_path, env=env, check=True, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    assert Path(where) == target / "engine" / "bundled" / "rules"
    checked = subprocess.run([sys.executable, "-m", "engine.cli", "check"], cwd=tmp_path, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = len(list((PROJECT_ROOT / "rules").glob("*.yaml")))
    tariffs = len(list((PROJECT_ROOT / "tariffs").glob("*.yaml")))
    assert (
        f"{count + tariffs} files, {count} rule sets valid, {tariffs - 1} tariffs valid, 0 errors"
        in (checked.stdout)
    )
