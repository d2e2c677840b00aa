"""The rule-file commands: ``check``, ``test``, ``catalogue`` and ``decide``.

Each loads the rules with the one loader (:func:`~engine.rules.rulebook.load_rulebook`), or for
``check`` runs its checks without compiling (:func:`~engine.rules.rulebook.check_rule_files`), so a
folder ``check`` fails is refused by every command and by the server alike.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..errors import Diagnostic, EngineError, FactsError, ValidationError, format_diagnostics
from ..lifecycle.coverage import bundled_coverage
from ..paths import rules_dir, tariffs_dir
from ..rules import partial
from ..rules.catalogue import render_catalogue
from ..rules.coverage import coverage_summary, render_coverage, rulebook_coverage
from ..rules.evaluate import describe_facts
from ..rules.partial import UnknownListError
from ..rules.rulebook import check_rule_files, load_rulebook, rule_files
from ..tariff import load_tariffs, run_examples
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, iso_date, read_json_argument


def _targets(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.paths] or [rules_dir()]


#: A tariff folder's files name themselves with one of these keys (a rule file with ``ruleset:``).
_TARIFF_KEYS = re.compile(r"^(tariff|consumption_tax):", re.MULTILINE)


def is_tariff_folder(target: Path) -> bool:
    """Whether ``target`` is a folder of tariffs (its files say ``tariff:`` or ``consumption_tax:``)
    rather than of rule sets, so ``check`` checks what it holds."""
    if not target.is_dir():
        return False
    return any(
        _TARIFF_KEYS.search(path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(target.glob("*.y*ml"))
    )


def _check_tariffs(folder: Path) -> tuple[int, int, list[Diagnostic]]:
    """(files, tariffs valid, diagnostics) of one tariff folder, through the tariffs' own loader."""
    files = len(list(folder.glob("*.y*ml")))
    try:
        book = load_tariffs(folder)
    except ValidationError as exc:
        return files, 0, list(exc.errors)
    return files, len(book.tariffs), []


def cmd_check(args: argparse.Namespace) -> int:
    """Validate and analyse rule files and tariff folders; print every diagnostic as
    file:line:column: code: message. With no path: the bundled rules, tariffs and clause index."""
    targets = [Path(p) for p in args.paths] or [rules_dir(), tariffs_dir()]
    missing = [str(t) for t in targets if not t.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    tariff_folders = [t for t in targets if is_tariff_folder(t)]
    paths = [p for t in targets if t not in tariff_folders for p in rule_files(t)]
    rulesets, diagnostics = check_rule_files(paths) if paths or not tariff_folders else ([], [])
    files, tariffs = len(paths), 0
    for folder in tariff_folders:
        counted, valid, found = _check_tariffs(folder)
        files, tariffs, diagnostics = files + counted, tariffs + valid, [*diagnostics, *found]
    if not args.paths:  # the bundled folders: their clause index must account for every citation
        diagnostics = [*diagnostics, *bundled_coverage().diagnostics]
    shown = [d for d in diagnostics if args.warnings or d.severity == "error"]
    if shown:
        print(format_diagnostics(shown))
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    checked = f"{len(rulesets)} rule sets valid"
    if tariff_folders:
        checked += f", {tariffs} tariffs valid"
    print(f"{files} files, {checked}, {errors} errors, {warnings} warnings")
    return EXIT_FAILED if errors else EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    """Run every rule set's examples through the real engine, reporting like a test runner."""
    try:
        book = load_rulebook(*_targets(args))
    except ValidationError as exc:
        print(format_diagnostics(exc.errors))
        return EXIT_FAILED
    try:
        results = book.run_examples()
        covered = rulebook_coverage(book) if args.coverage else None
    finally:
        book.close()
    failed = [r for r in results if not r.passed]
    tariff_failures = _tariff_example_failures() if args.tariffs else []
    if covered is not None and args.json:
        failures = [f"{r.where} {r.ruleset.id}: {r.failure}" for r in failed] + tariff_failures
        report = {"passed": len(results) - len(failed), "failed": len(failures)}
        print(json.dumps({**report, "failures": failures, "coverage": coverage_summary(covered)},
                         ensure_ascii=False))  # fmt: skip
        return EXIT_FAILED if failures else EXIT_OK
    for result in failed:
        example = result.ruleset.examples[result.index]
        print(f"FAILED {result.where} {result.ruleset.id}: {result.note}")
        print(f"    facts: {describe_facts(example.facts)}")
        print(f"    {result.failure}")
    if args.verbose:
        for result in results:
            if result.passed:
                print(f"ok     {result.where} {result.ruleset.id}: {result.note}")
    for failure in tariff_failures:
        print(f"FAILED {failure}")
    if covered is not None:
        print(render_coverage(covered))
    passed = len(results) - len(failed)
    print(f"{passed} passed, {len(failed) + len(tariff_failures)} failed")
    return EXIT_FAILED if failed or tariff_failures else EXIT_OK


def _tariff_example_failures() -> list[str]:
    """Failures of the bundled tariffs' examples (a bad tariff folder counts as failures too)."""
    try:
        return run_examples(load_tariffs(tariffs_dir()))
    except ValidationError as exc:
        return [str(d) for d in exc.errors]


def cmd_catalogue(args: argparse.Namespace) -> int:
    """Print the Markdown catalogue of every rule set and rule with its citation."""
    try:
        book = load_rulebook(*_targets(args))
    except ValidationError as exc:
        print(format_diagnostics(exc.errors), file=sys.stderr)
        return EXIT_FAILED
    try:
        sys.stdout.write(render_catalogue(book.all_rulesets()))
    finally:
        book.close()
    return EXIT_OK


def cmd_decide(args: argparse.Namespace) -> int:
    """Print the decision for one fact set as JSON: with ``--unknown``, the partial answer (the
    outcomes still possible); with ``--whatif``, the changes that would change it."""
    try:
        facts = read_json_argument(args.facts)
    except (OSError, ValueError) as exc:
        print(f"--facts: cannot read JSON ({exc})", file=sys.stderr)
        return EXIT_USAGE
    try:
        book = load_rulebook(Path(args.rules) if args.rules else rules_dir())
    except ValidationError as exc:
        print(format_diagnostics(exc.errors), file=sys.stderr)
        return EXIT_FAILED
    unknown = [name.strip() for name in args.unknown.split(",") if name.strip()]
    try:
        decision = partial.decide(book, args.ruleset, facts, unknown, args.as_of, args.whatif)
    except (FactsError, UnknownListError) as exc:
        prefix = "facts" if isinstance(exc, FactsError) else "unknown"
        for field, problems in sorted(exc.fields.items()):
            print(f"{prefix}.{field}: {'; '.join(map(str, problems))}", file=sys.stderr)  # type: ignore[call-overload]
        return EXIT_USAGE
    except EngineError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    finally:
        book.close()
    print(json.dumps(decision.to_dict(args.lang), ensure_ascii=False, indent=2))
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add ``check``, ``test``, ``catalogue`` and ``decide`` to the command line."""
    check = commands.add_parser("check", help="validate rule files (default: the bundled rules/)")
    check.add_argument("paths", nargs="*", help="rule files or folders")
    check.add_argument("--no-warnings", dest="warnings", action="store_false")
    check.set_defaults(func=cmd_check)

    test = commands.add_parser("test", help="run every rule set's examples through the engine")
    test.add_argument("paths", nargs="*", help="rule files or folders")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    test.add_argument(
        "--no-tariffs", dest="tariffs", action="store_false", help="skip the tariffs' examples"
    )
    test.add_argument(
        "--coverage", action="store_true", help="report which rules the examples reach (and not)"
    )
    test.add_argument("--json", action="store_true", help="with --coverage: the report as JSON")
    test.set_defaults(func=cmd_test)

    catalogue = commands.add_parser("catalogue", help="print the Markdown catalogue of rules")
    catalogue.add_argument("paths", nargs="*", help="rule files or folders")
    catalogue.set_defaults(func=cmd_catalogue)

    decide = commands.add_parser(
        "decide", help="decide one case: decide RULESET --facts JSON|@file"
    )
    decide.add_argument("ruleset")
    decide.add_argument("--facts", required=True, help="a JSON object, or @file, or @- for stdin")
    decide.add_argument(
        "--as-of", type=iso_date, default=None, help="decision date (default today)"
    )
    decide.add_argument("--lang", choices=("ja", "en"), default="ja")
    decide.add_argument("--rules", default=None, help="rules folder (default: bundled rules/)")
    decide.add_argument(
        "--unknown",
        default="",
        metavar="FACT,FACT",
        help="facts not known yet: no default, the answer lists the outcomes still possible",
    )
    decide.add_argument(
        "--whatif",
        action="store_true",
        help="add the changes that would change the answer (the risks, for a positive one)",
    )
    decide.set_defaults(func=cmd_decide)
