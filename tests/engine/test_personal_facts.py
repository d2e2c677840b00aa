"""A fact marked ``personal: true`` is masked in the decision log, so ``personal`` must be a real boolean.

``personal: "true"`` or ``personal: 1`` once passed the validator silently and left the fact unmasked,
although the published JSON Schema refused both. The last tests hold the two specs of the format
together: whatever bad document the schema refuses, the validator refuses too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rulebook
from engine.format.loader import parse_yaml, to_json
from engine.lifecycle.decision_log import MASK, Query, log_decisions, open_decision_log
from engine.paths import PROJECT_ROOT
from engine.rules.validate import check_ruleset

#: A small rule file using every section, with one personal fact.
RULES = """\
ruleset: plan_change
version: "1.0"
title: {ja: プラン変更, en: Plan change}
region: ntt_west
effective_from: 2024-01-01
effective_to: null
sources:
  - {file: 001_ded95cce339fcddd.txt, title: ガイド}
readings:
  - id: AM1
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
    passage: 家族
    chosen: {ja: 人数を問わない, en: Any number of users}
    other: {ja: 人数による, en: Depends on the users}
parameters:
  max_users:
    type: int
    value: 9
    provenance: inferred
    label: {ja: 上限, en: Limit}
    note: The guide gives no number.
facts:
  plan:
    type: enum
    label: {ja: プラン, en: Plan}
    values: [basic, family]
  users:
    type: int
    label: {ja: 利用者数, en: Users}
    min: 0
    max: 100
  customer_name:
    type: string
    label: {ja: お客さま名, en: Customer name}
    required: false
    default: ""
    personal: true
outcomes:
  allowed: {kind: positive, label: {ja: 可, en: Allowed}}
  refused:
    kind: negative
    label: {ja: 不可, en: Refused}
    consequences:
      - code: apply_again
        message: {ja: 再申込, en: Apply again}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
decide: first_match
default:
  outcome: refused
  reason: no_row
  message: {ja: 該当行なし, en: No row}
  cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
rules:
  - id: family_any
    when: {plan: family}
    outcome: allowed
    reason: family_any
    message: {ja: 家族は可, en: Family is allowed}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表, reading: AM1}
  - id: basic_small
    when: {all: [{plan: basic}, {fact: users, at_most: {param: max_users}}]}
    outcome: allowed
    reason: basic_small
    message: {ja: 少人数は可, en: Few users are allowed}
    cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
    consequences:
      - code: shared_id
        message: {ja: IDを共有します, en: The ID is shared}
        cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
        when: {fact: users, at_least: 2}
        if_unknown: {ja: 2人以上ならIDを共有します, en: With two or more users the ID is shared}
examples:
  - note: family
    as_of: 2024-06-01
    facts: {plan: family, users: 3, customer_name: 山田太郎}
    expect: {outcome: allowed, reasons: [family_any]}
  - note: basic with few users
    as_of: 2024-06-01
    facts: {plan: basic, users: 9}
    expect: {outcome: allowed, reasons: [basic_small]}
  - note: basic with many users
    as_of: 2024-06-01
    facts: {plan: basic, users: 10}
    expect: {outcome: refused, reasons: [no_row]}
"""

NAME = "山田太郎"


def errors_of(text: str) -> list[str]:
    ruleset, found = check_ruleset(parse_yaml(text, "r.yaml"), "r.yaml")
    errors = [str(d) for d in found if d.severity == "error"]
    assert (ruleset is None) == bool(errors)
    return errors


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_small_rule_file_is_valid() -> None:
    assert errors_of(RULES) == []


@pytest.mark.parametrize("value", ['"true"', "1", "0", "'false'", "null", "[true]"])
def test_personal_takes_only_true_or_false(value: str) -> None:
    text = RULES.replace("    personal: true", f"    personal: {value}")
    line = line_of(text, "personal:")
    assert errors_of(text) == [
        f"r.yaml:{line}:5: wrong-type: personal is true or false [facts.customer_name.personal]"
    ]


@pytest.mark.parametrize("personal", [True, False])
def test_a_personal_fact_is_masked_in_the_decision_log(tmp_path: Path, personal: bool) -> None:
    rules = tmp_path / "plan_change.yaml"
    rules.write_text(RULES.replace("personal: true", f"personal: {str(personal).lower()}"))
    book = load_rulebook(rules)
    log = open_decision_log(f"sqlite:///{tmp_path / 'log' / 'decisions.sqlite3'}")
    try:
        decision = book.decide("plan_change", {"plan": "family", "users": 2, "customer_name": NAME})
        log_decisions(log, [decision], "req-1")
        (record,) = log.query(Query(request_id="req-1"))
    finally:
        log.close()  # moves the journal into SQLite
        book.close()
    assert record.facts == {
        "plan": "family",
        "users": 2,
        "customer_name": MASK if personal else NAME,
    }
    stored = b"".join(path.read_bytes() for path in (tmp_path / "log").iterdir())
    spellings = (NAME.encode(), json.dumps(NAME).encode())
    assert any(s in stored for s in spellings) is not personal


# --- the JSON Schema and the validator agree on bad input -------------------------------------------

SCHEMA = json.loads((PROJECT_ROOT / "docs" / "rule-format.schema.json").read_text(encoding="utf-8"))
SCHEMA_CHECK = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
#: The document as an editor plugin sees it (dates as text), the base of every mutation.
BASE = to_json(yaml.safe_load(RULES))
DELETE = object()


def mutated(path: tuple[str | int, ...], value: object) -> Any:
    document = copy.deepcopy(BASE)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return document


def verdicts(document: Any) -> tuple[bool, bool]:
    """(the schema refuses it, the validator refuses it)."""
    schema_refuses = any(True for _ in SCHEMA_CHECK.iter_errors(document))
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    ruleset, _ = check_ruleset(parse_yaml(text, "m.yaml"), "m.yaml")
    return schema_refuses, ruleset is None


def paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        found.extend(paths(child, (*prefix, key)))
    return found


def test_the_base_document_passes_both() -> None:
    assert verdicts(BASE) == (False, False)


#: Type mistakes a policy owner makes, each refused by the schema: the validator must refuse it too.
MISTAKES: list[tuple[str, object]] = [
    ("facts.customer_name.personal", "true"),
    ("facts.customer_name.personal", 1),
    ("facts.customer_name.personal", None),
    ("facts.customer_name.required", "false"),
    ("facts.customer_name.required", 0),
    ("facts.users.min", "0"),
    ("facts.users.min", 1.5),
    ("facts.users.max", True),
    ("facts.plan.type", "boolean"),
    ("facts.plan.values", "basic"),
    ("facts.plan.values", []),
    ("facts.plan.label", "Plan"),
    ("facts.plan.label.en", ""),
    ("region", True),
    ("region", "ntt_north"),
    ("decide", False),
    ("version", 1.5),
    ("effective_from", "2024-1-1"),
    ("effective_from", 20240101),
    ("effective_to", 5),
    ("title", "Plan change"),
    ("sources", []),
    ("sources.0.file", "005_unknown.txt"),
    ("sources.0.title", 3),
    ("readings", "AM1"),
    ("readings.0.cite", "表"),
    ("parameters.max_users.provenance", "guessed"),
    ("parameters.max_users.note", 5),
    ("parameters.max_users.type", "enum"),
    ("outcomes.allowed.kind", True),
    ("outcomes.refused.consequences.0.code", "Apply again"),
    ("rules.1.consequences", "shared_id"),
    ("rules.1.consequences.0.code", "Shared ID"),
    ("rules.1.consequences.0.when", "users"),
    ("rules.1.consequences.0.if_unknown", "2人以上"),
    ("rules.1.consequences.0.if_unknown", {"ja": "2人以上"}),
    ("rules.1.consequences.0.cite", {"source": "001_ded95cce339fcddd.txt"}),
    ("rules.0.id", "Family_any"),
    ("rules.0.id", "family__any"),
    ("rules.0.id", "料金"),
    ("rules.0.when", "family"),
    ("rules.0.when", {"all": []}),
    ("rules.0.cite", {"source": "001_ded95cce339fcddd.txt"}),
    ("rules.0.cite.reading", 1),
    ("rules.0.reason", 1),
    ("rules.0.message", {"ja": "家族"}),
    ("rules.1.when.all.1.at_most", [1]),
    ("default.outcome", 3),
    ("examples", []),
    ("examples.0.as_of", "June"),
    ("examples.0.expect.reasons", "family_any"),
    ("examples.0.note", 1),
    ("precedence", "allowed"),
    ("unknown_section", 1),
]


def _path(dotted: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in dotted.split("."))


@pytest.mark.parametrize(("path", "value"), MISTAKES, ids=lambda v: repr(v))
def test_a_type_mistake_the_schema_refuses_the_validator_refuses(path: str, value: object) -> None:
    assert verdicts(mutated(_path(path), value)) == (True, True)


def test_if_unknown_without_when_is_refused_by_both() -> None:
    assert verdicts(mutated(_path("rules.1.consequences.0.when"), DELETE)) == (True, True)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 200)
    | st.floats(-10, 10, allow_nan=False)
    | st.text(alphabet="abc_1- :", max_size=6)
    | st.sampled_from(["true", "yes", "2024-01-01", "2024-13-01", "ntt_east", "a__b", "family"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["ja", "en", "fact", "is", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(path=st.sampled_from(paths(BASE)), value=JSON_VALUES | st.just(DELETE))
def test_whatever_the_schema_refuses_the_validator_refuses(
    path: tuple[str | int, ...], value: object
) -> None:
    schema_refuses, validator_refuses = verdicts(mutated(path, value))
    assert validator_refuses or not schema_refuses
