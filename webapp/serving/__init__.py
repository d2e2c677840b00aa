"""How the service is served: nginx buffering each whole request in front of gunicorn's sync workers.

``make run``, the tests' live server and ``bench/http_load.py`` all start it the same way,
``python -m webapp.serving`` (:mod:`.__main__`), with the settings below; docs/deployment.md says
how to run the same model in production.

**Why this model.** A sync worker reads its request itself, so two clients that send half a header
(or promise a body and never send it) held both workers until they gave up, and the service
answered no one. Threads only move the limit (50 slow clients hold 50 threads) and gevent would
change how the engine's lock, the reload thread and the decision log's writers run. nginx reads
every request completely, headers and body, in its event loop (thousands of idle connections cost
it nothing; ``client_header_timeout`` and ``client_body_timeout`` drop them), and hands gunicorn
only whole requests, on a private Unix socket. It also reads each answer at once, so a client that
reads slowly does not hold a worker either. The workers stay what they were: processes (the
engine serialises durable_rules behind a process-wide lock, so throughput needs processes), each
with its own decision-log shard and reload watcher.

**Errors that never reach Flask** (a malformed request line, headers too large, a body over the
limit, the workers restarting) are answered in the problem+json shape of :mod:`webapp.problems`, with
the header set of :mod:`webapp.security`, by nginx (:mod:`.nginx`) and by the worker
(:mod:`.worker`) alike; their texts come from the message catalogue.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

#: The environment variable prometheus_client's multiprocess mode reads (its own name): the launcher
#: gives the workers one folder per run, so ``/metrics`` sums every worker (:mod:`webapp.metrics`).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The limit Flask enforces (``FLETS_MAX_CONTENT_LENGTH``); nginx enforces the same one first.
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """Every setting of the server model, in one place: nginx's and gunicorn's are derived from it."""

    #: Where clients connect (nginx listens here).
    host: str = "127.0.0.1"
    port: int = 8000
    #: The WSGI app gunicorn serves.
    app: str = "webapp:create_app()"
    #: gunicorn sync worker processes. Each loads the rulebook and has its own decision-log shard.
    workers: int = 2
    #: nginx worker processes: one event loop holds thousands of (slow) connections.
    proxy_workers: int = 1
    #: Seconds a client may take between two reads of its request head or body before nginx drops it.
    client_timeout_s: int = 10
    #: Seconds an idle keep-alive connection is kept open.
    keepalive_s: int = 15
    #: Seconds nginx waits between two writes to a client that does not read its answer.
    send_timeout_s: int = 30
    #: Seconds a worker may spend on one request before gunicorn replaces it (and nginx's wait for
    #: an answer is longer, so that case is the worker's to report).
    worker_timeout_s: int = 30
    #: The largest request body (bytes): ``FLETS_MAX_CONTENT_LENGTH``, as the app reads it.
    body_limit: int = DEFAULT_BODY_LIMIT
    #: The longest request line or single header (bytes), nginx's and gunicorn's limit alike.
    head_line_limit: int = 8190
    #: gunicorn's log level (the app's own JSON lines follow ``FLETS_LOG_LEVEL``).
    log_level: str = "info"

    @property
    def bind(self) -> str:
        """nginx's ``listen`` address (an IPv6 literal in brackets)."""
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"

    @property
    def proxy_read_timeout_s(self) -> int:
        return self.worker_timeout_s + 30


def body_limit_from_env(environ: dict[str, str] | None = None) -> int:
    """``FLETS_MAX_CONTENT_LENGTH`` read as Flask's ``from_prefixed_env`` reads it (a JSON number)."""
    raw = (os.environ if environ is None else environ).get("FLETS_MAX_CONTENT_LENGTH")
    if raw is None:
        return DEFAULT_BODY_LIMIT
    value = json.loads(raw)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"FLETS_MAX_CONTENT_LENGTH must be a positive integer, not {raw!r}")
    return value
