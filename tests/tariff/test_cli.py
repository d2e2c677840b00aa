"""The ``quote`` sub-command as the lead's ``engine/cli.py`` wires it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.paths import PROJECT_ROOT


def run(argv: list[str]) -> int:
    return main(argv)


def test_quote_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    request = {"items": [{"tariff": "tv_transport", "item": "payment_certificate"}]}
    status = run(["quote", "--request", json.dumps(request), "--as-of", "2025-04-01"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["totals"]["amount_tax_included"] == 440


def test_quote_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "request.json"
    path.write_text(
        json.dumps(
            {"as_of": "2025-04-01", "items": [{"tariff": "flets_joint", "item": "contract_fee"}]}
        )
    )
    assert run(["quote", "--request", f"@{path}", "--tariffs", str(PROJECT_ROOT / "tariffs")]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["amount_tax_included"] == 880


def test_bad_request_exits_non_zero_with_field_errors(capsys: pytest.CaptureFixture[str]) -> None:
    request = {"items": [{"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": -2}}]}
    assert run(["quote", "--request", json.dumps(request)]) == 2
    assert list(json.loads(capsys.readouterr().err)["errors"]) == ["items.0.params.size_mb"]


def test_unreadable_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["quote", "--request", "{not json"]) == 2
    assert "cannot read the request" in capsys.readouterr().err


def test_bad_tariff_folder_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = json.dumps({"items": [{"tariff": "x", "item": "y"}]})
    assert run(["quote", "--request", request, "--tariffs", str(tmp_path)]) == 1
    assert "missing-tax-table" in capsys.readouterr().err
