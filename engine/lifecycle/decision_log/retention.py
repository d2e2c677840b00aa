"""Retention: deleting the decisions older than a number of days, by command or in the background.

Without it the log grows for ever (1.3 GB after 4.7 million decisions). It is an audit trail, so
nothing is deleted unless the operator says how long to keep it: ``flets-elig log prune`` deletes on
demand, and a service started with ``FLETS_LOG_RETENTION_DAYS`` runs a :class:`Retention` thread that
prunes every ``FLETS_LOG_PRUNE_INTERVAL`` seconds (unset or 0: keep everything, the default).

Days are whole Tokyo days, like every date of the log's queries: keeping 30 days on 31 May keeps the
decisions from 1 May 00:00 (Tokyo) on (:func:`retention_cutoff`). Each store deletes in short batches
(:meth:`~.DecisionLog.prune`), so requests are never held up; with several workers each runs its own
thread, and the prunes, being deletes of the same old rows, do not conflict.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Protocol

from ...clock import today_in_tokyo
from .records import start_of_day

#: Seconds between two prunes of the service's background thread (an hour).
PRUNE_INTERVAL = 3600.0

log = logging.getLogger(__name__)


class Prunable(Protocol):
    """What :class:`Retention` needs of a decision log."""

    url: str

    def prune(self, before: datetime) -> int: ...


def retention_cutoff(days: int, today: date) -> datetime:
    """The first moment kept when keeping ``days`` days on ``today``: the start of the day ``days``
    days before, in Tokyo.

    :raise ValueError: ``days`` is below 1 (that would delete today's decisions too).
    """
    if days < 1:
        raise ValueError(f"the days to keep must be at least 1, not {days}")
    return start_of_day(today - timedelta(days=days))


class Retention:
    """A daemon thread that prunes ``decision_log`` now and then every ``interval`` seconds,
    keeping ``days`` days. A prune that fails is logged and tried again at the next interval."""

    def __init__(
        self,
        decision_log: Prunable,
        days: int,
        interval: float = PRUNE_INTERVAL,
        today: Callable[[], date] = today_in_tokyo,
    ) -> None:
        retention_cutoff(days, today())  # refuses a bad number of days before anything starts
        if interval <= 0:
            raise ValueError(
                f"the prune interval must be a positive number of seconds, not {interval}"
            )
        self.decision_log = decision_log
        self.days = days
        self.interval = interval
        self._today = today
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="flets-decision-log-retention", daemon=True
        )

    def start(self) -> Retention:
        self._thread.start()
        return self

    def prune_once(self) -> int:
        """Delete what is older than the retention window now; how many decisions were deleted."""
        cutoff = retention_cutoff(self.days, self._today())
        removed = self.decision_log.prune(cutoff)
        if removed:
            log.info("decision log: deleted %d decisions logged before %s (keeping %d days)",
                     removed, cutoff.isoformat(), self.days)  # fmt: skip
        return removed

    def _run(self) -> None:
        while True:
            try:
                self.prune_once()
            except Exception as exc:  # noqa: BLE001 — keep the thread: the next round retries
                log.warning("decision log: pruning failed: %s", exc)
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
