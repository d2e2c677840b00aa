"""What every ``flets-elig`` sub-command shares: the exit codes and the argument readers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from ..paths import PROJECT_ROOT

#: The exit codes of every command: done; the files, examples or checks failed; a bad argument or
#: input (argparse itself also exits with 2).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: What ``add_subparsers()`` returns: each command module's ``register`` adds its command to it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def read_json_argument(value: str) -> Any:
    """``JSON`` text, ``@file``, or ``@-`` for standard input. Raises OSError or ValueError."""
    if value.startswith("@"):
        name = value[1:]
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    else:
        text = value
    parsed = json.loads(text)
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds an unpaired UTF-16 surrogate escape") from None
    return parsed


def iso_date(value: str) -> date:
    """An argparse type for ``YYYY-MM-DD`` with a readable error."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def default_log_url() -> str:
    """The decision log ``log`` and ``impact`` read by default: ``$FLETS_AUDIT_URL``, else the SQLite
    file the server writes by default."""
    return os.environ.get("FLETS_AUDIT_URL") or str(PROJECT_ROOT / "instance" / "decisions.sqlite3")
