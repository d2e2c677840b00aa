"""What a worker serves, swapped without downtime: the bundle, its holder, and what a reload did.

:class:`EngineHolder` owns the current :class:`Bundle` (rulebook plus tariff book). A new bundle is
built completely first — every file validated, analysed (``check``) and compiled — and installed
atomically; which bundle to install, and when, is :mod:`engine.lifecycle.reloader`'s business (a
generation published for every worker, :mod:`engine.lifecycle.generations`). Requests *lease* a
bundle (``with holder.lease() as bundle:``) and keep it for their whole life, so a request in flight
during a swap finishes on the version it started with; the old rulebook's engine is closed when its
last lease ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import Diagnostic
from ..format.loader import yaml_files
from ..rules.explain import Decision
from ..rules.plans import plan_store
from ..rules.rulebook import (
    Rulebook,
    display_name,
    keep_ruleset_file,
    load_rulebook,
    valid_rulesets,
)
from ..tariff.book import TariffBook, load_tariffs
from .generations import Snapshot, Sources
from .load_cache import Loaded, cached_load, entry_key

DecisionObserver = Callable[[list[Decision]], None]


@dataclass
class Bundle:
    """What one generation of the service decides with: a rulebook and (when its folder exists)
    tariffs, with the generation's number and digest and the digest of each file."""

    rulebook: Rulebook
    tariffs: TariffBook | None
    generation: int = 0
    digest: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self) -> dict[str, object]:
        """Which versions this generation serves, for ``GET /v1/admin/status``."""
        return {
            "generation": self.generation,
            "digest": self.digest,
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


def load_bundle(rules: Path, tariffs: Path | None = None) -> Bundle:
    """The rulebook of ``rules`` and the tariff book of ``tariffs`` (none when the folder does not
    exist); all or nothing.

    The rules load through :func:`~engine.rules.rulebook.load_rulebook`, the one loader, so the server
    accepts exactly the folders ``flets-elig check`` and ``flets-elig test`` pass: an analysis error
    refuses the folder too.

    :raises ValidationError: with every diagnostic of every rule file, or the tariffs' errors.
    """
    book = load_rulebook(rules)
    try:
        tariff_book = load_tariffs(tariffs) if tariffs and tariffs.is_dir() else None
    except BaseException:
        book.close()
        raise
    return Bundle(book, tariff_book)


def load_snapshot(snapshot: Snapshot, sources: Sources) -> Bundle:
    """The bundle of a snapshot copy of ``sources``, its files named as they are in ``sources``.

    The names matter beyond diagnostics: answers cite ``rules/<file>:<line>``, and the decision
    tables' plan cache (:mod:`engine.rules.table`) keys plans by conditions that carry their file, so
    a generation loaded under its folder's names reuses every plan of an unchanged rule set. What the
    files validate to is kept in the machine's cache folder too (:mod:`.load_cache`): a start with
    files loaded before skips reading them, and only compiles.

    :raises ValidationError: as :func:`load_bundle`.
    """
    rules_copy, tariffs_copy = snapshot.rules, snapshot.tariffs
    tariff_folder = sources.tariffs if tariffs_copy is not None else None

    def rule_name(path: Path) -> str:
        return display_name(sources.rules / path.relative_to(rules_copy))

    def tariff_name(path: Path) -> str:
        assert tariffs_copy is not None and tariff_folder is not None
        return str(tariff_folder / path.relative_to(tariffs_copy))

    def read() -> Loaded:
        rulesets, warnings = valid_rulesets(rules_copy, label=rule_name)
        tariffs = None
        if tariffs_copy is not None and tariff_folder is not None:
            tariffs = load_tariffs(tariffs_copy, label=tariff_name)
        return Loaded.of(rulesets, warnings, tariffs)

    names = [rule_name(p) for p in yaml_files(rules_copy)]
    if tariffs_copy is not None and tariff_folder is not None:
        names += [tariff_name(p) for p in yaml_files(tariffs_copy)]
    loaded = cached_load(plan_store(), entry_key(snapshot.digest, names), read)
    for ruleset, found in zip(loaded.rulesets, loaded.files, strict=True):
        keep_ruleset_file(ruleset, found)
    book = Rulebook(loaded.rulesets, loaded.warnings)
    tariff_book = None
    if loaded.tariffs is not None:
        tariff_book = TariffBook(loaded.tariffs, loaded.rates, loaded.tariff_files)
    return Bundle(book, tariff_book, digest=snapshot.digest, files=snapshot.files)


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
    """What a reload did in this process: installed a generation, or kept the old one and why.

    ``role``: ``published`` (this process validated the files and published them), ``followed``
    (it loaded a generation another process published), ``unchanged`` (the files are the published
    generation already), ``refused`` (they failed check; the previous generation keeps serving) or
    ``failed`` (loading failed for another reason; also keeps the previous generation).
    """

    ok: bool
    generation: int
    at: datetime
    trigger: str
    errors: tuple[Diagnostic, ...] = ()
    message: str = ""
    role: str = "published"
    digest: str = ""
    changed: Mapping[str, list[str]] = field(default_factory=dict)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "generation": self.generation,
            "digest": self.digest,
            "at": self.at.isoformat(),
            "trigger": self.trigger,
            "role": self.role,
            "changed": dict(self.changed),
            "duration_ms": round(self.duration_s * 1000, 1),
            "message": self.message,
            "errors": [d.to_dict() for d in self.errors],
        }


class EngineHolder:
    """Owns the serving bundle; :meth:`install` swaps a complete new one in atomically.

    :param observer: attached to every bundle's rulebook (e.g. to write the decision log).
    """

    def __init__(self, bundle: Bundle, observer: DecisionObserver | None = None) -> None:
        self._observer = observer
        self._lock = threading.Lock()  # guards _slot and lease counts
        bundle.rulebook.observer = observer
        self._slot = _Slot(bundle)
        self.closed = False

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

    # -- swapping --------------------------------------------------------------------------------

    def install(self, bundle: Bundle) -> None:
        """Serve ``bundle`` from now on; the previous one closes when its last lease ends."""
        bundle.rulebook.observer = self._observer
        with self._lock:
            old, self._slot = self._slot, _Slot(bundle)
            old.retired = True
            idle = old.leases == 0
        if idle:
            old.bundle.close()

    def status(self) -> dict[str, object]:
        """The serving generation and how many requests hold it."""
        with self._lock:
            bundle, leases = self._slot.bundle, self._slot.leases
        return {"serving": bundle.describe(), "active_leases": leases}

    def close(self) -> None:
        """Retire the current bundle; it closes when the last lease ends."""
        with self._lock:
            self.closed = True
            slot = self._slot
            slot.retired = True
            idle = slot.leases == 0
        if idle:
            slot.bundle.close()
