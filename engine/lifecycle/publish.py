"""Publishing a draft from the studio: check, write into the folder, the checked hot reload, record.

The folder stays the source of truth (git keeps working): a publish writes the draft into the rules
(or tariffs) folder and then runs the normal reload (:meth:`engine.lifecycle.reloader.Reloader.reload`),
which checks the whole folder again and publishes the generation every worker serves. Before writing,
the draft must pass the one checker and version discipline (:mod:`engine.lifecycle.drafts`): a
changed content under a version already fixed is refused with ``version-not-bumped``. When the reload
refuses the folder anyway, the previous file is put back. Every publish is recorded
(:mod:`engine.lifecycle.publishes`): who, when, the diff, the reason, the digest.

A **rollback** publishes the content before a publish again, under a new version (the newest version
of that id ever published, locked, logged or served, with its last number plus one), so the log never
shows one version with two contents.

**Other instances.** With a shared record (PostgreSQL), :class:`PublishFollower` polls it; for each
publish taken elsewhere whose content this instance's folder does not have, it writes the file and
reloads, so a publish on one instance is served by every instance sharing the database.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import Diagnostic, EngineError, SourceLocation
from ..format.loader import parse_yaml
from ..format.versions import content_digest, next_version, versioned_file
from .drafts import DraftCheck, check_rule_draft, check_tariff_draft
from .publishes import Publish, PublishStore
from .reload import ReloadResult
from .reloader import Reloader

log = logging.getLogger(__name__)

#: Seconds between two looks of an instance at the shared publish record.
DEFAULT_POLL_INTERVAL = 1.0

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.ya?ml")
_VERSION_LINE = re.compile(r"^version:[^\n]*$", re.MULTILINE)


class PublishRefused(EngineError):
    """Nothing was published; ``why``: ``check`` (the draft fails check or version discipline:
    ``diagnostics``), ``reload`` (the reload refused the folder: ``diagnostics``, or ``message``),
    ``no-folder`` (the service has no such folder), ``no-rollback`` (nothing to roll back to)."""

    def __init__(self, why: str, diagnostics: list[Diagnostic], message: str = "") -> None:
        self.why = why
        self.diagnostics = diagnostics
        self.message = message or why
        super().__init__(self.message)


class PublishConflict(EngineError):
    """The file changed since the draft was opened (its digest is not ``base_digest``)."""

    def __init__(self, current: str | None) -> None:
        self.current = current
        super().__init__("the file changed since the draft was opened")


@dataclass(frozen=True)
class PublishResult:
    publish: Publish | None
    reload: ReloadResult | None
    unchanged: bool = False


def valid_file_name(name: str) -> bool:
    """A plain YAML file name (no folder, no hidden file)."""
    return bool(_FILE_NAME.fullmatch(name))


def file_digest(path: Path) -> str | None:
    """The content digest of a file in a folder (``None``: no such file, or it does not parse)."""
    try:
        return content_digest(parse_yaml(path.read_text(encoding="utf-8"), str(path)))
    except (OSError, UnicodeDecodeError, EngineError):
        return None


def with_version(text: str, version: str) -> str:
    """``text`` with its top-level ``version:`` set to ``version`` (the first such line), quoted so
    YAML never reads it as a number."""
    return _VERSION_LINE.sub(f"version: {json.dumps(version)}", text, count=1)


class Publisher:
    """Publishes drafts into the folders a :class:`Reloader` serves, and records them."""

    def __init__(self, reloader: Reloader, store: PublishStore) -> None:
        self.reloader = reloader
        self.store = store
        #: This instance, in the record (a publish it took is not applied again by its follower).
        self.origin = uuid.uuid4().hex
        self._lock = threading.Lock()

    def folder(self, kind: str) -> Path | None:
        sources = self.reloader.sources
        return sources.rules if kind == "rules" else sources.tariffs

    @contextmanager
    def _exclusive(self, folder: Path) -> Iterator[None]:
        """One publish at a time per folder, across this instance's workers too (a ``flock``)."""
        name = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
        with self._lock:  # the lock file lives in the generation store, not in the (git) folder
            fd = os.open(self.reloader.store.root / f"publish-{name}.lock",
                         os.O_RDWR | os.O_CREAT, 0o600)  # fmt: skip
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def check(self, kind: str, text: str, name: str) -> DraftCheck:
        """The draft checked as the file ``name`` of the ``kind`` folder (see :mod:`.drafts`)."""
        folder = self.folder(kind)
        known = self.reloader.versions.known(kind)
        if kind == "rules":
            served = self.reloader.holder.current.rulebook.all_rulesets()
            return check_rule_draft(text, name, self.reloader.sources.rules, served, known)
        if folder is None:
            problem = Diagnostic("missing-folder", "this service has no tariff folder",
                                 SourceLocation(name))  # fmt: skip
            return DraftCheck([problem])
        return check_tariff_draft(text, name, folder, known)[0]

    def publish(
        self,
        kind: str,
        ident: str,
        text: str,
        name: str,
        *,
        who: str,
        reason: str,
        base_digest: str | None = None,
        rollback_of: int | None = None,
        origin: str | None = None,
    ) -> PublishResult:
        """Check ``text``, write it as ``name`` into the ``kind`` folder, reload, and record it.

        :raises PublishRefused: the draft fails check or version discipline, names another id, or
            the reload refused the folder (the previous file is back).
        :raises PublishConflict: the file's digest is not ``base_digest``.
        """
        folder = self.folder(kind)
        if folder is None:
            raise PublishRefused("no-folder", [])
        with self._exclusive(folder):
            target = folder / name
            previous_text = target.read_text(encoding="utf-8") if target.is_file() else None
            previous_digest = file_digest(target) if previous_text is not None else None
            if base_digest is not None and base_digest != previous_digest:
                raise PublishConflict(previous_digest)
            check = self.check(kind, text, name)
            if check.ok and check.id != ident:
                where = SourceLocation(name, 1, 1)
                check.diagnostics.append(Diagnostic(
                    "wrong-id", f"the draft is {check.id!r}, not {ident!r}", where))  # fmt: skip
            if not check.ok:
                raise PublishRefused("check", check.errors)
            assert check.digest is not None and check.version is not None
            if check.digest == previous_digest:
                return PublishResult(None, None, unchanged=True)
            previous_version = _version_of(previous_text)
            _write(target, text)
            result = self.reloader.reload(trigger="publish")
            if not result.ok:
                _restore(target, previous_text)
                self.reloader.reload(trigger="publish-undone")
                raise PublishRefused("reload", list(result.errors), result.message)
            diff = "".join(difflib.unified_diff(
                (previous_text or "").splitlines(keepends=True), text.splitlines(keepends=True),
                f"a/{name}", f"b/{name}"))  # fmt: skip
            record = Publish(kind, ident, check.version, previous_version, name, check.digest,
                             previous_digest, who, reason, datetime.now(UTC), diff, text,
                             previous_text, rollback_of, origin or self.origin)  # fmt: skip
            stored = self.store.add(record)
            log.info("published", extra={"kind": kind, "id": ident, "version": check.version,
                                         "who": who, "seq": stored.seq})  # fmt: skip
            return PublishResult(stored, result)

    def rollback(
        self, kind: str, ident: str, *, who: str, reason: str, to: int | None = None
    ) -> PublishResult:
        """Publish the content before publish ``to`` (default: the last publish of ``ident``) again,
        under a new version.

        :raises PublishRefused: there is nothing to roll back to.
        """
        history = self.store.recent(kind, ident, 1000)
        chosen = next((p for p in history if to is None or p.seq == to), None)
        if chosen is None or chosen.previous_text is None:
            raise PublishRefused("no-rollback", [])
        known = self.reloader.versions.known(kind)  # locked, logged, served: never reused
        taken = {p.version for p in history} | {p.previous_version or "" for p in history}
        taken |= {key.split("@", 1)[1] for key in known if key.split("@", 1)[0] == ident}
        taken.discard("")
        newest = max(taken, key=_version_key)
        version = next_version(newest, taken)
        text = with_version(chosen.previous_text, version)
        return self.publish(kind, ident, text, chosen.file, who=who, reason=reason,
                            rollback_of=chosen.seq)  # fmt: skip

    # -- other instances ---------------------------------------------------------------------

    def apply(self, publish: Publish) -> bool:
        """Bring this instance's folder to ``publish`` (taken on another instance): write its file
        when the content differs, and reload. Whether anything was written."""
        folder = self.folder(publish.kind)
        if folder is None or not valid_file_name(publish.file):
            return False
        with self._exclusive(folder):
            target = folder / publish.file
            if file_digest(target) == publish.digest:
                return False
            previous = target.read_text(encoding="utf-8") if target.is_file() else None
            _write(target, publish.text)
            result = self.reloader.reload(trigger="publish-elsewhere")
            if not result.ok:
                _restore(target, previous)
                log.error("publish %d from another instance refused here: %s", publish.seq,
                          "; ".join(str(d) for d in result.errors) or result.message)  # fmt: skip
                return False
        return True


class PublishFollower:
    """Polls a shared publish record and applies the publishes other instances took."""

    def __init__(self, publisher: Publisher, interval: float = DEFAULT_POLL_INTERVAL) -> None:
        self.publisher = publisher
        self.interval = interval
        self._seen = publisher.store.last_seq()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """Apply every publish newer than the last seen; how many were written here."""
        written = 0
        for publish in self.publisher.store.after(self._seen):
            self._seen = max(self._seen, publish.seq)
            if publish.origin != self.publisher.origin and self.publisher.apply(publish):
                written += 1
        return written

    def start(self) -> PublishFollower:
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="flets-publishes", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        """Poll until stopped or until the instance stops serving (its holder closed); a failure is
        logged once per run of failures (an unreachable database would repeat it every poll)."""
        failing = False
        while not self._stop.wait(self.interval) and not self.publisher.reloader.holder.closed:
            try:
                self.poll()
                failing = False
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                if not failing:
                    log.exception("following publishes failed; it keeps polling")
                failing = True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None


def _version_of(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        found = versioned_file(parse_yaml(text, "previous"), "ruleset") or versioned_file(
            parse_yaml(text, "previous"), "tariff"
        )
    except EngineError:
        return None
    return found.version if found else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _write(target: Path, text: str) -> None:
    """Write ``text`` atomically: a reader (the watcher) sees the old file or the new one."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def _restore(target: Path, previous: str | None) -> None:
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        _write(target, previous)


__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "PublishConflict",
    "PublishFollower",
    "PublishRefused",
    "PublishResult",
    "Publisher",
    "file_digest",
    "valid_file_name",
    "with_version",
]
