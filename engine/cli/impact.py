"""``flets-elig impact``: replay decisions against a candidate rules folder and print what changes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

from ..clock import today_in_tokyo
from ..errors import EngineError, ValidationError, format_diagnostics
from ..lifecycle.decision_log import Query, start_of_day
from ..lifecycle.impact import Case, open_cases, replay
from ..lifecycle.reload import load_bundle
from ..paths import rules_dir
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, default_log_url


def cmd_impact(args: argparse.Namespace) -> int:
    """Replay decisions against ``--candidate`` and print what would change.

    The cases stream from the log or the fact file while they are replayed (bounded memory, however
    long the log); a fact file's bad line stops the replay with the line named.
    """
    query = Query(ruleset=args.ruleset, since=start_of_day(args.since) if args.since else None)
    as_of = args.as_of or today_in_tokyo()
    with ExitStack() as stack:
        try:
            cases = stack.enter_context(
                open_cases(args.log or default_log_url(), args.facts, query, args.ruleset, as_of)
            )
        except (OSError, ValueError, EngineError) as exc:
            print(f"cannot read the cases: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return _replay(args, cases)


def _replay(args: argparse.Namespace, cases: Iterator[Case]) -> int:
    try:
        current = load_bundle(args.rules or rules_dir())
    except ValidationError as exc:
        print(f"current rules:\n{format_diagnostics(exc.errors)}", file=sys.stderr)
        return EXIT_FAILED
    try:
        candidate = load_bundle(args.candidate)
    except ValidationError as exc:
        current.close()
        print(f"candidate rules fail check:\n{format_diagnostics(exc.errors)}", file=sys.stderr)
        return EXIT_FAILED
    try:
        report = replay(cases, current.rulebook, candidate.rulebook)
    except (OSError, ValueError, EngineError) as exc:  # from reading the cases, one at a time
        print(f"cannot read the cases: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        current.close()
        candidate.close()
    print(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.render()
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add ``flets-elig impact`` to the command line."""
    cmd = commands.add_parser("impact", help="replay decisions against a candidate rules folder")
    cmd.add_argument("--candidate", type=Path, required=True, help="the changed rules folder")
    cmd.add_argument("--rules", type=Path, help="the current rules (default: bundled rules/)")
    source = cmd.add_mutually_exclusive_group()
    source.add_argument("--log", help="decision log URL (default: $FLETS_AUDIT_URL or instance/)")
    source.add_argument("--facts", type=Path, help="a .csv or .jsonl file of fact sets instead")
    cmd.add_argument("--ruleset", help="only this rule set (and the default for a fact file)")
    cmd.add_argument("--since", type=date.fromisoformat, help="log entries from this day")
    cmd.add_argument(
        "--as-of", type=date.fromisoformat, help="date for fact-file cases (default today)"
    )
    cmd.add_argument("--json", action="store_true", help="the report as JSON")
    cmd.set_defaults(func=cmd_impact)
