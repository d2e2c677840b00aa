"""The rulebook: every rule set in a folder, validated, compiled and ready to decide.

Loading is all-or-nothing: one bad file and the whole folder is refused with every diagnostic, so a
server never serves a half-loaded rulebook. Several versions of one rule set may coexist; a request's
``as_of`` date picks the version in force that day.
"""

from __future__ import annotations

import weakref
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
from ..format.versions import (
    VersionedFile,
    check_versions,
    content_digest,
    lock_known,
    read_lock,
    versioned_file,
)
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

    def decider_of(self, ruleset: RuleSet) -> Decider:
        """The decider of one loaded version (whatever the dates), e.g. to run its examples."""
        return self._deciders[ruleset.key]

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
                        decision,
                        example.expect_outcome,
                        example.expect_reasons,
                        example.expect_others,
                    )
                except FactsError as exc:
                    failure = f"facts rejected: {exc.fields}"
                results.append(ExampleResult(rs, index, example.note, failure))
        return results

    def close(self) -> None:
        self.runtime.close()


class _Versions:
    """What each loaded rule set's file says of its version: the content digest
    (:func:`engine.format.versions.content_digest`) and where ``version:`` is written, kept by
    identity while the rule set lives (a frozen RuleSet is costly to hash, and the digest is not part
    of the model: it is a fact about the file the rule set came from)."""

    def __init__(self) -> None:
        self._values: dict[int, VersionedFile] = {}

    def remember(self, ruleset: RuleSet, raw: object) -> None:
        found = versioned_file(raw, "ruleset") or VersionedFile(
            ruleset.id, ruleset.version, content_digest(raw), SourceLocation(ruleset.file, 1, 1)
        )
        self.keep(ruleset, found)

    def keep(self, ruleset: RuleSet, found: VersionedFile) -> None:
        """Remember ``found`` as ``ruleset``'s file (one read earlier, :mod:`engine.lifecycle.load_cache`)."""
        key = id(ruleset)
        if key not in self._values:
            weakref.finalize(ruleset, self._values.pop, key, None)
        self._values[key] = found

    def file(self, ruleset: RuleSet) -> VersionedFile:
        """``ruleset`` as a :class:`~engine.format.versions.VersionedFile` (no digest when it was not
        read by :func:`read_rulesets`)."""
        return self._values.get(id(ruleset)) or VersionedFile(
            ruleset.id, ruleset.version, "", SourceLocation(ruleset.file, 1, 1)
        )


_versions = _Versions()
#: A loaded rule set as a :class:`~engine.format.versions.VersionedFile`.
ruleset_file = _versions.file
#: Remember a rule set's :class:`~engine.format.versions.VersionedFile` (what ``ruleset_file`` returns).
keep_ruleset_file = _versions.keep


def ruleset_digest(ruleset: RuleSet) -> str:
    """The content digest of a rule set read by :func:`read_rulesets` ("" for one built otherwise);
    the decision log records it with the version."""
    return _versions.file(ruleset).digest


def read_rulesets(
    paths: Iterable[Path], label: Callable[[Path], str] | None = None
) -> tuple[list[RuleSet], list[Diagnostic]]:
    """Validate files; return the good rule sets and every diagnostic (errors and warnings).

    ``label`` names each file in diagnostics and citations (default :func:`display_name`): a server
    loading a snapshot copy of the rules folder names the files as they are in the folder. Each rule
    set's content digest is kept (:data:`ruleset_digest`).
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
            _versions.remember(ruleset, raw)
            rulesets.append(ruleset)
    diagnostics.extend(_check_versions(rulesets))
    return rulesets, diagnostics


def check_ledger(paths: Iterable[Path], rulesets: Sequence[RuleSet]) -> list[Diagnostic]:
    """Version discipline against the ledger (``versions.lock``) of each folder the files are in:
    a rule set whose ``id@version`` is locked with another digest is a ``version-not-bumped``
    error (:func:`engine.format.versions.check_versions`)."""
    found: list[Diagnostic] = []
    folders = sorted({path.parent for path in paths})
    files = [ruleset_file(rs) for rs in rulesets]
    versions_of: dict[str, list[str]] = defaultdict(list)
    for rs in rulesets:
        versions_of[rs.id].append(rs.version)
    for folder in folders:
        entries, problems = read_lock(folder)
        found.extend(problems)
        found.extend(check_versions(files, lock_known(entries, folder), "rule set", versions_of))
    return found


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
    """What makes rule files valid: every file validated (:func:`read_rulesets`), each version
    against its folder's ledger (:func:`check_ledger`), then the rule sets that passed analysed as decision tables (:func:`~engine.rules.analysis.analyse_all`). The files
    are valid when no diagnostic is an error; ``flets-elig check`` prints these diagnostics.
    """
    paths = list(paths)
    rulesets, diagnostics = read_rulesets(paths, label)
    diagnostics.extend(check_ledger(paths, rulesets))  # a changed file under a locked version
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
    return Rulebook(*valid_rulesets(*targets, label=label))


def valid_rulesets(
    *targets: Path, label: Callable[[Path], str] | None = None
) -> tuple[list[RuleSet], list[Diagnostic]]:
    """What :func:`load_rulebook` compiles: the rule sets of files that pass every check, and their
    warnings; :class:`ValidationError` as there."""
    rulesets, diagnostics = check_rule_files((p for t in targets for p in rule_files(t)), label)
    if any(d.severity == "error" for d in diagnostics):
        raise ValidationError(diagnostics)
    return rulesets, [d for d in diagnostics if d.severity == "warning"]


def version_clashes(rulesets: Sequence[RuleSet]) -> list[Diagnostic]:
    """Files holding the same rule set as one version, or with overlapping dates (``check``'s
    ``version-clash``), for rule sets read separately (a studio draft and the folder's others)."""
    return _check_versions(rulesets)
