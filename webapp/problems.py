"""Every error the service returns, as one body shape: ``application/problem+json`` (RFC 9457).

A problem has a stable ``type`` (``/problems/<slug>``, documented at that address), a ``title`` and
``detail`` in the request's language, the HTTP ``status``, the ``request_id`` and ``errors``: one entry per
bad field, ``{"field": "facts.change_type", "code": "not_one_of", "message": "...", "suggestion":
"relocation"}``. ``code`` is one of :data:`FIELD_ERROR_CODES`, a closed list a program can branch on
(the message is for people and may be reworded); ``suggestion``, when present, is the allowed value
closest to the one sent. Engine errors are mapped here and nowhere else, so every view can simply let
them propagate.

Details and field messages are coded :class:`~engine.messages.Message` objects (or bilingual
:class:`~engine.format.common.Text`), rendered in the request's language only when the body is written,
and the answer says which language it is in (``Content-Language``).
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, json, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound

from engine import EvaluationError, FactsError, NoVersionInForceError, UnknownRuleSetError
from engine.messages import Code, Message, localized
from engine.messages.language import Lang, Text
from engine.messages.schema import RefusedChoice
from engine.rules.partial import TooManyCombinationsError, UnknownListError

from .i18n import api_lang, page_lang
from .logs import current_request_id

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
        _type("conflict", 409, "他の変更と衝突しました", "Conflict",
              "The file changed since the draft was opened (`current_digest`); open it again."),
        _type("decision-log-unavailable", 503, "判定記録に書き込めません", "Decision log unavailable",
              "The decision could not be logged, so it was not answered; retry later."),
    )
}  # fmt: skip

_STATUS_SLUGS = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
                 413: "payload-too-large", 415: "unsupported-media-type"}  # fmt: skip

#: Werkzeug's own description of these errors (its English is the catalogue's).
_HTTP_MESSAGES: dict[type[HTTPException], Code] = {
    BadRequest: Code.BAD_REQUEST,
    NotFound: Code.NOT_FOUND,
    MethodNotAllowed: Code.METHOD_NOT_ALLOWED,
}
#: The detail of any other HTTP error, by the problem type it is answered as: a description a
#: library wrote is English only, and an answer is in one language.
_SLUG_MESSAGES: dict[str, Code] = {
    "bad-request": Code.BAD_REQUEST,
    "not-found": Code.NOT_FOUND,
    "method-not-allowed": Code.METHOD_NOT_ALLOWED,
    "unsupported-media-type": Code.NOT_JSON,
    "internal-error": Code.UNEXPECTED_ERROR,
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


#: The machine codes of field errors, a closed list: what a program may branch on. Each catalogue
#: code a field error can carry maps to one of them (:data:`_FIELD_CODES`); anything else (a rule
#: file's diagnostic for an operator, a message without a code) is ``invalid_value``.
FIELD_ERROR_CODES: dict[str, str] = {
    "required": "The field is missing (or empty where a value is needed).",
    "wrong_type": "The value has the wrong JSON type (a string for a number, a list for an object, null).",
    "invalid_format": "Text that should be a date, a month, a date-time or plain text is not.",
    "not_one_of": "The value is not one of the allowed values or known ids; see `suggestion`.",
    "out_of_range": "A number, date or month outside its allowed range.",
    "wrong_length": "A text or list that is too short or too long.",
    "unknown_field": "A field or parameter that does not exist here; see `suggestion`.",
    "not_unique": "A list that repeats a value.",
    "inconsistent": "The value does not fit another field's (an end before its start, a pair half given).",
    "not_in_force": "Nothing is in force on the date given (a rule set or tariff version, a tax rate).",
    "not_utf8": "Bytes that are not UTF-8.",
    "malformed": "A body that cannot be read as JSON.",
    "invalid_value": "Any other reason: read `message`.",
}

#: By catalogue code (a :class:`Code` is its value: a code another part adds may be named by value).
_BY_FIELD_CODE: dict[str, tuple[str, ...]] = {
    "required": (Code.REQUIRED, Code.QUOTE_ITEM_REQUIRED, Code.ADMIN_NAME_CANDIDATE,
                 Code.ADMIN_CANDIDATE_MISSING, Code.ADMIN_CASE_NO_RULESET, Code.ADMIN_CASE_NO_FACTS),
    "wrong_type": (Code.NULL, Code.INVALID_INPUT_TYPE, Code.NOT_A_STRING, Code.NOT_A_NUMBER,
                   Code.NOT_AN_INTEGER, Code.NOT_A_BOOLEAN, Code.NOT_A_LIST, Code.NOT_A_MAPPING,
                   Code.FACTS_NOT_AN_OBJECT, Code.PARAM_NOT_A_BOOLEAN, Code.PARAMS_NOT_AN_OBJECT,
                   Code.QUOTE_NOT_AN_OBJECT, Code.QUOTE_ITEM_NOT_AN_OBJECT, Code.ADMIN_SEND_OBJECT,
                   Code.ADMIN_NOT_AN_OBJECT),
    "invalid_format": (Code.NOT_A_DATE, Code.PARAM_NOT_A_DATE, Code.PARAM_NOT_A_DATETIME,
                       Code.PARAM_TIME_ZONE, Code.PARAM_NOT_A_MONTH, Code.PARAM_NOT_A_TEXT,
                       Code.CONTROL_CHARACTERS, Code.ADMIN_INVALID_DATE, Code.ADMIN_NOT_A_DAY,
                       Code.ADMIN_NOT_A_MOMENT, "param_month_amounts"),
    "not_one_of": (Code.ONE_OF, Code.QUOTE_UNKNOWN_TARIFF, Code.QUOTE_UNKNOWN_ITEM,
                   Code.UNKNOWN_RULESET, Code.UNKNOWN_TARIFF, Code.UNKNOWN_NOT_A_FACT,
                   Code.ADMIN_NO_CANDIDATE_FOLDER, Code.ADMIN_NOT_UNDER_ROOT),
    "out_of_range": (Code.AT_LEAST, Code.AT_MOST, Code.BETWEEN, Code.INTEGER_OUT_OF_RANGE,
                     Code.MONTH_OUT_OF_RANGE, Code.DATE_OUT_OF_RANGE, Code.ADMIN_INVALID_LIMIT,
                     Code.ADMIN_QUERY_LIMIT),
    "wrong_length": (Code.TOO_SHORT, Code.TOO_LONG, Code.TEXT_LENGTH_BETWEEN,
                     Code.LIST_LENGTH_BETWEEN, Code.PARAM_TEXT_TOO_LONG, Code.QUOTE_NO_ITEMS,
                     Code.QUOTE_TOO_MANY_ITEMS, Code.ADMIN_TOO_MANY_CASES),
    "unknown_field": (Code.UNKNOWN_FIELD, Code.UNKNOWN_PARAM, Code.UNKNOWN_PARAM_NONE_EXPECTED),
    "not_unique": (Code.ITEMS_REPEAT,),
    "inconsistent": (Code.PARAM_BEFORE, Code.MONTH_BEFORE_PURCHASE,
                     Code.MONTH_BEFORE_SERVICE_START, Code.UNIT_CHANGE_INCOMPLETE,
                     Code.UNIT_CHANGE_OUTSIDE_PLAN, Code.WORK_DATE_FOR_DAYTIME,
                     Code.ONU_WORKS_OR_AMOUNT, Code.CONSTRUCTION_WITHOUT_WORK,
                     Code.JOINT_MONTH_AND_REGISTRATION, Code.JOINT_CONSTRUCTION_WITHOUT_WORK,
                     Code.UNKNOWN_ALSO_GIVEN, "starts_at_or_time_slot"),
    "not_in_force": (Code.NO_VERSION_IN_FORCE, Code.QUOTE_TARIFF_NOT_IN_FORCE, Code.NO_TAX_RATE),
    "not_utf8": (Code.NOT_UTF8, Code.BODY_NOT_UTF8),
    "malformed": (Code.MALFORMED_JSON, Code.MALFORMED_JSON_AT, Code.JSON_TOO_DEEP,
                  Code.JSON_LONE_SURROGATE, Code.BODY_UNREADABLE),
}  # fmt: skip
_FIELD_CODES: dict[str, str] = {
    code: name for name, codes in _BY_FIELD_CODE.items() for code in codes
}
#: Which parameter of a message lists the choices a suggestion is picked from (comma-separated).
_CHOICES = {Code.ONE_OF: "choices", Code.QUOTE_UNKNOWN_TARIFF: "known",
            Code.QUOTE_UNKNOWN_ITEM: "known", Code.UNKNOWN_PARAM: "expected"}  # fmt: skip
#: Longest value a suggestion is looked for (a longer one is nobody's typo).
_SUGGEST_LENGTH = 100
_SEPARATORS = re.compile(r"[\s\-.]+")


def field_code(message: str) -> str:
    """The machine code (one of :data:`FIELD_ERROR_CODES`) of a field error's message."""
    code = message.code if isinstance(message, Message) else None
    return _FIELD_CODES.get(code, "invalid_value") if code is not None else "invalid_value"


def _normal(text: str) -> str:
    """``text`` as a choice would be written: NFKC (full-width letters), case-folded, words joined
    by ``_``."""
    return _SEPARATORS.sub("_", unicodedata.normalize("NFKC", text).strip().casefold())


def closest(value: object, choices: list[str]) -> str | None:
    """The choice ``value`` most probably meant: the one equal to it once normalised ("Tokyo",
    "ＴＯＫＹＯ" → ``tokyo``), else the closest by edit similarity (difflib, ratio ≥ 0.75), else
    ``None``."""
    if not isinstance(value, str) or not value.strip() or len(value) > _SUGGEST_LENGTH:
        return None
    normal = {_normal(choice): choice for choice in choices}
    wanted = _normal(value)
    if wanted in normal:
        return normal[wanted]
    close = difflib.get_close_matches(wanted, list(normal), n=1, cutoff=0.75)
    return normal[close[0]] if close else None


def with_sent(message: str, value: object, options: list[str] | None = None) -> str:
    """``message`` remembering the ``value`` it refused and, when the message does not list them,
    the ``options`` there were (an unknown rule set: the loaded ids), for :func:`suggestion`."""
    if not isinstance(message, Message):
        return message
    refused = RefusedChoice(message.code, **message.params)
    refused.sent = value
    refused.options = None if options is None else tuple(options)
    return refused


def value_at(data: object, path: str) -> object:
    """The value a field path (``items.0.params.month``) names in ``data``, else ``None``."""
    for key in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def remember_sent(errors: FieldErrors, data: object, prefix: str = "") -> dict[str, list[str]]:
    """``errors`` whose messages with choices remember the value ``data`` holds at their path
    (``prefix`` is where ``data`` sits in the paths): what the tariff engine refuses comes without
    it, and a suggestion needs it."""

    def sent(name: str, message: str) -> str:
        if not isinstance(message, Message) or message.code not in _CHOICES:
            return message
        if message.code is Code.UNKNOWN_PARAM or not name.startswith(prefix):
            return message
        if getattr(message, "sent", None) is not None:
            return message  # marshmallow's, which knows it already
        return with_sent(message, value_at(data, name[len(prefix) :]))

    return {name: [sent(name, m) for m in messages] for name, messages in errors.items()}


def suggestion(name: str, message: str) -> str | None:
    """The allowed value closest to the one refused, for a message that knows its choices."""
    if not isinstance(message, Message):
        return None
    options = getattr(message, "options", None)
    if options is None and message.code in _CHOICES:
        options = str(message.params[_CHOICES[message.code]]).split(", ")
    if not options:
        return None
    sent = (
        name.rpartition(".")[2]
        if message.code is Code.UNKNOWN_PARAM
        else getattr(message, "sent", None)
    )
    found = closest(sent, list(options))
    return None if found == sent else found


def field_error(name: str, message: str, lang: Lang) -> dict[str, str]:
    """One entry of ``errors``: the field, its machine code, the message in ``lang``, and the
    suggestion when there is one."""
    entry = {"field": name, "code": field_code(message), "message": localized(message, lang)}
    hint = suggestion(name, message)
    if hint is not None:
        entry["suggestion"] = hint
    return entry


def field_errors(errors: FieldErrors, lang: Lang) -> list[dict[str, str]]:
    """``{"facts.x": ["msg", ...]}`` → one :func:`field_error` entry per message, sorted by field."""
    return [field_error(name, message, lang) for name in sorted(errors) for message in errors[name]]


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
        response = Response(html, status=body["status"], mimetype="text/html")
    else:
        chosen = lang or api_lang()
        body = problem.to_dict(chosen)
        response = Response(
            json.dumps(body, ensure_ascii=False), status=body["status"], mimetype=PROBLEM_MIMETYPE
        )
    response.headers["Content-Language"] = chosen
    return response


def _http_problem(exc: HTTPException) -> Problem:
    code = exc.code or 500
    slug = _STATUS_SLUGS.get(code, "bad-request" if code < 500 else "internal-error")
    extra: dict[str, Any] = {}
    if code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        extra["limit"] = limit
        return Problem(slug, Message(Code.PAYLOAD_TOO_LARGE, limit=limit), extra=extra)
    message = _HTTP_MESSAGES.get(type(exc)) or _SLUG_MESSAGES[slug]
    return Problem(slug, Message(message))


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
    code = Code.EVALUATION_FAILED if isinstance(exc, EvaluationError) else Code.UNEXPECTED_ERROR
    return problem_response(Problem("internal-error", Message(code)))


def init_app(app: Flask) -> None:
    """Register the handlers: one shape for every error the app can produce."""
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_engine_error)
