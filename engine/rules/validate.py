"""Raw YAML of a rule set → the validated :mod:`engine.rules.model`, or every problem at once.

Validation runs as named stages (header, readings, parameters, facts, outcomes, rules, default, examples,
cross-checks). Each stage reads the raw mapping and records diagnostics with file, line and field path;
later stages only run on what earlier ones accepted, so one typo yields one message, not a cascade.
A file with any error raises :class:`ValidationError` and nothing of it is used.

The readers of values and of the sections rule files share with tariffs are in
:mod:`engine.format.checker`; the ``parameters:``/``facts:`` sections in :mod:`.declarations`; the
``when:`` language in :mod:`.conditions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..clock import today_in_tokyo
from ..errors import Diagnostic, FactsError, SourceLocation, ValidationError
from ..format.checker import Checker, suggest
from ..format.common import Citation, Reading
from ..format.header import HEADER_KEYS, Header, read_header
from ..format.loader import MarkedDict, to_json
from .conditions import ConditionReader
from .declarations import read_facts, read_parameters
from .facts import FactNormalizer
from .model import (
    DECIDE_MODES,
    Consequence,
    DecideMode,
    Example,
    FactSpec,
    Note,
    Outcome,
    OutcomeKind,
    Parameter,
    Rule,
    RuleSet,
)

#: {key: required}. The header's keys are checked by format.header.read_header, so they are marked
#: optional here: a missing one is reported once.
TOP_LEVEL_KEYS = {
    "ruleset": False, **dict.fromkeys(HEADER_KEYS, False), "readings": False,
    "parameters": False, "facts": True, "outcomes": True, "decide": True, "precedence": False,
    "default": True, "rules": True, "examples": True,
}  # fmt: skip

OUTCOME_KINDS = tuple(k.value for k in OutcomeKind)


@dataclass
class _Draft:
    """What the stages have built so far for one file."""

    header: Header = field(default_factory=Header)
    decide: DecideMode | None = None
    readings: dict[str, Reading] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    facts: dict[str, FactSpec] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    # Names declared, even when their definition was faulty: references to them are not errors
    # again (one typo, one message).
    declared_facts: set[str] = field(default_factory=set)
    declared_outcomes: set[str] = field(default_factory=set)
    precedence: tuple[str, ...] = ()
    rules: list[Rule] = field(default_factory=list)
    default: tuple[str, Note] | None = None
    examples: list[Example] = field(default_factory=list)


def build_ruleset(raw: object, file: str) -> RuleSet:
    """Validate one parsed rule file and return its model.

    :raises ValidationError: with every error found (warnings are attached to the result instead).
    """
    ruleset, diagnostics = check_ruleset(raw, file)
    if ruleset is None:
        raise ValidationError(diagnostics)
    return ruleset


def check_ruleset(raw: object, file: str) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Run every stage; return the rule set (None on any error) and all diagnostics."""
    checker = Checker(file)
    top = checker.mapping(raw, SourceLocation(file, 1, 1), "")
    if top is None:
        return None, checker.diagnostics
    checker.known_keys(top, TOP_LEVEL_KEYS, "")
    draft = _Draft()
    for stage in STAGES:
        stage(checker, top, draft)
    if checker.failed:
        return None, checker.diagnostics
    return _assemble(top, draft, file), checker.diagnostics


def _stage_header(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    draft.header = read_header(checker, top, "ruleset")


def _stage_readings(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    if top.get("readings") is not None:
        draft.readings = checker.readings(top["readings"], top.where("readings"), "readings")


def _stage_parameters(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    draft.parameters = read_parameters(checker, top)


def _stage_facts(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    draft.facts = read_facts(checker, top, draft.declared_facts)


def _stage_outcomes(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    outcomes = checker.mapping(top.get("outcomes"), top.where("outcomes"), "outcomes")
    keys = {"kind": True, "label": True, "consequences": False, "gap": False}
    for oid, entry, _, path in checker.entries(outcomes, "outcomes", keys, draft.declared_outcomes):
        outcome = _outcome(checker, oid, entry, draft, path)
        if outcome is not None:
            draft.outcomes[oid] = outcome
    _precedence(checker, top, draft)


def _outcome(
    checker: Checker, oid: str, entry: MarkedDict, draft: _Draft, path: str
) -> Outcome | None:
    kind_raw = checker.choice(entry["kind"], entry.where("kind"), f"{path}.kind", OUTCOME_KINDS)
    label = checker.text(entry["label"], entry.where("label"), f"{path}.label")
    notes = _consequences(checker, entry, draft, path)
    gap = None
    if "gap" in entry:
        gap = checker.gap(entry["gap"], entry.where("gap"), f"{path}.gap")
    elif kind_raw == OutcomeKind.UNDECIDABLE:
        checker.error(
            "missing-gap",
            "an undecidable outcome must name the gap (missing, ask)",
            entry.location,
            f"{path}.gap",
        )
    if kind_raw is None or label is None or notes is None:
        return None
    return Outcome(oid, OutcomeKind(kind_raw), label, notes, gap)


#: The keys of one consequence (of an outcome or of a rule).
CONSEQUENCE_KEYS = {
    "code": True,
    "message": True,
    "cite": True,
    "when": False,
    "if_unknown": False,
}


def _consequences(
    checker: Checker, owner: MarkedDict, draft: _Draft, path: str
) -> tuple[Consequence, ...] | None:
    """The ``consequences:`` list of an outcome or a rule (absent: none; None: a broken list)."""
    raw = owner.get("consequences")
    if raw is None:
        return ()
    path = f"{path}.consequences"
    items = checker.sequence(raw, owner.where("consequences"), path)
    if items is None:
        return None
    found: list[Consequence] = []
    for i, item in enumerate(items):
        ipath = f"{path}[{i}]"
        entry = checker.mapping(item, items.where(i), ipath)
        if entry is None or not checker.known_keys(entry, CONSEQUENCE_KEYS, ipath):
            continue
        code = checker.identifier(entry["code"], entry.where("code"), f"{ipath}.code")
        message = checker.text(entry["message"], entry.where("message"), f"{ipath}.message")
        cite = _cite(checker, entry, draft, ipath)
        when = if_unknown = None
        if "when" in entry:
            reader = ConditionReader(checker, draft.facts, draft.declared_facts, draft.parameters)
            when = reader.read(entry["when"], entry.where("when"), f"{ipath}.when")
        if entry.get("if_unknown") is not None:
            where = entry.where("if_unknown")
            if_unknown = checker.text(entry["if_unknown"], where, f"{ipath}.if_unknown")
            if "when" not in entry:
                checker.error(
                    "missing-key",
                    "if_unknown is told while a fact of when is unknown: write when as well",
                    where,
                    f"{ipath}.when",
                )
        if code and message and cite and (when is not None or "when" not in entry):
            found.append(Consequence(code, message, cite, when, if_unknown, entry.location))
    return tuple(found)


def _precedence(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    mode = checker.choice(top.get("decide"), top.where("decide"), "decide", DECIDE_MODES)
    draft.decide = mode
    raw = top.get("precedence")
    if mode == "first_match":
        if raw is not None:
            checker.error(
                "unknown-key",
                "precedence applies to decide: collect only",
                top.where("precedence"),
                "precedence",
            )
        return
    if mode != "collect":
        return
    items = checker.sequence(raw, top.where("precedence"), "precedence")
    if items is None:
        return
    order: list[str] = []
    for i, item in enumerate(items):
        oid = checker.choice(
            item, items.where(i), f"precedence[{i}]", sorted(draft.declared_outcomes)
        )
        if oid in order:
            checker.error(
                "duplicate-id", f"{oid!r} is listed twice", items.where(i), f"precedence[{i}]"
            )
        elif oid:
            order.append(oid)
    missing = sorted(o for o in draft.declared_outcomes if o not in order)
    if missing:
        checker.error(
            "bad-value",
            f"precedence must list every outcome; missing {missing}",
            top.where("precedence"),
            "precedence",
        )
    draft.precedence = tuple(order)


#: Every key of a rule; ``cite`` is read as optional here because a missing one has its own message
#: (``missing-citation``).
RULE_KEYS = {
    "id": True,
    "when": True,
    "outcome": True,
    "reason": True,
    "message": True,
    "cite": False,
    "consequences": False,
}


def _stage_rules(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    items = checker.sequence(top.get("rules"), top.where("rules"), "rules")
    seen_ids: set[str] = set()
    seen_reasons: dict[str, str] = {}
    for i, item in enumerate(items or []):
        path = f"rules[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None:
            continue
        checker.known_keys(entry, RULE_KEYS, path)
        rule = _rule(checker, entry, draft, path)
        if rule is None:
            continue
        if rule.id in seen_ids:
            checker.error(
                "duplicate-id",
                f"rule id {rule.id!r} is used twice",
                entry.where("id"),
                f"{path}.id",
            )
            continue
        code = rule.reason.code
        if seen_reasons.get(code, rule.outcome) != rule.outcome:
            checker.error(
                "duplicate-id",
                f"reason {code!r} is used with two outcomes",
                entry.where("reason"),
                f"{path}.reason",
            )
        seen_ids.add(rule.id)
        seen_reasons[code] = rule.outcome
        draft.rules.append(rule)
    if items is not None and not items:
        checker.error("missing-key", "write at least one rule", top.where("rules"), "rules")


def _rule(checker: Checker, entry: MarkedDict, draft: _Draft, path: str) -> Rule | None:
    rid = checker.identifier(entry.get("id"), entry.where("id"), f"{path}.id")
    outcome = checker.choice(
        entry.get("outcome"),
        entry.where("outcome"),
        f"{path}.outcome",
        sorted(draft.declared_outcomes),
    )
    reason = _reason(checker, entry, draft, path)
    condition = None
    if "when" in entry:
        reader = ConditionReader(checker, draft.facts, draft.declared_facts, draft.parameters)
        condition = reader.read(entry["when"], entry.where("when"), f"{path}.when")
    consequences = _consequences(checker, entry, draft, path)
    if (
        rid is None
        or outcome is None
        or reason is None
        or condition is None
        or consequences is None
    ):
        return None
    return Rule(rid, condition, outcome, reason, entry.location, consequences)


def _reason(checker: Checker, entry: MarkedDict, draft: _Draft, path: str) -> Note | None:
    code = checker.identifier(entry.get("reason"), entry.where("reason"), f"{path}.reason")
    message = checker.text(entry.get("message"), entry.where("message"), f"{path}.message")
    cite = _cite(checker, entry, draft, path)
    if code and message and cite:
        return Note(code, message, cite)
    return None


def _cite(checker: Checker, entry: MarkedDict, draft: _Draft, path: str) -> Citation | None:
    """The ``cite`` of ``entry``, its reading (if any) one recorded under ``readings``."""
    cite = checker.cite(entry.get("cite"), entry.where("cite"), f"{path}.cite")
    if cite and cite.reading and cite.reading not in draft.readings:
        checker.error(
            "unknown-reading",
            f"reading {cite.reading!r} is not under readings{suggest(cite.reading, draft.readings)}",
            entry.where("cite"),
            f"{path}.cite.reading",
        )
        return None
    return cite


def _stage_default(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    entry = checker.mapping(top.get("default"), top.where("default"), "default")
    keys = {"outcome": True, "reason": True, "message": True, "cite": True}
    if entry is None or not checker.known_keys(entry, keys, "default"):
        return
    outcome = checker.choice(
        entry["outcome"], entry.where("outcome"), "default.outcome", sorted(draft.declared_outcomes)
    )
    reason = _reason(checker, entry, draft, "default")
    if outcome and reason:
        draft.default = (outcome, reason)


def _stage_examples(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    items = checker.sequence(top.get("examples"), top.where("examples"), "examples")
    if items is not None and not items:
        checker.error("missing-key", "give at least one example", top.where("examples"), "examples")
    if checker.failed:
        return  # examples are checked against a sound rule set only
    normalizer = FactNormalizer(_assemble(top, draft, checker.file))
    # Each reason code belongs to one outcome (checked with the rules), so an example's expected
    # codes split into the grounds of its outcome and the codes of rules that fire for others.
    reasons = {r.reason.code: r.outcome for r in draft.rules}
    if draft.default:
        reasons.setdefault(draft.default[1].code, draft.default[0])
    keys = {"note": True, "facts": True, "as_of": False, "expect": True}
    for i, item in enumerate(items or []):
        path = f"examples[{i}]"
        entry = checker.mapping(item, items.where(i) if items else top.location, path)
        if entry is None or not checker.known_keys(entry, keys, path):
            continue
        example = _example(checker, entry, draft, normalizer, reasons, path)
        if example is not None:
            draft.examples.append(example)


def _example(
    checker: Checker,
    entry: MarkedDict,
    draft: _Draft,
    normalizer: FactNormalizer,
    reasons: dict[str, str],
    path: str,
) -> Example | None:
    note = checker.string(entry["note"], entry.where("note"), f"{path}.note")
    as_of = None
    if entry.get("as_of") is not None:
        as_of = checker.day(entry["as_of"], entry.where("as_of"), f"{path}.as_of")
    facts = checker.mapping(entry["facts"], entry.where("facts"), f"{path}.facts")
    if facts is not None:
        try:
            normalizer.normalize(to_json(facts), as_of or today_in_tokyo())
        except FactsError as exc:
            for field_path, problems in exc.fields.items():
                key = field_path.split(".")[0]
                checker.error(
                    "bad-example-facts",
                    f"{field_path}: {_join_problems(problems)}",
                    facts.where(key),
                    f"{path}.facts.{field_path}",
                )
            facts = None
    expect = checker.mapping(entry["expect"], entry.where("expect"), f"{path}.expect")
    if expect is None or not checker.known_keys(
        expect, {"outcome": True, "reasons": True}, f"{path}.expect"
    ):
        return None
    outcome = checker.choice(
        expect["outcome"], expect.where("outcome"), f"{path}.expect.outcome", draft.outcomes
    )
    codes = _expected_reasons(checker, expect, set(reasons), f"{path}.expect.reasons")
    if note is None or facts is None or outcome is None or codes is None:
        return None
    grounds = frozenset(c for c in codes if reasons[c] == outcome)
    return Example(note, to_json(facts), outcome, grounds, entry.location, as_of, codes - grounds)


def _join_problems(problems: object) -> str:
    return "; ".join(map(str, problems)) if isinstance(problems, list) else str(problems)


def _expected_reasons(
    checker: Checker, expect: MarkedDict, reasons: set[str], path: str
) -> frozenset[str] | None:
    items = checker.sequence(expect["reasons"], expect.where("reasons"), path)
    if items is None:
        return None
    codes = [
        checker.choice(c, items.where(i), f"{path}[{i}]", sorted(reasons))
        for i, c in enumerate(items)
    ]
    found = [c for c in codes if c is not None]
    return frozenset(found) if len(found) == len(codes) else None


def _stage_cross_checks(checker: Checker, top: MarkedDict, draft: _Draft) -> None:
    """Whole-file checks: citations name declared sources; outcomes used; rules exemplified."""
    declared = {s.file for s in draft.header.sources}
    for where, path, cite in _citations(draft, checker.file):
        if declared and cite.source not in declared:
            checker.error(
                "undeclared-source",
                f"{cite.source!r} is not listed under sources{suggest(cite.source, declared)}",
                where,
                path,
            )
    used = {r.outcome for r in draft.rules}
    if draft.default:
        used.add(draft.default[0])
    for oid in draft.outcomes:
        if oid not in used:
            checker.warn(
                "unused-outcome",
                f"outcome {oid!r} is never given",
                top["outcomes"].where(oid),
                f"outcomes.{oid}",
            )
    if checker.failed:
        return  # examples were not checked, so coverage would be noise
    covered = {c for ex in draft.examples for c in ex.expect_reasons | ex.expect_others}
    for rule in draft.rules:
        if rule.reason.code not in covered:
            checker.warn(
                "rule-without-example",
                f"no example expects reason {rule.reason.code!r} (rule {rule.id!r})",
                rule.location,
                f"rules.{rule.id}",
            )


def _citations(draft: _Draft, file: str) -> list[tuple[SourceLocation, str, Citation]]:
    found = [(r.location, f"rules.{r.id}.cite", r.reason.cite) for r in draft.rules]
    owners = [(f"outcomes.{o.id}", o.consequences) for o in draft.outcomes.values()]
    owners += [(f"rules.{r.id}", r.consequences) for r in draft.rules]
    for owner, consequences in owners:
        for i, note in enumerate(consequences):
            where = note.location or SourceLocation(file)
            found.append((where, f"{owner}.consequences[{i}].cite", note.cite))
    for reading in draft.readings.values():
        found.append((SourceLocation(file), f"readings.{reading.id}.cite", reading.cite))
    for param in draft.parameters.values():
        if param.cite is not None:
            found.append((param.location, f"parameters.{param.name}.cite", param.cite))
    if draft.default:
        found.append((SourceLocation(file), "default.cite", draft.default[1].cite))
    return found


#: Order matters: facts before rules (conditions name facts), outcomes before rules and default,
#: rules and default before examples (expected reasons must exist), examples last but for cross-checks.
STAGES: tuple[Callable[[Checker, MarkedDict, _Draft], None], ...] = (
    _stage_header,
    _stage_readings,
    _stage_parameters,
    _stage_facts,
    _stage_outcomes,
    _stage_rules,
    _stage_default,
    _stage_examples,
    _stage_cross_checks,
)


def _assemble(top: MarkedDict, draft: _Draft, file: str) -> RuleSet:
    """The model, from a draft whose stages recorded no error (so every header field is set)."""
    h = draft.header
    assert h.id and h.version and h.title and h.region and h.effective_from and draft.decide
    assert draft.default is not None
    default_outcome, default_reason = draft.default
    return RuleSet(
        id=h.id,
        version=h.version,
        title=h.title,
        region=h.region,
        effective_from=h.effective_from,
        effective_to=h.effective_to,
        sources=h.sources,
        facts=tuple(draft.facts.values()),
        outcomes=tuple(draft.outcomes.values()),
        decide=draft.decide,
        precedence=draft.precedence,
        default_outcome=default_outcome,
        default_reason=default_reason,
        rules=tuple(draft.rules),
        examples=tuple(draft.examples),
        file=file,
        description=h.description,
        readings=tuple(draft.readings.values()),
        parameters=tuple(draft.parameters.values()),
    )
