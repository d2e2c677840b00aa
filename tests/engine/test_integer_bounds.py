"""Integer facts stay inside the range durable_rules compares exactly (engine.rules.facts.MAX_EXACT_INTEGER).

durable_rules holds integers as int64 and reads larger ones as doubles: before the bound, an amount of
2⁶³ against a limit of 2⁶³ − 1 was "not over the limit" (``passport_purchase`` answered can_purchase).
Now every int/money fact is refused beyond ±(2⁵³ − 1) — by the marshmallow schema and by the decision
table's generated validator alike — and a rule file cannot declare a range or write a constant beyond it.
On both sides of the bound, decisions equal Python's integer comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FactsError, Rulebook, load_rulebook
from engine.cli import main
from engine.messages import Code
from engine.messages.schema import uncoded_messages
from engine.rules.facts import MAX_EXACT_INTEGER, facts_json_schema, facts_schema_class
from engine.rules.rulebook import check_rule_files

DAY = date(2025, 1, 10)
MAX = MAX_EXACT_INTEGER

HEADER = """\
version: "1.0"
title: {ja: 境界, en: Bounds}
region: ntt_east
effective_from: 2020-01-01
sources:
  - {file: 004_84a0a3d01f54d5ce.txt, title: 規約}
outcomes:
  flagged: {kind: negative, label: {ja: 該当, en: Flagged}}
  clear: {kind: positive, label: {ja: 非該当, en: Clear}}
decide: collect
precedence: [flagged, clear]
default:
  outcome: clear
  reason: nothing
  message: {ja: なし, en: Nothing}
  cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第1条}
examples:
  - note: nothing
    facts: {amount: 1, limit: 2}
    expect: {outcome: clear, reasons: [nothing]}
"""


def rule(rule_id: str, when: str) -> str:
    return (
        f"  - id: {rule_id}\n    when: {when}\n    outcome: flagged\n    reason: {rule_id}\n"
        f"    message: {{ja: 該当, en: Flagged}}\n"
        f"    cite: {{source: 004_84a0a3d01f54d5ce.txt, clause: 第2条}}\n"
    )


FACTS = """\
facts:
  amount: {type: money, label: {ja: 金額, en: Amount}}
  limit: {type: money, label: {ja: 上限, en: Limit}}
"""

#: Compares two facts (evaluated live): the shape of passport_purchase's purchase_amount vs id_limit.
LIVE = (
    "ruleset: bound_live\n"
    + HEADER
    + FACTS
    + "rules:\n"
    + rule("over_limit", "{fact: amount, greater_than: {fact: limit}}")
    + rule("within_limit", "{fact: amount, at_most: {fact: limit}}")
)

#: Compares with constants at the bound (answered from the decision table).
TABLED = (
    "ruleset: bound_table\n"
    + HEADER
    + FACTS
    + "rules:\n"
    + rule("top", f"{{fact: amount, greater_than: {MAX - 1}}}")
    + rule("bottom", f"{{fact: amount, less_than: {-MAX + 1}}}")
    + rule("is_max", f"{{amount: {MAX}}}")
    + rule("limit_large", f"{{fact: limit, at_least: {MAX - 2}}}")
)

#: What each rule means, in Python's integers: the reference the engine must agree with.
MEANING: dict[str, Callable[[int, int], bool]] = {
    "over_limit": lambda a, b: a > b,
    "within_limit": lambda a, b: a <= b,
    "top": lambda a, b: a > MAX - 1,
    "bottom": lambda a, b: a < -MAX + 1,
    "is_max": lambda a, b: a == MAX,
    "limit_large": lambda a, b: b >= MAX - 2,
}


@pytest.fixture(scope="module")
def bound_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rulebook]:
    folder = tmp_path_factory.mktemp("bounds")
    (folder / "bound_live.yaml").write_text(LIVE, encoding="utf-8")
    (folder / "bound_table.yaml").write_text(TABLED, encoding="utf-8")
    book = load_rulebook(folder)
    yield book
    book.close()


def test_the_bound_is_the_largest_integer_a_double_holds_exactly() -> None:
    assert MAX == 2**53 - 1
    assert float(MAX) == MAX and float(MAX + 2) != MAX + 2


# --- the attack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        {"request": "purchase", "purchase_amount": 2**63, "id_limit": 2**63 - 1},
        {
            "request": "set_id_limit",
            "id_limit": 5,
            "id_limits_total": 2**63,
            "line_limit": 2**63 - 1,
        },
    ],
    ids=["purchase-over-id-limit", "id-limits-over-line-limit"],
)
def test_huge_amounts_in_passport_purchase_are_refused_not_answered_yes(
    bundled_rulebook: Rulebook, facts: dict[str, object]
) -> None:
    raw = {"line_provider": "ntt_west", "id_status": "active", **facts}
    with pytest.raises(FactsError) as caught:
        bundled_rulebook.decide("passport_purchase", raw, DAY)
    huge = {name for name, value in facts.items() if isinstance(value, int) and value > MAX}
    assert set(caught.value.fields) == huge
    for name in huge:
        (message,) = caught.value.fields[name]
        assert message.code is Code.BETWEEN  # the file's own range: 0 … its sanity bound


def test_every_bundled_int_and_money_fact_has_a_range_inside_the_bound(
    bundled_rulebook: Rulebook,
) -> None:
    for ruleset in bundled_rulebook.all_rulesets():
        for spec in ruleset.facts:
            if spec.type.value in ("int", "money"):
                assert spec.minimum is not None and spec.maximum is not None, spec.name
                assert -MAX <= spec.minimum <= spec.maximum <= MAX, spec.name


def test_the_fact_vs_fact_attack_is_refused_naming_both_fields_with_the_bound(
    bound_book: Rulebook,
) -> None:
    with pytest.raises(FactsError) as caught:
        bound_book.decide("bound_live", {"amount": 2**63, "limit": 2**63 - 1}, DAY)
    assert set(caught.value.fields) == {"amount", "limit"}
    (message,) = caught.value.fields["amount"]
    assert message.code is Code.INTEGER_OUT_OF_RANGE
    assert message == (
        f"Must be a whole number from {-MAX} to {MAX} (larger numbers cannot be decided exactly)."
    )
    assert message.render("ja") == (
        f"{-MAX}から{MAX}までの整数にしてください（これを超える数は正確に判定できません）。"
    )


def test_a_declared_side_keeps_its_own_message_and_the_open_side_gets_the_bound(
    sample_book: Rulebook,
) -> None:
    """The sample's ``units`` declares ``min: 0`` only: below 0 its own message, above the bound ours."""
    base = {"contractor": True, "prefecture": "tokyo"}
    for units, code, params in [
        (-1, Code.AT_LEAST, {"min": 0}),
        (-(2**63), Code.AT_LEAST, {"min": 0}),
        (MAX + 1, Code.INTEGER_OUT_OF_RANGE, {"min": 0, "max": MAX}),
        (2**63, Code.INTEGER_OUT_OF_RANGE, {"min": 0, "max": MAX}),
    ]:
        with pytest.raises(FactsError) as caught:
            sample_book.decide("sample_refusals", {**base, "units": units}, DAY)
        (message,) = caught.value.fields["units"]
        assert (message.code, dict(message.params)) == (code, params)
    day = date(2023, 1, 1)  # before the sample's "late" rule
    assert (
        sample_book.decide("sample_refusals", {**base, "units": MAX}, day).outcome.id == "approved"
    )


def test_the_fact_schemas_state_the_bound_and_every_message_is_coded(bound_book: Rulebook) -> None:
    ruleset = bound_book.decider("bound_live").ruleset
    schema = facts_json_schema(ruleset)
    assert schema["properties"]["amount"]["minimum"] == -MAX
    assert schema["properties"]["amount"]["maximum"] == MAX
    assert uncoded_messages(facts_schema_class(ruleset)()) == []


# --- both sides of the bound decide exactly --------------------------------------------------------

EDGES = [v for m in (MAX, 2**53, 2**62, 2**63, 2**64) for v in (m - 2, m - 1, m, m + 1, m + 2)]
NUMBERS = st.one_of(
    st.sampled_from(EDGES + [-v for v in EDGES] + [0, 1, -1]),
    st.integers(-MAX, MAX),
    st.integers(-(2**65), 2**65),
)


def _expected(ruleset_id: str, amount: int, limit: int, book: Rulebook) -> object:
    bad = {name for name, value in (("amount", amount), ("limit", limit)) if abs(value) > MAX}
    if bad:
        return ("refused", bad)
    rules = book.decider(ruleset_id).ruleset.rules
    return ("fired", {r.id for r in rules if MEANING[r.id](amount, limit)})


def _decided(decide: Callable[[object, date], object], raw: dict[str, int]) -> object:
    try:
        decision = decide(raw, DAY)
    except FactsError as exc:
        assert all(m.code is Code.INTEGER_OUT_OF_RANGE for ms in exc.fields.values() for m in ms)
        return ("refused", set(exc.fields))
    return ("fired", set(decision.fired))  # type: ignore[attr-defined]


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=NUMBERS, limit=NUMBERS)
def test_decisions_on_both_sides_of_the_bound_equal_python_integer_comparison(
    bound_book: Rulebook, amount: int, limit: int
) -> None:
    raw = {"amount": amount, "limit": limit}
    for ruleset_id in ("bound_live", "bound_table"):
        decider = bound_book.decider(ruleset_id)
        expected = _expected(ruleset_id, amount, limit, bound_book)
        assert _decided(decider.decide, raw) == expected, (ruleset_id, raw)
        assert _decided(decider.decide_live, raw) == expected, (ruleset_id, raw)


def test_the_constant_rule_set_is_answered_from_the_table(bound_book: Rulebook) -> None:
    assert bound_book.decider("bound_table").table is not None
    assert bound_book.decider("bound_live").table is None


# --- rule files cannot reach beyond the bound -------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (("limit: {type: money,", f"limit: {{type: money, max: {MAX + 1},"), "facts.limit.max"),
        (("limit: {type: money,", f"limit: {{type: money, min: {-(2**63)},"), "facts.limit.min"),
        ((f"greater_than: {MAX - 1}", f"greater_than: {2**63}"), "rules[0].when.greater_than"),
        ((f"{{amount: {MAX}}}", f"{{amount: {MAX + 1}}}"), "rules[2].when.amount"),
        (
            ("limit: {type: money,", f"limit: {{type: money, required: false, default: {2**64},"),
            "facts.limit.default",
        ),
        (
            ("limit: {type: money,", f"limit: {{type: money, max: 0x{'f' * 1_000},"),
            "facts.limit.max",
        ),
    ],
    ids=["max", "min", "constant", "shorthand-constant", "default", "4000-bit-hex"],
)
def test_check_refuses_a_range_or_a_constant_beyond_the_bound_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], path: str
) -> None:
    old, new = edit
    assert old in TABLED
    target = tmp_path / "bound_table.yaml"
    target.write_text(TABLED.replace(old, new, 1), encoding="utf-8")
    _, diagnostics = check_rule_files([target])
    (found,) = [d for d in diagnostics if d.severity == "error"]
    assert (found.code, found.path) == ("number-out-of-range", path)
    line = next(i for i, text in enumerate(TABLED.splitlines(), 1) if old in text)
    assert found.location.line == line
    assert main(["check", str(target)]) == 1
    assert f"{target}:{line}:" in capsys.readouterr().out


def test_check_accepts_the_bound_itself(tmp_path: Path) -> None:
    text = TABLED.replace("limit: {type: money,", f"limit: {{type: money, min: {-MAX}, max: {MAX},")
    target = tmp_path / "bound_table.yaml"
    target.write_text(text, encoding="utf-8")
    rulesets, diagnostics = check_rule_files([target])
    assert [d for d in diagnostics if d.severity == "error"] == [] and len(rulesets) == 1


def test_a_parameter_beyond_the_bound_is_refused(tmp_path: Path) -> None:
    text = TABLED.replace(
        "facts:\n",
        "parameters:\n  cap:\n    type: money\n    value: 18446744073709551616\n"
        "    provenance: inferred\n    label: {ja: 上限, en: Cap}\nfacts:\n",
        1,
    )
    target = tmp_path / "bound_table.yaml"
    target.write_text(text, encoding="utf-8")
    _, diagnostics = check_rule_files([target])
    assert [(d.code, d.path) for d in diagnostics if d.severity == "error"] == [
        ("number-out-of-range", "parameters.cap.value")
    ]
