"""Rule files and tariffs share one header (engine/format/header.py): the same mistake is reported once,
with the same code, in either format."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine import load_rulebook
from engine.errors import Diagnostic, ValidationError
from engine.paths import PROJECT_ROOT, rules_dir
from engine.tariff import load_tariffs


def _version_line(path: Path) -> str:
    """The file's ``version:`` line as it is now (the rule set's version moves with its content)."""
    found = re.search(r"^version: \S+", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert found is not None
    return found.group(0)


RULE_VERSION = _version_line(rules_dir() / "tv_transfer.yaml")
TARIFF_VERSION = _version_line(PROJECT_ROOT / "tariffs" / "flets_joint.yaml")


def _rule_diagnostics(tmp_path: Path, old: str, new: str) -> list[Diagnostic]:
    path = tmp_path / "tv_transfer.yaml"
    text = (rules_dir() / "tv_transfer.yaml").read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_rulebook(path)
    return caught.value.errors


def _tariff_diagnostics(tmp_path: Path, old: str, new: str) -> list[Diagnostic]:
    folder = tmp_path / "tariffs"
    shutil.copytree(PROJECT_ROOT / "tariffs", folder)
    path = folder / "flets_joint.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    return caught.value.errors


@pytest.mark.parametrize(
    ("rule_edit", "tariff_edit", "code", "path"),
    [
        ((f"{RULE_VERSION}\n", ""), (f"{TARIFF_VERSION}\n", ""), "missing-key", "version"),
        (
            ("region: ntt_east", "region: east"),
            ("region: ntt_east", "region: east"),
            "bad-value",
            "region",
        ),
        (
            (RULE_VERSION, "version: 1.0"),
            (TARIFF_VERSION, "version: 1.0"),
            "wrong-type",
            "version",
        ),
        (
            ("ruleset: tv_transfer", "ruleset: TV"),
            ("tariff: flets_joint", "tariff: TV"),
            "bad-identifier",
            None,
        ),
    ],
)
def test_a_header_mistake_is_one_diagnostic_with_the_same_code_in_both_formats(
    tmp_path: Path,
    rule_edit: tuple[str, str],
    tariff_edit: tuple[str, str],
    code: str,
    path: str | None,
) -> None:
    rule = _rule_diagnostics(tmp_path, *rule_edit)
    tariff = _tariff_diagnostics(tmp_path, *tariff_edit)
    for found, id_key in ((rule, "ruleset"), (tariff, "tariff")):
        assert [d.code for d in found] == [code], found
        assert found[0].path == (path or id_key)
