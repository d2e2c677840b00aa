"""The compiler's output (golden dicts) and its meaning (every condition kind through durable_rules)."""

from datetime import date

import pytest

from engine import Rulebook
from engine.errors import SourceLocation
from engine.rules.compiler import compile_ruleset, negation_normal_form
from engine.rules.model import AllOf, AnyOf, Compare, NotOf

HERE = SourceLocation("t.yaml", 1, 1)


def cmp(fact: str, op: str, operand: object) -> Compare:
    return Compare(fact, op, operand, HERE)  # type: ignore[arg-type]


def test_negation_is_pushed_to_the_comparisons() -> None:
    condition = NotOf(
        AllOf((cmp("a", "is", True), AnyOf((cmp("n", "lt", 6), cmp("s", "in", ("x",))))))
    )
    assert negation_normal_form(condition) == AnyOf(
        (cmp("a", "is_not", True), AllOf((cmp("n", "ge", 6), cmp("s", "not_in", ("x",)))))
    )


def test_double_negation_cancels() -> None:
    assert negation_normal_form(NotOf(NotOf(cmp("n", "le", 3)))) == cmp("n", "le", 3)


@pytest.mark.parametrize(
    ("op", "negated"),
    [
        ("includes", "excludes"),
        ("only_from", "not_only_from"),
        ("is_empty", "not_empty"),
        ("gt", "le"),
    ],
)
def test_every_operator_has_its_negation(op: str, negated: str) -> None:
    assert negation_normal_form(NotOf(cmp("x", op, None))) == cmp("x", negated, None)


def test_golden_definition_of_the_sample(sample_book: Rulebook) -> None:
    compiled = compile_ruleset(sample_book.select("sample_refusals", date(2023, 1, 1)))
    d = compiled.definition
    assert d["r0"] == {"all": [{"m": {"$and": [{"__d": 1}, {"f_contractor": False}]}}]}
    assert d["r1"] == {"all": [{"m": {"$and": [{"__d": 1}, {"$lt": {"f_units": 6}}]}}]}
    # not (prefecture in [tokyo, osaka])  →  prefecture ≠ tokyo and ≠ osaka
    assert d["r2"]["all"][0]["m"]["$and"][1] == {
        "$and": [{"$neq": {"f_prefecture": "tokyo"}}, {"$neq": {"f_prefecture": "osaka"}}]
    }
    assert d["r4"]["all"][0]["m"]["$and"][1] == {
        "$gte": {"f_applied_on": date(2023, 3, 31).toordinal()}
    }
    # only_from [phone, support]: not empty and no tv
    assert d["r5"]["all"][0]["m"]["$and"][1] == {
        "$and": [{"$gt": {"f_services__len": 0}}, {"f_services__tv": 0}]
    }
    assert d["r6"]["all"][0]["m"]["$and"][1]["$or"][0] == {"$gt": {"f_fee": {"$m": "f_limit"}}}
    assert d["guard"] == {"all": [{"m": {"__d": 1}}]}


def test_facts_are_encoded_flat() -> None:
    from engine.messages.language import Text
    from engine.rules.compiler import build_encoder
    from engine.rules.model import EnumValue, FactSpec, FactType

    label = Text("l", "l")
    specs = (
        FactSpec("d", FactType.DATE, label, HERE),
        FactSpec(
            "xs",
            FactType.ENUM_LIST,
            label,
            HERE,
            values=(EnumValue("a", label), EnumValue("b", label)),
        ),
    )
    encoded = build_encoder(specs)({"d": date(2024, 12, 1), "xs": ("b",)})
    assert encoded == {
        "__d": 1,
        "f_d": date(2024, 12, 1).toordinal(),
        "f_xs__a": 0,
        "f_xs__b": 1,
        "f_xs__len": 1,
    }


BASE = {"contractor": True, "units": 6, "prefecture": "tokyo"}


@pytest.mark.parametrize(
    ("change", "as_of", "expected"),
    [
        ({}, date(2023, 3, 30), set()),
        ({"contractor": False}, date(2023, 3, 30), {"not_contractor"}),  # bool equality
        ({"units": 5}, date(2023, 3, 30), {"too_few_units"}),  # less_than, boundary below
        ({"units": 6}, date(2023, 3, 30), set()),  # boundary itself
        ({"prefecture": "other"}, date(2023, 3, 30), {"outside_area"}),  # not in
        ({"prefecture": "osaka"}, date(2023, 3, 30), {"osaka_unknown"}),  # enum equality
        ({}, date(2023, 3, 31), {"late"}),  # on_or_after, defaulted date
        ({"applied_on": "2023-03-30"}, date(2024, 1, 1), set()),  # given date beats as_of
        ({"services": ["phone", "support"]}, date(2023, 3, 30), {"only_phone_or_support"}),
        ({"services": ["phone", "tv"]}, date(2023, 3, 30), set()),  # only_from fails with tv
        ({"services": []}, date(2023, 3, 30), set()),  # only_from needs a non-empty list
        ({"fee": 1001}, date(2023, 3, 30), {"over_limit"}),  # fact-to-fact comparison
        ({"fee": 1001, "limit": 2000}, date(2023, 3, 30), set()),
        ({"services": ["tv"], "fee": 900}, date(2023, 3, 30), {"over_limit"}),  # between, low end
        (
            {"services": ["tv"], "fee": 1000},
            date(2023, 3, 30),
            {"over_limit"},
        ),  # both branches true
        ({"services": ["tv"], "fee": 899}, date(2023, 3, 30), set()),
    ],
)
def test_each_condition_kind_means_what_it_says(
    sample_book: Rulebook, change: dict[str, object], as_of: date, expected: set[str]
) -> None:
    decision = sample_book.decide("sample_refusals", {**BASE, **change}, as_of)
    assert set(decision.fired) == expected
    # $or with both branches true fires the durable rule twice; the reason is still listed once
    assert len(decision.reasons) == len({r.code for r in decision.reasons})
