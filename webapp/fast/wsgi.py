"""A WSGI fast path for the two decision calls and for quotes, in front of the Flask app.

Nearly every request an order system sends is a well-formed ``POST /v1/rulesets/<id>/evaluate`` or
``…/evaluate-batch``. For those, Flask's own machinery (request and app contexts, routing, hooks,
response objects) costs more than deciding and logging (docs/benchmarks.md). This middleware answers
that common case directly and hands everything else to Flask unchanged: other routes and methods, a
missing or wrong token, another content type, a body that is too large, does not parse or is not a
plain envelope (``unknown`` facts make it not plain), an ``explain`` on evaluate or ``explain=whatif``
(partial answers and what-ifs, :mod:`engine.rules.partial`), an unknown rule set, facts that fail
validation, a decision log that refuses the write, a chunked body, bytes that are not UTF-8 (which the request screen of :mod:`webapp.inputs`,
in front of Flask, refuses). Flask then produces the answer or the problem exactly as it always did,
from the same body (the bytes read here are put back). Each check below takes its rule from the module the Flask views
take it from; what it may and may not do is the contract in :mod:`webapp.fast`.

Nothing is handed over after a decision was logged: a failure while rendering it becomes Flask's 500
problem, so a decision is never logged twice.

``POST /v1/quotes`` takes the same checks up to the parsed body (route, method, token, request
screen, content type, limit, encoding); then :mod:`.quotes` prices it or, for anything but a
quote, hands it over. A quote logs nothing, so handing over after trying is free of effects.
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
from engine.messages.language import Lang

from ..auth import DECISION_TOKEN, decision_token_refusal
from ..decisions import (
    BATCH_LIMIT,
    BODY_LIMIT,
    JSON_MIMETYPE,
    answer,
    check_batch_size,
    decide_batch,
    decide_one,
)
from ..i18n import lang_for
from ..inputs import SURROGATE_ESCAPE, body_problem, head_problem
from ..observability import REQUEST_ID_HEADER, begin_request, end_request, log_access
from ..schemas import EXPLAIN_PARAM, WHATIF, Explain, explain_level
from ..state import app_state
from .envelopes import quick_batch_request, quick_evaluate_request
from .quotes import QUOTE, QUOTE_VIEW, quote_text
from .render import batch_json, decision_json

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

#: The Flask views this path stands in for, by the name of the call each answers.
EVALUATE, EVALUATE_BATCH = "evaluate", "evaluate_batch"
_VIEWS = {EVALUATE: "api.evaluate", EVALUATE_BATCH: "api.evaluate_batch"}


def decision_routes(app: Flask) -> re.Pattern[str]:
    """The URL rules of the two views (``/v1/rulesets/<ruleset_id>/evaluate`` …) as one pattern that
    matches what Flask routes to them; each alternative is a group named after its call, holding the
    rule set id."""
    segment = app.url_map.converters["default"].regex  # what ``<ruleset_id>`` matches
    alternatives = []
    for call, endpoint in _VIEWS.items():
        (rule,) = app.url_map.iter_rules(endpoint)
        head, variable, tail = rule.rule.partition("<ruleset_id>")
        if not variable or "POST" not in (rule.methods or ()):
            raise ValueError(f"{endpoint} is not POST …/<ruleset_id>…: update {__name__}")
        alternatives.append(f"{re.escape(head)}(?P<{call}>{segment}){re.escape(tail)}")
    return re.compile("|".join(alternatives))


class _HandOver(Exception):
    """This request is not the common case: Flask answers it."""


class DecisionFastPath:
    """WSGI middleware: answers plain decision requests itself, passes everything else to ``flask``."""

    def __init__(self, app: Flask, flask: WSGIApp) -> None:
        self.app = app
        self.flask = flask
        self.holder = app_state(app).holder
        self.routes = decision_routes(app)
        #: The URL rule of each call, the route label of its metrics (as Flask's view would give).
        self.route_rules = {call: next(app.url_map.iter_rules(endpoint)).rule
                            for call, endpoint in {**_VIEWS, QUOTE: QUOTE_VIEW}.items()}  # fmt: skip

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        route = self.routes.fullmatch(path)
        call = route.lastgroup if route is not None else QUOTE
        if (
            (route is None and path != self.route_rules[QUOTE])
            or environ.get("REQUEST_METHOD") != "POST"
            or decision_token_refusal(
                self.app.config.get(DECISION_TOKEN), environ.get("HTTP_AUTHORIZATION")
            )
            is not None
        ):
            return self.flask(environ, start_response)
        assert call is not None
        started = time.perf_counter()
        request_id, token = begin_request(environ.get("HTTP_X_REQUEST_ID"))
        try:
            if route is None:
                return self._quote(environ, start_response, request_id, started)
            return self._answer(environ, start_response, call, route[call], request_id, started)
        except _HandOver:
            return self.flask(environ, start_response)
        finally:
            end_request(token)

    def _answer(
        self,
        environ: Environ,
        start_response: StartResponse,
        call: str,
        ruleset_id: str,
        request_id: str,
        started: float,
    ) -> Iterable[bytes]:
        if head_problem(environ) is not None:
            raise _HandOver  # the request screen behind refuses it
        explain = self._explain(environ) if call == EVALUATE_BATCH else self._no_explain(environ)
        data = self._read_json(environ)
        lease = self.holder.acquire()
        try:
            book = lease.bundle.rulebook
            decided = self._decide(book, ruleset_id, call, data)  # logged from here on
            lang = lang_for(environ.get("HTTP_ACCEPT_LANGUAGE"))
            try:
                text = (
                    decision_json(decided, lang)
                    if explain is None
                    else batch_json(decided, lang, explain)
                )
            except Exception as exc:  # noqa: BLE001 — logged already: never hand over, answer 500
                return self._failed(environ, start_response, exc, request_id)
        finally:
            lease.release()
        return self._send(environ, start_response, call, text, lang, request_id, started)

    def _quote(
        self, environ: Environ, start_response: StartResponse, request_id: str, started: float
    ) -> Iterable[bytes]:
        """``POST /v1/quotes`` (:mod:`.quotes`): nothing is logged but the access line, so any
        request the quote path does not answer goes to Flask."""
        if head_problem(environ) is not None:
            raise _HandOver
        data = self._read_json(environ)
        lang = lang_for(environ.get("HTTP_ACCEPT_LANGUAGE"))
        text = quote_text(self.holder, data, lang)
        if text is None:
            raise _HandOver
        return self._send(environ, start_response, QUOTE, text, lang, request_id, started)

    def _send(
        self,
        environ: Environ,
        start_response: StartResponse,
        call: str,
        text: str,
        lang: Lang,
        request_id: str,
        started: float,
    ) -> Iterable[bytes]:
        """The 200 answer whose JSON is ``text``, as the Flask view and its hooks send it, and its
        access-log line."""
        body, headers = answer(text, lang)
        headers.append((REQUEST_ID_HEADER, request_id))
        start_response("200 OK", headers)
        log_access("POST", environ["PATH_INFO"], 200, started, self.route_rules[call])
        return [body]

    @staticmethod
    def _explain(environ: Environ) -> Explain:
        """The level of a query that is empty or exactly ``explain=<level>`` (nothing to decode)."""
        query = environ.get("QUERY_STRING", "")
        if not query:
            level = explain_level(None)
        else:
            name, _, value = query.partition("=")
            level = explain_level(value) if name == EXPLAIN_PARAM else None
        if level is None or level == WHATIF:
            raise _HandOver  # a what-if (engine.rules.partial) is Flask's
        return level

    @staticmethod
    def _no_explain(environ: Environ) -> None:
        """``evaluate`` answers here only without an ``explain`` parameter: ``?explain=whatif`` (or
        a level Flask refuses) is Flask's. A query that may spell the name encoded is Flask's too."""
        query = environ.get("QUERY_STRING", "")
        if EXPLAIN_PARAM in query or "%" in query:
            raise _HandOver

    def _read_json(self, environ: Environ) -> Any:
        """The body, parsed, when it is declared JSON, fits the limit, is UTF-8 (as the request
        screen requires) and parses; the bytes read are put back for Flask whatever happens next."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        limit = self.app.config.get(BODY_LIMIT)
        if (
            mimetype != JSON_MIMETYPE
            or not (length.isascii() and length.isdigit())
            or "HTTP_TRANSFER_ENCODING" in environ
            or (limit is not None and int(length) > limit)
        ):
            raise _HandOver
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)
        if (
            len(raw) != int(length)
            or body_problem(mimetype, raw) is not None
            or SURROGATE_ESCAPE.search(raw)
        ):
            raise _HandOver
        try:
            return loads(raw)
        except (ValueError, RecursionError):
            raise _HandOver from None

    def _decide(self, book: Rulebook, ruleset_id: str, call: str, data: Any) -> Any:
        """Decide and log; anything refused on the way (nothing logged yet) goes to Flask."""
        if call == EVALUATE:
            envelope = quick_evaluate_request(data)
        elif check_batch_size(data, self.app.config[BATCH_LIMIT]):
            envelope = quick_batch_request(data)
        else:
            envelope = None
        if envelope is None:
            raise _HandOver
        try:
            if call == EVALUATE:
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
