"""Prometheus metrics (served at ``GET /metrics`` by :mod:`webapp.health`): what an operator graphs
and alerts on.

Every worker counts its own requests, decisions and reloads. Under gunicorn, workers are processes,
so :mod:`webapp.serving` gives them one folder (``PROMETHEUS_MULTIPROC_DIR``, set before this module is
imported) where prometheus_client's multiprocess mode keeps each worker's values in memory-mapped
files; whichever worker answers the scrape sums them all (docs/operations.md, "Metrics"). Without that
folder (tests, ``flask run``) the process's own registry answers.

The names and labels are part of the operations contract and listed in docs/operations.md. Labels
stay bounded: a route is the URL rule (``/v1/rulesets/<ruleset_id>/evaluate``), never the path a client
sent; a rule set or outcome label only ever takes the ids of loaded rule files.
"""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)

from .serving import MULTIPROC_ENV

if TYPE_CHECKING:
    from engine import Decision

#: The route label of a request no URL rule matched (a 404): one label, whatever the path.
UNMATCHED = "unmatched"

#: Seconds; from well under a table decision to the worker timeout.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    5.0, 10.0, 30.0)  # fmt: skip

REQUESTS = Counter(
    "flets_http_requests_total",
    "HTTP requests answered, by route (URL rule), method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "flets_http_request_duration_seconds",
    "Time from reading the request to the response's start, by route.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)
DECISIONS = Counter(
    "flets_decisions_total",
    "Decisions made and logged, by rule set, outcome, outcome kind and path "
    "(table: the load-time decision table; live: asserted through durable_rules).",
    ["ruleset", "outcome", "kind", "path"],
)
RELOADS = Counter(
    "flets_reloads_total",
    "Rule and tariff reloads by this worker, by result (applied or refused).",
    ["result"],
)
LOG_BACKLOG = Gauge(
    "flets_decision_log_backlog_rows",
    "Decision-log entries journalled but not yet copied into the database.",
    multiprocess_mode="livesum",
)
LOG_LAG = Gauge(
    "flets_decision_log_lag_seconds",
    "Age of the oldest decision-log entry not yet copied into the database.",
    multiprocess_mode="livemax",
)


class _Children:
    """A metric's labelled children by their label values.

    ``metric.labels(...)`` checks the values and takes a lock on every call (about 3 µs, three times
    a request, a fifth of the metrics' share of answering one); a child, once made, is the same object
    for the metric's whole life, so it is looked up here in a plain dict instead. Two threads making
    the same child at once get the same object from ``labels``."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.made: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.made.get(values)
        if child is None:
            child = self.made[values] = self.metric.labels(*values)
        return child


_requests, _latency, _decisions = _Children(REQUESTS), _Children(LATENCY), _Children(DECISIONS)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request (called with the access-log line, by Flask and the fast path)."""
    _requests(route, method, str(status)).inc()
    _latency(route).observe(seconds)


def observe_decisions(decisions: Sequence[Decision]) -> None:
    """Count decisions as they are logged (so only decisions that were answered count)."""
    if len(decisions) == 1:  # one decision (evaluate): no tally to build
        (d,) = decisions
        _decisions(d.ruleset.id, d.outcome.id, d.kind, "table" if d.from_table else "live").inc()
        return
    # A batch of a thousand decisions has a handful of distinct label sets: one increment each
    # (an increment in multiprocess mode writes a memory-mapped file under a lock).
    counted = Tally(
        (d.ruleset.id, d.outcome.id, d.kind, "table" if d.from_table else "live") for d in decisions
    )
    for labels, count in counted.items():
        _decisions(*labels).inc(count)


def observe_reload(ok: bool) -> None:
    RELOADS.labels("applied" if ok else "refused").inc()


#: Seconds between two updates of the decision-log gauges by one worker's decisions: the copier moves
#: the journal every 0.5 s, so finer updates show nothing new, and each is two locked writes to a
#: memory-mapped file on the path of every decision.
BACKLOG_EVERY_S = 0.25
_backlog_at = float("-inf")


def observe_log_backlog(backlog: Callable[[], tuple[int, float]], *, now: bool = False) -> None:
    """Set the log gauges from ``backlog()`` (rows not yet copied, age of the oldest), at most every
    :data:`BACKLOG_EVERY_S` seconds — or ``now`` (a scrape reads them)."""
    global _backlog_at
    at = time.monotonic()
    if not now and at - _backlog_at < BACKLOG_EVERY_S:
        return
    _backlog_at = at
    rows, oldest_age_s = backlog()
    LOG_BACKLOG.set(rows)
    LOG_LAG.set(oldest_age_s)


def worker_exited(pid: int) -> None:
    """gunicorn's ``child_exit`` hook: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """The registry a scrape reads: every worker's values in multiprocess mode, else this process's."""
    if os.environ.get(MULTIPROC_ENV):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined
    return REGISTRY
