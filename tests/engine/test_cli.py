"""The flets-elig command line: exit codes and what it prints."""

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import ValidationError
from engine.lifecycle.reload import load_bundle


def test_check_passes_a_good_file(sample_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(sample_path)]) == 0
    assert "1 files, 1 rule sets valid, 0 errors" in capsys.readouterr().out


def test_check_fails_with_file_line_and_code(
    write_rules,
    sample_text: str,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    path = write_rules(
        sample_text.replace("when: {prefecture: osaka}", "when: {prefecture: kyoto}"), "bad.yaml"
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:" in out and ": value-not-in-enum: 'kyoto'" in out
    assert "1 errors" in out


def test_check_of_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 2


def test_test_runs_examples_like_a_test_runner(
    sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(sample_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("6 passed, 0 failed")


def test_test_reports_a_failing_example(
    write_rules, sample_text: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    text = sample_text.replace("reasons: [district_unknown]}", "reasons: [too_few_units]}")
    path = write_rules(
        text.replace("expect: {outcome: unknown,", "expect: {outcome: refused,"), "f.yaml"
    )
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "undecidable alone" in out
    assert "outcome 'unknown', expected 'refused'" in out
    assert "5 passed, 1 failed" in out


#: A rule no facts can satisfy, appended to the sample's rules: its examples still pass.
NEVER_FIRES = """\
  - id: never
    when: {all: [{fact: units, less_than: 5}, {fact: units, greater_than: 7}]}
    outcome: refused
    reason: never
    message: {ja: 該当しない, en: Never}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別表}
examples:
"""


def test_test_refuses_a_rule_that_never_fires_as_the_server_does(
    write_rules, sample_text: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """``test`` loads with the server's loader: a folder ``check`` fails is never reported as passing."""
    path = write_rules(sample_text.replace("examples:\n", NEVER_FIRES, 1), "never.yaml")
    with pytest.raises(ValidationError) as refused:
        load_bundle(path.parent)
    (error,) = refused.value.errors
    assert error.code == "never-fires" and "'never'" in error.message
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert str(error) in out and "passed" not in out
    assert main(["check", str(path)]) == 1
    assert str(error) in capsys.readouterr().out


def test_decide_prints_the_decision(sample_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = json.dumps({"contractor": False, "units": 6, "prefecture": "tokyo"})
    code = main(
        [
            "decide",
            "sample_refusals",
            "--facts",
            facts,
            "--rules",
            str(sample_path),
            "--as-of",
            "2023-01-01",
            "--lang",
            "en",
        ]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["outcome"] == "refused" and body["reasons"][0]["message"] == "Not the contractor"


def test_decide_reads_facts_from_a_file_and_names_bad_fields(
    sample_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text('{"contractor": "no", "units": 6, "prefecture": "tokyo"}')
    assert (
        main(["decide", "sample_refusals", "--facts", f"@{facts}", "--rules", str(sample_path)])
        == 2
    )
    assert "facts.contractor: Not a valid boolean." in capsys.readouterr().err


def test_decide_rejects_malformed_json(
    sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decide", "sample_refusals", "--facts", "{oops", "--rules", str(sample_path)]) == 2
    assert "--facts: cannot read JSON" in capsys.readouterr().err


def test_decide_rejects_unpaired_surrogates_instead_of_crashing(
    sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = '{"contractor": true, "units": 6, "prefecture": "\\ud800"}'
    assert main(["decide", "sample_refusals", "--facts", facts, "--rules", str(sample_path)]) == 2
    assert "unpaired UTF-16 surrogate" in capsys.readouterr().err


def test_check_of_a_tariff_folder_checks_tariffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tariff folder is checked as tariffs (not as 88 rule-file errors), and a broken tariff names
    its file, line and field."""
    from engine.paths import tariffs_dir

    assert main(["check", str(tariffs_dir())]) == 0
    out = capsys.readouterr().out
    count = len(list(tariffs_dir().glob("*.yaml")))
    assert f"{count} files, 0 rule sets valid, {count - 1} tariffs valid, 0 errors" in out
    folder = tmp_path / "tariffs"
    shutil.copytree(tariffs_dir(), folder)
    broken = folder / "flets_joint.yaml"
    broken.write_text(broken.read_text("utf-8").replace("version:", "versoin:", 1), "utf-8")
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "flets_joint.yaml:2:" in out and "0 tariffs valid" in out


def test_check_without_paths_checks_the_bundled_rules_and_tariffs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert "tariffs valid" in out and out.endswith("0 errors, 0 warnings")
