"""gunicorn's settings for the service (``gunicorn -c python:webapp.serving.gunicorn_conf``).

The launcher (:mod:`webapp.serving.__main__`) adds what differs per run on the command line: the
private Unix socket nginx forwards to, the number of workers and the log level. Every value comes
from :class:`webapp.serving.ServerSettings`.
"""

from __future__ import annotations

import gc
from typing import Any

from webapp.serving import ServerSettings

_SETTINGS = ServerSettings()

#: Sync workers (processes); their refusals as problems (:mod:`webapp.serving.worker`).
worker_class = "webapp.serving.worker.ProblemSyncWorker"
workers = _SETTINGS.workers
#: A request running longer than this (seconds) costs its worker, which gunicorn replaces.
timeout = _SETTINGS.worker_timeout_s
graceful_timeout = _SETTINGS.worker_timeout_s
#: The same limits nginx applies, so a request nginx passes fits gunicorn too.
limit_request_line = _SETTINGS.head_line_limit
limit_request_field_size = _SETTINGS.head_line_limit
#: Only nginx connects (the socket is in a private folder) and it sets X-Forwarded-Proto; no other
#: scheme header is believed.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
#: The app writes its own JSON access line per request.
accesslog = None
errorlog = "-"
#: gunicorn's own lines (worker starts, timeouts, signals) as the same one-object JSON lines as the
#: app's (:class:`webapp.logs.JsonFormatter`), so every line on standard error parses.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False,
                           "qualname": "gunicorn.error"},
        # The app writes the access line (with the request id); gunicorn's would be a second one.
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "formatters": {"json": {"()": "webapp.logs.JsonFormatter"}},
}  # fmt: skip
proc_name = "flets"


def post_fork(_server: Any, _worker: Any) -> None:
    """A worker starts with the collector paused: importing the app and loading the rules allocate
    some 10^5 objects that all live on, and the collector would walk them again and again (about a
    tenth of a worker's start). :func:`post_worker_init` resumes it."""
    gc.disable()


def post_worker_init(_worker: Any) -> None:
    """The app is loaded, its heap settled and frozen (:func:`webapp.state.settle_heap`): collect
    as usual from here on."""
    gc.enable()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker ended: its live gauges leave the metrics (prometheus_client's multiprocess mode)."""
    from webapp.metrics import worker_exited  # after the fork: the master never imports the app

    worker_exited(worker.pid)
