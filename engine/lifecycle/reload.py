"""Hot reload without downtime: a holder of the serving rulebook and tariffs, and a folder watcher.

:class:`EngineHolder` owns the current :class:`Bundle` (rulebook plus tariff book). A reload builds a
complete new bundle first — every file validated, analysed (``check``) and compiled — and swaps it in
atomically only when all of it is good; on any error the old bundle keeps serving and the errors are
kept for ``status()``. Requests *lease* a bundle (``with holder.lease() as bundle:``) and keep it for
their whole life, so a request in flight during a swap finishes on the version it started with; the
old rulebook's engine is closed when its last lease ends.

:class:`FolderWatcher` polls the folders (size and mtime of every YAML file; no inotify needed) and
reloads when they change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import Diagnostic, ValidationError
from ..rules.explain import Decision
from ..rules.rulebook import Rulebook, load_rulebook
from ..tariff.book import TariffBook, load_tariffs

log = logging.getLogger(__name__)

#: Seconds between two scans of the watched folders.
DEFAULT_WATCH_INTERVAL = 2.0

Scan = tuple[tuple[str, int, int], ...]
DecisionObserver = Callable[[list[Decision]], None]


@dataclass
class Bundle:
    """What one generation of the service decides with: a rulebook and (when its folder exists)
    tariffs."""

    rulebook: Rulebook
    tariffs: TariffBook | None
    scan: Scan
    generation: int = 0
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self) -> dict[str, object]:
        """Which versions this generation serves, for ``GET /v1/admin/status``."""
        return {
            "generation": self.generation,
            "loaded_at": self.loaded_at.isoformat(),
            "rulesets": [
                {
                    "id": rs.id,
                    "version": rs.version,
                    "file": rs.file,
                    "effective_from": rs.effective_from.isoformat(),
                    "effective_to": rs.effective_to.isoformat() if rs.effective_to else None,
                }
                for rs in self.rulebook.all_rulesets()
            ],
            "tariffs": None if self.tariffs is None else len(self.tariffs.tariffs),
            "warnings": len(self.rulebook.warnings),
        }

    def close(self) -> None:
        self.rulebook.close()


def scan_folders(folders: Sequence[Path]) -> Scan:
    """Name, size and modification time (ns) of every YAML file under ``folders``."""
    found: list[tuple[str, int, int]] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                try:
                    stat = path.stat()
                except OSError:
                    continue  # removed between listing and stat: the next scan sees it gone
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def load_bundle(rules: Path, tariffs: Path | None = None) -> Bundle:
    """The rulebook of ``rules`` and the tariff book of ``tariffs`` (none when the folder does not
    exist); all or nothing.

    The rules load through :func:`~engine.rules.rulebook.load_rulebook`, the one loader, so the server
    accepts exactly the folders ``flets-elig check`` and ``flets-elig test`` pass: an analysis error
    refuses the folder too.

    :raises ValidationError: with every diagnostic of every rule file, or the tariffs' errors.
    """
    scan = scan_folders([rules] + ([tariffs] if tariffs else []))
    book = load_rulebook(rules)
    try:
        tariff_book = load_tariffs(tariffs) if tariffs and tariffs.is_dir() else None
    except BaseException:
        book.close()
        raise
    return Bundle(book, tariff_book, scan)


@dataclass
class _Slot:
    """A bundle with its count of live leases; a retired slot closes when its count reaches zero."""

    bundle: Bundle
    leases: int = 0
    retired: bool = False


class Lease:
    """One request's hold on a bundle; :meth:`release` (idempotent) ends it."""

    def __init__(self, holder: EngineHolder, slot: _Slot) -> None:
        self._holder = holder
        self._slot: _Slot | None = slot
        self.bundle = slot.bundle

    def release(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            self._holder._release(slot)


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: swapped in a new generation, or kept the old one and why."""

    ok: bool
    generation: int
    at: datetime
    trigger: str
    errors: tuple[Diagnostic, ...] = ()
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "generation": self.generation,
            "at": self.at.isoformat(),
            "trigger": self.trigger,
            "message": self.message,
            "errors": [d.to_dict() for d in self.errors],
        }


class EngineHolder:
    """Owns the serving bundle; reloads are validated completely before an atomic swap.

    :param loader: builds a new bundle, raising :class:`ValidationError` when the files are bad.
    :param observer: attached to every bundle's rulebook (e.g. to write the decision log).
    :raises ValidationError: at construction when the first load fails; a server never starts empty.
    """

    def __init__(
        self, loader: Callable[[], Bundle], observer: DecisionObserver | None = None
    ) -> None:
        self._loader = loader
        self._observer = observer
        self._lock = threading.Lock()  # guards _slot and lease counts
        self._reload_lock = threading.Lock()  # one reload at a time
        self._generation = 0
        self._slot = _Slot(self._prepare(loader()))
        self.last_reload: ReloadResult | None = None
        self.last_failure: ReloadResult | None = None

    def _prepare(self, bundle: Bundle) -> Bundle:
        self._generation += 1
        bundle.generation = self._generation
        bundle.rulebook.observer = self._observer
        return bundle

    # -- leases ----------------------------------------------------------------------------------

    def acquire(self) -> Lease:
        """Hold the current bundle until :meth:`Lease.release`; a swap meanwhile does not affect it."""
        with self._lock:
            self._slot.leases += 1
            return Lease(self, self._slot)

    @contextmanager
    def lease(self) -> Iterator[Bundle]:
        held = self.acquire()
        try:
            yield held.bundle
        finally:
            held.release()

    def _release(self, slot: _Slot) -> None:
        with self._lock:
            slot.leases -= 1
            done = slot.retired and slot.leases == 0
        if done:
            slot.bundle.close()

    @property
    def current(self) -> Bundle:
        """The bundle new requests get (for status and tests; requests should :meth:`lease`)."""
        return self._slot.bundle

    # -- reloading -------------------------------------------------------------------------------

    def reload(self, trigger: str = "manual") -> ReloadResult:
        """Build a new bundle and swap it in; on any failure keep serving the old one."""
        with self._reload_lock:
            try:
                bundle = self._loader()
            except ValidationError as exc:
                return self._failed(trigger, tuple(exc.errors), "the files did not pass check")
            except Exception as exc:  # noqa: BLE001 - any failure must leave the old version serving
                log.exception("reload failed")
                return self._failed(trigger, (), f"{type(exc).__name__}: {exc}")
            self._swap(self._prepare(bundle))
            result = ReloadResult(True, bundle.generation, datetime.now(UTC), trigger)
            self.last_reload = result
            log.info("reloaded rules: generation %d (%s)", bundle.generation, trigger)
            return result

    def _failed(self, trigger: str, errors: tuple[Diagnostic, ...], message: str) -> ReloadResult:
        result = ReloadResult(
            False, self._slot.bundle.generation, datetime.now(UTC), trigger, errors, message
        )
        self.last_reload = self.last_failure = result
        log.error(
            "reload refused (%s); still serving generation %d: %s",
            trigger,
            result.generation,
            "; ".join(str(d) for d in errors) or message,
        )
        return result

    def _swap(self, bundle: Bundle) -> None:
        with self._lock:
            old, self._slot = self._slot, _Slot(bundle)
            old.retired = True
            idle = old.leases == 0
        if idle:
            old.bundle.close()

    def status(self) -> dict[str, object]:
        """The serving generation, the last reload and the last refused reload with its errors."""
        with self._lock:
            bundle, leases = self._slot.bundle, self._slot.leases
        return {
            "serving": bundle.describe(),
            "active_leases": leases,
            "last_reload": self.last_reload.to_dict() if self.last_reload else None,
            "last_error": self.last_failure.to_dict() if self.last_failure else None,
        }

    def close(self) -> None:
        """Retire the current bundle; it closes when the last lease ends."""
        with self._lock:
            slot = self._slot
            slot.retired = True
            idle = slot.leases == 0
        if idle:
            slot.bundle.close()


class FolderWatcher:
    """A daemon thread that reloads ``holder`` when the YAML files under ``folders`` change."""

    def __init__(
        self,
        holder: EngineHolder,
        folders: Sequence[Path],
        interval: float = DEFAULT_WATCH_INTERVAL,
    ) -> None:
        self.holder = holder
        self.folders = list(folders)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = scan_folders(self.folders)

    def start(self) -> FolderWatcher:
        self._thread = threading.Thread(target=self._run, name="flets-rule-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def check_once(self) -> ReloadResult | None:
        """Reload when the files differ from the last scan (tests call this directly)."""
        now = scan_folders(self.folders)
        if now == self._seen or now == self.holder.current.scan:
            self._seen = now  # unchanged, or already loaded by another trigger (POST reload)
            return None
        self._seen = now  # a refused version is not retried until the files change again
        return self.holder.reload(trigger="watcher")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
                log.exception("rule folder watcher failed; it keeps watching")
