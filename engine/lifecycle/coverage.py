"""Coverage of the source documents: which rule or tariff item cites each indexed clause, and the checks
that keep the clause index (``sources/``) and the citations of ``rules/`` and ``tariffs/`` in step.

Above the rules and tariffs because it joins both with the index. The ``by`` list of a clause is never
written by hand: it is every citation whose clause text resolves to it
(:meth:`~engine.format.clauses.ClauseIndex.resolve`). Citations are read from the files' data, so each
keeps its file, line and field; the models say which parts are exercised by an example.

The checks (``flets-elig check`` on the bundled folders, ``flets-elig coverage``):

* ``unknown-clause``: a citation resolves to no clause of its source's index;
* ``no-clause-index``: a cited source has no index file;
* ``clause-not-cited``: an ``encoded`` clause nothing cites, neither it nor a clause inside it;
* ``clause-not-exercised``: an ``encoded`` clause whose citing rules and items no example exercises;
* ``gap-not-cited``: a ``gap`` clause no answer or item cites (nor one inside it);
* ``cited-not-a-rule`` (warning): a clause marked ``not_a_rule`` that something cites.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic, SourceLocation, ValidationError
from ..format.clauses import Clause, ClauseIndex, Part, read_index_folder, walk_citations
from ..format.loader import MarkedDict, read_yaml_file, yaml_files
from ..paths import bundled_dir, rules_dir, tariffs_dir
from ..rules.model import RuleSet
from ..rules.rulebook import display_name, read_rulesets, rule_files
from ..tariff.model import Tariff
from ..tariff.validate import load_folder


def sources_dir() -> Path:
    """The bundled clause-index folder ``sources/``."""
    return bundled_dir("sources")


@dataclass(frozen=True)
class Citer:
    """What cites a clause: a part of a rule set (rule, outcome, default, reading, parameter …) or of
    a tariff (item, figure, reading, tax), where, and whether an example exercises it."""

    kind: str  # "ruleset" or "tariff"
    owner: str  # the rule set's or tariff's id
    part: str  # "rule", "outcome", "default", "reading", "item", "figure", …
    name: str
    location: SourceLocation
    exercised: bool

    def label(self) -> str:
        return f"{self.owner} {self.part} {self.name}".rstrip()

    def to_dict(self) -> dict[str, object]:
        return {
            self.kind: self.owner,
            self.part: self.name,
            "file": self.location.file,
            "line": self.location.line,
        }


@dataclass(frozen=True)
class Cited:
    """One citation of a rule or tariff file and the clauses it resolved to (None: to none)."""

    citer: Citer
    source: str
    clause: str
    path: str
    location: SourceLocation
    parts: tuple[Part, ...] | None = None


@dataclass(frozen=True)
class ClauseRow:
    """A clause, what cites it, and which clauses inside it are cited (and by what): an article
    whose paragraphs are cited is encoded through them."""

    clause: Clause
    by: tuple[Citer, ...]
    through: tuple[str, ...] = ()
    inner: tuple[Citer, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.clause.id,
            "heading": self.clause.heading.to_dict(),
            "status": self.clause.status,
            "by": [citer.to_dict() for citer in self.by],
            "through": list(self.through),
        }


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    file: str
    rows: tuple[ClauseRow, ...]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for row in self.rows:
            found[row.clause.status] += 1
        return dict(found)


@dataclass
class Coverage:
    """The clause matrix of every indexed source and the diagnostics of the checks."""

    sources: list[SourceCoverage] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    indexes: dict[str, ClauseIndex] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "sources": [
                {"file": s.source, "index": s.file, "clauses": [r.to_dict() for r in s.rows]}
                for s in self.sources
            ]
        }

    def citing(self, source: str, clause_id: str, within: bool = False) -> tuple[Citer, ...]:
        """Every rule and item citing a clause (empty for an unknown clause); with ``within``, those
        citing a clause inside it too ("第8条 2項 (5)号" for "第8条"): a revised article changes the
        reading of each of its items."""
        index = self.indexes.get(source)
        clause = index.clause(clause_id) if index else None
        if index is None or clause is None:
            return ()
        found: list[Citer] = []
        for covered in self.sources:
            if covered.source != source:
                continue
            for row in covered.rows:
                inside = within and clause in index.ancestors(row.clause)
                if row.clause == clause or inside:
                    found.extend(c for c in row.by if c not in found)
        return tuple(found)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


# --- reading the citations --------------------------------------------------------------------------


def _rule_citers(
    raw: MarkedDict, ruleset: RuleSet | None, file: str
) -> Iterable[tuple[str, MarkedDict, Citer]]:
    owner = str(raw.get("ruleset", Path(file).stem))
    reasons: set[str] = set()
    outcomes: set[str] = set()
    if ruleset is not None:
        for example in ruleset.examples:
            reasons |= set(example.expect_reasons) | set(getattr(example, "expect_others", ()))
            outcomes.add(example.expect_outcome)
    reason_of = {rule.id: rule.reason.code for rule in ruleset.rules} if ruleset else {}
    for path, node in walk_citations(raw):
        part, name, exercised = _rule_part(raw, path, reason_of, reasons, outcomes)
        # A file that does not validate is reported by its own check; its parts count as exercised.
        reached = exercised or ruleset is None
        yield path, node, Citer("ruleset", owner, part, name, node.where("clause"), reached)


def _rule_part(
    raw: MarkedDict,
    path: str,
    reason_of: Mapping[str, str],
    reasons: set[str],
    outcomes: set[str],
) -> tuple[str, str, bool]:
    """Which part of a rule file a citation at ``path`` belongs to, and whether an example reaches it."""
    head = path.split(".", 1)[0]
    any_example = bool(reasons or outcomes)
    if head.startswith("rules["):
        rule = _item(raw.get("rules"), head)
        rid = str(rule.get("id", head)) if isinstance(rule, Mapping) else head
        return "rule", rid, reason_of.get(rid) in reasons
    if head == "outcomes":
        name = path.split(".")[1]
        return "outcome", name, name in outcomes
    if head == "default":
        # The fall-back answer, not a rule: whether it can be reached is the analysis's question.
        default = raw.get("default")
        code = str(default.get("reason", "")) if isinstance(default, Mapping) else ""
        return "default", code, any_example
    if head.startswith("readings["):
        reading = _item(raw.get("readings"), head)
        rid = str(reading.get("id", head)) if isinstance(reading, Mapping) else head
        return "reading", rid, any_example
    parts = path.split(".")  # parameters.x → "parameter x", facts.y → "fact y"
    return parts[0].removesuffix("s"), parts[1] if len(parts) > 2 else "", any_example


def _item(section: object, head: str) -> object:
    index = int(head[head.index("[") + 1 : head.index("]")])
    return section[index] if isinstance(section, list) and index < len(section) else None


def _tariff_citers(
    raw: MarkedDict, tariff: Tariff | None, file: str
) -> Iterable[tuple[str, MarkedDict, Citer]]:
    owner = str(raw.get("tariff") or raw.get("consumption_tax") or Path(file).stem)
    quoted: set[str] = set()
    if tariff is not None:
        for example in tariff.examples:
            for line in example.request.get("items", []) or []:
                if isinstance(line, Mapping) and line.get("tariff") == tariff.id:
                    quoted.add(str(line.get("item")))
    figures = {
        fid
        for iid, item in (tariff.items.items() if tariff else [])
        if iid in quoted
        for fid in item.figures.values()
    }
    items = tariff.items.items() if tariff else []
    readings = {rid for iid, item in items if iid in quoted for rid in item.readings}
    named = {rid for _, item in items for rid in item.readings}
    for path, node in walk_citations(raw):
        parts = path.split(".")
        head = parts[0]
        if head.startswith("rates["):  # the consumption-tax table: applied by every priced quote
            rate = _item(raw.get("rates"), head)
            start = rate.get("effective_from") if isinstance(rate, Mapping) else None
            part, name, exercised = "rate", f"from {start}", True
        elif tariff is None:
            part, name, exercised = head, "", True
        elif head == "items":
            part, name, exercised = "item", parts[1], parts[1] in quoted
        elif head == "figures":
            part, name, exercised = "figure", parts[1], parts[1] in figures
        elif head.startswith("readings["):
            reading = _item(raw.get("readings"), head)
            part = "reading"
            name = str(reading.get("id", head)) if isinstance(reading, Mapping) else head
            # A reading an item names is exercised with that item; another one with any example.
            exercised = name in readings if name in named else bool(quoted)
        else:
            part, name, exercised = head, parts[1] if len(parts) > 2 else "", bool(quoted)
        yield path, node, Citer("tariff", owner, part, name, node.where("clause"), exercised)


def _read_raw(path: Path) -> MarkedDict | None:
    try:
        raw = read_yaml_file(path, display_name(path))
    except ValidationError:
        return None  # the file's own check reports it
    return raw if isinstance(raw, MarkedDict) else None


def read_citations(rule_paths: Sequence[Path], tariff_folder: Path | None) -> list[Cited]:
    """Every citation of the rule files and the tariff folder, with what cites it."""
    rulesets, _ = read_rulesets(rule_paths)
    by_file = {rs.file: rs for rs in rulesets}
    found: list[Cited] = []
    for path in rule_paths:
        raw = _read_raw(path)
        if raw is None:
            continue
        for field_path, node, citer in _rule_citers(
            raw, by_file.get(display_name(path)), display_name(path)
        ):
            found.append(_cited(citer, field_path, node))
    if tariff_folder is None or not tariff_folder.is_dir():
        return found
    try:
        tariffs, _rates = load_folder(tariff_folder, display_name)
    except ValidationError:
        tariffs = []
    by_tariff = {t.file: t for t in tariffs}
    for path in yaml_files(tariff_folder):
        raw = _read_raw(path)
        if raw is None:
            continue
        name = display_name(path)
        for field_path, node, citer in _tariff_citers(raw, by_tariff.get(name), name):
            found.append(_cited(citer, field_path, node))
    return found


def _cited(citer: Citer, path: str, node: MarkedDict) -> Cited:
    return Cited(
        citer, str(node["source"]), str(node["clause"]), f"{path}.clause", node.where("clause")
    )


# --- joining citations and indexes -----------------------------------------------------------------


def compute(indexes: Mapping[str, ClauseIndex], citations: Iterable[Cited]) -> Coverage:
    """The matrix and every check's diagnostic (the index files' own diagnostics not included)."""
    result = Coverage(indexes=dict(indexes))
    by_clause: dict[tuple[str, str], list[Citer]] = defaultdict(list)
    unindexed: dict[str, list[Cited]] = defaultdict(list)
    for cited in citations:
        index = indexes.get(cited.source)
        if index is None:
            unindexed[cited.source].append(cited)
            continue
        parts = index.resolve(cited.clause)
        if parts is None:
            result.diagnostics.append(
                Diagnostic(
                    "unknown-clause",
                    f"{cited.clause!r} starts with no clause of the index of {cited.source} "
                    f"({index.file}); add the clause there or cite one it lists",
                    cited.location,
                    cited.path,
                )
            )
            continue
        for part in parts:
            citers = by_clause[(cited.source, part.clause.id)]
            if cited.citer not in citers:
                citers.append(cited.citer)
    for source, cites in sorted(unindexed.items()):
        first = cites[0]
        result.diagnostics.append(
            Diagnostic(
                "no-clause-index",
                f"{source} is cited {len(cites)} times but has no clause index "
                f"(sources/{Path(source).stem}.yaml)",
                first.location,
                first.path,
            )
        )
    for source in sorted(indexes):
        index = indexes[source]
        inside: dict[str, list[Clause]] = defaultdict(list)
        for clause in index.clauses:
            if by_clause.get((source, clause.id)):
                for parent in index.ancestors(clause):
                    inside[parent.id].append(clause)
        rows = tuple(
            ClauseRow(
                c,
                tuple(by_clause.get((source, c.id), ())),
                tuple(d.id for d in inside[c.id]),
                tuple(x for d in inside[c.id] for x in by_clause[(source, d.id)]),
            )
            for c in index.clauses
        )
        result.sources.append(SourceCoverage(source, index.file, rows))
        result.diagnostics.extend(_check_rows(rows))
    return result


def _check_rows(rows: Iterable[ClauseRow]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for row in rows:
        clause, by = row.clause, row.by + row.inner
        path = f"clause {clause.id}"
        if clause.status == "encoded" and not by:
            message = f"{clause.id!r} is encoded, but no rule or tariff item cites it"
            found.append(Diagnostic("clause-not-cited", message, clause.location, path))
        elif clause.status == "encoded" and not any(c.exercised for c in by):
            names = ", ".join(c.label() for c in by)
            message = f"{clause.id!r} is encoded by {names}, which no example exercises"
            found.append(Diagnostic("clause-not-exercised", message, clause.location, path))
        elif clause.status == "gap" and not by:
            message = (
                f"{clause.id!r} is a gap, but no answer or item cites it "
                "(an undecidable outcome or an unpriceable item names the gap)"
            )
            found.append(Diagnostic("gap-not-cited", message, clause.location, path))
        elif clause.status == "not_a_rule" and row.by:
            names = ", ".join(c.label() for c in row.by)
            message = f"{clause.id!r} is marked not_a_rule, but {names} cites it"
            found.append(Diagnostic("cited-not-a-rule", message, clause.location, path, "warning"))
    return found


def bundled_coverage(
    rules: Path | None = None, tariffs: Path | None = None, sources: Path | None = None
) -> Coverage:
    """The coverage of the bundled folders (or the ones given), index files' diagnostics included."""
    indexes, diagnostics = read_index_folder(sources or sources_dir(), display_name)
    rule_paths = rule_files(rules or rules_dir())
    result = compute(indexes, read_citations(rule_paths, tariffs or tariffs_dir()))
    result.diagnostics[:0] = diagnostics
    return result


def citing_lines(citers: Iterable[Citer]) -> list[str]:
    """``owner part name (file:line)`` for each citer, sorted: the worklist's entries."""
    return sorted(f"{c.label()} ({c.location})" for c in citers)
