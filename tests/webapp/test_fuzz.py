"""Schema-driven fuzzing of the live server from its own /openapi.json: no 5xx, nothing off-schema."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.fuzz]

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
])  # fmt: skip


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_server: str, test_output: Path
) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    command = [
        str(schemathesis), "run", f"{live_server}/openapi.json",
        "--checks", CHECKS,
        "--max-examples", "5",
        "--seed", "1",
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "10",
        "--report", "junit",
        "--report-dir", str(test_output / "schemathesis"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    # The summary's warnings may say "failed" (the admin API answers 401 without its token): the
    # verdict is the line of test cases.
    cases = re.search(r"Test cases:\s*\n\s*(.*)", summary.split("SUMMARY")[-1])
    assert cases is not None and "passed" in cases.group(1), summary
    assert "failed" not in cases.group(1) and "error" not in cases.group(1), summary
