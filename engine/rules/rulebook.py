"""The rulebook: every rule set in a folder, validated, compiled and ready to decide.

Loading is all-or-nothing: one bad file and the whole folder is refused with every diagnostic, so a
server never serves a half-loaded rulebook. Several versions of one rule set may coexist; a request's
``as_of`` date picks the version in force that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..clock import today_in_tokyo
from ..errors import (
    Diagnostic,
    FactsError,
    NoVersionInForceError,
    SourceLocation,
    UnknownRuleSetError,
    ValidationError,
)
from ..format.loader import read_yaml_file, yaml_files
from ..paths import PROJECT_ROOT
from .analysis import analyse_all
from .compiler import compile_ruleset
from .evaluate import Decider, example_failure
from .explain import Decision
from .model import RuleSet
from .runtime import DurableRuntime
from .validate import check_ruleset


@dataclass(frozen=True)
class ExampleResult:
    """One rule-set example run through the real engine."""

    ruleset: RuleSet
    index: int
    note: str
    failure: str | None

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def where(self) -> str:
        return f"{self.ruleset.file}:{self.ruleset.examples[self.index].location.line}"


class Rulebook:
    """Validated, compiled rule sets behind one thread-safe durable_rules runtime."""

    def __init__(self, rulesets: Sequence[RuleSet], warnings: Sequence[Diagnostic] = ()) -> None:
        compiled = [compile_ruleset(rs) for rs in rulesets]
        self.runtime = DurableRuntime(compiled)
        self._deciders = {c.ruleset.key: Decider(c, self.runtime) for c in compiled}
        self._versions: dict[str, list[RuleSet]] = defaultdict(list)
        for rs in sorted(rulesets, key=lambda r: r.effective_from):
            self._versions[rs.id].append(rs)
        self.warnings = list(warnings)
        #: Called with the decisions of every decide/decide_batch call (e.g. the decision log).
        self.observer: Callable[[list[Decision]], None] | None = None

    # -- lookup ----------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, ruleset_id: str) -> list[RuleSet]:
        if ruleset_id not in self._versions:
            raise UnknownRuleSetError(ruleset_id, self._versions)
        return list(self._versions[ruleset_id])

    def all_rulesets(self) -> list[RuleSet]:
        return [rs for rid in self.ids() for rs in self._versions[rid]]

    def select(self, ruleset_id: str, as_of: date | None = None) -> RuleSet:
        """The version of ``ruleset_id`` in force on ``as_of`` (default: today in Tokyo)."""
        day = as_of or today_in_tokyo()
        for rs in reversed(self.versions(ruleset_id)):
            if rs.in_force(day):
                return rs
        raise NoVersionInForceError(ruleset_id, day)

    def shown_version(self, ruleset_id: str, as_of: date | None = None) -> RuleSet:
        """The version to describe: the one in force on ``as_of``; without a date, today's one, or else
        the newest (a page or document about a rule set shows it even when no version is in force today).
        """
        if as_of is not None:
            return self.select(ruleset_id, as_of)
        versions = self.versions(ruleset_id)
        today = today_in_tokyo()
        return next((rs for rs in reversed(versions) if rs.in_force(today)), versions[-1])

    def decider(self, ruleset_id: str, as_of: date | None = None) -> Decider:
        return self._deciders[self.select(ruleset_id, as_of).key]

    # -- deciding --------------------------------------------------------------------------------

    def decide(self, ruleset_id: str, facts: object, as_of: date | None = None) -> Decision:
        """Decide once. :raises UnknownRuleSetError, NoVersionInForceError, FactsError:"""
        day = as_of or today_in_tokyo()
        decision = self.decider(ruleset_id, day).decide(facts, day)
        self.record([decision])
        return decision

    def decide_batch(
        self, ruleset_id: str, items: Sequence[object], as_of: date | None = None
    ) -> list[Decision | FactsError]:
        """Decide for many fact sets; items with bad facts come back as their :class:`FactsError`."""
        day = as_of or today_in_tokyo()
        results = self.decider(ruleset_id, day).decide_many(items, day)
        self.record([r for r in results if not isinstance(r, FactsError)])
        return results

    def record(self, decisions: list[Decision]) -> None:
        """Hand ``decisions`` to the decision log hook (the lifecycle's holder sets it; it commits
        before the answer is returned). :meth:`decide` does this itself; a caller that decided through
        a :class:`Decider` to look at the answer first (a what-if) records it here, deciding once."""
        if self.observer is not None and decisions:
            self.observer(decisions)

    def run_examples(self, only: Iterable[str] | None = None) -> list[ExampleResult]:
        """Run every example of every loaded rule set (or of the ids in ``only``)."""
        wanted = set(only) if only is not None else None
        results: list[ExampleResult] = []
        for rs in self.all_rulesets():
            if wanted is not None and rs.id not in wanted:
                continue
            decider = self._deciders[rs.key]
            for index, example in enumerate(rs.examples):
                day = example.as_of or today_in_tokyo()
                try:
                    decision = decider.decide(example.facts, day)
                    failure = example_failure(
                        decision, example.expect_outcome, example.expect_reasons
                    )
                except FactsError as exc:
                    failure = f"facts rejected: {exc.fields}"
                results.append(ExampleResult(rs, index, example.note, failure))
        return results

    def close(self) -> None:
        self.runtime.close()


def read_rulesets(
    paths: Iterable[Path], label: Callable[[Path], str] | None = None
) -> tuple[list[RuleSet], list[Diagnostic]]:
    """Validate files; return the good rule sets and every diagnostic (errors and warnings).

    ``label`` names each file in diagnostics and citations (default :func:`display_name`): a server
    loading a snapshot copy of the rules folder names the files as they are in the folder.
    """
    name = label or display_name
    rulesets: list[RuleSet] = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        try:
            raw = read_yaml_file(path, name(path))
        except ValidationError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        ruleset, found = check_ruleset(raw, name(path))
        diagnostics.extend(found)
        if ruleset is not None:
            rulesets.append(ruleset)
    diagnostics.extend(_check_versions(rulesets))
    return rulesets, diagnostics


def display_name(path: Path) -> str:
    """How a file is named in diagnostics and citations: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _check_versions(rulesets: Sequence[RuleSet]) -> list[Diagnostic]:
    """Two files may hold the same rule set only as different versions with disjoint dates."""
    found: list[Diagnostic] = []
    by_id: dict[str, list[RuleSet]] = defaultdict(list)
    for rs in rulesets:
        by_id[rs.id].append(rs)
    for versions in by_id.values():
        ordered = sorted(versions, key=lambda r: r.effective_from)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.version == later.version:
                found.append(_clash(later, f"version {later.version} is also in {earlier.file}"))
            elif earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                found.append(_clash(later, f"its dates overlap version {earlier.version} in "
                                           f"{earlier.file}; end that one first"))  # fmt: skip
    return found


def _clash(rs: RuleSet, message: str) -> Diagnostic:
    return Diagnostic(
        "version-clash", f"rule set {rs.id!r}: {message}", SourceLocation(rs.file, 1, 1)
    )


def rule_files(target: Path) -> list[Path]:
    """A file as given, or the YAML files of a folder."""
    return [target] if target.is_file() else yaml_files(target)


def check_rule_files(
    paths: Iterable[Path], label: Callable[[Path], str] | None = None
) -> tuple[list[RuleSet], list[Diagnostic]]:
    """What makes rule files valid: every file validated (:func:`read_rulesets`), then the rule sets
    that passed analysed as decision tables (:func:`~engine.rules.analysis.analyse_all`). The files
    are valid when no diagnostic is an error; ``flets-elig check`` prints these diagnostics.
    """
    rulesets, diagnostics = read_rulesets(paths, label)
    diagnostics.extend(analyse_all(rulesets))  # overlaps, gaps, rules that never fire
    return rulesets, diagnostics


def load_rulebook(*targets: Path, label: Callable[[Path], str] | None = None) -> Rulebook:
    """Load, validate, analyse and compile rule files or folders; all or nothing.

    The one loader: ``flets-elig test``, ``decide`` and ``catalogue`` and the server's reload use it,
    so each of them accepts exactly the files ``flets-elig check`` passes (:func:`check_rule_files`).
    The warnings are kept on the rulebook.

    :raises ValidationError: with every diagnostic of every file when any of them is an error, an
        analysis error (``never-fires``, ``shadowed-row``) included.
    """
    rulesets, diagnostics = check_rule_files((p for t in targets for p in rule_files(t)), label)
    if any(d.severity == "error" for d in diagnostics):
        raise ValidationError(diagnostics)
    return Rulebook(rulesets, [d for d in diagnostics if d.severity == "warning"])
