"""``flets-elig``: check rule files, run their examples, make decisions and quotes, read the decision
log and measure the impact of a change, from the command line.

One module per group of commands, each with a ``register`` that adds its commands to the parser:
:mod:`.rules` (``check``, ``test``, ``catalogue``, ``decide``), :mod:`.log`, :mod:`.impact` and
:mod:`.quote`, :mod:`.coverage`. Every command returns one of the exit codes of :mod:`.args`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..lifecycle.plan_cache import open_plan_cache
from ..rules.plans import use_plan_store
from . import coverage, impact, log, quote, rules, versions
from .args import EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``flets-elig`` parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="flets-elig", description="Flets eligibility rules: check, test and decide."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rules.register(commands)
    log.register(commands)
    impact.register(commands)
    quote.register(commands)
    coverage.register(commands)
    versions.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the process's arguments); returns the exit code."""
    args = build_parser().parse_args(argv)
    # Decision tables built once per machine, as the server does (FLETS_PLAN_CACHE; `none`: off).
    use_plan_store(open_plan_cache())
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
