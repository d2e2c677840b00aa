"""Decision-table plans (and validated loads) kept in a folder, built once per machine and shared by
every process.

The server's workers start together and each would build every plan (most of a start: see
:mod:`engine.rules.plans`). :class:`PlanFolder` keeps each plan's stored form as one JSON file named by
its identity; the first process to need a plan takes an exclusive lock on ``<identity>.lock`` and builds
it while the others wait on the lock, then read the file. Files are written whole (a temporary file,
then a rename), so a reader never sees half a plan, and nothing stale can match: a changed rule set,
engine or durable_rules version has another identity. What a damaged file costs is a rebuild (the table
checks every stored plan against durable_rules before use).

The same folder keeps what the rule and tariff files validate to (:mod:`.load_cache`), named
``load<digest>.json``, under the same locking and writing; those are trimmed apart from the plans.

The folder is ``$FLETS_PLAN_CACHE`` (``none`` turns the cache off) or ``flets-eligibility/plans`` in
the user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``). It is created private to the user
(0700): the files decide answers.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: ``FLETS_PLAN_CACHE``: the folder, or ``none`` for no cache (every process builds its own plans).
CACHE_ENV = "FLETS_PLAN_CACHE"
OFF = "none"
#: Files a folder keeps before the oldest are removed (the bundled rules need about twenty; each
#: edit of a rule set adds one).
MAX_FILES = 512
#: The names of the validated loads of :mod:`.load_cache` start so; being about 1 MB each (a plan is a
#: few kB), the folder keeps the newest :data:`MAX_LOADS` of them apart from the plans.
LOAD_PREFIX = "load"
MAX_LOADS = 16


def default_folder(named: str | None = None) -> Path | None:
    """The folder ``named`` (a setting's text; default ``$FLETS_PLAN_CACHE``), or the user's cache
    folder when nothing is named; ``None`` when the cache is off (``none``)."""
    if named is None:
        named = os.environ.get(CACHE_ENV)
    if named:
        return None if named.strip().lower() == OFF else Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flets-eligibility" / "plans"


class PlanFolder:
    """A :class:`engine.rules.plans.PlanStore` in a folder (see the module's doc)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = folder

    def _path(self, key: str) -> Path:
        if not key.isalnum():  # identities are hex digests: never a path
            raise ValueError(f"not a plan identity: {key!r}")
        return self.folder / f"{key}.json"

    def _read(self, path: Path) -> object | None:
        try:
            found: object = json.loads(path.read_bytes())
            return found
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # damaged: the caller rebuilds it
            log.warning("plan cache: %s is unreadable (%s); rebuilding it", path.name, exc)
            return {}

    def fetch(self, key: str, build: Callable[[], dict[str, Any]]) -> object:
        path = self._path(key)
        found = self._read(path)
        if found is not None:
            return found
        with open(self.folder / f"{key}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait, then read it
            try:
                found = self._read(path)
                if found is not None:
                    return found
                value = build()
                self._write(path, value)
                return value
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def replace(self, key: str, value: dict[str, Any]) -> None:
        self._write(self._path(key), value)

    def _write(self, path: Path, value: dict[str, Any]) -> None:
        try:
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".plan-", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps(value, separators=(",", ":")).encode())
            os.replace(temporary, path)
            self._trim()
        except OSError as exc:  # a full or read-only disk: serve from memory, build again next time
            log.warning("plan cache: cannot write %s (%s)", path.name, exc)

    def _trim(self) -> None:
        files = sorted(self.folder.glob("*.json"), key=_mtime)
        loads = [p for p in files if p.name.startswith(LOAD_PREFIX)]
        plans = [p for p in files if not p.name.startswith(LOAD_PREFIX)]
        for group, keep in ((plans, MAX_FILES), (loads, MAX_LOADS)):
            for old in group[: max(0, len(group) - keep)]:
                old.unlink(missing_ok=True)
                old.with_suffix(".lock").unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process's trim meanwhile: first to go anyway
        return 0.0


def open_plan_cache(named: str | None = None) -> PlanFolder | None:
    """The plan folder :func:`default_folder` finds for ``named``, or ``None`` when the cache is off or
    the folder cannot be made (the process then builds its own plans, as without a cache)."""
    folder = default_folder(named)
    if folder is None:
        return None
    try:
        return PlanFolder(folder)
    except OSError as exc:
        log.warning("plan cache: cannot use %s (%s); building plans in memory only", folder, exc)
        return None
