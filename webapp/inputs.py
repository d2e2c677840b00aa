"""Reading requests: the screen every request passes first, JSON bodies, and query values.

**The screen** (:class:`RequestScreen`, in front of Flask; the fast path hands it whatever it does not
answer itself) refuses, before anything is decided or logged, a request whose bytes the service would
otherwise decode wrongly or not at all:

* a path, query parameter, header or form field that is not UTF-8 once percent-decoded (an encoded
  surrogate ``ED A0 80``, an overlong form ``C0 AF``, a stray byte): 400 ``invalid-encoding`` naming
  it. Werkzeug would crash on such a query string (500), turn such a path into U+FFFD, keep such a
  form value percent-encoded, and silently drop a whole form whose raw bytes are not UTF-8;
* a JSON body that is not UTF-8 text (RFC 8259 §8.1): 400 ``malformed-json``. The standard library
  would decode it with ``surrogatepass`` (or as UTF-16 or UTF-32, where a NUL byte leads), handing
  lone surrogates to the engine, the decision log and the answer, which then failed after logging;
* a body sent without ``Content-Length`` (chunked; the server has decoded the chunks) over the size
  limit: 413 ``payload-too-large``. Werkzeug cut it at the limit and went on with the first 8 MiB.
  One the server cannot decode (a negative chunk size) is 400 ``bad-request``. A chunked body within
  the limit is read whole and passed on with a ``Content-Length``, as if it had been sent with one.

The screen answers its refusals itself (problem+json in the language of ``Accept-Language``, the
request id, the header set of :mod:`webapp.security`, one access-log line), so nothing of a refused
request reaches Flask's request machinery, which is what decoded it.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.wrappers import Response

from engine import jsontext
from engine.messages import Code, Message

from .decisions import BODY_LIMIT
from .i18n import DEFAULT_LANG, lang_for
from .observability import REQUEST_ID_HEADER, begin_request, end_request, log_access
from .problems import PROBLEM_MIMETYPE, Problem, invalid_fields
from .security import with_security_headers

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

#: A JSON escape of a UTF-16 surrogate; only bodies containing one need the (slower) pairing check.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

FORM_MIMETYPE = "application/x-www-form-urlencoded"
MULTIPART_MIMETYPE = "multipart/form-data"
#: How much of a chunked body over the limit is still read (and dropped) so that a client that is
#: still sending can read the 413; a client sending more than this is cut off.
DRAIN_LIMIT = 8 * 1024 * 1024
_READ_STEP = 64 * 1024


# --- what is not UTF-8 ---------------------------------------------------------------------------


def first_invalid_utf8(data: bytes) -> int | None:
    """The offset of the first byte of ``data`` that is not UTF-8, else ``None``. Python's decoder
    is strict: an encoded surrogate, an overlong form, a code point past U+10FFFF and a stray
    continuation byte all fail."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def wsgi_bytes(text: str) -> bytes:
    """The bytes a WSGI environ string stands for (PEP 3333: one latin-1 character per byte). A
    server that decoded them already (lone surrogates from ``surrogateescape``) gives bytes that fail
    the UTF-8 check, as they should."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _pair_not_utf8(data: bytes, fallback: str) -> str | None:
    """The name of the first ``name=value`` pair of a query string or form body that is not UTF-8
    once percent-decoded (``fallback`` when its name is not either), else ``None``."""
    for pair in data.split(b"&"):
        name, _, value = pair.partition(b"=")
        if any(first_invalid_utf8(unquote_to_bytes(piece)) is not None for piece in (name, value)):
            try:
                return unquote_to_bytes(name).decode("utf-8") or fallback
            except UnicodeDecodeError:
                return fallback
    return None


def _header_name(key: str) -> str:
    """``HTTP_ACCEPT_LANGUAGE`` → ``Accept-Language``."""
    name = key.removeprefix("HTTP_")
    return "-".join(word.capitalize() for word in name.split("_"))


def not_utf8(field: str) -> Problem:
    """The 400 for a part of the request (``path``, a parameter, a header, a form field) that is not
    UTF-8."""
    return Problem(
        "invalid-encoding",
        Message(Code.REQUEST_NOT_UTF8, field=field),
        {field: [Message(Code.NOT_UTF8)]},
    )


def head_problem(environ: Environ) -> Problem | None:
    """The 400 for a path, query parameter or header that is not UTF-8, else ``None``. Plain ASCII
    (nearly every request) costs one check per value."""
    path = environ.get("PATH_INFO", "")
    if not path.isascii() and first_invalid_utf8(wsgi_bytes(path)) is not None:
        return not_utf8("path")
    query = environ.get("QUERY_STRING", "")
    if not query.isascii() or "%" in query:
        name = _pair_not_utf8(wsgi_bytes(query), "query")
        if name is not None:
            return not_utf8(name)
    for key, value in environ.items():
        if (
            type(value) is str
            and not value.isascii()
            and (key.startswith("HTTP_") or key == "CONTENT_TYPE")
            and first_invalid_utf8(wsgi_bytes(value)) is not None
        ):
            return not_utf8(_header_name(key))
    return None


def mimetype_of(environ: Environ) -> str:
    return str(environ.get("CONTENT_TYPE", "")).partition(";")[0].strip().lower()


def is_json_mimetype(mimetype: str) -> bool:
    """What :attr:`werkzeug.Request.is_json` reads as JSON."""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def body_problem(mimetype: str, raw: bytes) -> Problem | None:
    """The 400 for a JSON or form body that is not UTF-8, else ``None`` (other bodies are not read
    as text). A NUL among a JSON body's first four bytes means UTF-16 or UTF-32, which the standard
    library would decode, lone surrogates and all."""
    if is_json_mimetype(mimetype):
        offset = first_invalid_utf8(raw)
        if offset is None:
            nul = raw.find(b"\x00", 0, 4)
            offset = nul if nul >= 0 else None
        if offset is None:
            return None
        message = Message(Code.BODY_NOT_UTF8, offset=offset)
        return Problem("malformed-json", message, {"body": [message]})
    if mimetype == FORM_MIMETYPE:
        name = _pair_not_utf8(raw, "body")
        return None if name is None else not_utf8(name)
    if mimetype == MULTIPART_MIMETYPE and first_invalid_utf8(raw) is not None:
        return not_utf8("body")  # the service takes no files: every part is text
    return None


# --- the screen ----------------------------------------------------------------------------------


class _Unreadable(Exception):
    """The server could not give the body (a malformed chunk, a lost connection)."""


def _read(stream: IO[bytes], most: int | None) -> bytes:
    """Up to ``most`` bytes of ``stream`` (all of it when ``None``), however the server splits them.

    :raise _Unreadable: when the server's stream fails. Its errors are its own classes (gunicorn:
        ``InvalidChunkSize``, ``ChunkMissingTerminator``, ``NoMoreData``), hence the broad catch.
    """
    parts: list[bytes] = []
    size = 0
    try:
        while most is None or size < most:
            step = _READ_STEP if most is None else min(_READ_STEP, most - size)
            part = stream.read(step)
            if not part:
                break
            parts.append(part)
            size += len(part)
    except Exception as exc:  # noqa: BLE001 — the server's own parse errors, see above
        raise _Unreadable from exc
    return b"".join(parts)


def _drain(stream: IO[bytes]) -> None:
    """Read and drop what a client still sends after a body over the limit (up to
    :data:`DRAIN_LIMIT`), so that it reads the 413 instead of a reset connection."""
    try:
        _read(stream, DRAIN_LIMIT)
    except _Unreadable:
        pass


def payload_too_large(limit: int) -> Problem:
    """The 413 naming ``limit`` (as werkzeug's own 413 is answered by :mod:`webapp.problems`)."""
    return Problem(
        "payload-too-large", Message(Code.PAYLOAD_TOO_LARGE, limit=limit), extra={"limit": limit}
    )


def body_unreadable() -> Problem:
    message = Message(Code.BODY_UNREADABLE)
    return Problem("bad-request", message, {"body": [message]})


def _unknown_length(environ: Environ) -> bool:
    """A chunked body the server has decoded and ends for the app (``wsgi.input_terminated``, as
    gunicorn sets it). On a server that does not end the stream, reading it could wait for ever:
    werkzeug reads such a body as empty, and so it stays."""
    return (
        "HTTP_TRANSFER_ENCODING" in environ
        and not environ.get("CONTENT_LENGTH")
        and bool(environ.get("wsgi.input_terminated"))
    )


class RequestScreen:
    """WSGI middleware in front of Flask: refuses what :func:`head_problem` and :func:`body_problem`
    find, and reads chunked bodies up to the limit (module docstring)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        problem = head_problem(environ) or self._body(environ)
        if problem is None:
            return self.wsgi_app(environ, start_response)
        return refuse(environ, start_response, problem)

    def _body(self, environ: Environ) -> Problem | None:
        """The problem of the body, if any; the body is read here (and put back) only when it is
        chunked, or JSON or a form within the limit."""
        limit: int | None = self.app.config.get(BODY_LIMIT)
        stream: IO[bytes] = environ["wsgi.input"]
        try:
            if _unknown_length(environ):
                raw = _read(stream, None if limit is None else limit + 1)
                if limit is not None and len(raw) > limit:
                    _drain(stream)
                    return payload_too_large(limit)
                # From here on an ordinary body with a length, for the fast path and Flask alike.
                environ["CONTENT_LENGTH"] = str(len(raw))
                del environ["HTTP_TRANSFER_ENCODING"]
            else:
                mimetype = mimetype_of(environ)
                length = str(environ.get("CONTENT_LENGTH") or "")
                if not (
                    is_json_mimetype(mimetype) or mimetype in (FORM_MIMETYPE, MULTIPART_MIMETYPE)
                ):
                    return None
                if not (length.isascii() and length.isdigit()) or (
                    limit is not None and int(length) > limit
                ):
                    return None  # werkzeug answers these (413, or an empty body)
                raw = _read(stream, int(length))
        except _Unreadable:
            return body_unreadable()
        environ["wsgi.input"] = io.BytesIO(raw)
        return body_problem(mimetype_of(environ), raw)


def refuse(environ: Environ, start_response: StartResponse, problem: Problem) -> Iterable[bytes]:
    """Answer ``problem`` without Flask: the problem+json body, the request id, the header set, the
    access-log line."""
    started = time.perf_counter()
    request_id, token = begin_request(environ.get("HTTP_X_REQUEST_ID"))
    try:
        accept = environ.get("HTTP_ACCEPT_LANGUAGE")
        readable = accept is None or first_invalid_utf8(wsgi_bytes(accept)) is None
        lang = lang_for(accept) if readable else DEFAULT_LANG
        body = problem.to_dict(lang)
        response = Response(
            json.dumps(body, ensure_ascii=False),
            status=body["status"],
            headers=with_security_headers(
                [(REQUEST_ID_HEADER, request_id), ("Content-Language", lang)]
            ),
            mimetype=PROBLEM_MIMETYPE,
        )
        path = wsgi_bytes(environ.get("PATH_INFO", "")).decode("utf-8", "replace")
        log_access(environ.get("REQUEST_METHOD", ""), path, body["status"], started)
        return response(environ, start_response)
    finally:
        end_request(token)


# --- JSON bodies and query values (inside Flask) -------------------------------------------------


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string in ``value`` (a key or a value, at any depth) holds an unpaired surrogate
    (``"\\ud800"``), which no UTF-8 response, log line or database row can carry. Walked without
    recursion: the value may nest as deep as the parser allowed."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            todo.extend(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def read_json() -> Any:
    """The request body as JSON (its bytes are UTF-8: :class:`RequestScreen` saw them).

    :raise 415: when the body is not declared as JSON.
    :raise 400: when it does not parse (including NaN/Infinity, nesting too deep to read, and an
        unpaired surrogate escape).
    """
    if not request.is_json:
        raise Problem("unsupported-media-type", Message(Code.NOT_JSON))
    raw = request.get_data(cache=True)
    try:
        value = jsontext.loads(raw)
    except RecursionError:
        message = Message(Code.JSON_TOO_DEEP)
    except json.JSONDecodeError as exc:
        # Named by where it fails: the parser's reason is English, and an answer is in one language.
        message = Message(Code.MALFORMED_JSON_AT, line=exc.lineno, column=exc.colno)
    except ValueError:  # NaN or Infinity, which JSON does not have
        line, column = _constant_position(raw)
        message = Message(Code.MALFORMED_JSON_AT, line=line, column=column)
    else:
        if not SURROGATE_ESCAPE.search(raw) or not _has_lone_surrogate(value):
            return value
        message = Message(Code.JSON_LONE_SURROGATE)
    raise Problem("malformed-json", message)


def _constant_position(raw: bytes) -> tuple[int, int]:
    """Line and column (from 1) of the first ``NaN`` or ``Infinity`` in ``raw`` (1, 1 if none)."""
    found = [at for at in (raw.find(b"NaN"), raw.find(b"Infinity")) if at >= 0]
    if not found:
        return 1, 1
    at = min(found)
    return raw.count(b"\n", 0, at) + 1, at - (raw.rfind(b"\n", 0, at) + 1) + 1


def query_date(name: str) -> date | None:
    """An optional ``YYYY-MM-DD`` query parameter; 422 naming it when it is not a date."""
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_fields({name: [Message(Code.NOT_A_DATE)]}) from None
