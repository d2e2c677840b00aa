"""A WSGI fast path for the two decision calls, in front of the Flask app.

Nearly every request an order system sends is a well-formed ``POST /v1/rulesets/<id>/evaluate`` or
``…/evaluate-batch``. For those, Flask's own machinery (request and app contexts, routing, hooks,
response objects) cost more than deciding and logging (docs/benchmarks.md). This middleware answers
that common case directly, with the same functions the Flask views use (:mod:`webapp.decisions`), and
hands everything else to Flask unchanged: other routes and methods, a missing or wrong token, another
content type, a body that is too large, does not parse or is not a plain envelope, an unknown rule
set, facts that fail validation, a decision log that refuses the write. Flask then produces the answer
or the problem exactly as it always did, from the same body (the bytes read here are put back).

Nothing is handed over after a decision was logged: a failure while rendering it becomes Flask's 500
problem, so a decision is never logged twice. ``tests/webapp/test_fastpath.py`` checks that the answers
(status, headers, body) and the log rows equal the Flask app's for the same requests. ``FAST_PATH =
False`` in the config (``FLETS_FAST_PATH=false``) turns it off.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g

from engine import Rulebook
from engine.jsontext import loads

from . import admin
from .decisions import (
    batch_json,
    check_batch_size,
    decide_batch,
    decide_one,
    explain_level,
    one_json,
)
from .i18n import lang_for
from .inputs import SURROGATE_ESCAPE
from .observability import REQUEST_ID_HEADER, begin_request, end_request, log_access
from .render import Explain
from .schemas import quick_batch_request, quick_evaluate_request

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

#: The decision routes; rule set ids are lower-case identifiers (the loader refuses anything else).
_DECISION_ROUTE = re.compile(r"/v1/rulesets/([a-z][a-z0-9_]*)/(evaluate|evaluate-batch)")


class _HandOver(Exception):
    """This request is not the common case: Flask answers it."""


class DecisionFastPath:
    """WSGI middleware: answers plain decision requests itself, passes everything else to ``flask``."""

    def __init__(self, app: Flask, flask: WSGIApp) -> None:
        self.app = app
        self.flask = flask

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        route = _DECISION_ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if (
            route is None
            or environ.get("REQUEST_METHOD") != "POST"
            or not self._authorised(environ)
        ):
            return self.flask(environ, start_response)
        started = time.perf_counter()
        request_id, token = begin_request(environ.get("HTTP_X_REQUEST_ID"))
        try:
            return self._answer(environ, start_response, route[1], route[2], request_id, started)
        except _HandOver:
            return self.flask(environ, start_response)
        finally:
            end_request(token)

    def _authorised(self, environ: Environ) -> bool:
        """No decision token configured, or the right one sent; Flask answers 401/403 otherwise."""
        expected = self.app.config.get("DECISION_TOKEN")
        if not expected:
            return True
        given = admin.bearer_token(environ.get("HTTP_AUTHORIZATION"))
        return given is not None and admin.token_matches(given, expected)

    def _answer(
        self,
        environ: Environ,
        start_response: StartResponse,
        ruleset_id: str,
        call: str,
        request_id: str,
        started: float,
    ) -> Iterable[bytes]:
        explain = self._explain(environ) if call == "evaluate-batch" else None
        data = self._read_json(environ)
        lease = admin.engine_holder_of(self.app).acquire()
        try:
            book = lease.bundle.rulebook
            decided = self._decide(book, ruleset_id, call, data)  # logged from here on
            lang = lang_for(environ.get("HTTP_ACCEPT_LANGUAGE"))
            try:
                text = (
                    one_json(decided, lang)
                    if explain is None
                    else batch_json(decided, lang, explain)
                )
            except Exception as exc:  # noqa: BLE001 — logged already: never hand over, answer 500
                return self._failed(environ, start_response, exc, request_id)
        finally:
            lease.release()
        body = (text + "\n").encode()
        start_response("200 OK", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Content-Language", lang),
            (REQUEST_ID_HEADER, request_id),
        ])  # fmt: skip
        log_access("POST", environ["PATH_INFO"], 200, started)
        return [body]

    @staticmethod
    def _explain(environ: Environ) -> Explain:
        query = environ.get("QUERY_STRING", "")
        if not query:
            return "compact"
        name, _, value = query.partition("=")
        level = explain_level(value) if name == "explain" else None
        if level is None:
            raise _HandOver
        return level

    def _read_json(self, environ: Environ) -> Any:
        """The body, parsed, when it is declared JSON, fits the limit and parses; the bytes read are
        put back for Flask whatever happens next."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if (
            mimetype != "application/json"
            or not length.isdigit()
            or "HTTP_TRANSFER_ENCODING" in environ
            or (limit is not None and int(length) > limit)
        ):
            raise _HandOver
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != int(length) or SURROGATE_ESCAPE.search(raw):
            raise _HandOver
        try:
            return loads(raw)
        except (ValueError, RecursionError):
            raise _HandOver from None

    def _decide(self, book: Rulebook, ruleset_id: str, call: str, data: Any) -> Any:
        """Decide and log; anything refused on the way (nothing logged yet) goes to Flask."""
        if call == "evaluate":
            envelope = quick_evaluate_request(data)
        elif check_batch_size(data, self.app.config["MAX_BATCH_ITEMS"]):
            envelope = quick_batch_request(data)
        else:
            envelope = None
        if envelope is None:
            raise _HandOver
        try:
            if call == "evaluate":
                return decide_one(book, ruleset_id, envelope)
            return decide_batch(book, ruleset_id, envelope)
        except Exception:  # unknown rule set, bad facts, log refused …: Flask answers, as before
            raise _HandOver from None

    def _failed(
        self, environ: Environ, start_response: StartResponse, exc: Exception, request_id: str
    ) -> Iterable[bytes]:
        """Flask's answer to ``exc`` (its 500 problem), with the hooks a request gets."""
        with self.app.request_context(environ):
            g.request_id, g.started = request_id, time.perf_counter()
            response = self.app.make_response(self.app.handle_user_exception(exc))
            response = self.app.process_response(response)
        return response(environ, start_response)
