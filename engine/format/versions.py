"""Version discipline: one content per ``id@version``, for rule sets and tariffs alike.

An auditor reads a decision's version and must be able to tell which rules gave it. So once a
version has been served (locked, published, logged), its content is fixed: a changed file needs a new
``version``. Each loaded version has a **content digest** (:func:`content_digest`): ``sha256:`` and
the SHA-256 of the canonical JSON of the file's parsed YAML (keys sorted, no spaces, UTF-8). Comments,
blank lines, quoting and key order do not count, so reformatting a file or fixing a comment needs no
bump; any changed value does.

The committed ledger of each folder, ``versions.lock`` (:data:`LOCK_FILE`), maps every ``id@version``
ever published to its digest, like a package manager's lock file: ``flets-elig lock`` appends the new
versions of a folder, and every check and load of the folder refuses a file whose ``id@version`` is in
the ledger with another digest (:func:`check_versions`, diagnostic ``version-not-bumped`` at the
file's ``version:`` line, naming the version to use instead). The server adds what it knows beyond the
ledger (the versions it served, the decision log's and the publish record's digests;
:mod:`engine.lifecycle.versions`) through the same function.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SourceLocation
from .loader import MarkedDict, to_json

#: The ledger's file name in a rules or tariffs folder.
LOCK_FILE = "versions.lock"
#: The diagnostic code of a changed file under a known version.
NOT_BUMPED = "version-not-bumped"
#: The diagnostic code of a ledger line that cannot be read.
BAD_LOCK = "bad-versions-lock"

_LOCK_HEADER = (
    "# The content digest of every version published from this folder (flets-elig lock).\n"
    "# A version's content never changes: change a file, change its version. docs/lifecycle.md\n"
)
_LINE = re.compile(r"(?P<key>[^\s@]+@[^\s@]+)\s+(?P<digest>sha256:[0-9a-f]{64})")


def content_digest(raw: Any) -> str:
    """The digest of a parsed YAML document: ``sha256:`` + hex of its canonical JSON."""
    canonical = json.dumps(
        to_json(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def short(digest: str) -> str:
    """A digest as people read it: the first 12 hex digits."""
    return digest.removeprefix("sha256:")[:12]


@dataclass(frozen=True)
class VersionedFile:
    """One loaded version: which id and version, its digest, and where its ``version:`` is written."""

    id: str
    version: str
    digest: str
    location: SourceLocation

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


def versioned_file(raw: Any, id_key: str, digest: str | None = None) -> VersionedFile | None:
    """The :class:`VersionedFile` of a parsed document whose id is under ``id_key`` (``ruleset`` or
    ``tariff``); ``None`` when it names no id or version (validation reports that)."""
    if not isinstance(raw, MarkedDict):
        return None
    ident, version = raw.get(id_key), raw.get("version")
    if not isinstance(ident, str) or not isinstance(version, str | int | float) or not ident:
        return None
    return VersionedFile(ident, str(version), digest or content_digest(raw), raw.where("version"))


@dataclass(frozen=True)
class Known:
    """A digest some earlier use fixed for an ``id@version``, and which use (``versions.lock``,
    ``the served generation``, ``the decision log``, ``publish 12``)."""

    digest: str
    where: str


def read_lock(folder: Path) -> tuple[dict[str, str], list[Diagnostic]]:
    """The ledger of ``folder`` (``{"id@version": digest}``; empty when there is none) and a
    diagnostic for each line that is neither a comment nor ``id@version sha256:<hex>``."""
    path = folder / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [
            Diagnostic(BAD_LOCK, f"cannot read the ledger ({exc})", SourceLocation(str(path)))
        ]
    entries: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        found = _LINE.fullmatch(stripped)
        if found is None:
            problems.append(Diagnostic(BAD_LOCK, "a ledger line is 'id@version sha256:<64 hex>'",
                                       SourceLocation(str(path), number, 1)))  # fmt: skip
            continue
        entries.setdefault(found["key"], found["digest"])
    return entries, problems


def format_lock(entries: Mapping[str, str]) -> str:
    """The ledger's text: the header, then one ``id@version digest`` line per entry, sorted."""
    lines = [f"{key} {digest}\n" for key, digest in sorted(entries.items())]
    return _LOCK_HEADER + "".join(lines)


def lock_entries(files: Iterable[VersionedFile], current: Mapping[str, str]) -> dict[str, str]:
    """``current`` plus the versions of ``files`` it lacks (a locked version is never rewritten)."""
    entries = dict(current)
    for found in files:
        entries.setdefault(found.key, found.digest)
    return entries


def next_version(version: str, taken: Iterable[str] = ()) -> str:
    """The version to suggest instead of ``version``: its last number plus one (``1.1.0`` →
    ``1.1.1``; ``2`` → ``3``; text without a number gets ``.1``), past every version in ``taken``."""
    used = set(taken)
    candidate = version
    while True:
        match = re.search(r"(\d+)(?!.*\d)", candidate)
        if match is None:
            candidate = f"{candidate}.1"
        else:
            candidate = f"{candidate[: match.start()]}{int(match[1]) + 1}{candidate[match.end() :]}"
        if candidate not in used and candidate != version:
            return candidate


def check_versions(
    files: Iterable[VersionedFile],
    known: Mapping[str, Known],
    kind: str = "rule set",
    versions_of: Mapping[str, Iterable[str]] | None = None,
) -> list[Diagnostic]:
    """A ``version-not-bumped`` error for each file whose ``id@version`` is ``known`` with another
    digest, at its ``version:`` line, naming the version to use (past every version of that id in
    ``versions_of``, and past those ``known``)."""
    found: list[Diagnostic] = []
    for file in files:
        earlier = known.get(file.key)
        if earlier is None or earlier.digest == file.digest:
            continue
        taken = {k.split("@", 1)[1] for k in known if k.split("@", 1)[0] == file.id}
        taken.update((versions_of or {}).get(file.id, ()))
        bump = next_version(file.version, taken)
        message = (
            f"{kind} {file.id!r} version {file.version} was already used with other content "
            f"({short(earlier.digest)}, in {earlier.where}; this file is {short(file.digest)}): "
            f"a changed file needs a new version; set `version: {bump}`"
        )
        found.append(Diagnostic(NOT_BUMPED, message, file.location, "version"))
    return found


def lock_known(entries: Mapping[str, str], folder: Path) -> dict[str, Known]:
    """The ledger's entries as :class:`Known` digests, each naming the ledger file."""
    where = str(folder / LOCK_FILE)
    return {key: Known(digest, where) for key, digest in entries.items()}
