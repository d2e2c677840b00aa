"""``flets-elig coverage``: every clause of the source documents with its status and the rules and
tariff items citing it; ``--against`` a new edition, the worklist of what changed; ``--fingerprint``
the current edition's fingerprints written into the index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import format_diagnostics
from ..format.clauses import STATUSES, ClauseIndex
from ..format.editions import compare, fingerprints, write_fingerprints
from ..format.loader import read_yaml_file
from ..lifecycle.coverage import Coverage, bundled_coverage, citing_lines
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands


def _coverage(args: argparse.Namespace) -> Coverage:
    return bundled_coverage(
        Path(args.rules) if args.rules else None,
        Path(args.tariffs) if args.tariffs else None,
        Path(args.sources) if args.sources else None,
    )


def _print_matrix(coverage: Coverage) -> None:
    for covered in coverage.sources:
        counts = covered.counts()
        summary = ", ".join(f"{s} {counts.get(s, 0)}" for s in STATUSES)
        print(f"{covered.source} ({covered.file}): {len(covered.rows)} clauses — {summary}")
        width = max((len(r.clause.id) for r in covered.rows), default=0)
        for row in covered.rows:
            through = f"(through {', '.join(row.through)})" if row.through else "-"
            by = "; ".join(dict.fromkeys(c.label() for c in row.by)) or through
            print(f"  {row.clause.status:<10}  {row.clause.id:<{width}}  {by}")
        print()


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print the clause matrix (or ``--against`` / ``--fingerprint``); fails when a check fails."""
    coverage = _coverage(args)
    if args.against or args.fingerprint:
        return _edition(args, coverage)
    if args.source:  # the matrix of one source (the checks still cover every one)
        coverage.sources = [s for s in coverage.sources if s.source == args.source]
    if args.json:
        print(json.dumps(coverage.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_matrix(coverage)
    shown = [d for d in coverage.diagnostics if args.warnings or d.severity == "error"]
    if shown:
        print(format_diagnostics(shown), file=sys.stderr if args.json else sys.stdout)
    errors = len(coverage.errors)
    totals: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for covered in coverage.sources:
        for status, count in covered.counts().items():
            totals[status] += count
    statuses = ", ".join(f"{status} {count}" for status, count in totals.items())
    print(
        f"{len(coverage.sources)} sources, {sum(totals.values())} clauses ({statuses}), "
        f"{errors} errors",
        file=sys.stderr if args.json else sys.stdout,
    )
    return EXIT_FAILED if errors else EXIT_OK


def _pick_index(args: argparse.Namespace, coverage: Coverage, file: Path) -> ClauseIndex | None:
    name = args.source or file.name
    index = coverage.indexes.get(name)
    if index is None:
        known = ", ".join(sorted(coverage.indexes)) or "none"
        print(
            f"no clause index for {name!r}; name the source with --source (indexed: {known})",
            file=sys.stderr,
        )
    return index


def _edition(args: argparse.Namespace, coverage: Coverage) -> int:
    file = Path(args.against or args.fingerprint)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    index = _pick_index(args, coverage, file)
    if index is None:
        return EXIT_USAGE
    if args.fingerprint:
        return _write_fingerprints(index, text)
    diff = compare(index, text)

    def entry(clause_id: str) -> dict[str, object]:
        by = coverage.citing(index.source, clause_id, within=True)
        return {"id": clause_id, "by": [c.to_dict() for c in by]}

    if args.json:
        report = {
            "source": index.source,
            "edition": str(file),
            "changed": [entry(c.id) for c in diff.changed],
            "removed": [entry(c.id) for c in diff.removed],
            "added": [
                {
                    "line": a.line,
                    "within": a.within,
                    **({"by": entry(a.within)["by"]} if a.within else {}),
                }
                for a in diff.added
            ],
            "unchanged": diff.unchanged,
            "not_fingerprinted": [c.id for c in diff.unfingerprinted],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{file} against the index of {index.source} ({index.file})")
    for title, clauses in (("changed", diff.changed), ("removed", diff.removed)):
        print(f"{title} ({len(clauses)}):")
        for clause in clauses:
            print(f"  {clause.id} — {clause.heading.en}")
            for line in citing_lines(coverage.citing(index.source, clause.id, within=True)) or [
                "(cited by nothing)"
            ]:
                print(f"      {line}")
    print(f"added ({len(diff.added)}):")
    for added in diff.added:
        print(f"  {added.line!r} (inside {added.within or 'the start'})")
        if added.within:
            for line in citing_lines(coverage.citing(index.source, added.within, within=True)):
                print(f"      {line}")
    print(f"{diff.unchanged} unchanged, {len(diff.unfingerprinted)} without a fingerprint")
    return EXIT_OK


def _write_fingerprints(index: ClauseIndex, text: str) -> int:
    prints = fingerprints(index, text)
    path = Path(index.path)
    original = path.read_text(encoding="utf-8")
    updated = write_fingerprints(original, read_yaml_file(path, index.file), prints)
    if updated != original:
        path.write_text(updated, encoding="utf-8")
    missing = [c.id for c in index.clauses if c.id not in prints]
    print(f"{index.file}: {len(prints)} fingerprints written")
    if missing:
        print(f"not located (give each an anchor): {', '.join(missing)}")
        return EXIT_FAILED
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add ``coverage`` to the command line."""
    coverage = commands.add_parser(
        "coverage", help="every clause of the source documents with its status and citing rules"
    )
    coverage.add_argument("--json", action="store_true", help="print the matrix as JSON")
    edition = coverage.add_mutually_exclusive_group()
    edition.add_argument(
        "--against",
        metavar="FILE",
        help="a new edition (plain text): what changed, and who cites it",
    )
    edition.add_argument(
        "--fingerprint",
        metavar="FILE",
        help="write the fingerprints of this edition (plain text) into the source's index file",
    )
    coverage.add_argument(
        "--source",
        help="the source document FILE is an edition of (e.g. 004_84a0a3d01f54d5ce.txt); "
        "without FILE, show only its matrix",
    )
    coverage.add_argument("--rules", help="rules folder (default: the bundled rules/)")
    coverage.add_argument("--tariffs", help="tariffs folder (default: the bundled tariffs/)")
    coverage.add_argument("--sources", help="clause-index folder (default: the bundled sources/)")
    coverage.add_argument("--no-warnings", dest="warnings", action="store_false")
    coverage.set_defaults(func=cmd_coverage)
