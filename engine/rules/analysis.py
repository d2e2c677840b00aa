"""Static analysis of a validated rule set, modelled on DMN decision-table verification.

Validation (:mod:`engine.rules.validate`) proves a file is well formed; this module asks whether its rules make
sense as a table. Every fact's domain is cut into **classes** that no condition can tell apart
(:func:`engine.rules.domain.partition`: each bool and enum value, each string constant plus "any other
text", the intervals between the cut points of an int, money or date fact clipped to ``min``/``max``,
which named values an enum list contains and whether it contains another), and a comparison means what
:func:`engine.rules.domain.holds` says.

The cartesian product of the classes of the facts the rules use is a finite set of **cases**; each
case is one representative fact set. A rule's condition is evaluated as a bit mask over all cases at
once (Python integers as bit sets), which makes the findings exact rather than sampled:

* ``never-fires`` (error; a warning when the rule compares with a parameter, whose placeholder value
  may park the rule on purpose): no case satisfies the rule — contradictory comparisons. Checked per
  rule over groups of parts that share facts, so wide ``collect`` rules are analysed too;
* ``shadowed-row`` (error, ``first_match`` only): every case of the row is matched by earlier rows, so
  the row can never decide;
* ``table-gap`` (warning, ``first_match`` only, and only when the default is not an undecidable
  outcome): cases no row covers, answered silently by a positive or negative default;
* ``comparison-never-holds`` / ``comparison-always-holds`` (warning): a comparison that cannot be false
  or true on the fact's domain (e.g. ``greater_than`` the fact's ``max``);
* ``unused-fact`` (warning): a declared fact no condition reads (of a rule or a consequence);
* ``analysis-skipped`` (warning): a table or rule has more than :data:`MAX_CASES` cases, so that part
  was not analysed (the other checks still are).

Partial overlaps in ``first_match`` tables are the point of the hit policy and are not reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from functools import cached_property
from math import prod

from ..errors import Diagnostic, SourceLocation
from .compiler import negation_normal_form
from .domain import FactClass, Partition, comparisons, holds, partition
from .model import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    FactRef,
    FactSpec,
    NotOf,
    OutcomeKind,
    Rule,
    RuleSet,
)

#: Above this many cases the table checks are skipped (and said so): masks are ``MAX_CASES`` bits.
MAX_CASES = 1 << 18

#: How many uncovered cases a gap warning spells out.
GAP_EXAMPLES = 3


# --- the case space --------------------------------------------------------------------------------


class CaseSpace:
    """Every combination of the classes of the analysed facts; conditions become bit masks over it.

    Case number ``n`` picks entry ``(n // stride[f]) % len(classes[f])`` of fact ``f``: a class of its
    domain, or one sample of a class for a fact compared with another fact (see :func:`_cases`).
    """

    def __init__(self, rules: Sequence[Rule], facts: Sequence[FactSpec]) -> None:
        compares = [c for r in rules for c in comparisons(r.condition)]
        linked = {c.fact for c in compares if isinstance(c.operand, FactRef)}
        linked |= {c.operand.name for c in compares if isinstance(c.operand, FactRef)}
        self.facts = list(facts)
        self.classes = {f.name: _cases(partition(f, compares), f.name in linked) for f in facts}
        self.size = prod(len(c) for c in self.classes.values())
        self.strides: dict[str, int] = {}
        stride = 1
        for f in facts:
            self.strides[f.name] = stride
            stride *= len(self.classes[f.name])
        self._class_masks: dict[tuple[str, int], int] = {}

    @cached_property
    def everything(self) -> int:
        return (1 << self.size) - 1

    def class_mask(self, fact: str, index: int) -> int:
        """The cases in which ``fact`` is in its class ``index``: a periodic bit pattern."""
        key = (fact, index)
        if key not in self._class_masks:
            stride, count = self.strides[fact], len(self.classes[fact])
            period = stride * count
            block = ((1 << stride) - 1) << (index * stride)
            repeats = self.size // period
            self._class_masks[key] = block * (
                ((1 << (period * repeats)) - 1) // ((1 << period) - 1)
            )
        return self._class_masks[key]

    def compare_mask(self, compare: Compare) -> int:
        mask = 0
        name, classes = compare.fact, self.classes[compare.fact]
        if isinstance(compare.operand, FactRef):
            other_name = compare.operand.name
            for i, cls in enumerate(classes):
                for j, other in enumerate(self.classes[other_name]):
                    if holds(compare, {name: cls.value, other_name: other.value}):
                        mask |= self.class_mask(name, i) & self.class_mask(other_name, j)
            return mask
        for i, cls in enumerate(classes):
            if holds(compare, {name: cls.value}):
                mask |= self.class_mask(name, i)
        return mask

    def mask(self, condition: Condition) -> int:
        """The cases in which ``condition`` holds."""
        match condition:
            case Compare():
                return self.compare_mask(condition)
            case AllOf(parts):
                result = self.everything
                for part in parts:
                    result &= self.mask(part)
                return result
            case AnyOf(parts):
                result = 0
                for part in parts:
                    result |= self.mask(part)
                return result
            case NotOf(part):
                return self.everything & ~self.mask(part)
        raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover

    def widen(self, case: int, within: int) -> tuple[int, list[str]]:
        """Grow ``case`` into the largest region of ``within`` found by dropping facts one by one.

        Returns the region's mask and the labels of the facts still fixed, so a gap reads
        ``plan = basic, users ≥ 10`` rather than one combination of every fact.
        """
        fixed = {
            f.name: (case // self.strides[f.name]) % len(self.classes[f.name]) for f in self.facts
        }
        for name in list(fixed):
            trial = {n: i for n, i in fixed.items() if n != name}
            if not self._region(trial) & ~within:
                fixed = trial
        labels = [self.classes[n][i].label for n, i in fixed.items()]
        return self._region(fixed), labels

    def _region(self, fixed: dict[str, int]) -> int:
        mask = self.everything
        for name, index in fixed.items():
            mask &= self.class_mask(name, index)
        return mask


def _cases(found: Partition, linked: bool) -> list[FactClass]:
    """A fact's classes as cases: one each, or for a fact compared with another fact one per sample of
    each class, so that ``<``, ``=`` and ``>`` between the two facts all occur."""
    if not linked:
        return list(found.classes)
    return [replace(cls, value=value) for cls in found.classes for value in cls.samples]


# --- the checks ------------------------------------------------------------------------------------


def _warning(code: str, message: str, where: SourceLocation, path: str) -> Diagnostic:
    return Diagnostic(code, message, where, path, "warning")


def _error(code: str, message: str, where: SourceLocation, path: str) -> Diagnostic:
    return Diagnostic(code, message, where, path, "error")


def used_facts(ruleset: RuleSet) -> list[FactSpec]:
    """Declared facts that some condition reads (as subject or as compared fact), in declared order."""
    return _facts_of(ruleset, ruleset.rules)


def check_unused_facts(ruleset: RuleSet) -> list[Diagnostic]:
    used = {f.name for f in used_facts(ruleset)}
    # A fact a consequence's ``when`` reads is used too (it changes what the answer tells).
    told = [c for o in ruleset.outcomes for c in o.consequences]
    told += [c for r in ruleset.rules for c in r.consequences]
    used |= {n for c in told if c.when for cmp in comparisons(c.when) for n in _names(cmp)}
    return [
        _warning(
            "unused-fact",
            f"fact {f.name!r} is declared but no rule reads it",
            f.location,
            f"facts.{f.name}",
        )  # fmt: skip
        for f in ruleset.facts
        if f.name not in used
    ]


def check_comparisons(ruleset: RuleSet) -> list[Diagnostic]:
    """Comparisons that are constant on the fact's own domain (each fact analysed alone)."""
    found: list[Diagnostic] = []
    for rule in ruleset.rules:
        for compare in comparisons(rule.condition):
            if isinstance(compare.operand, FactRef):
                continue
            spec = ruleset.fact(compare.fact)
            alone = partition(spec, [compare]).classes
            results = {holds(compare, {compare.fact: cls.value}) for cls in alone}
            if results == {False}:
                found.append(_warning("comparison-never-holds", f"'{compare.fact} {compare.op} "
                                      f"{_operand_text(compare)}' is false for every allowed value",
                                      compare.location, f"rules.{rule.id}.when"))  # fmt: skip
            elif results == {True}:
                found.append(_warning("comparison-always-holds", f"'{compare.fact} {compare.op} "
                                      f"{_operand_text(compare)}' is true for every allowed value",
                                      compare.location, f"rules.{rule.id}.when"))  # fmt: skip
    return found


def _operand_text(compare: Compare) -> str:
    operand = compare.operand
    if isinstance(operand, tuple):
        return "[" + ", ".join(map(str, operand)) + "]"
    if isinstance(operand, date):
        return operand.isoformat()
    return "" if operand is None else str(operand)


def check_rules_fire(ruleset: RuleSet, max_cases: int = MAX_CASES) -> list[Diagnostic]:
    """Rules no fact set satisfies, each analysed over the facts it reads.

    An error, unless the rule compares with a parameter's value: a placeholder parameter may park a
    rule on purpose until a policy owner sets the real figure, so that is a warning.
    """
    found: list[Diagnostic] = []
    for rule in ruleset.rules:
        verdict = satisfiable(ruleset, negation_normal_form(rule.condition), max_cases)
        if verdict is None:
            found.append(_skipped(rule.location, f"rules.{rule.id}", max_cases))
        elif not verdict:
            dormant = _reads_parameter(ruleset, rule)
            message = f"rule {rule.id!r} can never fire: no facts satisfy its condition"
            if dormant:
                message += (
                    " (it compares with a parameter: is the parameter's value a placeholder?)"
                )
            make = _warning if dormant else _error
            found.append(make("never-fires", message, rule.location, f"rules.{rule.id}"))
    return found


def satisfiable(ruleset: RuleSet, condition: Condition, max_cases: int = MAX_CASES) -> bool | None:
    """Whether some fact set satisfies ``condition`` (in negation normal form); None: too big to tell.

    Conjunctions are split into groups of parts that share no fact; each group is satisfiable on its
    own, so a rule reading twenty independent facts never needs the product of their domains.
    """
    match condition:
        case AnyOf(parts):
            verdicts = [satisfiable(ruleset, p, max_cases) for p in parts]
            return True if True in verdicts else (None if None in verdicts else False)
        case AllOf(parts):
            verdicts = [
                _group_satisfiable(ruleset, group, max_cases) for group in _independent(parts)
            ]
            return False if False in verdicts else (None if None in verdicts else True)
    return _group_satisfiable(ruleset, [condition], max_cases)


def _group_satisfiable(ruleset: RuleSet, parts: Sequence[Condition], max_cases: int) -> bool | None:
    if len(parts) == 1 and isinstance(parts[0], AnyOf):
        return satisfiable(ruleset, parts[0], max_cases)
    probe = AllOf(tuple(parts))
    rule = Rule("probe", probe, "", ruleset.default_reason, SourceLocation(ruleset.file))
    space = CaseSpace([rule], _facts_of(ruleset, [rule]))
    if space.size > max_cases:
        return None
    return bool(space.mask(probe))


def _independent(parts: Sequence[Condition]) -> list[list[Condition]]:
    """Group conjuncts so that parts reading a common fact (directly or through others) share a group."""
    groups: list[tuple[set[str], list[Condition]]] = []
    for part in parts:
        names = {n for c in comparisons(part) for n in _names(c)}
        merged_names, merged_parts = set(names), [part]
        for group in [g for g in groups if g[0] & names]:
            groups.remove(group)
            merged_names |= group[0]
            merged_parts = group[1] + merged_parts
        groups.append((merged_names, merged_parts))
    return [g[1] for g in groups]


def check_first_match(ruleset: RuleSet, max_cases: int = MAX_CASES) -> list[Diagnostic]:
    """For ``first_match`` tables: rows shadowed by earlier rows, and fact combinations no row covers."""
    if ruleset.decide != "first_match" or not ruleset.rules:
        return []
    space = CaseSpace(ruleset.rules, used_facts(ruleset))
    if space.size > max_cases:
        return [_skipped(ruleset.rules[0].location, "rules", max_cases, space.size)]
    found: list[Diagnostic] = []
    covered = 0
    for rule in ruleset.rules:
        mask = space.mask(rule.condition)
        if mask and not mask & ~covered:
            found.append(_error("shadowed-row", f"row {rule.id!r} is unreachable: every case it "
                                "matches is decided by an earlier row"
                                f"{_shadowers(space, ruleset, rule.id, mask)}", rule.location,
                                f"rules.{rule.id}"))  # fmt: skip
        covered |= mask
    found.extend(_gap(ruleset, space, covered))
    return found


def _skipped(where: SourceLocation, path: str, limit: int, size: int | None = None) -> Diagnostic:
    count = f"{size} fact combinations exceed" if size else "the fact combinations exceed"
    return _warning("analysis-skipped", f"{count} the analysis limit of {limit}; this part was not"
                    " analysed", where, path)  # fmt: skip


def _facts_of(ruleset: RuleSet, rules: Sequence[Rule]) -> list[FactSpec]:
    names = {n for r in rules for c in comparisons(r.condition) for n in _names(c)}
    return [f for f in ruleset.facts if f.name in names]


def _names(compare: Compare) -> tuple[str, ...]:
    if isinstance(compare.operand, FactRef):
        return compare.fact, compare.operand.name
    return (compare.fact,)


def _reads_parameter(ruleset: RuleSet, rule: Rule) -> bool:
    values = {(type(p.value), p.value) for p in ruleset.parameters}
    return any(
        (type(c.operand), c.operand) in values
        for c in comparisons(rule.condition)
        if not isinstance(c.operand, FactRef | tuple) and c.operand is not None
    )


def _shadowers(space: CaseSpace, ruleset: RuleSet, rule_id: str, mask: int) -> str:
    """`` (by rows 'a' (line 12), 'b' (line 20))``: the earlier rows that share cases with this one."""
    names = []
    for earlier in ruleset.rules:
        if earlier.id == rule_id:
            break
        if space.mask(earlier.condition) & mask:
            names.append(f"{earlier.id!r} (line {earlier.location.line})")
    return f" (by {', '.join(names)})" if names else ""


def _gap(ruleset: RuleSet, space: CaseSpace, covered: int) -> list[Diagnostic]:
    uncovered = space.everything & ~covered
    if not uncovered:
        return []
    default = ruleset.outcome(ruleset.default_outcome)
    if default.kind is OutcomeKind.UNDECIDABLE:
        return []  # an explicit "cannot be decided" default is the declared answer for gaps
    count = bin(uncovered).count("1")
    regions: list[str] = []
    remaining = uncovered
    while remaining and len(regions) < GAP_EXAMPLES:
        case = (remaining & -remaining).bit_length() - 1
        region, fixed = space.widen(case, uncovered)
        regions.append(", ".join(fixed) or "every case")
        remaining &= ~region
    more = " …" if remaining else ""
    message = (
        f"{count} of {space.size} fact combinations match no row and get the default "
        f"{default.id!r} ({default.kind.value}): {'; '.join(regions)}{more}"
    )
    return [_warning("table-gap", message, ruleset.rules[0].location, "rules")]


#: The analysis stages, run in this order by :func:`analyse`.
CHECKS: tuple[Callable[[RuleSet], list[Diagnostic]], ...] = (
    check_unused_facts,
    check_comparisons,
    check_rules_fire,
    check_first_match,
)


def analyse(ruleset: RuleSet) -> list[Diagnostic]:
    """Every analysis finding for one validated rule set."""
    return [d for check in CHECKS for d in check(ruleset)]


def analyse_all(rulesets: Iterable[RuleSet]) -> list[Diagnostic]:
    return [d for rs in rulesets for d in analyse(rs)]
