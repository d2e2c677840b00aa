"""Structured JSON logs, one line per event, each carrying the request id.

The request id comes from the caller's ``X-Request-ID`` when it is a sane token (so an order system can
follow its own id through our logs), otherwise we make one; either way it is echoed in the response.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextlib import nullcontext
from typing import Any

from flask import Flask, Response, g, request

from . import metrics
from .logs import JsonFormatter, log_line, request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

log = logging.getLogger("webapp.access")


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
    return request_id, request_id_var.set(request_id)


def end_request(token: Any) -> None:
    request_id_var.reset(token)


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
