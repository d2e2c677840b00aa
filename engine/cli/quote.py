"""The ``quote`` command: ``flets-elig quote --request JSON|@file [--tariffs DIR] [--as-of DATE]``.

``engine/cli.py`` calls :func:`register` with its sub-parser collection; the command prints the quote
as JSON, or the field errors (exit status 2) for a bad request, or the file diagnostics (exit status 1)
for a bad tariff folder. :func:`run_examples` is re-exported for ``flets-elig test``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..paths import tariffs_dir
from ..tariff.book import QuoteRequestError, load_tariffs
from ..tariff.examples import run_examples
from .args import iso_date, read_json_argument

__all__ = ["register", "run_examples", "quote_command"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``quote`` sub-command to an ``argparse`` sub-parser collection."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "quote", help="price a quote request against the tariffs and print it as JSON"
    )
    parser.add_argument(
        "--request", required=True, help="the request as JSON text, or @path to a JSON file"
    )
    parser.add_argument(
        "--tariffs", type=Path, default=None, help="tariff folder (default: the bundled tariffs/)"
    )
    parser.add_argument("--as-of", type=iso_date, default=None, help="YYYY-MM-DD")
    parser.set_defaults(func=quote_command)
    return parser


def quote_command(args: argparse.Namespace) -> int:
    """Run ``quote``; returns the exit status."""
    try:
        request = read_json_argument(args.request)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the request ({exc})", file=sys.stderr)
        return 2
    try:
        book = load_tariffs(args.tariffs or tariffs_dir())
        quote = book.quote(request, as_of=args.as_of)
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except QuoteRequestError as exc:
        print(json.dumps({"errors": exc.fields}, ensure_ascii=False, indent=2), file=sys.stderr)
        return 2
    print(json.dumps(quote, ensure_ascii=False, indent=2))
    return 0
