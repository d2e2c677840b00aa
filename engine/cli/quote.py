"""``flets-elig quote --request JSON|@file [--tariffs DIR] [--as-of DATE]``: price a quote request.

Prints the quote as JSON; for a bad request, the field errors (:data:`~.args.EXIT_USAGE`); for a bad
tariff folder, the file diagnostics (:data:`~.args.EXIT_FAILED`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ValidationError
from ..paths import tariffs_dir
from ..tariff.book import QuoteRequestError, load_tariffs
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands, iso_date, read_json_argument


def cmd_quote(args: argparse.Namespace) -> int:
    """Price ``--request`` and print the quote as JSON."""
    try:
        request = read_json_argument(args.request)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the request ({exc})", file=sys.stderr)
        return EXIT_USAGE
    try:
        book = load_tariffs(args.tariffs or tariffs_dir())
        quote = book.quote(request, as_of=args.as_of)
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    except QuoteRequestError as exc:
        print(json.dumps({"errors": exc.fields}, ensure_ascii=False, indent=2), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(quote, ensure_ascii=False, indent=2))
    return EXIT_OK


def register(commands: Commands) -> None:
    """Add ``flets-elig quote`` to the command line."""
    parser = commands.add_parser(
        "quote", help="price a quote request against the tariffs and print it as JSON"
    )
    parser.add_argument(
        "--request", required=True, help="the request as JSON text, or @path to a JSON file"
    )
    parser.add_argument(
        "--tariffs", type=Path, default=None, help="tariff folder (default: the bundled tariffs/)"
    )
    parser.add_argument("--as-of", type=iso_date, default=None, help="YYYY-MM-DD")
    parser.set_defaults(func=cmd_quote)
