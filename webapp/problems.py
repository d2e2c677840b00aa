"""Every error the service returns, as one body shape: ``application/problem+json`` (RFC 9457).

A problem has a stable ``type`` (``/problems/<slug>``, documented at that address), a ``title`` and
``detail`` in the request's language, the HTTP ``status``, the ``request_id`` and ``errors``: one entry per
bad field, ``{"field": "facts.change_type", "message": "..."}``. Engine errors are mapped here and nowhere
else, so every view can simply let them propagate.

Details and field messages are coded :class:`~engine.messages.Message` objects (or bilingual
:class:`~engine.format.common.Text`), rendered in the request's language only when the body is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, json, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound

from engine import EvaluationError, FactsError, NoVersionInForceError, UnknownRuleSetError
from engine.messages import Code, Message, localized
from engine.messages.language import Lang, Text
from engine.rules.partial import TooManyCombinationsError, UnknownListError

from .i18n import api_lang, page_lang
from .observability import current_request_id

PROBLEM_MIMETYPE = "application/problem+json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemType:
    """One documented kind of problem: its slug never changes once published."""

    slug: str
    status: int
    title: Text
    description: str

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"


def _type(slug: str, status: int, ja: str, en: str, description: str) -> ProblemType:
    return ProblemType(slug, status, Text(ja, en), description)


PROBLEM_TYPES: dict[str, ProblemType] = {
    t.slug: t
    for t in (
        _type("malformed-json", 400, "JSON として読めません", "Malformed JSON",
              "The body is not valid JSON (or uses NaN/Infinity, or nests too deeply)."),
        _type("bad-request", 400, "不正なリクエストです", "Bad request",
              "The request could not be understood."),
        _type("invalid-encoding", 400, "UTF-8 として読めません", "Not UTF-8",
              "The path, a query parameter, a header or a form field holds bytes that are not "
              "valid UTF-8 (an encoded surrogate, an overlong form, a stray byte); `errors` names "
              "it. Refused before anything is decided or logged."),
        _type("unknown-ruleset", 404, "判定ルールが見つかりません", "Unknown rule set",
              "No rule set with this id is loaded; GET /v1/rulesets lists them."),
        _type("unknown-tariff", 404, "料金表が見つかりません", "Unknown tariff",
              "No tariff with this id is loaded; GET /v1/tariffs lists them."),
        _type("not-found", 404, "見つかりません", "Not found", "No resource at this address."),
        _type("method-not-allowed", 405, "このメソッドは使えません", "Method not allowed",
              "The address exists but not for this HTTP method; see the Allow header."),
        _type("payload-too-large", 413, "リクエストが大きすぎます", "Payload too large",
              "The body is larger than the limit named in `limit` (bytes)."),
        _type("batch-too-large", 413, "件数が多すぎます", "Batch too large",
              "More items than the limit named in `limit`; split the batch."),
        _type("unsupported-media-type", 415, "Content-Type が JSON ではありません",
              "Unsupported media type", "Send the body as application/json."),
        _type("invalid-fields", 422, "入力内容に誤りがあります", "Invalid fields",
              "One or more fields are invalid; `errors` names each field path and the reason."),
        _type("no-version-in-force", 422, "その日に有効な版がありません", "No version in force",
              "The rule set or tariff has no version in force on `as_of`."),
        _type("too-many-combinations", 422, "組み合わせが多すぎます", "Too many combinations",
              "The facts sent as `unknown` (or the what-if of `explain=whatif`) leave more "
              "combinations than one request may consider, or more than its time allows; `detail` "
              "says which. Confirm some of the unknown facts and ask again. Nothing was logged."),
        _type("not-ready", 503, "準備ができていません", "Not ready",
              "The service has not loaded what this request needs."),
        _type("internal-error", 500, "内部エラーが発生しました", "Internal error",
              "An unexpected error; it has been logged with the request id. Not caused by your input."),
        _type("unauthorized", 401, "認証が必要です", "Authentication required",
              "Send `Authorization: Bearer <token>` with the token the operator configured."),
        _type("forbidden", 403, "この操作は許可されていません", "Forbidden",
              "The token is wrong, or this API is closed because no token is configured."),
        _type("reload-refused", 422, "新しいルールは読み込まれませんでした", "Reload refused",
              "The changed files fail `flets-elig check`; `errors` lists each file:line. The "
              "previous version keeps serving."),
        _type("decision-log-unavailable", 503, "判定記録に書き込めません", "Decision log unavailable",
              "The decision could not be logged, so it was not answered; retry later."),
    )
}  # fmt: skip

_STATUS_SLUGS = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
                 413: "payload-too-large", 415: "unsupported-media-type"}  # fmt: skip

#: Werkzeug's own description of these errors (its English is the catalogue's); a description given
#: to ``abort`` is shown as it was written.
_HTTP_MESSAGES: dict[type[HTTPException], Code] = {
    BadRequest: Code.BAD_REQUEST,
    NotFound: Code.NOT_FOUND,
    MethodNotAllowed: Code.METHOD_NOT_ALLOWED,
}

FieldErrors = Mapping[str, list[str]]


@dataclass
class Problem(Exception):
    """Raise from a view to answer with a problem body; ``detail`` is a Message, bilingual Text or
    (for an operator's diagnostics) plain text."""

    slug: str
    detail: Text | str
    errors: FieldErrors = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.slug)

    @property
    def type(self) -> ProblemType:
        return PROBLEM_TYPES[self.slug]

    def to_dict(self, lang: Lang) -> dict[str, Any]:
        """The JSON body in ``lang``."""
        kind = self.type
        detail = (
            self.detail(lang) if isinstance(self.detail, Text) else localized(self.detail, lang)
        )
        return {
            "type": kind.uri,
            "title": kind.title(lang),
            "status": kind.status,
            "detail": detail,
            "errors": field_errors(self.errors, lang),
            "request_id": current_request_id(),
            **self.extra,
        }


def field_errors(errors: FieldErrors, lang: Lang) -> list[dict[str, str]]:
    """``{"facts.x": ["msg", ...]}`` → one ``{"field", "message"}`` entry per message, sorted by field."""
    return [
        {"field": name, "message": localized(message, lang)}
        for name in sorted(errors)
        for message in errors[name]
    ]


def flatten_messages(messages: Mapping[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → ``{"items.3.facts": ["..."]}`` (``_schema`` names the object);
    messages stay as they are, so a coded one can still be rendered in Japanese."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = (prefix.rstrip(".") or "body") if key == "_schema" else f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_messages(value, f"{path}."))
        else:
            values = value if isinstance(value, list) else [value]
            flat.setdefault(path, []).extend(_text(v) for v in values)
    return flat


def _text(message: object) -> str:
    """A message as text; a ``str`` (a coded Message among them) is kept as it is."""
    return message if isinstance(message, str) else str(message)


def message_lists(errors: Mapping[str, object]) -> dict[str, list[str]]:
    """Engine field errors (values a message or a list of them) as lists of messages."""
    return {
        name: [_text(v) for v in value] if isinstance(value, list | tuple) else [_text(value)]
        for name, value in errors.items()
    }


def prefixed(errors: Mapping[str, object], prefix: str) -> dict[str, list[str]]:
    """Field errors moved under ``prefix`` (``facts`` → ``facts.change_type``); ``_schema`` is the object."""
    return {
        (prefix if name == "_schema" else f"{prefix}.{name}"): messages
        for name, messages in message_lists(errors).items()
    }


def invalid_fields(errors: FieldErrors) -> Problem:
    count = sum(len(v) for v in errors.values())
    return Problem("invalid-fields", Message(Code.INVALID_FIELDS, count=count), errors)


def problem_for_engine_error(exc: Exception, facts_prefix: str = "facts") -> Problem | None:
    """The problem for an engine error a caller caused, or ``None`` when the caller did not cause it."""
    if isinstance(exc, FactsError):
        return invalid_fields(prefixed(exc.fields, facts_prefix))
    if isinstance(exc, UnknownListError):
        return invalid_fields(prefixed(exc.fields, "unknown"))
    if isinstance(exc, TooManyCombinationsError):
        return Problem("too-many-combinations", exc.message)
    if isinstance(exc, UnknownRuleSetError):
        return Problem("unknown-ruleset", exc.message, extra={"known": exc.known})
    if isinstance(exc, NoVersionInForceError):
        return Problem("no-version-in-force", exc.message, {"as_of": [exc.message]})
    return _tariff_problem(exc)


def _tariff_problem(exc: Exception) -> Problem | None:
    """Tariff-engine errors, when that engine is installed."""
    try:
        from engine.tariff import QuoteRequestError, UnknownTariffError
    except ImportError:
        return None
    if isinstance(exc, UnknownTariffError):
        return Problem("unknown-tariff", exc.message)
    if isinstance(exc, QuoteRequestError):
        return invalid_fields(exc.fields)
    return None


def problem_response(problem: Problem, lang: Lang | None = None) -> Response:
    """Serialise ``problem`` (HTML for the sales pages, problem+json elsewhere)."""
    if request.blueprint == "pages":
        chosen = lang or page_lang()
        body = problem.to_dict(chosen)
        html = render_template("error.html", problem=body, lang=chosen)
        return Response(html, status=body["status"], mimetype="text/html")
    body = problem.to_dict(lang or api_lang())
    return Response(
        json.dumps(body, ensure_ascii=False), status=body["status"], mimetype=PROBLEM_MIMETYPE
    )


def _http_problem(exc: HTTPException) -> Problem:
    code = exc.code or 500
    slug = _STATUS_SLUGS.get(code, "bad-request" if code < 500 else "internal-error")
    extra: dict[str, Any] = {}
    if code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        extra["limit"] = limit
        return Problem(slug, Message(Code.PAYLOAD_TOO_LARGE, limit=limit), extra=extra)
    message = _HTTP_MESSAGES.get(type(exc))
    if message is not None and "description" not in vars(exc):
        return Problem(slug, Message(message))
    return Problem(slug, str(exc.description or exc.name))


def handle_problem(exc: Problem) -> Response:
    return problem_response(exc)


def handle_http_exception(exc: HTTPException) -> Response:
    response = problem_response(_http_problem(exc))
    allow = dict(exc.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def handle_engine_error(exc: Exception) -> Response:
    problem = problem_for_engine_error(exc)
    if problem is None:
        return handle_unexpected(exc)
    return problem_response(problem)


def handle_unexpected(exc: Exception) -> Response:
    """Log the traceback with the request id; the client sees a plain problem, never the traceback."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    kind = "evaluation failed" if isinstance(exc, EvaluationError) else "internal error"
    return problem_response(Problem("internal-error", Message(Code.INTERNAL_ERROR, kind=kind)))


def init_app(app: Flask) -> None:
    """Register the handlers: one shape for every error the app can produce."""
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_engine_error)
