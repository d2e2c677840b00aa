"""Replaying the whole decision log takes bounded memory, and streams exactly what a query returns.

``impact`` without ``since`` used to load the whole log into memory (2.6 GB for 4.7 million
decisions, then the worker was killed). The log is now read a page at a time and the report keeps
counts and a few examples per group: replaying 200,000 decisions grows the process by about 2 MB
(it grew by about 315 MB before), from the command line and from the admin API alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.lifecycle.decision_log import (
    DecisionRecord,
    Query,
    open_decision_log,
    postgres,
    rows,
)
from engine.paths import PROJECT_ROOT

ROWS = (("family_any", "{plan: family}", "allowed"),
        ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"))  # fmt: skip
#: The change: basic is allowed up to 4 users only (5–9 users now fall to the default: refused).
CHANGED = (("family_any", "{plan: family}", "allowed"),
           ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 5}]}", "allowed"))  # fmt: skip
#: 14 fact sets, 5 of which the change turns from allowed to refused.
FACT_SETS = [{"plan": "basic", "users": u} for u in range(12)] + [
    {"plan": "family", "users": 7}, {"plan": "business", "users": 7}]  # fmt: skip
#: 200,004 decisions: 14,286 times each fact set.
ROUNDS = 14_286
#: How much the replay may grow the process's peak memory (it grew by ~2 MB; before, by ~315 MB).
BOUND_KB = 32 * 1024

AT = datetime(2025, 1, 6, tzinfo=UTC)

#: Run in a fresh process, so its peak memory (``VmHWM``) is the replay's: the same replay on a
#: small log first (the engines loaded once), then on the big one; prints the growth and the counts.
CHILD = """
import io, json, sys
from contextlib import redirect_stdout
from pathlib import Path

mode, current, candidate, log, warm = sys.argv[1:6]


def run(url):
    if mode == "cli":
        from engine.cli import main

        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["impact", "--rules", current, "--candidate", candidate, "--log", url, "--json"])
        assert code == 0, code
        return json.loads(out.getvalue())
    from webapp import create_app
    from webapp.state import app_state

    app = create_app({"TESTING": True, "RULES_DIR": current, "AUDIT_URL": url, "ADMIN_TOKEN": "t",
                      "IMPACT_ROOT": str(Path(candidate).parent), "LOG_LEVEL": "CRITICAL",
                      "TARIFFS_DIR": str(Path(current) / "none")})
    try:
        answer = app.test_client().post("/v1/admin/impact", headers={"Authorization": "Bearer t"},
                                        json={"candidate": Path(candidate).name})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()
    finally:
        app_state(app).holder.close()
        app_state(app).decision_log.close()


def peak_kb():
    # VmHWM: this process's peak resident memory. (ru_maxrss would start at the parent's peak.)
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


run(warm)
before = peak_kb()
report = run(log)
grown = peak_kb() - before
print(json.dumps({"grown_kb": grown, "report": report}))
"""


def _record(number: int, facts: dict[str, object], at: datetime = AT) -> DecisionRecord:
    return DecisionRecord(f"r{number}", 0, at, "plan_change", "1.0", at.date(), "allowed",
                          "positive", ("basic_small",), {**facts, "migrated": False})  # fmt: skip


def _fill(url: str, count: int) -> None:
    log = open_decision_log(url)
    try:
        chunk: list[DecisionRecord] = []
        for number in range(count):
            chunk.append(_record(number, FACT_SETS[number % len(FACT_SETS)]))
            if len(chunk) == 2000:
                log.append(chunk)  # one journal line, 2,000 request rows
                chunk = []
        log.append(chunk)
    finally:
        log.close()


@pytest.mark.slow
def test_replaying_200000_decisions_takes_bounded_memory_and_counts_them_all(
    tmp_path: Path, make_table: Callable[..., str]
) -> None:
    """From the command line and from the admin API, each in a fresh process."""
    for name, table_rows in (("current", ROWS), ("candidate", CHANGED)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan_change.yaml").write_text(make_table(rows=table_rows), "utf-8")
    log, warm = tmp_path / "big.sqlite3", tmp_path / "warm.sqlite3"
    _fill(str(log), ROUNDS * len(FACT_SETS))
    _fill(str(warm), len(FACT_SETS))
    for mode in ("cli", "admin"):
        child = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(tmp_path / "current"),
             str(tmp_path / "candidate"), str(log), str(warm)],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr[-2000:]
        found = json.loads(child.stdout.splitlines()[-1])
        report = found["report"]
        counts = (
            report["replayed"],
            report["changed"],
            report["unchanged"],
            report["not_replayable"],
        )
        assert counts == (ROUNDS * 14, ROUNDS * 5, ROUNDS * 9, 0), mode
        (group,) = report["groups"]
        assert (group["from"], group["to"], group["count"]) == ("allowed", "refused", ROUNDS * 5)
        assert [e["ref"] for e in group["examples"]] == ["r5", "r6", "r7", "r8", "r9"]
        assert found["grown_kb"] < BOUND_KB, (
            f"{mode}: the replay grew the process by {found['grown_kb']} KB"
        )


# --- the stream is the query ----------------------------------------------------------------------


def test_streaming_gives_what_a_query_gives(log_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two rows, two SQLite shards (one still in its journal), batches and filters."""
    monkeypatch.setattr(rows, "PAGE_ROWS", 2)
    monkeypatch.setattr(postgres, "PAGE_ROWS", 2)
    writer, other = open_decision_log(log_url), open_decision_log(log_url)
    try:
        for number in range(9):
            at = AT + timedelta(minutes=number)
            facts = FACT_SETS[number]
            (writer if number % 3 else other).append(
                [_record(number, facts, at)] if number != 4 else
                [DecisionRecord("batch", item, at, "plan_change", "1.0", at.date(), outcome,
                                "positive", (), {"n": item})
                 for item, outcome in enumerate(["allowed", "refused", "allowed"])]
            )  # fmt: skip
        other.close()  # its rows in SQLite; the writer's may still be in its journal
        for query in (Query(limit=None), Query(outcome="refused", limit=None),
                      Query(since=AT + timedelta(minutes=3), limit=None), Query(limit=4),
                      Query(ruleset="other", limit=None)):  # fmt: skip
            assert list(writer.stream(query)) == writer.query(query)
    finally:
        writer.close()
        other.close()
