"""``flets-elig``: check rule files, run their examples, and make decisions from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import EngineError, FactsError, ValidationError, format_diagnostics
from ..lifecycle import audit, impact
from ..paths import rules_dir, tariffs_dir
from ..rules.analysis import analyse_all
from ..rules.catalogue import render_catalogue
from ..rules.evaluate import describe_facts
from ..rules.rulebook import load_rulebook, read_rulesets, rule_files
from ..tariff import load_tariffs, run_examples
from . import quote as tariff_cli
from .args import iso_date, read_json_argument

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _targets(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.paths] or [rules_dir()]


def cmd_check(args: argparse.Namespace) -> int:
    """Validate rule files; print every diagnostic as file:line:column: code: message."""
    targets = _targets(args)
    missing = [str(t) for t in targets if not t.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    paths = [p for t in targets for p in rule_files(t)]
    rulesets, diagnostics = read_rulesets(paths)
    diagnostics.extend(analyse_all(rulesets))  # overlaps, gaps, rules that never fire
    shown = [d for d in diagnostics if args.warnings or d.severity == "error"]
    if shown:
        print(format_diagnostics(shown))
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    print(
        f"{len(paths)} files, {len(rulesets)} rule sets valid, {errors} errors, {warnings} warnings"
    )
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
    finally:
        book.close()
    failed = [r for r in results if not r.passed]
    tariff_failures = _tariff_example_failures() if args.tariffs else []
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
    """Print the decision for one fact set as JSON."""
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
    try:
        decision = book.decide(args.ruleset, facts, args.as_of)
    except FactsError as exc:
        for field, problems in sorted(exc.fields.items()):
            print(f"facts.{field}: {'; '.join(map(str, problems))}", file=sys.stderr)  # type: ignore[call-overload]
        return EXIT_USAGE
    except EngineError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    finally:
        book.close()
    print(json.dumps(decision.to_dict(args.lang), ensure_ascii=False, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flets-elig", description="Flets eligibility rules: check, test and decide."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate rule files (default: the bundled rules/)")
    check.add_argument("paths", nargs="*", help="rule files or folders")
    check.add_argument("--no-warnings", dest="warnings", action="store_false")
    check.set_defaults(func=cmd_check)

    test = sub.add_parser("test", help="run every rule set's examples through the engine")
    test.add_argument("paths", nargs="*", help="rule files or folders")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    test.add_argument(
        "--no-tariffs", dest="tariffs", action="store_false", help="skip the tariffs' examples"
    )
    test.set_defaults(func=cmd_test)

    catalogue = sub.add_parser("catalogue", help="print the Markdown catalogue of rules")
    catalogue.add_argument("paths", nargs="*", help="rule files or folders")
    catalogue.set_defaults(func=cmd_catalogue)

    decide = sub.add_parser("decide", help="decide one case: decide RULESET --facts JSON|@file")
    decide.add_argument("ruleset")
    decide.add_argument("--facts", required=True, help="a JSON object, or @file, or @- for stdin")
    decide.add_argument(
        "--as-of", type=iso_date, default=None, help="decision date (default today)"
    )
    decide.add_argument("--lang", choices=("ja", "en"), default="ja")
    decide.add_argument("--rules", default=None, help="rules folder (default: bundled rules/)")
    decide.set_defaults(func=cmd_decide)
    audit.register(sub)
    impact.register(sub)
    tariff_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
