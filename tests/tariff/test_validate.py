"""Validation: every problem named by file, line and field; a bad file never half-loads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.tariff import load_tariffs

Edit = Callable[[str, str, str], Path]


def diagnostics(folder: Path) -> list[tuple[str, str, int]]:
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    return [(d.code, d.path, d.location.line) for d in caught.value.errors]


def test_a_float_is_refused_as_inexact(tariff_copy: Edit) -> None:
    folder = tariff_copy("tv_transport.yaml", 'value: "1.3"', "value: 1.3")
    [(code, path, line)] = diagnostics(folder)
    assert (code, path) == ("inexact-number", "figures.evening_multiplier.value")
    text = (folder / "tv_transport.yaml").read_text(encoding="utf-8").splitlines()
    assert "value: 1.3" in text[line - 1]


def test_unknown_field_suggests_the_right_one(tariff_copy: Edit) -> None:
    folder = tariff_copy(
        "flets_joint.yaml", "    provenance: sourced\n", "    provenence: sourced\n"
    )
    text = (folder / "flets_joint.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, row in enumerate(text, 1) if "provenence" in row)
    found = diagnostics(folder)
    assert ("unknown-key", "figures.base_fee_menu.provenence", line) in found
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    assert "did you mean 'provenance'?" in str(caught.value)
    assert f"flets_joint.yaml:{line}:5" in str(caught.value)


def test_a_bad_file_loads_nothing(tariff_copy: Edit) -> None:
    folder = tariff_copy("passport_id_purchases.yaml", "kind: per_use", "kind: per_usage")
    assert [code for code, _, _ in diagnostics(folder)] == ["bad-value"]


@pytest.mark.parametrize(
    ("file", "old", "new", "code", "path"),
    [
        (
            "tv_transport.yaml",
            "    value: 450\n    tax_included: 495",
            "    value: 450\n    tax_included: 496",
            "tax-included-mismatch",
            "figures.monthly_fee.tax_included",
        ),
        (
            "tv_transport.yaml",
            "figures: {fee: operator_change_fee}",
            "figures: {fee: operator_change_fees}",
            "unknown-figure",
            "items.operator_change_fee.figures.fee",
        ),
        (
            "tv_transport.yaml",
            "figures: {unit: payment_certificate_fee}",
            "figures: {unit: payment_certificate_fee, extra: payment_certificate_fee}",
            "unused-figure",
            "items.payment_certificate.figures.extra",
        ),
        (
            "tv_transport.yaml",
            "      evaded_amount: {type: money",
            "      evaded_amount: {type: int",
            "wrong-param-type",
            "items.evasion_surcharge.params.evaded_amount.type",
        ),
        (
            "tv_transport.yaml",
            "readings: [AM11, BLK1]",
            "readings: [AM99, BLK1]",
            "unknown-reading",
            "items.bulk_plan_early_abolition.readings[0]",
        ),
        (
            "flets_joint.yaml",
            "{below: 10, value: 22000",
            "{below: 4, value: 22000",
            "bands-not-ascending",
            "figures.base_fee_menu.bands[1]",
        ),
        (
            "flets_joint.yaml",
            "- file: 003_a579988be9a5b70a.txt",
            "- file: 009_nothing.txt",
            "unknown-source",
            "sources[0].file",
        ),
        (
            "matomete_merchant_fee.yaml",
            "    value: 3\n",
            "    value: null\n",
            "missing-gap",
            "figures.high_rate.value",
        ),
        (
            "passport_id_purchases.yaml",
            "not_before: purchased_on",
            "not_before: purchase",
            "bad-reference",
            "items.monthly_flat.params.cancelled_on.not_before",
        ),
        (
            "tv_transport.yaml",
            "  interruption_work:\n    title: {ja: 利用の一時中断等に関する工事費, en: Temporary interruption work}\n    kind: unpriced\n    tax: line\n",
            "  interruption_work:\n    title: {ja: 利用の一時中断等に関する工事費, en: Temporary interruption work}\n    kind: unpriced\n    tax: line\n    figures: {}\n    params: {x: {type: int, label: {ja: x, en: x}}}\n",
            "unused-param",
            "items.interruption_work.params.x",
        ),
    ],
)
def test_problems_name_the_field(
    tariff_copy: Edit, file: str, old: str, new: str, code: str, path: str
) -> None:
    found = diagnostics(tariff_copy(file, old, new))
    assert (code, path) in [(c, p) for c, p, _ in found]


def test_a_bad_choice_names_the_options_and_the_yaml_boolean_trap(tariff_copy: Edit) -> None:
    folder = tariff_copy("passport_id_purchases.yaml", "kind: per_use", "kind: per_usage")
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    assert "bad-value: 'per_usage' is not one of" in str(caught.value)
    assert "(did you mean 'per_use'?)" in str(caught.value)
    folder = tariff_copy("passport_id_purchases.yaml", "    tax: none\n", "    tax: no\n")
    with pytest.raises(ValidationError) as caught:
        load_tariffs(folder)
    assert "boolean False is not one of sum, line, none" in str(caught.value)
    assert "(YAML reads bare yes/no/true/false as booleans)" in str(caught.value)


@pytest.mark.parametrize("bad_id", ["料金", "__x", "a__b", "Per_use", "per_use_"])
@pytest.mark.parametrize(
    ("old", "path"),
    [
        ("tariff: passport_id_purchases", "tariff"),
        ("  per_use:\n", "items.{}"),
        ("  monthly_flat:\n", "items.{}"),
    ],
)
def test_ids_follow_the_rule_files_identifier_rule(
    tariff_copy: Edit, bad_id: str, old: str, path: str
) -> None:
    new = f"tariff: {bad_id}" if old.startswith("tariff") else f"  {bad_id}:\n"
    found = diagnostics(tariff_copy("passport_id_purchases.yaml", old, new))
    assert ("bad-identifier", path.format(bad_id)) in [(c, p) for c, p, _ in found]


def test_a_figure_id_is_an_identifier_too(tariff_copy: Edit) -> None:
    tariff_copy("flets_joint.yaml", "  contract_fee:\n", "  contract__fee:\n")
    folder = tariff_copy("flets_joint.yaml", "{unit: contract_fee}", "{unit: contract__fee}")
    # The item whose slot names the faulty figure is not reported again (one typo, one message).
    assert [(c, p) for c, p, _ in diagnostics(folder)] == [
        ("bad-identifier", "figures.contract__fee")
    ]


def test_dates_may_be_written_as_text_as_in_rule_files(tariff_copy: Edit) -> None:
    folder = tariff_copy(
        "flets_joint.yaml", "effective_from: 2019-10-01", 'effective_from: "2019-10-01"'
    )
    assert load_tariffs(folder).list()


def test_a_timestamp_is_not_a_date(tariff_copy: Edit) -> None:
    folder = tariff_copy(
        "flets_joint.yaml", "effective_from: 2019-10-01", "effective_from: 2019-10-01T09:00:00"
    )
    assert ("wrong-type", "effective_from") in [(c, p) for c, p, _ in diagnostics(folder)]


def test_a_float_default_is_a_diagnostic_not_a_crash(tariff_copy: Edit) -> None:
    folder = tariff_copy(
        "passport_id_purchases.yaml",
        "purchases: {type: int, default: 1,",
        "purchases: {type: int, default: 1.5,",
    )
    found = [(c, p) for c, p, _ in diagnostics(folder)]
    assert found == [("inexact-number", "items.per_use.params.purchases.default")]


def test_an_item_reading_that_is_no_text_is_a_diagnostic_not_a_crash(tariff_copy: Edit) -> None:
    folder = tariff_copy("tv_transport.yaml", "readings: [AM11, BLK1]", "readings: [[AM11]]")
    found = [(c, p) for c, p, _ in diagnostics(folder)]
    assert found == [("wrong-type", "items.bulk_plan_early_abolition.readings[0]")]


def test_yaml_syntax_errors_carry_the_line(tariff_copy: Edit) -> None:
    folder = tariff_copy("flets_joint.yaml", "tariff: flets_joint", "tariff: [flets_joint")
    [(code, _, line)] = diagnostics(folder)
    assert code == "yaml-syntax" and line > 0


def test_missing_tax_table_is_an_error(tmp_path: Path, tariff_copy: Edit) -> None:
    folder = tariff_copy("flets_joint.yaml", "version: 1.1.0", "version: 1.1.0")
    (folder / "consumption-tax.yaml").unlink()
    assert ("missing-tax-table", "", 0) in diagnostics(folder)


def test_overlapping_versions_are_refused(tariff_copy: Edit) -> None:
    folder = tariff_copy("flets_joint.yaml", "version: 1.1.0", "version: 1.1.0")
    text = (folder / "flets_joint.yaml").read_text(encoding="utf-8")
    (folder / "flets_joint_v2.yaml").write_text(
        text.replace("version: 1.1.0", "version: 2.0.0").replace(
            "effective_from: 2019-10-01", "effective_from: 2025-01-01"
        ),
        encoding="utf-8",
    )
    assert "overlapping-versions" in [code for code, _, _ in diagnostics(folder)]


def test_a_later_version_applies_from_its_date(tariff_copy: Edit) -> None:
    folder = tariff_copy("flets_joint.yaml", "effective_to: null", "effective_to: 2024-12-31")
    text = (folder / "flets_joint.yaml").read_text(encoding="utf-8")
    (folder / "flets_joint_v2.yaml").write_text(
        text.replace("version: 1.1.0", "version: 2.0.0")
        .replace("effective_from: 2019-10-01", "effective_from: 2025-01-01")
        .replace("effective_to: 2024-12-31", "effective_to: null")
        .replace("value: 880", "value: 990"),
        encoding="utf-8",
    )
    book = load_tariffs(folder)
    request = {"items": [{"tariff": "flets_joint", "item": "contract_fee"}]}
    assert book.quote({**request, "as_of": "2024-06-01"})["totals"]["amount_tax_included"] == 880
    assert book.quote({**request, "as_of": "2025-06-01"})["totals"]["amount_tax_included"] == 990
    assert [t["version"] for t in book.list() if t["id"] == "flets_joint"] == ["1.1.0", "2.0.0"]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        load_tariffs(tmp_path / "absent")
    assert caught.value.errors[0].code == "missing-folder"


@pytest.mark.parametrize(
    ("old", "new", "code", "path"),
    [
        # Unquoted, YAML 1.1 reads 17:00 as the number 1020: refused with a hint, not read as minutes.
        (
            'from: "17:00"',
            "from: 17:00",
            "wrong-type",
            "figures.evening_multiplier.time_slots[1].from",
        ),
        ('to: "08:30"', 'to: "24:00"', "wrong-type", "figures.night_multiplier.time_slots[0].to"),
        (
            'from: "12-29"',
            'from: "02-30"',
            "wrong-type",
            "figures.evening_multiplier.time_slots[0].days.from",
        ),
        ('to: "08:30"', 'to: "22:00"', "bad-value", "figures.night_multiplier.time_slots[0]"),
        ("id: evening", "id: year_end", "duplicate-id", "figures.evening_multiplier.time_slots[1]"),
        (
            "    time_slots:\n      - id: night\n",
            "    tslots:\n      - id: night\n",
            "unknown-key",
            "figures.night_multiplier.tslots",
        ),
    ],
)
def test_time_slots_are_checked(
    tariff_copy: Edit, old: str, new: str, code: str, path: str
) -> None:
    found = [(c, p) for c, p, _ in diagnostics(tariff_copy("tv_transport.yaml", old, new))]
    assert (code, path) in found


def test_a_multiplier_without_time_slots_is_the_wrong_shape(tariff_copy: Edit) -> None:
    """The construction kind derives the slot from the start: its multipliers must carry their hours."""
    old = '    time_slots:\n      - id: night\n        from: "22:00"\n        to: "08:30"\n'
    folder = tariff_copy("tv_transport.yaml", old, "    unused_slots:\n")
    text = (folder / "tv_transport.yaml").read_text(encoding="utf-8")
    start = text.index("    unused_slots:\n")
    end = text.index("\n", text.index("label:", start)) + 1
    (folder / "tv_transport.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    found = [(c, p) for c, p, _ in diagnostics(folder)]
    assert found == [("wrong-figure-shape", "items.construction.figures.night_multiplier")]


@pytest.mark.parametrize(
    ("old", "new", "code", "path"),
    [
        ("  from: 2011-08-02\n", "  from: 2019-10-01\n", "bad-value", "earlier_period"),
        (
            "  from: 2011-08-02\n",
            "  from: 2011-08-02\n  to: 2019-09-30\n",
            "unknown-key",
            "earlier_period.to",
        ),
        (
            '  cite: {source: 003_a579988be9a5b70a.txt, clause: "サービス開始年月日"}\n',
            "",
            "missing-key",
            "earlier_period.cite",
        ),
    ],
)
def test_the_earlier_period_is_checked(
    tariff_copy: Edit, old: str, new: str, code: str, path: str
) -> None:
    found = [(c, p) for c, p, _ in diagnostics(tariff_copy("flets_joint.yaml", old, new))]
    assert (code, path) in found
