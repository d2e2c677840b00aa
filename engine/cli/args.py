"""Argument readers shared by the ``flets-elig`` sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any


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
