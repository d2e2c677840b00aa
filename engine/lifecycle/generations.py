"""The published generation: one set of rule and tariff files that every worker serves.

Each gunicorn worker is its own process with its own rulebook. When each one polled the folders for
itself, a good write followed within a second by a broken one left the workers that had polled in
between on the good files and the others on the previous version, until the next change: the broken
files were refused and the good ones were no longer on disk to load. So the files a worker serves are
not read from the folders but from a *generation*: a snapshot of the folders' files, copied once,
validated, and published for every worker in a store on disk:

    lock                       flock: one publication (or refusal, or start) at a time
    current.json               the published generation: seq, digest, time, trigger, file digests
    generations/<digest>/      its snapshot, never changed once published: rules/, tariffs/,
                               manifest.json
    refused.json               the digests lately refused, with their diagnostics
    staging/<id>/              snapshots being taken or validated
    workers/<id>.json, .lock   each following process: the generation it serves; it holds the flock
                               on its .lock for its whole life, so a lock anyone can take is a dead
                               worker's

A generation is identified by the SHA-256 of its files (names and bytes), so the same files are one
generation whoever saw them, and by a sequence number, ``seq``, that counts publications from 1 in
this store. A snapshot is read from the folders once, and the digest is computed over the copied
bytes: what is validated is exactly what is published, even while an editor is still writing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SourceLocation
from ..format.loader import yaml_files

#: How many refused digests the store remembers (a watcher does not validate them again).
REMEMBERED_REFUSALS = 8
#: Published generations kept besides the current one (a worker far behind loads the newest).
KEPT_GENERATIONS = 3
#: A staging folder older than this (seconds) was left by a process that died while validating.
STALE_STAGING = 3600.0
#: A store whose last use (a publication, a staging folder made, a worker joining or leaving) is
#: older than this (seconds), and which has no live worker, is removed when another store under the
#: same parent folder starts: a new server would start a new session in it anyway.
STALE_STORE = 3600.0

#: Per file, as far as a scan sees it: (folder role, name, size, mtime ns, ctime ns, inode). The
#: inode and ctime catch a file replaced by a rename or an edit that kept size and mtime.
Scan = tuple[tuple[str, str, int, int, int, int], ...]


@dataclass(frozen=True)
class Sources:
    """The folders a service serves: rules, and tariffs (``None``: no tariffs at all)."""

    rules: Path
    tariffs: Path | None = None

    def folders(self) -> list[tuple[str, Path]]:
        found = [("rules", self.rules)]
        if self.tariffs is not None:
            found.append(("tariffs", self.tariffs))
        return found

    def key(self) -> str:
        """A short name for these folders: processes serving the same folders share a store. (The
        paths as configured, links not followed: a deployment that switches a link to a new release
        keeps one store for the workers started before and after the switch.)"""
        text = "\0".join(os.path.abspath(folder) for _, folder in self.folders())
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def scan_sources(sources: Sources) -> Scan:
    """What the files look like now (cheap: one ``stat`` per file), to notice a change."""
    found: list[tuple[str, str, int, int, int, int]] = []
    for role, folder in sources.folders():
        try:
            paths = yaml_files(folder)
        except OSError:
            found.append((role, "", -1, 0, 0, 0))  # no such folder
            continue
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue  # removed between listing and stat: the next scan sees it gone
            found.append((role, path.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(found)


@dataclass(frozen=True)
class Snapshot:
    """A copy of the sources' files in ``folder``: ``files`` maps ``role/name`` to its SHA-256;
    ``staged_at`` (ns since the epoch) is when the copy began, to tell older copies from newer."""

    folder: Path
    digest: str
    files: Mapping[str, str]
    has_tariffs: bool
    staged_at: int = 0

    @property
    def rules(self) -> Path:
        return self.folder / "rules"

    @property
    def tariffs(self) -> Path | None:
        return self.folder / "tariffs" if self.has_tariffs else None


def copy_sources(sources: Sources, into: Path) -> Snapshot:
    """Copy every rule and tariff file into ``into`` and digest the copied bytes.

    A missing tariff folder is part of the snapshot (no tariffs); a missing rules folder is copied as
    an empty one, which the loader refuses like any folder without rule sets.
    """
    staged_at = time.time_ns()
    digest = hashlib.sha256()
    files: dict[str, str] = {}
    has_tariffs = False
    for role, folder in sources.folders():
        target = into / role
        if not folder.is_dir():
            if role == "rules":
                target.mkdir(parents=True)
            continue
        has_tariffs = has_tariffs or role == "tariffs"
        target.mkdir(parents=True)
        for path in yaml_files(folder):
            try:
                data = path.read_bytes()
            except OSError:
                continue  # removed since listing: the snapshot is of the files that exist
            (target / path.name).write_bytes(data)
            name = f"{role}/{path.name}"
            files[name] = hashlib.sha256(data).hexdigest()
    digest.update(b"tariffs\0" if has_tariffs else b"no-tariffs\0")
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\0".encode())
    return Snapshot(into, digest.hexdigest(), files, has_tariffs, staged_at)


def changed_files(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    """Which files differ between two generations (``role/name``)."""
    return {
        "added": sorted(set(after) - set(before)),
        "changed": sorted(n for n in after if n in before and before[n] != after[n]),
        "removed": sorted(set(before) - set(after)),
    }


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Generation:
    """A published generation: what every worker serves."""

    seq: int
    digest: str
    published_at: datetime
    trigger: str
    files: Mapping[str, str] = field(default_factory=dict)
    staged_at: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "generation": self.seq,
            "digest": self.digest,
            "published_at": self.published_at.isoformat(),
            "trigger": self.trigger,
            "staged_at": self.staged_at,
            "files": dict(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Generation:
        return cls(
            int(data["generation"]),
            str(data["digest"]),
            datetime.fromisoformat(data["published_at"]),
            str(data["trigger"]),
            dict(data.get("files") or {}),
            int(data.get("staged_at") or 0),
        )


@dataclass(frozen=True)
class Refusal:
    """Files that failed check: their digest and every error, for whoever asks about them."""

    digest: str
    at: datetime
    trigger: str
    message: str
    errors: tuple[Diagnostic, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "digest": self.digest,
            "at": self.at.isoformat(),
            "trigger": self.trigger,
            "message": self.message,
            "errors": [d.to_dict() for d in self.errors],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Refusal:
        errors = tuple(
            Diagnostic(
                str(e["code"]),
                str(e["message"]),
                SourceLocation(str(e["file"]), int(e["line"]), int(e["column"])),
                str(e.get("path", "")),
                "warning" if e.get("severity") == "warning" else "error",
            )
            for e in data.get("errors", ())
        )
        return cls(
            str(data["digest"]),
            datetime.fromisoformat(data["at"]),
            str(data["trigger"]),
            str(data["message"]),
            errors,
        )


@dataclass(frozen=True)
class WorkerState:
    """What one following process reported: the generation it serves."""

    id: str
    pid: int
    generation: int
    digest: str
    loaded_at: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "pid": self.pid,
            "generation": self.generation,
            "digest": self.digest,
            "loaded_at": self.loaded_at,
        }


def _write_json(path: Path, data: object) -> None:
    """Replace ``path`` atomically: readers see the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _lock_is_free(path: Path) -> bool:
    """Whether nobody holds the flock on ``path`` (its holder died, or it never existed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases a lock we took
    return True


class Membership:
    """This process's entry in ``workers/``: the flock says it lives, the JSON what it serves."""

    def __init__(self, folder: Path) -> None:
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._json = folder / f"{self.id}.json"
        self._lock_path = folder / f"{self.id}.lock"
        # Locked under a name no reader looks at, then renamed: a reader never sees it unlocked.
        claiming = folder / f".{self.id}.claim"
        self._fd: int | None = os.open(claiming, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # held until leave() or the process ends
        self.report(0, "", None)
        os.replace(claiming, self._lock_path)

    def report(self, generation: int, digest: str, loaded_at: datetime | None) -> None:
        _write_json(
            self._json,
            {
                "id": self.id,
                "pid": os.getpid(),
                "generation": generation,
                "digest": digest,
                "loaded_at": loaded_at.isoformat() if loaded_at else None,
            },
        )

    def leave(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        for path in (self._json, self._lock_path):
            path.unlink(missing_ok=True)
        os.close(fd)


class GenerationStore:
    """The folder where generations are published (see the module docstring for its layout)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("generations", "staging", "workers"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._thread_lock = threading.Lock()  # flock excludes processes; this, threads of one

    # -- publishing ------------------------------------------------------------------------------

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """Hold the store's lock: one process at a time publishes, records a refusal or joins."""
        with self._thread_lock:
            fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.utime(fd)  # the store's last use, for removing stores nobody uses any more
                yield
            finally:
                os.close(fd)

    def stage(self, sources: Sources) -> Snapshot:
        """Copy the sources' files into a new staging folder."""
        folder = self.root / "staging" / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            return copy_sources(sources, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def discard(self, snapshot: Snapshot) -> None:
        """Remove a staged snapshot that will not be published."""
        if snapshot.folder.parent == self.root / "staging":
            shutil.rmtree(snapshot.folder, ignore_errors=True)

    def current(self) -> Generation | None:
        """The published generation (``None`` before the first one)."""
        data = _read_json(self.root / "current.json")
        try:
            return Generation.from_dict(data) if isinstance(data, dict) else None
        except (KeyError, TypeError, ValueError):
            return None

    def publish(self, snapshot: Snapshot, trigger: str) -> tuple[Generation, Snapshot]:
        """Publish a validated staged snapshot as the next generation (hold :meth:`publishing`).

        :returns: the generation and its snapshot in the store (where workers load it from).
        """
        current = self.current()
        folder = self.root / "generations" / snapshot.digest
        if folder.exists():  # the same files were published before: reuse that snapshot
            self.discard(snapshot)
        else:
            _write_json(snapshot.folder / "manifest.json", self._manifest(snapshot))
            os.replace(snapshot.folder, folder)
        generation = Generation((current.seq if current else 0) + 1, snapshot.digest, _now(),
                                trigger, snapshot.files, snapshot.staged_at)  # fmt: skip
        _write_json(self.root / "current.json", generation.to_dict())
        self._prune(keep=generation.digest)
        return generation, Snapshot(
            folder, snapshot.digest, snapshot.files, snapshot.has_tariffs, snapshot.staged_at
        )

    @staticmethod
    def _manifest(snapshot: Snapshot) -> dict[str, object]:
        return {
            "digest": snapshot.digest,
            "files": dict(snapshot.files),
            "has_tariffs": snapshot.has_tariffs,
        }

    def snapshot(self, digest: str) -> Snapshot | None:
        """The published snapshot with this digest (``None`` when it was pruned meanwhile)."""
        folder = self.root / "generations" / digest
        data = _read_json(folder / "manifest.json")
        if not isinstance(data, dict) or data.get("digest") != digest:
            return None
        return Snapshot(folder, digest, dict(data["files"]), bool(data["has_tariffs"]))

    def _prune(self, keep: str) -> None:
        """Keep the newest :data:`KEPT_GENERATIONS` snapshots besides ``keep``; remove stale
        staging folders."""
        folders = sorted(
            (p for p in (self.root / "generations").iterdir() if p.name != keep),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for old in folders[KEPT_GENERATIONS:]:
            shutil.rmtree(old, ignore_errors=True)
        limit = time.time() - STALE_STAGING
        for staging in (self.root / "staging").iterdir():
            try:
                if staging.stat().st_mtime < limit:
                    shutil.rmtree(staging, ignore_errors=True)
            except OSError:
                continue

    def reset(self) -> None:
        """Forget a previous session's generations (hold :meth:`publishing`; no worker is alive)."""
        (self.root / "current.json").unlink(missing_ok=True)
        (self.root / "refused.json").unlink(missing_ok=True)
        for old in (self.root / "generations").iterdir():
            shutil.rmtree(old, ignore_errors=True)

    # -- refusals --------------------------------------------------------------------------------

    def refusals(self) -> list[Refusal]:
        """The remembered refusals, newest last."""
        data = _read_json(self.root / "refused.json")
        found: list[Refusal] = []
        for entry in data if isinstance(data, list) else []:
            try:
                found.append(Refusal.from_dict(entry))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def refused(self, digest: str) -> Refusal | None:
        return next((r for r in reversed(self.refusals()) if r.digest == digest), None)

    def refuse(self, refusal: Refusal) -> None:
        """Remember a refusal (hold :meth:`publishing`)."""
        kept = [r for r in self.refusals() if r.digest != refusal.digest]
        kept.append(refusal)
        _write_json(self.root / "refused.json", [r.to_dict() for r in kept[-REMEMBERED_REFUSALS:]])

    # -- workers ---------------------------------------------------------------------------------

    def join(self) -> Membership:
        """Enter this process in ``workers/`` (it then counts for :meth:`workers`)."""
        return Membership(self.root / "workers")

    def workers(self) -> list[WorkerState]:
        """Every live following process and the generation it reported; dead ones are removed."""
        found: list[WorkerState] = []
        folder = self.root / "workers"
        for lock in sorted(folder.glob("*.lock")):
            report = lock.with_suffix(".json")
            if _lock_is_free(lock):
                report.unlink(missing_ok=True)
                lock.unlink(missing_ok=True)
                continue
            data = _read_json(report)
            if not isinstance(data, dict):
                continue  # being written for the first time
            found.append(
                WorkerState(
                    str(data.get("id", lock.stem)),
                    int(data.get("pid", 0)),
                    int(data.get("generation", 0)),
                    str(data.get("digest", "")),
                    data.get("loaded_at"),
                )
            )
        return found


def default_store_folder(sources: Sources, parent: Path) -> Path:
    """The store of ``sources`` under ``parent``; stores there unused for an hour are removed.

    ``parent`` is made private to this user (a store decides what the service answers, and the
    default one is in the shared temp folder): one that is a link, another user's, or writable by
    others is refused.

    :raises PermissionError: when ``parent`` is not this user's private folder.
    """
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = parent.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise PermissionError(
            f"{parent} must be a folder of this user that others cannot write to (it holds the "
            "published rules); remove it or set GENERATIONS_DIR"
        )
    folder = parent / sources.key()
    _remove_stale_stores(parent, keep=folder)
    return folder


def _remove_stale_stores(parent: Path, keep: Path) -> None:
    if not parent.is_dir():
        return
    limit = time.time() - STALE_STORE
    for store in parent.iterdir():
        try:
            used = max((store / name).stat().st_mtime for name in ("lock", "staging", "workers"))
        except OSError:
            continue  # not a store, or one being made
        if store == keep or used >= limit:
            continue
        workers = store / "workers"
        if workers.is_dir() and any(not _lock_is_free(p) for p in workers.glob("*.lock")):
            continue
        shutil.rmtree(store, ignore_errors=True)
