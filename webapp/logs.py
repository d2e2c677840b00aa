"""One JSON object per log line: the app's lines, gunicorn's and nginx's alike.

Kept apart from :mod:`webapp.observability` (the request hooks, the access line, the metrics) because
the processes that only start the server — the launcher and gunicorn's master, whose log lines use
:class:`JsonFormatter` too — should not import Flask to write a line (start time, docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

#: LogRecord attributes that are plumbing, not content.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

#: The id of the request being served: set by the request hooks of :mod:`webapp.observability` and by
#: :mod:`webapp.fast.wsgi`, read by log lines, problem bodies and the decision log (a context variable,
#: so it also exists outside Flask's request context).
request_id_var: ContextVar[str | None] = ContextVar("flets_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread is serving, or ``None`` outside a request."""
    return request_id_var.get()


def log_line(created: float, level: str, logger: str, message: str, extra: dict[str, Any]) -> str:
    """One JSON log line: time, level, logger, message, the request id (inside a request), extras."""
    entry: dict[str, Any] = {
        "ts": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    request_id = request_id_var.get()
    if request_id is not None:
        entry["request_id"] = request_id
    entry.update(extra)
    try:
        return orjson.dumps(entry, default=str).decode()
    except (
        TypeError
    ):  # what orjson cannot write (an integer beyond 64 bits, a key that is no string)
        return _LINE.encode(entry)


#: ``json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))``, built once.
_LINE = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object (:func:`log_line`)."""

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _RESERVED}
        if record.exc_info:
            extra["exception"] = self.formatException(record.exc_info)
        return log_line(record.created, record.levelname.lower(), record.name, record.getMessage(),
                        extra)  # fmt: skip
