"""Partial answers and what-ifs (engine/rules/partial): deciding with facts unknown, and the changes that
would change the answer.

The properties are checked for every bundled rule set on 200 seeded random requests each, against an
oracle written here: it enumerates each fact's classes itself (engine/rules/domain's partition, a known
fact compared with another becoming a constant of the comparison, samples around each other when both
are free) and asks the Decider for every assignment (the table or live durable_rules, as a request
would). It checks that

* the outcomes still possible are exactly the outcomes of every completion of the unknown facts, and
  each completion lies in a ``when`` of its own outcome and of no other;
* every proposed change, sent as facts, gets the outcome it promised; no change of fewer facts (nor of
  a part of its facts) gives a positive outcome; and when no change is proposed, none of three facts
  or fewer exists; for a positive answer, every one-fact change that makes it negative is listed.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine import Decision, Rulebook
from engine.cli import main
from engine.format.loader import parse_yaml, to_json
from engine.paths import PROJECT_ROOT, rules_dir
from engine.rules import partial
from engine.rules.domain import comparisons, holds, partition
from engine.rules.explain import FactCondition
from engine.rules.facts import facts_to_json
from engine.rules.model import FactRef, FactValue, OutcomeKind, RuleSet
from engine.rules.partial import DEPENDS_ON_UNKNOWN, TooManyCombinationsError, UnknownListError
from engine.rules.validate import check_ruleset

DAY = date(2025, 4, 1)
REQUESTS = 200
#: Completions of the unknown facts one random request may have (keeps the oracle's work small).
MAX_COMPLETIONS = 200

TV_FAVOURABLE = {
    "prefecture": "tokyo",
    "district_in_area": "confirmed_inside",
    "line_kind": "ntt_flets",
    "line_item": "confirmed_eligible",
    "applicant_is_line_contractor": True,
}


@pytest.fixture(scope="module")
def book(bundled_rulebook: Rulebook) -> Rulebook:
    return bundled_rulebook


def in_force(book: Rulebook, ruleset_id: str) -> tuple[RuleSet, date]:
    versions = book.versions(ruleset_id)
    rs = next((v for v in reversed(versions) if v.in_force(DAY)), versions[-1])
    return rs, DAY if rs.in_force(DAY) else rs.effective_from


# --- the Done-when example ------------------------------------------------------------------------


def test_an_unknown_designation_leaves_two_outcomes_each_cited(book: Rulebook) -> None:
    decision = partial.decide(book, "tv_application", TV_FAVOURABLE, ["line_designation"], DAY)
    body = decision.to_dict("en")
    assert body["kind"] == "undecidable" and body["outcome"] == DEPENDS_ON_UNKNOWN
    assert body["unknown"] == ["line_designation"] and body["unknown_matters"] is True
    assert body["gap"]["facts"] == ["line_designation"]
    assert "Confirm these facts with the customer" in body["gap"]["ask"]
    assert "broadcaster" in body["gap"]["missing"]  # the fact's own label, not a source
    by_outcome = {p["outcome"]: p for p in body["possible"]}
    assert list(by_outcome) == ["cannot_contract", "accepted"]  # by precedence
    accepted, refused = by_outcome["accepted"], by_outcome["cannot_contract"]
    assert [(c["fact"], c["values"]) for c in accepted["when"]] == [
        ("line_designation", ["designated"])
    ]
    assert "not_designated" in refused["when"][0]["values"]
    assert "unknown" not in refused["when"][0]["values"]  # "not known" is no completion
    for entry in (accepted, refused):
        assert entry["reasons"] and all(r["citation"]["clause"] for r in entry["reasons"])
    assert {r["code"] for r in accepted["reasons"]} == {"accepted_in_order_of_receipt"}
    assert "line_not_designated" in {r["code"] for r in refused["reasons"]}


def test_the_same_request_with_the_designation_known_answers_as_today(book: Rulebook) -> None:
    facts = {**TV_FAVOURABLE, "line_designation": "designated"}
    today = book.decide("tv_application", facts, DAY)
    assert partial.decide(book, "tv_application", facts, [], DAY) == today
    assert today.outcome.id == "accepted" and today.partial is None
    assert "possible" not in today.to_dict("ja") and "unknown" not in today.to_dict("ja")


def test_an_unknown_that_does_not_matter_gives_the_one_outcome_and_says_so(book: Rulebook) -> None:
    facts = {**TV_FAVOURABLE, "prefecture": "osaka"}
    decision = partial.decide(book, "tv_application", facts, ["line_designation"], DAY)
    assert decision.outcome.id == "cannot_contract" and decision.partial is not None
    assert not decision.partial.matters
    body = decision.to_dict("ja")
    assert body["unknown_matters"] is False
    assert body["unknown_note"] == "まだわからない事実がどうであっても、答えは変わりません。"
    assert [p["outcome"] for p in body["possible"]] == ["cannot_contract"]
    assert "outside_service_prefectures" in {r["code"] for r in body["reasons"]}


def test_whatif_names_the_ground_to_remove_and_the_risks_of_a_yes(book: Rulebook) -> None:
    refused = {**TV_FAVOURABLE, "line_designation": "designated", "in_default_or_likely": True}
    decision = partial.decide(book, "tv_application", refused, [], DAY, whatif=True)
    assert decision.outcome.id == "may_refuse"
    ((only,),) = [[c.set for c in decision.changes or ()]]
    assert only == (("in_default_or_likely", False),)
    accepted = {**refused, "in_default_or_likely": False}
    risks = partial.decide(book, "tv_application", accepted, [], DAY, whatif=True).changes or ()
    changed = {name for c in risks for name, _ in c.set}
    assert "in_default_or_likely" in changed and "technically_very_difficult" in changed
    assert "prefecture" not in changed  # fixed: the customer cannot move the line
    assert all(c.outcome.kind is OutcomeKind.NEGATIVE for c in risks)


#: ``ask``, ``fixed`` and ``unknown_value`` on a small rule file: good, and each mistake refused by the
#: validator (with its code) and by the published JSON Schema alike.
KEYS_FILE = """\
ruleset: keys
version: "1.0"
title: {ja: 見本, en: Sample}
region: ntt_east
effective_from: 2024-01-01
sources:
  - {file: 004_84a0a3d01f54d5ce.txt, title: 規約}
facts:
  ground:
    type: bool
    label: {ja: 事由, en: Ground}
    required: false
    default: false
    ask: true
  place:
    type: enum
    label: {ja: 場所, en: Place}
    values: [inside, outside, unknown]
    unknown_value: unknown
    fixed: true
outcomes:
  granted: {kind: positive, label: {ja: 可, en: Granted}}
  refused: {kind: negative, label: {ja: 不可, en: Refused}}
decide: first_match
default:
  outcome: refused
  reason: none
  message: {ja: なし, en: None}
  cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別表}
rules:
  - id: fine
    when: {all: [{ground: false}, {place: inside}]}
    outcome: granted
    reason: fine
    message: {ja: 可, en: Fine}
    cite: {source: 004_84a0a3d01f54d5ce.txt, clause: 別表}
examples:
  - note: fine
    facts: {place: inside}
    expect: {outcome: granted, reasons: [fine]}
"""


@pytest.mark.parametrize(
    ("old", "new", "code", "schema_sees_it"),
    [
        ("    ask: true", '    ask: "yes"', "wrong-type", True),
        ("    fixed: true", "    fixed: 1", "wrong-type", True),
        ("    ask: true", "    unknown_value: false", "unknown-key", True),
        # a JSON Schema cannot tie a value to the fact's own values list: only the validator can
        ("    unknown_value: unknown", "    unknown_value: nowhere", "value-not-in-enum", False),
    ],
)
def test_the_rule_file_keys_are_checked(
    old: str, new: str, code: str, schema_sees_it: bool
) -> None:
    schema = json.loads((PROJECT_ROOT / "docs" / "rule-format.schema.json").read_text())
    good, _ = check_ruleset(parse_yaml(KEYS_FILE, "k.yaml"), "k.yaml")
    assert good is not None and good.fact("ground").ask and good.fact("place").fixed
    assert good.fact("place").unknown_value == "unknown"
    assert not list(
        jsonschema.Draft202012Validator(schema).iter_errors(to_json(yaml.safe_load(KEYS_FILE)))
    )
    text = KEYS_FILE.replace(old, new)
    ruleset, diagnostics = check_ruleset(parse_yaml(text, "k.yaml"), "k.yaml")
    assert ruleset is None and code in {d.code for d in diagnostics}
    refused = list(
        jsonschema.Draft202012Validator(schema).iter_errors(to_json(yaml.safe_load(text)))
    )
    assert bool(refused) is schema_sees_it


def test_bad_unknown_lists_name_the_entry(book: Rulebook) -> None:
    with pytest.raises(UnknownListError) as error:
        partial.decide(
            book,
            "tv_application",
            TV_FAVOURABLE,
            ["nope", "prefecture", "bulk_plan", "bulk_plan"],
            DAY,
        )
    assert sorted(error.value.fields) == ["0", "1", "3"]
    assert [m.code.value for m in error.value.fields["1"]] == ["unknown_also_given"]


def test_too_many_combinations_is_refused_not_searched(
    book: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = [f.name for f in book.select("tv_application", DAY).facts]
    with pytest.raises(TooManyCombinationsError) as error:
        partial.decide(book, "tv_application", {}, every, DAY)
    assert error.value.message.code.value == "too_many_combinations"
    monkeypatch.setattr(partial, "MAX_SECONDS", 0.0)
    # Results are kept per class combination: another test on this process may already have asked
    # this one, and a kept answer (rightly) needs no search to time out.
    partial.forget(book.decider("collab_order", DAY))
    started = time.monotonic()
    with pytest.raises(TooManyCombinationsError) as slow:
        partial.decide(
            book, "collab_order", {"operator_lineup": ["flets_hikari_next"]}, ["line_services"], DAY
        )
    assert slow.value.message.code.value == "whatif_too_slow"
    assert time.monotonic() - started < 5


# --- the oracle ------------------------------------------------------------------------------------


class Oracle:
    """Answers of the Decider for complete assignments, and each fact's classes, computed here."""

    def __init__(self, book: Rulebook, rs: RuleSet, day: date) -> None:
        self.rs, self.day = rs, day
        self.decider = book.decider(rs.id, day)
        self.compares = [c for r in rs.rules for c in comparisons(r.condition)]
        self.links = [c for c in self.compares if isinstance(c.operand, FactRef)]
        self.linked = {c.fact for c in self.links} | {c.operand.name for c in self.links}  # type: ignore[union-attr]
        self.specs = {s.name: s for s in rs.facts}
        self.cache: dict[Any, Decision] = {}
        self._partitions: dict[Any, Any] = {}
        self._values: dict[str, list[FactValue]] = {}
        self._signatures: dict[Any, tuple[bool, ...]] = {}
        self._constants = {
            name: [
                c for c in self.compares if c.fact == name and not isinstance(c.operand, FactRef)
            ]
            for name in self.specs
        }

    def partition(self, name: str, extra: Sequence[Any] = ()) -> Any:
        key = (name, tuple(extra))
        if key not in self._partitions:
            self._partitions[key] = partition(self.specs[name], [*self.constants(name), *extra])
        return self._partitions[key]

    def constants(self, name: str) -> list[Any]:
        return self._constants[name]

    def key(self, facts: Mapping[str, FactValue]) -> Any:
        """Equal keys, equal answers: what every comparison says of each fact (the values, when
        facts are compared with each other)."""
        if self.linked:
            return tuple(sorted(facts.items()))
        return tuple(self.signature(name, facts[name]) for name in self.specs)

    def signature(self, name: str, value: FactValue) -> tuple[bool, ...]:
        key = (name, value)
        found = self._signatures.get(key)
        if found is None:
            found = tuple(holds(c, {name: value}) for c in self.constants(name))
            self._signatures[key] = found
        return found

    def decide(self, facts: Mapping[str, FactValue]) -> Decision:
        return self.decide_many([facts])[0]

    def decide_many(self, many: Sequence[Mapping[str, FactValue]]) -> list[Decision]:
        """:meth:`decide` for many assignments, those not seen yet in one engine turn."""
        if self.decider.table is not None:  # a lookup costs less than the key
            raws = [{n: list(v) if isinstance(v, tuple) else v for n, v in f.items()} for f in many]
            return [self.decider.decide(raw, self.day) for raw in raws]
        keys = [self.key(facts) for facts in many]
        missing = {k: facts for k, facts in zip(keys, many, strict=True) if k not in self.cache}
        raws = [facts_to_json(dict(facts)) for facts in missing.values()]
        for key, decision in zip(missing, self.decider.decide_many(raws, self.day), strict=True):
            assert isinstance(decision, Decision)
            self.cache[key] = decision
        return [self.cache[k] for k in keys]

    def values(
        self, name: str, fixed: Mapping[str, FactValue], free: Sequence[str]
    ) -> list[FactValue]:
        """One value per class the rules tell apart (classes as ``domain.partition`` cuts them; a
        compared fact's known value a constant, and samples around the free ones)."""
        spec = self.specs[name]
        extra = []
        for c in self.links:
            other = c.operand.name if c.fact == name else c.fact  # type: ignore[union-attr]
            if name in (c.fact, getattr(c.operand, "name", None)) and other in fixed:
                op = (
                    c.op
                    if c.fact == name
                    else {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}.get(c.op, c.op)
                )
                extra.append(type(c)(name, op, fixed[other], c.location))  # type: ignore[arg-type]
        found = self.partition(name, extra)
        candidates = [cls for cls in found.classes if cls.value != spec.unknown_value]
        if name not in self.linked:
            if name not in self._values:
                by_signature: dict[Any, FactValue] = {}
                for cls in candidates:
                    signature = tuple(holds(c, {name: cls.value}) for c in self.constants(name))
                    by_signature.setdefault(signature, cls.value)
                self._values[name] = list(by_signature.values())
            return self._values[name]
        values = [v for cls in candidates for v in cls.samples]
        if any(other in self.linked and other != name for other in free):
            values += [v + d for v in list(values) for d in (-1, 1) if isinstance(v, int)]
            values = [
                v for v in dict.fromkeys(values) if any(cls.contains(v) for cls in candidates)
            ]
        return values


def random_facts(rng: random.Random, oracle: Oracle) -> dict[str, FactValue]:
    found = {}
    for name in oracle.specs:
        cls = rng.choice(oracle.partition(name).classes)
        found[name] = rng.choice(cls.samples)
    return found


def matches(condition: FactCondition, facts: Mapping[str, FactValue]) -> bool:
    """Whether the assignment lies in what ``condition`` says (the JSON values, read back)."""
    value = facts[condition.fact]
    if condition.other is not None:
        other = facts[condition.other]
        relation = "eq" if value == other else ("lt" if value < other else "gt")  # type: ignore[operator]
        return relation in condition.values or ("ne" in condition.values and value != other)
    for entry in condition.values:
        if isinstance(entry, dict) and "min" in entry:
            number = value.isoformat() if isinstance(value, date) else value
            low, high = entry["min"], entry["max"]
            if (low is None or low <= number) and (high is None or number <= high):  # type: ignore[operator]
                return True
        elif isinstance(entry, dict) and "includes" in entry:
            items = set(value)  # type: ignore[arg-type]
            named = {v for c in (entry["includes"], entry["excludes"]) for v in c if v != "*"}
            others = bool(items - named)
            if all((v in items) if v != "*" else others for v in entry["includes"]) and not any(
                (v in items) if v != "*" else others for v in entry["excludes"]
            ):
                return True
        elif isinstance(entry, dict) and "not" in entry:
            if value not in entry["not"]:
                return True
        elif entry == value:
            return True
    return False


def rule_set_ids() -> list[str]:
    return sorted(p.stem for p in rules_dir().glob("*.yaml"))


# --- possible outcomes == outcomes of every completion ------------------------------------------


def unknown_sets(
    rng: random.Random, oracle: Oracle, facts: Mapping[str, FactValue]
) -> Iterator[list[str]]:
    names = list(oracle.specs)
    for _ in range(20):
        chosen = rng.sample(names, min(len(names), rng.choice([1, 1, 2, 2, 3])))
        fixed = {n: v for n, v in facts.items() if n not in chosen}
        if math.prod(len(oracle.values(n, fixed, chosen)) for n in chosen) <= MAX_COMPLETIONS:
            yield chosen
            return


@pytest.mark.parametrize("ruleset_id", rule_set_ids())
def test_possible_outcomes_are_the_outcomes_of_every_completion(
    book: Rulebook, ruleset_id: str
) -> None:
    rs, day = in_force(book, ruleset_id)
    oracle = Oracle(book, rs, day)
    rng = random.Random(f"possible-{ruleset_id}")
    checked = 0
    for _ in range(REQUESTS):
        facts = random_facts(rng, oracle)
        for unknown in unknown_sets(rng, oracle, facts):
            known = {n: v for n, v in facts.items() if n not in unknown}
            decision = partial.decide(book, ruleset_id, facts_to_json(known), unknown, day)
            assert decision.partial is not None
            possible = decision.partial.possible
            seen = set()
            values = [oracle.values(n, known, unknown) for n in unknown]
            for combo in itertools.product(*values):
                completion = {**known, **dict(zip(unknown, combo, strict=True))}
                outcome = oracle.decide(completion).outcome.id
                seen.add(outcome)
                homes = {
                    p.outcome.id for p in possible if all(matches(c, completion) for c in p.when)
                }
                assert homes == {outcome}, (completion, homes, outcome)
            assert {p.outcome.id for p in possible} == seen
            if len(seen) == 1:
                assert decision.outcome.id == seen.pop() and not decision.partial.matters
            else:
                assert decision.outcome.id == DEPENDS_ON_UNKNOWN
                assert decision.kind is OutcomeKind.UNDECIDABLE
            checked += 1
    assert checked >= REQUESTS // 2


# --- every change does what it promises, and no smaller one exists -----------------------------


def positive_changes(
    oracle: Oracle, facts: Mapping[str, FactValue], names: Sequence[str]
) -> list[dict[str, FactValue]]:
    """Every change of exactly the facts ``names`` (each to another class) that gives a positive
    outcome."""
    fixed = {n: v for n, v in facts.items() if n not in names}
    choices = []
    for name in names:
        values = oracle.values(name, fixed, names)
        if name not in oracle.linked:  # another class: another verdict of some comparison
            here = oracle.signature(name, facts[name])
            values = [v for v in values if oracle.signature(name, v) != here]
        choices.append([v for v in values if v != facts[name]])
    changes = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
    decisions = oracle.decide_many([{**facts, **change} for change in changes])
    return [c for c, d in zip(changes, decisions, strict=True) if d.kind is OutcomeKind.POSITIVE]


@pytest.mark.parametrize("ruleset_id", rule_set_ids())
def test_every_change_gives_its_outcome_and_none_smaller_exists(
    book: Rulebook, ruleset_id: str
) -> None:
    rs, day = in_force(book, ruleset_id)
    oracle = Oracle(book, rs, day)
    rng = random.Random(f"changes-{ruleset_id}")
    changeable = [s.name for s in rs.facts if not s.fixed]
    refused = 0
    for _ in range(REQUESTS):
        facts = random_facts(rng, oracle)
        try:
            decision = partial.decide(book, ruleset_id, facts_to_json(facts), [], day, whatif=True)
        except TooManyCombinationsError:
            refused += 1
            continue
        proposals = decision.changes or ()
        current = oracle.decide(facts)
        assert decision.outcome.id == current.outcome.id
        for change in proposals:
            names = [n for n, _ in change.set]
            assert not any(rs.fact(n).fixed for n in names)
            after = oracle.decide({**facts, **dict(change.set)})
            assert after.outcome.id == change.outcome.id, change
            for c in change.to:
                assert matches(c, {**facts, **dict(change.set)})
        if decision.kind is OutcomeKind.POSITIVE:
            assert all(
                c.outcome.kind is OutcomeKind.NEGATIVE and len(c.set) == 1 for c in proposals
            )
            for name in changeable:  # every one-fact change to a negative outcome is listed
                fixed = {n: v for n, v in facts.items() if n != name}
                for value in oracle.values(name, fixed, [name]):
                    after = oracle.decide({**facts, name: value})
                    if after.kind is OutcomeKind.NEGATIVE and value != facts[name]:
                        assert any(
                            c.set[0][0] == name and matches(c.to[0], {**facts, name: value})
                            for c in proposals
                        ), (name, value)
            continue
        assert all(c.outcome.kind is OutcomeKind.POSITIVE for c in proposals)
        assert len(proposals) <= partial.search.MAX_ALTERNATIVES
        sizes = [len(c.set) for c in proposals]
        assert sizes == sorted(sizes)
        smallest = sizes[0] if sizes else partial.search.MAX_CHANGED_FACTS + 1
        for size in range(1, smallest):
            for names in itertools.combinations(changeable, size):
                assert not positive_changes(oracle, facts, names), names
        for change in proposals:  # no part of a proposed change does it alone
            names = [n for n, _ in change.set]
            for size in range(smallest, len(names)):
                for part in itertools.combinations(names, size):
                    assert not positive_changes(oracle, facts, part), part
    assert refused <= REQUESTS // 10


def test_changes_with_unknown_facts_hold_for_every_completion(book: Rulebook) -> None:
    facts = {**TV_FAVOURABLE, "in_default_or_likely": True}
    decision = partial.decide(book, "tv_application", facts, ["line_designation"], DAY, whatif=True)
    assert decision.outcome.id == DEPENDS_ON_UNKNOWN
    (change,) = decision.changes or ()
    assert dict(change.set) == {"line_designation": "designated", "in_default_or_likely": False}
    after = partial.decide(book, "tv_application", {**facts, **dict(change.set)}, [], DAY)
    assert after.outcome.id == change.outcome.id == "accepted"


# --- the command line ------------------------------------------------------------------------------


def test_decide_takes_unknown_facts_and_whatif(
    sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["decide", "sample_refusals", "--rules", str(sample_path), "--as-of", "2023-01-10"]
    facts = ["--facts", '{"units": 6, "prefecture": "tokyo"}', "--lang", "en"]
    assert main([*base, *facts, "--unknown", "contractor"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["unknown"] == ["contractor"] and body["outcome"] == DEPENDS_ON_UNKNOWN
    assert {p["outcome"] for p in body["possible"]} == {"refused", "approved"}
    facts = ["--facts", '{"units": 6, "prefecture": "tokyo", "contractor": false}']
    assert main([*base, *facts, "--whatif"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [c["set"] for c in body["changes"]] == [{"contractor": True}]
    assert main([*base, *facts, "--unknown", "nope"]) == 2
    assert "unknown.0: Not a fact of this rule set." in capsys.readouterr().err
