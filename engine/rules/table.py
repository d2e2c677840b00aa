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

import bisect
import itertools
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ..format.common import MAX_STRING_LENGTH
from .compiler import CompiledRuleSet, compile_ruleset, negation_normal_form, rule_action
from .domain import Partition, comparisons, partition
from .explain import Decision, Reason
from .facts import integer_bounds
from .model import (
    AS_OF,
    Compare,
    Condition,
    FactRef,
    FactSpec,
    FactType,
    FactValue,
    Outcome,
    Rule,
    RuleSet,
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
Lookup = Callable[[object, date], "tuple[dict[str, FactValue], int] | None"]


class NotTabulable(Exception):
    """This rule set must be evaluated live (the reason is the message)."""


# --- fine classes of each fact -----------------------------------------------------------------


def _fine_partition(spec: FactSpec, atoms: Sequence[Compare]) -> Partition:
    """The fine classes of ``spec`` (:func:`engine.rules.domain.partition`), if few enough to probe."""
    found = partition(spec, atoms)
    if spec.type is FactType.ENUM_LIST and len(found.classes) > 1 << MAX_LIST_VALUES:
        raise NotTabulable(f"enum list {spec.name!r} has {len(found.classes)} classes")
    return found


# --- the plan: groups, coarse classes and the engine's answers -----------------------------------


@dataclass(frozen=True)
class Group:
    """Rules reading the same facts: their answers per combination of coarse classes, as bit masks."""

    facts: tuple[str, ...]
    offsets: tuple[tuple[int, ...], ...]  # per fact: fine class → coarse class × stride
    answers: tuple[int, ...]  # combination index → mask of this group's rules that fired


@dataclass(frozen=True)
class Plan:
    """Everything a rule set's table needs; depends only on the compiled rule set, so it is shared."""

    partitions: tuple[Partition, ...]
    groups: tuple[Group, ...]
    actions: tuple[str, ...]  # bit i of a mask ↔ durable rule action i
    lookup: Lookup


def build_plan(compiled: CompiledRuleSet, runtime: DurableRuntime) -> Plan:
    """Ask durable_rules every answer the rule set can give; raises :class:`NotTabulable`."""
    ruleset = compiled.ruleset
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
    signatures = atom_signatures(compiled, partitions, all_atoms)
    order = {s.name: i for i, s in enumerate(ruleset.facts)}
    by_facts: dict[tuple[str, ...], list[int]] = {}
    for index, atoms in enumerate(rule_atoms):
        key = tuple(sorted({a.fact for a in atoms}, key=order.__getitem__))
        by_facts.setdefault(key, []).append(index)
    atom_index = {_atom_key(a): i for i, a in enumerate(all_atoms)}
    groups = []
    for facts, rules in by_facts.items():
        used = frozenset(atom_index[_atom_key(a)] for r in rules for a in rule_atoms[r])
        groups.append(_build_group(compiled, runtime, partitions, signatures, used, facts, rules))
    actions = tuple(rule_action(i) for i in range(len(ruleset.rules)))
    return Plan(partitions, tuple(groups), actions, generate_lookup(partitions, groups))


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


# --- the generated lookup ----------------------------------------------------------------------

_MISSING = object()


def generate_lookup(partitions: Sequence[Partition], groups: Sequence[Group]) -> Lookup:
    """Python source specialised to this rule set: validate, classify, OR the groups' answers.

    Generated (like ``dataclasses`` and ``namedtuple`` do) because a generic loop over facts and groups
    costs several times more than the straight-line code. The function returns ``None`` for anything it
    cannot vouch for, so the live path (marshmallow) produces the same error messages as ever.
    """
    env: dict[str, Any] = {
        "MISSING": _MISSING, "KNOWN": frozenset(c.spec.name for c in partitions),
        "bisect_right": bisect.bisect_right, "fromisoformat": date.fromisoformat, "date": date,
    }  # fmt: skip
    lines = [
        "def lookup(raw, as_of):",
        "    if type(raw) is not dict or not raw.keys() <= KNOWN:",
        "        return None",
        "    try:",
    ]
    for k, c in enumerate(partitions):
        lines.extend("        " + line for line in _fact_code(k, c, env))
    lines.append("    except (KeyError, TypeError, ValueError):")
    lines.append("        return None")
    names = ", ".join(f"{c.spec.name!r}: v{k}" for k, c in enumerate(partitions))
    position = {c.spec.name: k for k, c in enumerate(partitions)}
    terms = []
    for g, group in enumerate(groups):
        env[f"A{g}"] = group.answers
        parts = []
        for j, name in enumerate(group.facts):
            env[f"O{g}_{j}"] = group.offsets[j]
            parts.append(f"O{g}_{j}[c{position[name]}]")
        terms.append(f"A{g}[{' + '.join(parts)}]")
    lines.append(f"    return {{{names}}}, {' | '.join(terms) or '0'}")
    exec(compile("\n".join(lines), "<engine.rules.table lookup>", "exec"), env)  # noqa: S102
    lookup: Lookup = env["lookup"]
    return lookup


def _fact_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Lines that leave the normalised value in ``v<k>`` and its fine class in ``c<k>``."""
    spec = c.spec
    v, cls = f"v{k}", f"c{k}"
    check = _check_code(k, c, env)
    if spec.required:
        return [f"{v} = raw[{spec.name!r}]", *check]
    if spec.default == AS_OF:
        default = [f"{v} = as_of", *_classify_code(k, c, env)]
    else:
        default_value: Any = spec.default
        if spec.type is FactType.ENUM_LIST:
            default_value = tuple(default_value or ())
        env[f"D{k}"] = default_value
        default = [f"{v} = D{k}", f"{cls} = {c.classify(default_value)}"]
    return [
        f"{v} = raw.get({spec.name!r}, MISSING)",
        f"if {v} is MISSING:",
        *("    " + line for line in default),
        "else:",
        *("    " + line for line in check),
    ]


def _check_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Validate ``v<k>`` as marshmallow would accept it unchanged (else ``return None``), classify it."""
    spec, v = c.spec, f"v{k}"
    match spec.type:
        case FactType.BOOL:
            yes, no = c.index[True], c.index[False]
            return [f"if {v} is True:", f"    c{k} = {yes}", f"elif {v} is False:",
                    f"    c{k} = {no}", "else:", "    return None"]  # fmt: skip
        case FactType.ENUM:
            env[f"E{k}"] = dict(c.index)
            return [f"c{k} = E{k}[{v}]"]
        case FactType.INT | FactType.MONEY:
            # The values the marshmallow field accepts (facts.integer_bounds): the declared range,
            # never beyond what durable_rules compares exactly; anything else goes live and is refused.
            low, high = integer_bounds(spec)
            guard = f"type({v}) is not int or {v} < {low} or {v} > {high}"
            return [f"if {guard}:", "    return None", *_classify_code(k, c, env)]
        case FactType.DATE:
            return [f"if type({v}) is str:", f"    {v} = fromisoformat({v})",
                    f"elif type({v}) is not date:", "    return None",
                    *_classify_code(k, c, env)]  # fmt: skip
        case FactType.STRING:
            env[f"S{k}"] = dict(c.index)
            return [f"if type({v}) is not str or len({v}) > {MAX_STRING_LENGTH}:", "    return None",
                    f"c{k} = S{k}.get({v}, {c.other})"]  # fmt: skip
        case FactType.ENUM_LIST:
            # B<k>: declared item → its class bit (an undeclared or unhashable item fails the lookup).
            env[f"B{k}"] = dict(c.index)
            return [f"if type({v}) is not list or len(frozenset({v})) != len({v}):", "    return None",
                    f"c{k} = 0", f"for item in {v}:", f"    c{k} |= B{k}[item]",
                    f"{v} = tuple({v})"]  # fmt: skip
    raise NotTabulable(f"fact type {spec.type}")  # pragma: no cover


def _classify_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Ordered facts: the class of ``v<k>``, found among the cut points."""
    if not c.cuts:
        return [f"c{k} = 0"]
    env[f"T{k}"] = c.cuts
    return [f"c{k} = bisect_right(T{k}, v{k})"]


# --- the table a Decider uses ------------------------------------------------------------------

#: A plan depends on the rules' conditions (the durable_rules definition is compiled from them alone)
#: and the fact specs (types, values, bounds, defaults); that pair identifies it.
PlanKey = tuple[tuple[Condition, ...], tuple[FactSpec, ...]]

#: Plans by :data:`PlanKey`, shared by every load in the process. Building the bundled rules' plans is
#: most of a rulebook load (measured: 3.1 s cold, 0.8 s when every plan is cached), and the same rule
#: sets are loaded again and again: a server reload re-reads every file though most are unchanged, and
#: a test session loads the bundled folder and the sample many times. ``None`` caches "go live".
_plans: dict[PlanKey, Plan | None] = {}
_plans_lock = threading.Lock()
#: How many plans the cache keeps (the oldest is dropped first): the bundled rules need about twenty.
MAX_CACHED_PLANS = 64


def plan_for(compiled: CompiledRuleSet, runtime: DurableRuntime) -> Plan | None:
    """The plan of this compiled rule set, built once per distinct rule set; ``None``: go live."""
    ruleset = compiled.ruleset
    key: PlanKey = (tuple(r.condition for r in ruleset.rules), ruleset.facts)
    with _plans_lock:
        if key in _plans:
            return _plans[key]
    try:
        plan: Plan | None = build_plan(compiled, runtime)
    except NotTabulable:
        plan = None
    with _plans_lock:
        if len(_plans) >= MAX_CACHED_PLANS:
            _plans.pop(next(iter(_plans)))
        _plans[key] = plan
    return plan


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
        return table if table.self_check() else None

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
