"""Every worker on the same generation: a change is validated and published once, and followed by all.

A :class:`Reloader` is one process's part (one per gunicorn worker). Its thread does two things:

* **watch** (every ``watch_interval`` s; 0: never): when a ``stat`` of the rule and tariff files
  differs from the last one, it copies the files, and when their digest is neither the published
  generation nor one already refused, loads them (the full load is the validation, as ``flets-elig
  check``) and, under the store's lock, publishes them and serves them, or records the refusal.
  Workers that notice the same change load it at the same time, as each must anyway; the first to
  finish publishes it and the others serve what they loaded. Files refused once are not validated
  again by a worker that notices them later;
* **follow** (every ``follow_interval`` s; 0: never): when the published generation is not the one
  it serves, it loads that generation's snapshot and swaps it in.

So the workers converge on the last good files even when those are no longer on disk: a good write
followed at once by a broken one is published by the first worker that saw it, and a worker that saw
only the broken files refuses them and then follows the published generation.

**Bound.** With *W* the watch interval, *F* the follow interval and *L* one load of the files
(validation and the load a follower does are the same work): files written at *t* are published by
*t + W + L*, and every worker serves them by *t + W + F + 2L* (a worker that noticed them itself,
the usual case, by *t + W + L*). After a good write and a broken one, that is measured from the good
write. A worker that was behind for any reason (busy, stopped, restarted) catches up at its next
follow. ``POST /v1/admin/reload`` publishes at once (:meth:`Reloader.reload`) and waits for every
following worker (:meth:`Reloader.wait_for_workers`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ValidationError
from .generations import (
    Generation,
    GenerationStore,
    Membership,
    Refusal,
    Scan,
    Snapshot,
    Sources,
    WorkerState,
    changed_files,
    scan_sources,
)
from .reload import Bundle, DecisionObserver, EngineHolder, ReloadResult, load_snapshot
from .versions import KnownVersions

log = logging.getLogger(__name__)

#: Seconds between two scans of the watched folders.
DEFAULT_WATCH_INTERVAL = 2.0
#: Seconds between two looks at the published generation (one small file read).
DEFAULT_FOLLOW_INTERVAL = 0.5
#: What a refusal by check says (the diagnostics say the rest).
CHECK_FAILED = "the files did not pass check"


def log_result(result: ReloadResult) -> None:
    """The default report of a reload: one log line (the web app logs JSON instead)."""
    if result.ok:
        log.info(
            "reloaded rules: generation %d (%s, %s) in %.0f ms; changed %s",
            result.generation, result.trigger, result.role, result.duration_s * 1000,
            dict(result.changed),
        )  # fmt: skip
    else:
        log.error(
            "reload refused (%s); still serving generation %d: %s",
            result.trigger, result.generation,
            "; ".join(str(d) for d in result.errors) or result.message,
        )  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


class Reloader:
    """Loads the published generation into a :class:`EngineHolder` and keeps it current.

    Construction loads the first bundle: when other workers of this store are alive it joins their
    generation (publishing the folders first if they differ and pass check); when none is, it starts
    a new session from the folders, which must pass check.

    :param store: where generations are published; processes serving the same folders share one.
    :param watch_interval: seconds between folder scans (0: only :meth:`reload` publishes).
    :param follow_interval: seconds between looks at the published generation (0: this process
        does not follow, and does not count among the workers :meth:`wait_for_workers` waits for).
    :param report: called with every reload that installed or refused something.
    :raises ValidationError: when no worker is alive and the folders fail check.
    """

    def __init__(
        self,
        sources: Sources,
        store: GenerationStore,
        *,
        observer: DecisionObserver | None = None,
        watch_interval: float = DEFAULT_WATCH_INTERVAL,
        follow_interval: float = DEFAULT_FOLLOW_INTERVAL,
        report: Callable[[ReloadResult], None] = log_result,
        versions: KnownVersions | None = None,
    ) -> None:
        self.sources = sources
        self.store = store
        #: The versions whose content is fixed: files changing one are refused (version discipline).
        self.versions = versions or KnownVersions(sources)
        self.watch_interval = watch_interval
        self.follow_interval = follow_interval
        self._report = report
        self._lock = threading.Lock()  # one reload at a time in this process
        self._member: Membership | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_reload: ReloadResult | None = None
        self.last_failure: ReloadResult | None = None
        self._seen: Scan = scan_sources(sources)  # before copying: a change meanwhile is seen
        self.holder = self._start(observer)

    @classmethod
    def private(
        cls,
        sources: Sources,
        *,
        observer: DecisionObserver | None = None,
        watch_interval: float = 0.0,
        report: Callable[[ReloadResult], None] = log_result,
        versions: KnownVersions | None = None,
    ) -> Reloader:
        """A reloader with a store of its own, removed with it: one process serving alone (no
        following)."""
        root = Path(tempfile.mkdtemp(prefix="flets-generations-"))
        try:
            reloader = cls(sources, GenerationStore(root), observer=observer,
                           watch_interval=watch_interval, follow_interval=0, report=report,
                           versions=versions)  # fmt: skip
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        weakref.finalize(reloader, shutil.rmtree, root, True)
        return reloader

    @property
    def following(self) -> bool:
        return self.follow_interval > 0

    # -- the first load --------------------------------------------------------------------------

    def _start(self, observer: DecisionObserver | None) -> EngineHolder:
        started = time.monotonic()
        staged = self.store.stage(self.sources)
        bundle: Bundle | None = None
        refused: ValidationError | None = None
        try:
            bundle = self._checked(load_snapshot(staged, self.sources))
        except ValidationError as exc:
            refused = exc
        except BaseException:
            self.store.discard(staged)
            raise
        try:
            generation, role = self._join(staged, bundle, refused)
        except BaseException:
            if bundle is not None:
                bundle.close()
            raise
        if bundle is not None and role == "followed":
            bundle.close()  # the workers serve a good generation other than these files
        serving = bundle if bundle is not None and role != "followed" else self._load(generation)
        self._stamp(serving, generation)
        self.versions.serve(serving)
        holder = EngineHolder(serving, observer)
        if self._member is not None:
            self._member.report(generation.seq, generation.digest, serving.loaded_at)
        result = ReloadResult(True, generation.seq, _now(), "start", role=role,
                              digest=generation.digest, duration_s=time.monotonic() - started)  # fmt: skip
        self.last_reload = result
        self._report(result)
        return holder

    def _join(
        self, staged: Snapshot, bundle: Bundle | None, refused: ValidationError | None
    ) -> tuple[Generation, str]:
        """Under the store's lock: publish the folders or join the live workers' generation.

        :returns: the generation to serve, and how: ``published`` or ``unchanged`` (the bundle
            loaded from the folders is it), ``followed`` (load the published one instead: the
            folders fail check, or newer files were published since they were copied).
        """
        with self.store.publishing():
            if not self.store.workers():
                self.store.reset()  # a new session: a previous one's generations are not served
            current = self.store.current()
            if refused is not None:
                self.store.refuse(Refusal(staged.digest, _now(), "start", CHECK_FAILED,
                                          tuple(refused.errors)))  # fmt: skip
                self.store.discard(staged)
                if current is None:
                    raise refused
                generation, role = current, "followed"
            elif current is not None and current.digest == staged.digest:
                self.store.discard(staged)
                generation, role = current, "unchanged"
            elif current is not None and current.staged_at > staged.staged_at:
                self.store.discard(staged)
                generation, role = current, "followed"
            else:
                generation, _ = self.store.publish(staged, "start")
                role = "published"
            if self.following:
                self._member = self.store.join()  # while locked: the next worker sees this one
        return generation, role

    def _checked(self, bundle: Bundle) -> Bundle:
        """``bundle``, unless one of its versions changes content fixed before (the ledger, the
        decision log, the publish record, what was served): then it is closed and refused.

        :raises ValidationError: with a ``version-not-bumped`` diagnostic per such version.
        """
        problems = self.versions.check_bundle(bundle)
        if problems:
            bundle.close()
            raise ValidationError(problems)
        return bundle

    def _load(self, generation: Generation) -> Bundle:
        snapshot = self.store.snapshot(generation.digest)
        if snapshot is None:
            raise FileNotFoundError(f"generation {generation.seq} is not in {self.store.root}")
        return load_snapshot(snapshot, self.sources)

    @staticmethod
    def _stamp(bundle: Bundle, generation: Generation) -> None:
        bundle.generation = generation.seq
        bundle.digest = generation.digest
        bundle.files = generation.files

    # -- publishing ------------------------------------------------------------------------------

    def reload(self, trigger: str = "admin") -> ReloadResult:
        """Publish the folders now (validating them even when the same files were refused before)
        and serve them here; when they are the published generation already, serve that."""
        result = self._publish(trigger, retry_refused=True)
        if result is not None:
            return result
        followed = self.follow()
        if followed is not None and not followed.ok:
            return followed
        bundle = self.holder.current
        return ReloadResult(True, bundle.generation, _now(), trigger, role="unchanged",
                            digest=bundle.digest)  # fmt: skip

    def check_folders(self) -> ReloadResult | None:
        """Publish the folders when a scan shows they changed (a refused digest is not validated
        again; it is retried when the files change again)."""
        now = scan_sources(self.sources)
        if now == self._seen:
            return None
        self._seen = now
        return self._publish("watcher", retry_refused=False)

    def _publish(self, trigger: str, retry_refused: bool) -> ReloadResult | None:
        """Copy, validate and publish the folders; ``None`` when there was nothing to do.

        Validation runs outside the store's lock, so workers that noticed the same change load it
        at the same time, as each must anyway: the first to finish publishes, and the others find
        the same digest published and serve what they loaded. A copy older than the published
        generation is never published over it.
        """
        started = time.monotonic()
        with self._lock:
            staged = self.store.stage(self.sources)
            current = self.store.current()
            if (current is not None and staged.digest == current.digest) or (
                not retry_refused and self.store.refused(staged.digest) is not None
            ):
                self.store.discard(staged)
                return None  # published already (follow() serves it), or refused already
            try:
                bundle = self._checked(load_snapshot(staged, self.sources))
            except ValidationError as exc:
                self.store.discard(staged)
                refusal = Refusal(staged.digest, _now(), trigger, CHECK_FAILED, tuple(exc.errors))
                with self.store.publishing():
                    self.store.refuse(refusal)
                return self._refused(refusal, started)
            except Exception as exc:  # noqa: BLE001 - the previous generation keeps serving
                self.store.discard(staged)
                log.exception("reload failed")
                return self._failed(trigger, staged.digest, f"{type(exc).__name__}: {exc}",
                                    started)  # fmt: skip
            with self.store.publishing():
                current = self.store.current()
                if current is not None and current.digest == staged.digest:
                    self.store.discard(staged)  # another worker published these files meanwhile
                    generation, role = current, "followed"
                elif current is not None and current.staged_at > staged.staged_at:
                    self.store.discard(staged)  # newer files were published meanwhile
                    bundle.close()
                    return None
                else:
                    generation, _ = self.store.publish(staged, trigger)
                    role = "published"
            return self._install(bundle, generation, role, trigger, started)

    # -- following -------------------------------------------------------------------------------

    def follow(self) -> ReloadResult | None:
        """Load the published generation when this process serves another one."""
        if self._serves(self.store.current()):
            return None
        started = time.monotonic()
        with self._lock:
            current = self.store.current()
            if current is None or self._serves(current):
                return None
            try:
                bundle = self._load(current)
            except Exception as exc:  # noqa: BLE001 - keep serving; the next look tries again
                log.exception("loading generation %d failed", current.seq)
                return self._failed("follow", current.digest, f"{type(exc).__name__}: {exc}",
                                    started)  # fmt: skip
            return self._install(bundle, current, "followed", current.trigger, started)

    def _serves(self, generation: Generation | None) -> bool:
        serving = self.holder.current
        return generation is None or (
            generation.seq == serving.generation and generation.digest == serving.digest
        )

    def wait_for_workers(self, generation: int, timeout: float) -> tuple[bool, list[WorkerState]]:
        """Wait until every following worker serves ``generation`` or a later one.

        :returns: whether they all do, and what each reported.
        """
        deadline = time.monotonic() + timeout
        while True:
            workers = self.store.workers()
            if all(w.generation >= generation for w in workers):
                return True, workers
            if time.monotonic() >= deadline:
                return False, workers
            time.sleep(0.05)

    # -- results ---------------------------------------------------------------------------------

    def _install(
        self, bundle: Bundle, generation: Generation, role: str, trigger: str, started: float
    ) -> ReloadResult:
        changed = changed_files(self.holder.current.files, generation.files)
        self._stamp(bundle, generation)
        self.versions.serve(bundle)
        self.holder.install(bundle)
        if self._member is not None:
            self._member.report(generation.seq, generation.digest, bundle.loaded_at)
        result = ReloadResult(True, generation.seq, _now(), trigger, role=role,
                              digest=generation.digest, changed=changed,
                              duration_s=time.monotonic() - started)  # fmt: skip
        self.last_reload = result
        self._report(result)
        return result

    def _refused(self, refusal: Refusal, started: float) -> ReloadResult:
        result = ReloadResult(False, self.holder.current.generation, refusal.at, refusal.trigger,
                              refusal.errors, refusal.message, role="refused",
                              digest=refusal.digest, duration_s=time.monotonic() - started)  # fmt: skip
        self.last_reload = self.last_failure = result
        self._report(result)
        return result

    def _failed(self, trigger: str, digest: str, message: str, started: float) -> ReloadResult:
        result = ReloadResult(False, self.holder.current.generation, _now(), trigger, (), message,
                              role="failed", digest=digest,
                              duration_s=time.monotonic() - started)  # fmt: skip
        self.last_reload = self.last_failure = result
        self._report(result)
        return result

    def status(self) -> dict[str, object]:
        """This worker's generation, the published one, every worker's, and the last refusal."""
        body = self.holder.status()
        current = self.store.current()
        workers = self.store.workers()
        refusals = self.store.refusals()
        last_error = self.last_failure
        if refusals and (last_error is None or refusals[-1].at > last_error.at):
            refusal = refusals[-1]
            last_error = ReloadResult(False, self.holder.current.generation, refusal.at,
                                      refusal.trigger, refusal.errors, refusal.message,
                                      role="refused", digest=refusal.digest)  # fmt: skip
        body.update(
            {
                "published": None if current is None else {
                    k: v for k, v in current.to_dict().items() if k != "files"
                },
                "workers": [w.to_dict() for w in workers],
                "converged": current is not None
                and all(w.generation == current.seq for w in workers),
                "last_reload": self.last_reload.to_dict() if self.last_reload else None,
                "last_error": last_error.to_dict() if last_error else None,
                "watch_interval": self.watch_interval,
                "follow_interval": self.follow_interval,
            }
        )  # fmt: skip
        return body

    # -- the thread ------------------------------------------------------------------------------

    def start(self) -> Reloader:
        """Start watching and following in a daemon thread (when either interval is positive)."""
        intervals = [i for i in (self.watch_interval, self.follow_interval) if i > 0]
        if intervals and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, args=(min(intervals),), name="flets-reloader", daemon=True
            )
            self._thread.start()
        return self

    def _run(self, tick: float) -> None:
        next_scan = time.monotonic() + self.watch_interval
        while not self._stop.wait(tick) and not self.holder.closed:
            try:
                if self.watch_interval > 0 and time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + self.watch_interval
                    self.check_folders()
                if self.following:
                    self.follow()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("reloader failed; it keeps watching")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.watch_interval, self.follow_interval) + 5)
            self._thread = None

    def close(self) -> None:
        """Stop the thread, leave the workers, and retire the serving bundle."""
        self.stop()
        if self._member is not None:
            self._member.leave()
            self._member = None
        self.holder.close()
