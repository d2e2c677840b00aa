"""``flets-elig log``: print logged decisions, oldest first (``--newest-first``), one JSON object per
line or a table, each naming its version and the first digits of that version's content digest;
``flets-elig log prune``: delete the decisions older than a date or a number of days."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date

from ..clock import TOKYO, today_in_tokyo
from ..errors import EngineError
from ..format.versions import short
from ..lifecycle.decision_log import (
    DEFAULT_QUERY_LIMIT,
    Query,
    open_decision_log,
    retention_cutoff,
    start_of_day,
)
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, default_log_url, iso_date

#: The service's retention setting; ``log prune`` without a date keeps as many days.
RETENTION_VARIABLE = "FLETS_LOG_RETENTION_DAYS"


def cmd_log(args: argparse.Namespace) -> int:
    """Print logged decisions, oldest first (or newest first), one JSON object per line (or a table)."""
    query = Query(
        ruleset=args.ruleset,
        since=start_of_day(args.since) if args.since else None,
        until=start_of_day(args.until) if args.until else None,
        outcome=args.outcome,
        request_id=args.request_id,
        limit=args.limit,
        newest_first=args.newest_first,
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
            content = f" ({short(record.digest)})" if record.digest else ""
            print(f"{record.decided_at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} {record.request_id} "
                  f"{record.ruleset}@{record.version}{content} {record.outcome} "
                  f"{','.join(record.reasons)}")  # fmt: skip
    print(f"{len(records)} decisions", file=sys.stderr)
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete the decisions logged before ``--before`` (a Tokyo day), or older than ``--keep-days``
    (default: ``$FLETS_LOG_RETENTION_DAYS``), from every shard of the log or from PostgreSQL.

    A day after today is refused: it would delete decisions answered today.
    """
    today = today_in_tokyo()
    before = _cutoff_day(args, today)
    if isinstance(before, str):
        print(before, file=sys.stderr)
        return EXIT_USAGE
    try:
        log = open_decision_log(args.log or default_log_url())
    except (ValueError, EngineError, OSError) as exc:
        print(f"--log: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        removed = log.prune(start_of_day(before))
    except EngineError as exc:
        print(f"prune: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        log.close()
    print(f"{removed} decisions logged before {before.isoformat()} (Tokyo time) deleted")
    return EXIT_OK


def _cutoff_day(args: argparse.Namespace, today: date) -> date | str:
    """The first day kept, or why the arguments name none."""
    before: date | None = args.before
    if before is not None:
        if before > today:
            return f"--before {before.isoformat()} is after today ({today.isoformat()})"
        return before
    days = args.keep_days
    if days is None:
        setting = os.environ.get(RETENTION_VARIABLE, "").strip()
        if not setting:
            return f"name --before DATE or --keep-days N (or set {RETENTION_VARIABLE})"
        if not setting.isdigit():
            return f"{RETENTION_VARIABLE}={setting!r} is not a whole number of days"
        days = int(setting)
    try:
        return retention_cutoff(days, today).date()
    except ValueError as exc:
        return str(exc)


def register(commands: Commands) -> None:
    """Add ``flets-elig log`` and ``flets-elig log prune`` to the command line."""
    cmd = commands.add_parser("log", help="query the decision log, or prune it")
    cmd.add_argument("--ruleset", help="only this rule set")
    cmd.add_argument("--since", type=iso_date, help="from this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--until", type=iso_date, help="before this day (Tokyo time), YYYY-MM-DD")
    cmd.add_argument("--outcome", help="only this outcome id")
    cmd.add_argument("--request-id", help="only this request")
    cmd.add_argument("--limit", type=int, default=DEFAULT_QUERY_LIMIT)
    cmd.add_argument("--log", help="sqlite:///path, a file path or postgresql://… (default: "
                     "$FLETS_AUDIT_URL or instance/decisions.sqlite3)")  # fmt: skip
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.add_argument(
        "--newest-first", action="store_true", help="the newest first (with --limit: the newest)"
    )
    cmd.set_defaults(func=cmd_log)
    actions = cmd.add_subparsers(title="actions", metavar="{prune}")
    prune = actions.add_parser(
        "prune", help="delete old decisions (every SQLite shard, or the PostgreSQL table)"
    )
    when = prune.add_mutually_exclusive_group()
    when.add_argument("--before", type=iso_date, help="delete what was logged before this day "
                      "(Tokyo time), YYYY-MM-DD; not after today")  # fmt: skip
    when.add_argument("--keep-days", type=int, metavar="N", help="keep today and the N days "
                      f"before it (default: ${RETENTION_VARIABLE})")  # fmt: skip
    # SUPPRESS: a sub-parser's default would overwrite `log --log URL prune`.
    prune.add_argument("--log", default=argparse.SUPPRESS, help="as for `log`")
    prune.set_defaults(func=cmd_prune)
