"""The validator's messages: every error names file, line, field and a stable code."""

from collections.abc import Callable
from pathlib import Path

import pytest

from engine import ValidationError, load_rulebook
from engine.format.loader import parse_yaml
from engine.rules.validate import check_ruleset

WriteRules = Callable[[str, str], Path]


def diagnostics_for(text: str) -> list[str]:
    _, found = check_ruleset(parse_yaml(text, "r.yaml"), "r.yaml")
    return [str(d) for d in found if d.severity == "error"]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_sample_is_valid(sample_text: str) -> None:
    assert diagnostics_for(sample_text) == []


def test_unknown_fact_in_a_condition_suggests_the_right_name(sample_text: str) -> None:
    text = sample_text.replace("when: {contractor: false}", "when: {contracter: false}")
    (message,) = diagnostics_for(text)
    assert message.startswith(f"r.yaml:{line_of(text, 'contracter')}:")
    assert "unknown-fact: condition uses 'contracter', which is not declared under facts" in message
    assert "(did you mean 'contractor'?)" in message


def test_value_outside_an_enum_is_named(sample_text: str) -> None:
    text = sample_text.replace("when: {prefecture: osaka}", "when: {prefecture: kyoto}")
    (message,) = diagnostics_for(text)
    assert "value-not-in-enum: 'kyoto' is not a value of this fact: tokyo, osaka, other" in message
    assert f"r.yaml:{line_of(text, 'kyoto')}:" in message


def test_type_mismatch_between_comparison_and_fact(sample_text: str) -> None:
    text = sample_text.replace("{fact: units, less_than: 6}", "{fact: units, less_than: six}")
    (message,) = diagnostics_for(text)
    assert "type-mismatch: str 'six' is not a int" in message


def test_comparison_that_does_not_fit_the_fact_type(sample_text: str) -> None:
    text = sample_text.replace("{fact: units, less_than: 6}", "{fact: units, before: 2020-01-01}")
    (message,) = diagnostics_for(text)
    assert "type-mismatch: 'before' does not apply to int fact 'units'" in message


def test_duplicate_rule_ids(sample_text: str) -> None:
    text = sample_text.replace("- id: too_few_units", "- id: not_contractor")
    (message,) = diagnostics_for(text)
    assert "duplicate-id: rule id 'not_contractor' is used twice" in message
    assert "[rules[1].id]" in message


def test_missing_citation(sample_text: str) -> None:
    text = sample_text.replace("    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別表}\n", "")
    (message,) = diagnostics_for(text)
    assert "missing-citation: every rule and note must cite its source [rules[1].cite]" in message


def test_citation_of_an_undeclared_source(sample_text: str) -> None:
    text = sample_text.replace(
        "cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 第8条2(1)}",
        "cite: {source: 001_ded95cce339fcddd.txt, clause: 第8条2(1)}",
    )
    (message,) = diagnostics_for(text)
    assert "undeclared-source: '001_ded95cce339fcddd.txt' is not listed under sources" in message


def test_bare_yes_as_outcome_kind_gets_a_yaml_hint(sample_text: str) -> None:
    text = sample_text.replace("approved: {kind: positive", "approved: {kind: yes")
    (message,) = diagnostics_for(text)
    assert "boolean True is not one of positive, negative, undecidable" in message
    assert "(YAML reads bare yes/no/true/false as booleans)" in message


def test_undecidable_outcome_must_name_its_gap(sample_text: str) -> None:
    text = sample_text.replace(
        "    gap: {missing: {ja: 区域表, en: District list}, ask: {ja: 東日本, en: NTT East}}\n", ""
    )
    (message,) = diagnostics_for(text)
    assert "missing-gap: an undecidable outcome must name the gap" in message


def test_unknown_key_suggests_the_known_one(sample_text: str) -> None:
    text = sample_text.replace("precedence:", "precedense:")
    messages = diagnostics_for(text)
    assert any(
        "unknown-key: unknown key 'precedense' (did you mean 'precedence'?)" in m for m in messages
    )


def test_numeric_version_must_be_quoted(sample_text: str) -> None:
    text = sample_text.replace('version: "1.0"', "version: 1.0")
    (message,) = diagnostics_for(text)
    assert "version 1.0 was read as a number; quote it" in message


def test_example_facts_are_checked_against_the_fact_schema(sample_text: str) -> None:
    text = sample_text.replace(
        "facts: {contractor: true, units: 6, prefecture: tokyo}",
        "facts: {contractor: true, units: -1, prefecture: tokyo}",
    )
    (message,) = diagnostics_for(text)
    assert "bad-example-facts: units: Must be greater than or equal to 0." in message


def test_example_expecting_an_unknown_reason(sample_text: str) -> None:
    text = sample_text.replace("reasons: [no_ground]", "reasons: [no_grnd]")
    (message,) = diagnostics_for(text)
    assert "'no_grnd' is not one of" in message and "(did you mean 'no_ground'?)" in message


def test_an_undeclared_parameter(sample_text: str) -> None:
    text = sample_text.replace("on_or_after: 2023-03-31", "on_or_after: {param: sales_end}")
    (message,) = diagnostics_for(text)
    assert "unknown-parameter: 'sales_end' is not under parameters" in message


def test_a_rule_without_example_is_a_warning(sample_text: str) -> None:
    text = sample_text.replace("reasons: [over_limit]}", "reasons: [only_addons]}").replace(
        "reasons: [outside_area, sales_ended, only_addons, over_limit]",
        "reasons: [outside_area, sales_ended, only_addons]",
    )
    ruleset, found = check_ruleset(parse_yaml(text, "r.yaml"), "r.yaml")
    assert ruleset is not None
    warnings = [str(d) for d in found if d.severity == "warning"]
    assert any(
        "rule-without-example: no example expects reason 'over_limit'" in w for w in warnings
    )


def test_a_bad_file_never_half_loads(write_rules: WriteRules, sample_text: str) -> None:
    good = write_rules(sample_text, "good.yaml")
    write_rules(
        sample_text.replace("sample_refusals", "other").replace("units: 6", "units: x"), "bad.yaml"
    )
    with pytest.raises(ValidationError) as caught:
        load_rulebook(good.parent)
    assert all(d.location.file.endswith("bad.yaml") for d in caught.value.errors)


def test_overlapping_versions_of_one_rule_set_are_refused(
    write_rules: WriteRules, sample_text: str
) -> None:
    write_rules(sample_text, "v1.yaml")
    folder = write_rules(sample_text.replace('version: "1.0"', 'version: "2.0"'), "v2.yaml").parent
    with pytest.raises(ValidationError) as caught:
        load_rulebook(folder)
    assert "version-clash" in str(caught.value)


def test_versions_with_disjoint_dates_coexist_and_are_chosen_by_date(
    write_rules: WriteRules, sample_text: str
) -> None:
    from datetime import date

    first = sample_text.replace(
        "effective_from: 2020-01-01", "effective_from: 2020-01-01\neffective_to: 2022-12-31"
    )
    write_rules(first, "v1.yaml")
    second = sample_text.replace('version: "1.0"', 'version: "2.0"').replace(
        "2020-01-01", "2023-01-01"
    )
    folder = write_rules(second, "v2.yaml").parent
    book = load_rulebook(folder)
    try:
        assert book.select("sample_refusals", date(2022, 12, 31)).version == "1.0"
        assert book.select("sample_refusals", date(2023, 1, 1)).version == "2.0"
    finally:
        book.close()
