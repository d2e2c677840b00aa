"""Structured JSON logs, one line per event, each carrying the request id.

The request id comes from the caller's ``X-Request-ID`` when it is a sane token (so an order system can
follow its own id through our logs), otherwise we make one; either way it is echoed in the response.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextlib import nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, g, request

from . import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

#: LogRecord attributes that are plumbing, not content.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

log = logging.getLogger("webapp.access")

#: The id of the request being served: set by the Flask hooks below and by :mod:`webapp.fast.wsgi`, read
#: by log lines, problem bodies and the decision log (a context variable, so it also exists outside
#: Flask's request context).
_request_id: ContextVar[str | None] = ContextVar("flets_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread is serving, or ``None`` outside a request."""
    return _request_id.get()


def log_line(created: float, level: str, logger: str, message: str, extra: dict[str, Any]) -> str:
    """One JSON log line: time, level, logger, message, the request id (inside a request), extras."""
    entry: dict[str, Any] = {
        "ts": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    request_id = _request_id.get()
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


def configure_logging(level: str = "INFO") -> None:
    """Send the ``webapp`` loggers to standard error as JSON lines (idempotent)."""
    logger = logging.getLogger("webapp")
    logger.setLevel(level)
    if not any(getattr(h, "_flets_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._flets_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a sane token, else a fresh one."""
    if header and _SANE_ID.match(header):
        return header
    return uuid.uuid4().hex


def begin_request(header: str | None) -> tuple[str, Any]:
    """Start serving a request that sent ``X-Request-ID: header``: its id, and the token that
    :func:`end_request` takes to forget it."""
    request_id = request_id_from(header)
    return request_id, _request_id.set(request_id)


def end_request(token: Any) -> None:
    _request_id.reset(token)


def log_access(
    method: str, path: str, status: int, started: float, route: str = metrics.UNMATCHED
) -> None:
    """The access-log line and the request metrics of one request (``started`` from
    :func:`time.perf_counter`; ``route`` the URL rule that answered it).

    Every request writes one, so with the default logging set-up (our JSON handler alone) the line is
    written straight to its stream: building a :class:`logging.LogRecord` and filtering its attributes
    cost more than the rest of a decision. Any other set-up gets the record as usual.
    """
    seconds = time.perf_counter() - started
    metrics.observe_request(route, method, status, seconds)
    if not log.isEnabledFor(logging.INFO):
        return
    extra = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    handler = _sole_json_handler()
    if handler is None:
        # The record log.info("request", extra=extra) makes, minus the caller lookup (the
        # formatter never prints it).
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None,
                                  extra=extra))  # fmt: skip
        return
    line = log_line(time.time(), "info", log.name, "request", extra)
    with handler.lock or nullcontext():
        handler.stream.write(line + handler.terminator)
        handler.stream.flush()


def _sole_json_handler() -> logging.StreamHandler[Any] | None:
    """The handler the access line goes to when it is our JSON handler alone and nothing filters."""
    parent = log.parent
    if log.handlers or log.filters or not log.propagate or parent is None or parent.propagate:
        return None
    handlers = parent.handlers
    if len(handlers) != 1 or parent.filters:
        return None
    handler = handlers[0]
    if (
        not getattr(handler, "_flets_json", False)
        or handler.filters
        or handler.level > logging.INFO
    ):
        return None
    return handler  # type: ignore[return-value]


def _start_request() -> None:
    g.request_id, g.request_id_token = begin_request(request.headers.get(REQUEST_ID_HEADER))
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    rule = request.url_rule
    log_access(request.method, request.path, response.status_code,
               g.get("started", time.perf_counter()),
               metrics.UNMATCHED if rule is None else rule.rule)  # fmt: skip
    return response


def _forget_request(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        end_request(token)


def init_app(app: Flask) -> None:
    configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_forget_request)
