"""``flets-elig lock``: record the content digest of every new version in the folders' ledgers.

Each folder's ``versions.lock`` (:mod:`engine.format.versions`) maps every ``id@version`` published
from it to its content digest; ``check``, ``test`` and every reload refuse a file whose version is
locked with another digest. ``lock`` appends the versions not locked yet (a locked line is never
rewritten) and refuses, naming the version to bump, when a file changed under a locked version.
Commit the ledger with the files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ValidationError, format_diagnostics
from ..format.loader import read_yaml_file, yaml_files
from ..format.versions import (
    LOCK_FILE,
    VersionedFile,
    check_versions,
    format_lock,
    lock_entries,
    lock_known,
    read_lock,
    versioned_file,
)
from ..paths import rules_dir, tariffs_dir
from .args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Commands


def folder_versions(folder: Path, id_key: str) -> tuple[list[VersionedFile], list[str]]:
    """The versions of the files of ``folder`` (their ids under ``id_key``), and the problems of
    files that do not parse (they are not locked)."""
    found: list[VersionedFile] = []
    problems: list[str] = []
    for path in yaml_files(folder):
        try:
            raw = read_yaml_file(path)
        except ValidationError as exc:
            problems.append(format_diagnostics(exc.errors))
            continue
        versioned = versioned_file(raw, id_key)
        if versioned is not None:
            found.append(versioned)
    return found, problems


def lock_folder(folder: Path, id_key: str, kind: str, dry_run: bool = False) -> tuple[int, str]:
    """Append the new versions of ``folder`` to its ledger; (how many, the problems as text)."""
    files, problems = folder_versions(folder, id_key)
    entries, bad = read_lock(folder)
    refused = check_versions(files, lock_known(entries, folder), kind)
    if bad or refused or problems:
        return 0, "\n".join([format_diagnostics([*bad, *refused]), *problems]).strip()
    updated = lock_entries(files, entries)
    added = len(updated) - len(entries)
    if added and not dry_run:
        (folder / LOCK_FILE).write_text(format_lock(updated), encoding="utf-8")
    return added, ""


def cmd_lock(args: argparse.Namespace) -> int:
    """Lock the new versions of the rules and tariffs folders (``--check``: only say whether any
    version is not locked yet, or changed under its lock)."""
    status = EXIT_OK
    for kind, folder, id_key in (
        ("rule set", Path(args.rules) if args.rules else rules_dir(), "ruleset"),
        ("tariff", Path(args.tariffs) if args.tariffs else tariffs_dir(), "tariff"),
    ):
        if not folder.is_dir():
            if args.rules or args.tariffs:
                print(f"no such folder: {folder}")
                return EXIT_USAGE
            continue
        added, problems = lock_folder(folder, id_key, kind, dry_run=args.check)
        if problems:
            print(problems)
            status = EXIT_FAILED
            continue
        verb = "not locked yet" if args.check else "locked"
        print(f"{folder / LOCK_FILE}: {added} new versions {verb}")
        if args.check and added:
            status = EXIT_FAILED
    return status


def register(commands: Commands) -> None:
    """Add ``lock`` to the command line."""
    lock = commands.add_parser(
        "lock", help="record the digest of every new version in the folders' versions.lock"
    )
    lock.add_argument("--rules", default=None, help="rules folder (default: the bundled rules/)")
    lock.add_argument("--tariffs", default=None, help="tariffs folder (default: bundled tariffs/)")
    lock.add_argument(
        "--check", action="store_true", help="change nothing; fail when a version is not locked"
    )
    lock.set_defaults(func=cmd_lock)
