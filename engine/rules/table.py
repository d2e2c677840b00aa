"""A decision table of answers durable_rules produced at load time: the engine's fast path.

A rule set whose conditions compare facts with constants sees only finitely many *classes* of each fact
(:mod:`engine.rules.domain`: each bool and enum value, the intervals between an int or date fact's cut
points, each string constant plus "any other text", which named values an enum list holds). Two values of
a fact in the same class satisfy exactly the same comparisons, so every rule answers the same for them.

At load time we

1. ask durable_rules, through a rule set made of the rule set's own compiled comparisons ("atoms"), which
   atoms each class representative satisfies; classes that satisfy the same atoms of a rule group are one
   *coarse* class for that group (so the 47 prefectures collapse to "in the 17 served ones" and "other");
2. group the rules by the facts they read (a rule only ever depends on its own facts: the runtime collects
   every rule that fires, whatever the hit policy) and assert one representative of every combination of
   coarse classes of the group's facts through the real compiled rule set, keeping which of the group's
   rules fired, as a bit mask per combination.

A request is then validated, classified and answered by OR-ing one table entry per group: every bit of
that answer was produced by durable_rules. The hit policy and the explanation stay in ``evaluate.py``
(the ``explain`` callback), cached per distinct answer.

The table is not built — the caller evaluates live — when a condition relates two facts, when an enum
list's conditions name too many of its values, or when a group's class space exceeds
:data:`MAX_GROUP_CLASSES`. A request the fast validator cannot vouch for (anything marshmallow might
reject or convert) returns ``None`` and goes the live way, so errors keep their messages.
``tests/reliability`` proves table == live by property tests over every rule file.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from .compiler import CompiledRuleSet, compile_ruleset, negation_normal_form, rule_action
from .domain import Partition, comparisons, partition
from .explain import Decision, Reason
from .lookup import Lookup, generate_lookup
from .model import (
    Compare,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    Outcome,
    Rule,
    RuleSet,
)
from .plans import (
    FORMAT,
    Group,
    NotTabulable,
    PlanStore,
    StoredPlanError,
    content_identity,
    decode_groups,
    encode_groups,
    plan_identity,
    plan_store,
)
from .runtime import DurableRuntime

#: Largest number of class combinations asserted for one rule group (about 1 s of engine time).
MAX_GROUP_CLASSES = 65_536
#: An enum list whose conditions name more than this many of its values (counting "some unnamed value"
#: as one) has too many classes to enumerate.
MAX_LIST_VALUES = 10
#: Facts asserted per engine call while building, so a reload never holds the engine lock for long.
BUILD_CHUNK = 512

Explain = Callable[[dict[str, FactValue], frozenset[str], date], Decision]


# --- fine classes of each fact -----------------------------------------------------------------


def _fine_partition(spec: FactSpec, atoms: Sequence[Compare]) -> Partition:
    """The fine classes of ``spec`` (:func:`engine.rules.domain.partition`), if few enough to probe."""
    found = partition(spec, atoms)
    if spec.type is FactType.ENUM_LIST and len(found.classes) > 1 << MAX_LIST_VALUES:
        raise NotTabulable(f"enum list {spec.name!r} has {len(found.classes)} classes")
    return found


# --- the plan: groups, coarse classes and the engine's answers -----------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything a rule set's table needs; depends only on the compiled rule set, so it is shared."""

    partitions: tuple[Partition, ...]
    groups: tuple[Group, ...]
    actions: tuple[str, ...]  # bit i of a mask ↔ durable rule action i
    lookup: Lookup


@dataclass(frozen=True)
class _Frame:
    """What a plan is built on, cheap to work out: the atoms, the fine classes, the rule groups."""

    rule_atoms: list[list[Compare]]
    all_atoms: list[Compare]
    partitions: tuple[Partition, ...]
    by_facts: dict[tuple[str, ...], list[int]]


def _frame(ruleset: RuleSet) -> _Frame:
    """:raises NotTabulable:"""
    if not ruleset.rules:
        raise NotTabulable("no rules")
    # The comparisons exactly as the compiler emits them (negation normal form): the "atoms".
    rule_atoms = [list(comparisons(negation_normal_form(r.condition))) for r in ruleset.rules]
    if any(isinstance(a.operand, FactRef) for atoms in rule_atoms for a in atoms):
        raise NotTabulable("a condition compares two facts")
    all_atoms = _distinct(a for atoms in rule_atoms for a in atoms)
    partitions = tuple(
        _fine_partition(s, [a for a in all_atoms if a.fact == s.name]) for s in ruleset.facts
    )
    order = {s.name: i for i, s in enumerate(ruleset.facts)}
    by_facts: dict[tuple[str, ...], list[int]] = {}
    for index, atoms in enumerate(rule_atoms):
        key = tuple(sorted({a.fact for a in atoms}, key=order.__getitem__))
        by_facts.setdefault(key, []).append(index)
    return _Frame(rule_atoms, all_atoms, partitions, by_facts)


def _assemble(ruleset: RuleSet, partitions: tuple[Partition, ...], groups: Sequence[Group]) -> Plan:
    actions = tuple(rule_action(i) for i in range(len(ruleset.rules)))
    return Plan(partitions, tuple(groups), actions, generate_lookup(partitions, groups))


def build_plan(compiled: CompiledRuleSet, runtime: DurableRuntime) -> Plan:
    """Ask durable_rules every answer the rule set can give; raises :class:`NotTabulable`."""
    frame = _frame(compiled.ruleset)
    signatures = atom_signatures(compiled, frame.partitions, frame.all_atoms)
    atom_index = {_atom_key(a): i for i, a in enumerate(frame.all_atoms)}
    groups = []
    for facts, rules in frame.by_facts.items():
        used = frozenset(atom_index[_atom_key(a)] for r in rules for a in frame.rule_atoms[r])
        groups.append(
            _build_group(compiled, runtime, frame.partitions, signatures, used, facts, rules)
        )
    return _assemble(compiled.ruleset, frame.partitions, groups)


def _atom_key(atom: Compare) -> tuple[str, str, Any]:
    return (atom.fact, atom.op, atom.operand)


def _distinct(atoms: Iterable[Compare]) -> list[Compare]:
    seen: dict[tuple[str, str, Any], Compare] = {}
    for a in atoms:
        seen.setdefault(_atom_key(a), a)
    return list(seen.values())


def _base_facts(partitions: Sequence[Partition]) -> dict[str, FactValue]:
    return {c.spec.name: c.classes[0].value for c in partitions}


def _fire_all(
    compiled: CompiledRuleSet, runtime: DurableRuntime, facts: Sequence[dict[str, FactValue]]
) -> list[frozenset[str]]:
    """Assert every fact through durable_rules, a chunk per lock hold."""
    fired: list[frozenset[str]] = []
    for start in range(0, len(facts), BUILD_CHUNK):
        chunk = facts[start : start + BUILD_CHUNK]
        fired.extend(runtime.fire_many(compiled.ruleset.key, [compiled.encode(f) for f in chunk]))
    return fired


def atom_signatures(
    compiled: CompiledRuleSet, partitions: Sequence[Partition], atoms: Sequence[Compare]
) -> dict[str, list[frozenset[int]]]:
    """Per fact, per fine class: the atoms (indices into ``atoms``) durable_rules says it satisfies.

    The atoms are compiled by the real compiler as one rule each, so a class's signature is the engine's
    verdict on every comparison the rule set makes on that fact.
    """
    ruleset = compiled.ruleset
    template = ruleset.rules[0]
    atom_rules = tuple(
        Rule(f"atom{i}", a, template.outcome, template.reason, a.location)
        for i, a in enumerate(atoms)
    )
    atom_set = replace(ruleset, version=f"{ruleset.version}+atoms", rules=atom_rules, examples=())
    atom_compiled = compile_ruleset(atom_set)
    runtime = DurableRuntime([atom_compiled])
    try:
        base = _base_facts(partitions)
        probes = [{**base, c.spec.name: fine.value} for c in partitions for fine in c.classes]
        fired = iter(_fire_all(atom_compiled, runtime, probes))
    finally:
        runtime.close()
    atom_of_action = {rule_action(i): i for i in range(len(atoms))}
    signatures: dict[str, list[frozenset[int]]] = {}
    for c in partitions:
        mine = frozenset(i for i, a in enumerate(atoms) if a.fact == c.spec.name)
        signatures[c.spec.name] = [
            frozenset(atom_of_action[name] for name in next(fired)) & mine for _ in c.classes
        ]
    return signatures


def _build_group(
    compiled: CompiledRuleSet,
    runtime: DurableRuntime,
    partitions: Sequence[Partition],
    signatures: Mapping[str, list[frozenset[int]]],
    used: frozenset[int],
    facts: tuple[str, ...],
    rules: list[int],
) -> Group:
    """Coarse classes of the group's facts, and the engine's answer for one representative of each
    combination of them."""
    by_name = {c.spec.name: c for c in partitions}
    coarse: list[list[int]] = []  # per fact: fine class → coarse class
    reps: list[list[FactValue]] = []  # per fact: coarse class → representative
    for name in facts:
        seen: dict[frozenset[int], int] = {}
        mapping: list[int] = []
        chosen: list[FactValue] = []
        for fine, signature in enumerate(signatures[name]):
            key = signature & used
            if key not in seen:
                seen[key] = len(chosen)
                chosen.append(by_name[name].classes[fine].value)
            mapping.append(seen[key])
        coarse.append(mapping)
        reps.append(chosen)
    total = 1
    for r in reps:
        total *= len(r)
    if total > MAX_GROUP_CLASSES:
        raise NotTabulable(f"rules over {', '.join(facts)} have {total} class combinations")
    strides = [1] * len(facts)
    for i in range(len(facts) - 2, -1, -1):
        strides[i] = strides[i + 1] * len(reps[i + 1])
    base = _base_facts(partitions)
    probes = [
        {**base, **dict(zip(facts, combo, strict=True))} for combo in itertools.product(*reps)
    ]
    bits = {rule_action(r): 1 << r for r in rules}
    answers = tuple(
        sum(bits[a] for a in fired if a in bits) for fired in _fire_all(compiled, runtime, probes)
    )
    offsets = tuple(
        tuple(c * stride for c in mapping) for mapping, stride in zip(coarse, strides, strict=True)
    )
    return Group(facts, offsets, answers)


# --- the table a Decider uses ------------------------------------------------------------------

#: Plans by identity (:func:`engine.rules.plans.plan_identity`: what the rules compare and the engine
#: that answers), shared by every load in the process. Building the bundled rules' plans is most of a
#: rulebook load, and the same rule sets are loaded again and again: a server reload re-reads every file
#: though most are unchanged (only a changed rule set's plan is built again), and a test session loads
#: the bundled folder and the sample many times. ``None`` caches "go live". Across processes, an
#: installed :class:`~engine.rules.plans.PlanStore` keeps them (built once per machine).
_plans: dict[str, Plan | None] = {}
_plans_lock = threading.Lock()
#: How many plans the cache keeps (the oldest is dropped first): the bundled rules need about twenty.
MAX_CACHED_PLANS = 64
#: Combinations per group a stored plan's answers are checked on against durable_rules before use.
STORED_PLAN_CHECKS = 16


def plan_for(compiled: CompiledRuleSet, runtime: DurableRuntime) -> Plan | None:
    """The plan of this compiled rule set, built once per distinct rule set; ``None``: go live."""
    key = plan_identity(compiled.ruleset)
    with _plans_lock:
        if key in _plans:
            return _plans[key]
    store = plan_store()
    plan = _built(compiled, runtime) if store is None else _stored(compiled, runtime, store, key)
    with _plans_lock:
        if len(_plans) >= MAX_CACHED_PLANS:
            _plans.pop(next(iter(_plans)))
        _plans[key] = plan
    return plan


def _built(compiled: CompiledRuleSet, runtime: DurableRuntime) -> Plan | None:
    try:
        return build_plan(compiled, runtime)
    except NotTabulable:
        return None


def _stored_form(plan: Plan | None) -> dict[str, Any]:
    return encode_groups(None if plan is None else plan.groups, "not tabulable")


def _stored(
    compiled: CompiledRuleSet, runtime: DurableRuntime, store: PlanStore, key: str
) -> Plan | None:
    """The plan the store keeps under ``key`` (built and stored first when there is none), checked
    against durable_rules; a stored form that fails its check is rebuilt and replaced."""
    built: list[Plan | None] = []

    def build() -> dict[str, Any]:
        built.append(_built(compiled, runtime))
        return _stored_form(built[0])

    data = store.fetch(key, build)
    if built:
        return built[0]
    try:
        plan = _from_stored(compiled, runtime, decode_groups(data))
    except (StoredPlanError, NotTabulable):
        plan = _built(compiled, runtime)
        store.replace(key, _stored_form(plan))
    return plan


def _from_stored(
    compiled: CompiledRuleSet, runtime: DurableRuntime, stored: list[Group] | None
) -> Plan | None:
    """A plan from its stored groups, after asking durable_rules :data:`STORED_PLAN_CHECKS` of each
    group's combinations (the first, the last and random ones) and finding the stored answers.

    :raises StoredPlanError: the stored form does not fit this rule set or gives another answer.
    """
    if stored is None:
        return None
    frame = _frame(compiled.ruleset)
    if sorted(g.facts for g in stored) != sorted(frame.by_facts):
        raise StoredPlanError("the stored groups are not this rule set's")
    by_name = {p.spec.name: p for p in frame.partitions}
    groups = []
    base = _base_facts(frame.partitions)
    for group in stored:
        facts, offsets, answers = group.facts, group.offsets, group.answers
        rules = frame.by_facts[facts]
        reps = _representatives(facts, offsets, by_name, len(answers))
        # As in _build_group: combinations in itertools.product order, the last fact fastest.
        strides = [1] * len(facts)
        for k in range(len(facts) - 2, -1, -1):
            strides[k] = strides[k + 1] * len(reps[k + 1])
        checked = random.Random(plan_identity(compiled.ruleset) + repr(facts)).sample(
            range(len(answers)), min(STORED_PLAN_CHECKS, len(answers))
        )
        chosen = sorted({0, len(answers) - 1, *checked})
        probes = [
            {**base, **{f: reps[k][(i // strides[k]) % len(reps[k])] for k, f in enumerate(facts)}}
            for i in chosen
        ]
        bits = {rule_action(r): 1 << r for r in rules}
        fired = _fire_all(compiled, runtime, probes)
        for i, names in zip(chosen, fired, strict=True):
            if sum(bits[a] for a in names if a in bits) != answers[i]:
                raise StoredPlanError(
                    f"stored answer {i} of the group over {facts} is not the engine's"
                )
        groups.append(group)
    return _assemble(compiled.ruleset, frame.partitions, groups)


def _representatives(
    facts: tuple[str, ...],
    offsets: tuple[tuple[int, ...], ...],
    partitions: Mapping[str, Partition],
    combinations: int,
) -> list[list[FactValue]]:
    """Per fact, per coarse class, the representative :func:`_build_group` asserted (its first fine
    class); :raises StoredPlanError: when the offsets do not fit the fact's classes."""
    reps: list[list[FactValue]] = []
    total = 1
    for name, fine_offsets in zip(facts, offsets, strict=True):
        classes = partitions[name].classes
        if name not in partitions or len(fine_offsets) != len(classes):
            raise StoredPlanError(f"the stored classes of {name!r} are not this rule set's")
        first: dict[int, FactValue] = {}
        for fine, offset in enumerate(fine_offsets):
            first.setdefault(offset, classes[fine].value)
        reps.append([first[o] for o in sorted(first)])
        total *= len(first)
    if total != combinations:
        raise StoredPlanError("the stored answers do not cover the group's combinations")
    return reps


Answer = tuple[Outcome, tuple[Reason, ...], tuple[str, ...]]
#: Rules per chunk of a mask when composing answers (one lookup per chunk).
CHUNK_BITS = 8
CHUNK_MASK = (1 << CHUNK_BITS) - 1
#: Random masks on which a composed answer is checked against the Decider's own explanation at load.
SELF_CHECKS = 256


class DecisionTable:
    """One Decider's fast path: the shared plan plus this decider's explanations of answers.

    A mask of fired rules becomes a Decision without re-running the hit policy per request: for
    ``first_match`` the answer is the Decider's explanation of the first fired rule (every fired rule
    still listed in ``fired``); for
    ``collect`` it is the Decider's per-rule reasons in file order and its outcome for the set of
    outcomes present. Both are the documented hit policies of ``evaluate.combine``; at load the composed
    answers are checked against the Decider's explanation on every single rule, every pair and
    :data:`SELF_CHECKS` random masks, and a mismatch disables the table (live evaluation).
    """

    def __init__(self, ruleset: RuleSet, plan: Plan, explain: Explain) -> None:
        self.ruleset = ruleset
        self.plan = plan
        self._explain = explain
        self._lookup = plan.lookup
        self._probe_facts: dict[str, FactValue] = {}
        self._default = self._explained(0)
        self._first = {1 << i: self._explained(1 << i) for i in range(len(plan.actions))}
        self._chunks = self._reason_chunks()
        self._outcome_by_present: dict[int, Outcome] = {}
        self._outcome_bit = {o.id: 1 << i for i, o in enumerate(ruleset.outcomes)}
        self._compose = self._first_match if ruleset.decide == "first_match" else self._collect

    @classmethod
    def build(
        cls, compiled: CompiledRuleSet, runtime: DurableRuntime, explain: Explain
    ) -> DecisionTable | None:
        """The table, or ``None`` when this rule set must be evaluated live."""
        plan = plan_for(compiled, runtime)
        if plan is None:
            return None
        table = cls(compiled.ruleset, plan, explain)
        return table if table.checked() else None

    def checked(self) -> bool:
        """:meth:`self_check`, or the verdict it gave on this machine for a rule set saying exactly
        the same under the same engine code (kept by the installed plan store)."""
        store = plan_store()
        if store is None:
            return self.self_check()
        kept = store.fetch(
            content_identity(self.ruleset),
            lambda: {"format": FORMAT, "self_check": self.self_check()},
        )
        if isinstance(kept, dict) and isinstance(kept.get("self_check"), bool):
            return bool(kept["self_check"])
        verdict = self.self_check()  # a damaged file: prove it again, keep the new verdict
        store.replace(content_identity(self.ruleset), {"format": FORMAT, "self_check": verdict})
        return verdict

    def fired(self, mask: int) -> frozenset[str]:
        """The durable rule actions a mask stands for."""
        return frozenset(a for i, a in enumerate(self.plan.actions) if mask >> i & 1)

    def _explained(self, mask: int) -> Answer:
        some_day = date(2000, 1, 1)
        decision = self._explain(self._probe_facts, self.fired(mask), some_day)
        return (decision.outcome, decision.reasons, decision.fired)

    def _reason_chunks(self) -> list[list[tuple[tuple[Reason, ...], tuple[str, ...], int]]]:
        """Per chunk of rules, per value of that chunk's bits: reasons, rule ids, outcome bits."""
        rules = self.ruleset.rules
        chunks = []
        for start in range(0, len(rules), CHUNK_BITS):
            width = min(CHUNK_BITS, len(rules) - start)
            entries = []
            for value in range(1 << width):
                bits = [start + i for i in range(width) if value >> i & 1]
                reasons = tuple(self._first[1 << b][1][0] for b in bits)
                ids = tuple(rules[b].id for b in bits)
                outcomes = 0
                for b in bits:
                    outcomes |= 1 << self._index_of_outcome(rules[b].outcome)
                entries.append((reasons, ids, outcomes))
            chunks.append(entries)
        return chunks

    def _index_of_outcome(self, outcome_id: str) -> int:
        return next(i for i, o in enumerate(self.ruleset.outcomes) if o.id == outcome_id)

    def _first_match(self, mask: int) -> Answer:
        # The first fired row decides and is the reason; every fired row is still reported (as live).
        if not mask:
            return self._default
        outcome, reasons, _ = self._first[mask & -mask]
        ids: tuple[str, ...] = ()
        for entries in self._chunks:
            ids += entries[mask & CHUNK_MASK][1]
            mask >>= CHUNK_BITS
        return (outcome, reasons, ids)

    def _collect(self, mask: int) -> Answer:
        if not mask:
            return self._default
        reasons: tuple[Reason, ...] = ()
        ids: tuple[str, ...] = ()
        present = 0
        for entries in self._chunks:
            chunk_reasons, chunk_ids, chunk_outcomes = entries[mask & CHUNK_MASK]
            reasons += chunk_reasons
            ids += chunk_ids
            present |= chunk_outcomes
            mask >>= CHUNK_BITS
        outcome = self._outcome_by_present.get(present)
        if outcome is None:
            outcome = self._outcome_for(present)
        return (outcome, reasons, ids)

    def _outcome_for(self, present: int) -> Outcome:
        """The Decider's outcome when exactly these outcomes are present (one rule of each)."""
        mask, missing = 0, present
        for i, rule in enumerate(self.ruleset.rules):
            bit = 1 << self._index_of_outcome(rule.outcome)
            if missing & bit:
                mask |= 1 << i
                missing &= ~bit
        outcome = self._explained(mask)[0]
        self._outcome_by_present[present] = outcome
        return outcome

    def self_check(self) -> bool:
        """Composed answers equal the Decider's own explanation on singles, pairs and random masks."""
        n = len(self.plan.actions)
        masks = {0} | {1 << i | 1 << j for i in range(n) for j in range(i, n)}
        generator = random.Random(n)
        masks |= {generator.getrandbits(n) for _ in range(SELF_CHECKS)} if n else set()
        return all(self._compose(m) == self._explained(m) for m in masks)

    def answer(self, mask: int) -> Answer:
        """The outcome, reasons and fired rule ids of a mask of fired rules (a lookup's, or one
        combined from the plan's group answers by :mod:`engine.rules.partial`)."""
        return self._compose(mask)

    def decide(self, raw: object, as_of: date) -> Decision | None:
        """The decision from the table, or ``None`` when the request needs the live path."""
        found = self._lookup(raw, as_of)
        if found is None:
            return None
        facts, mask = found
        outcome, reasons, ids = self._compose(mask)
        return Decision(self.ruleset, outcome, reasons, ids, facts, as_of, from_table=True)


__all__ = ["DecisionTable", "NotTabulable", "atom_signatures", "build_plan", "plan_for"]
