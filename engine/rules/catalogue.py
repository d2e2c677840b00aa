"""The rules catalogue: every rule set and rule with its citation, as Markdown for policy owners.

``flets-elig catalogue > docs/rules-catalogue.md`` regenerates it; a test keeps the committed copy current,
so "where is clause X encoded?" is always answered by searching one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ..format.clauses import ClauseIndex, read_index_folder
from ..format.common import Citation
from ..format.sources import SEEDS
from ..paths import bundled_dir
from .model import RuleSet


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cite(cite: Citation) -> str:
    reading = f" (reading {cite.reading})" if cite.reading else ""
    return _cell(f"{cite.source} — {cite.clause}{reading}")


def ruleset_section(rs: RuleSet) -> list[str]:
    """The Markdown section of one rule set version."""
    until = rs.effective_to.isoformat() if rs.effective_to else "open"
    lines = [
        f"## `{rs.id}` {rs.version} — {rs.title.ja}",
        "",
        f"*{rs.title.en}*  ",
        f"File `{rs.file}` · region `{rs.region}` · in force {rs.effective_from.isoformat()} → {until} · "
        f"`decide: {rs.decide}` · sources: {', '.join(s.file for s in rs.sources)}",
        "",
        "| rule | outcome | reason | cites | line |",
        "| --- | --- | --- | --- | ---: |",
    ]
    for rule in rs.rules:
        lines.append(
            f"| `{rule.id}` | {rule.outcome} | `{rule.reason.code}` | {_cite(rule.reason.cite)} "
            f"| {rule.location.line} |"
        )
    default = rs.default_reason
    lines.append(
        f"| *(default)* | {rs.default_outcome} | `{default.code}` | {_cite(default.cite)} | |"
    )
    lines.append("")
    gaps = [o for o in rs.outcomes if o.gap]
    if gaps:
        lines.append("Cannot be decided from the sources:")
        lines.extend(
            f"- `{o.id}`: {_cell(o.gap.missing.en)} — ask {_cell(o.gap.ask.en)}"
            for o in gaps
            if o.gap
        )
        lines.append("")
    if rs.readings:
        lines.append("Readings chosen:")
        lines.extend(f"- {r.id}: {_cell(r.chosen.en)} ({_cite(r.cite)})" for r in rs.readings)
        lines.append("")
    return lines


def _citations(rs: RuleSet) -> Iterator[tuple[str, Citation]]:
    """Each citation of a rule set with the part that makes it: a rule, an outcome, the default …"""
    for rule in rs.rules:
        yield f"`{rule.id}`", rule.reason.cite
        for note in getattr(rule, "consequences", ()):
            yield f"`{rule.id}`", note.cite
    for outcome in rs.outcomes:
        for note in outcome.consequences:
            yield f"outcome `{outcome.id}`", note.cite
    yield "default", rs.default_reason.cite
    for reading in rs.readings:
        yield f"reading {reading.id}", reading.cite
    for parameter in rs.parameters:
        if parameter.cite is not None:
            yield f"parameter `{parameter.name}`", parameter.cite


def clause_section(rulesets: Iterable[RuleSet], indexes: Mapping[str, ClauseIndex]) -> list[str]:
    """Every indexed clause of the source documents with its status and the rules citing it (the
    clause index, ``sources/``; tariff items citing a clause: ``flets-elig coverage``)."""
    cited: dict[tuple[str, str], list[str]] = {}
    for rs in sorted(rulesets, key=lambda r: (r.id, r.effective_from)):
        link = f"[`{rs.id}`](#{rs.id.replace('_', '-')})"
        for part, cite in _citations(rs):
            index = indexes.get(cite.source)
            for found in (index.resolve(cite.clause) or []) if index else []:
                entry = f"{link} {part}"
                names = cited.setdefault((cite.source, found.clause.id), [])
                if entry not in names:
                    names.append(entry)
    lines = [
        "## Clauses of the source documents",
        "",
        "Every clause of the clause index (`sources/`, [format](clause-index.md)) with its status and the",
        "rules citing it; `flets-elig coverage` adds the tariff items.",
        "",
    ]
    for source in sorted(indexes):
        lines += [f"### {source} — {_cell(SEEDS.get(source, ''))}", ""]
        lines += ["| clause | status | what it says | rules |", "| --- | --- | --- | --- |"]
        index = indexes[source]
        inside: dict[str, list[str]] = {}
        for clause in index.clauses:
            if (source, clause.id) in cited:
                for parent in index.ancestors(clause):
                    inside.setdefault(parent.id, []).append(clause.id)
        for clause in index.clauses:
            within = inside.get(clause.id)
            through = f"through {_cell(', '.join(within))}" if within else "–"
            rules = "; ".join(cited.get((source, clause.id), [])) or through
            lines.append(
                f"| {_cell(clause.id)} | {clause.status} | {_cell(clause.heading.en)} | {rules} |"
            )
        lines.append("")
    return lines


def render_catalogue(
    rulesets: Iterable[RuleSet], indexes: Mapping[str, ClauseIndex] | None = None
) -> str:
    """The catalogue page; the clause section reads the bundled clause index unless given one."""
    rulesets = list(rulesets)
    if indexes is None:
        indexes, _ = read_index_folder(bundled_dir("sources"))
    ordered = sorted(rulesets, key=lambda r: (r.id, r.effective_from))
    lines = [
        "# Rules catalogue",
        "",
        "Generated by `flets-elig catalogue` from `rules/` — do not edit by hand. Each rule names the source",
        "document and clause it encodes; search this page for a clause (e.g. `第8条`) to find where it lives.",
        "",
        "| rule set | version | title | rules | examples |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    lines.extend(
        f"| [`{rs.id}`](#{rs.id.replace('_', '-')}) | {rs.version} | {_cell(rs.title.en)} | {len(rs.rules)} "
        f"| {len(rs.examples)} |"
        for rs in ordered
    )
    lines.append("")
    for rs in ordered:
        lines.extend(ruleset_section(rs))
    if indexes:
        lines.extend(clause_section(ordered, indexes))
    return "\n".join(lines).rstrip() + "\n"
