"""The runtime's session (sid) hygiene: durable_rules fails at 1,025 live sids and aborts the process on
``delete_state`` after a no-match, so thousands of decisions — matching no rule, or batches mixing
matching, non-matching and invalid facts — must leave no session behind and never abort. Child process.
"""

from __future__ import annotations

from collections.abc import Callable

SCENARIO = """
import sys, tempfile
from datetime import date
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import SAMPLE
from engine import FactsError, load_rulebook

folder = Path(tempfile.mkdtemp())
(folder / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
book = load_rulebook(folder)
day = date(2023, 1, 1)
decider = book.decider("sample_refusals", day)
assert decider.table is None  # the sample compares two facts: every decision below is live
quiet = {"contractor": True, "units": 6, "prefecture": "tokyo"}  # matches no rule: the default answers
loud = {"contractor": False, "units": 1, "prefecture": "other", "services": ["phone"], "fee": 5000}
bad = {"contractor": "yes", "units": 6, "prefecture": "tokyo"}

for i in range(3000):  # three times the 1,024 live-sid limit, through one engine handle
    d = book.decide("sample_refusals", quiet if i % 2 else loud, day)
    assert (d.outcome.id == "approved") == bool(i % 2), (i, d.outcome.id)

for _ in range(300):
    out = book.decide_batch("sample_refusals", [quiet, loud, bad, quiet, quiet, bad, loud], day)
    assert [type(x).__name__ for x in out] == ["Decision", "Decision", "FactsError", "Decision",
                                                "Decision", "FactsError", "Decision"]
    assert [x.outcome.id for x in out if not isinstance(x, FactsError)] == [
        "approved", "refused", "approved", "approved", "refused"]

# A bundled rule set too (the TV application, answered by its decision table): table and live paths
# side by side in one runtime. Its file alone is loaded; the other rule sets add nothing here.
from engine.paths import rules_dir
bundled = load_rulebook(rules_dir() / "tv_application.yaml")
tv_decider = bundled.decider("tv_application", day)
facts = {"prefecture": "tokyo", "line_kind": "ntt_flets", "applicant_is_line_contractor": True}
for _ in range(2000):
    assert tv_decider.decide_live(facts, day) == tv_decider.decide(facts, day)

for runtime in (book.runtime, bundled.runtime):
    abandoned = [r.abandoned for r in runtime._rulesets.values()]
    assert abandoned == [0] * len(abandoned), abandoned
book.close()
bundled.close()
print("ok")
"""


def test_many_decisions_leave_no_session_and_never_abort(child: Callable[[str], str]) -> None:
    assert child(SCENARIO).strip().endswith("ok")


CLOSED = """
import sys, tempfile
from datetime import date
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import SAMPLE
from engine import EvaluationError, load_rulebook
folder = Path(tempfile.mkdtemp())
(folder / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
book = load_rulebook(folder)  # the sample is enough: closing is about the runtime, not the rules
decider = book.decider("sample_refusals", date(2023, 1, 1))
book.close()
try:
    decider.decide_live({"contractor": True, "units": 6, "prefecture": "tokyo"}, date(2023, 1, 1))
except EvaluationError:
    print("refused")
"""


def test_a_closed_rulebook_refuses_instead_of_crashing(child: Callable[[str], str]) -> None:
    assert child(CLOSED).strip() == "refused"
