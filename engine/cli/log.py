"""``flets-elig log``: print logged decisions, oldest first, one JSON object per line or a table."""

from __future__ import annotations

import argparse
import json
import sys

from ..clock import TOKYO
from ..errors import EngineError
from ..lifecycle.decision_log import DEFAULT_QUERY_LIMIT, Query, open_decision_log, start_of_day
from .args import EXIT_OK, EXIT_USAGE, Commands, default_log_url, iso_date


def cmd_log(args: argparse.Namespace) -> int:
    """Print logged decisions, oldest first, one JSON object per line (or a table)."""
    query = Query(
        ruleset=args.ruleset,
        since=start_of_day(args.since) if args.since else None,
        until=start_of_day(args.until) if args.until else None,
        outcome=args.outcome,
        request_id=args.request_id,
        limit=args.limit,
    )
    try:
        log = open_decision_log(args.log or default_log_url())
    except (ValueError, EngineError, OSError) as exc:
        print(f"--log: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        records = log.query(query)
    finally:
        log.close()
    for record in records:
        if args.json:
            print(json.dumps(record.to_dict(), ensure_ascii=False))
        else:
            print(f"{record.decided_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} {record.request_id} "
                  f"{record.ruleset}@{record.version} {record.outcome} {','.join(record.reasons)}")  # fmt: skip
    print(f"{len(records)} decisions", file=sys.stderr)
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add ``flets-elig log`` to the command line."""
    cmd = commands.add_parser("log", help="query the decision log")
    cmd.add_argument("--ruleset", help="only this rule set")
    cmd.add_argument("--since", type=iso_date, help="from this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--until", type=iso_date, help="before this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--outcome", help="only this outcome id")
    cmd.add_argument("--request-id", help="only this request")
    cmd.add_argument("--limit", type=int, default=DEFAULT_QUERY_LIMIT)
    cmd.add_argument("--log", help="sqlite:///path, a file path or postgresql://… (default: "
                     "$FLETS_AUDIT_URL or instance/decisions.sqlite3)")  # fmt: skip
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.set_defaults(func=cmd_log)
