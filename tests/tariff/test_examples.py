"""Every tariff file's examples, each a pytest case named by its note."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.paths import PROJECT_ROOT
from engine.tariff import TariffBook, load_tariffs, run_examples
from engine.tariff.examples import mismatches, run_example

TARIFFS = PROJECT_ROOT / "tariffs"
_BOOK = load_tariffs(TARIFFS)
_CASES = [
    pytest.param(tariff, example, id=f"{tariff.id}: {example.note}")
    for tariff in _BOOK.tariffs
    for example in tariff.examples
]


@pytest.mark.parametrize(("tariff", "example"), _CASES)
def test_example(tariff, example) -> None:  # type: ignore[no-untyped-def]
    assert run_example(_BOOK, tariff, example) is None


def test_every_tariff_file_has_examples() -> None:
    files = {p.name for p in Path(TARIFFS).glob("*.yaml") if p.name != "consumption-tax.yaml"}
    with_examples = {Path(t.file).name for t in _BOOK.tariffs if t.examples}
    assert files == with_examples


def test_run_examples_reports_nothing_for_the_shipped_tariffs(book: TariffBook) -> None:
    assert run_examples(book) == []


def test_a_wrong_expectation_is_reported(book: TariffBook) -> None:
    tariff = book.versions("tv_transport")[0]
    example = tariff.examples[0]
    wrong = type(example)(example.note, example.request, {"totals": {"tax": 46}}, example.location)
    failure = run_example(book, tariff, wrong)
    assert failure is not None and ".totals.tax: expected 46, got 45" in failure


def test_mismatches_compare_only_expected_keys() -> None:
    assert mismatches({"a": 1}, {"a": 1, "b": 2}, "") == []
    assert mismatches([{"a": 1}], [{"a": 1}, {"a": 2}], "x") == ["x: expected 1 entries, got 2"]
