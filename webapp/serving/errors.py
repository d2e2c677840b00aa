"""The problems the server itself answers, before a request reaches Flask.

nginx refuses what it cannot read (a malformed request line, headers over the limit, a body over the
limit) and answers for the workers while they are restarting; a gunicorn worker refuses what nginx
let through but gunicorn's parser does not accept. Both answer with the body shape of
:mod:`webapp.problems` and the header set of :mod:`webapp.security`, built here from the same
problem types and catalogue messages; the HTTP status is always the problem type's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.messages import Code, Message
from engine.messages.language import Lang

from ..observability import REQUEST_ID_HEADER
from ..problems import PROBLEM_MIMETYPE, Problem
from ..security import SECURITY_HEADERS

#: The statuses nginx or gunicorn may give to a request the app never saw, by what they mean.
HEAD_TOO_LARGE = (414, 431, 494)
UNAVAILABLE = (502, 503, 504)


@dataclass(frozen=True)
class ServerError:
    """One kind of server-level refusal: the statuses that mean it and the problem answered."""

    name: str
    statuses: tuple[int, ...]
    problem: Problem

    @property
    def status(self) -> int:
        return self.problem.type.status


def server_errors(body_limit: int, head_line_limit: int) -> tuple[ServerError, ...]:
    """Every server-level refusal, for limits ``body_limit`` and ``head_line_limit`` (bytes)."""
    return (
        ServerError("bad_request", (400, 403, 408, 417, 501, 505),
                    Problem("bad-request", Message(Code.BAD_REQUEST))),
        ServerError("head_too_large", HEAD_TOO_LARGE,
                    Problem("bad-request",
                            Message(Code.REQUEST_HEAD_TOO_LARGE, limit=head_line_limit))),
        ServerError("too_large", (413,),
                    Problem("payload-too-large", Message(Code.PAYLOAD_TOO_LARGE, limit=body_limit),
                            extra={"limit": body_limit})),
        ServerError("unavailable", UNAVAILABLE,
                    Problem("not-ready", Message(Code.SERVER_UNAVAILABLE))),
        ServerError("internal", (500,),
                    Problem("internal-error", Message(Code.INTERNAL_ERROR, kind="server error"))),
    )  # fmt: skip


def error_for(status: int, errors: tuple[ServerError, ...]) -> ServerError:
    """The refusal a server status means (anything unknown below 500 is a bad request)."""
    for error in errors:
        if status in error.statuses:
            return error
    return errors[0] if status < 500 else errors[-1]


def problem_json(problem: Problem, lang: Lang, request_id: str) -> str:
    """The problem's JSON text in ``lang`` (compact, UTF-8 as it is, like the app's problem bodies)."""
    body: dict[str, Any] = {**problem.to_dict(lang), "request_id": request_id}
    return json.dumps(body, ensure_ascii=False)


def response_bytes(problem: Problem, lang: Lang, request_id: str) -> bytes:
    """A whole HTTP/1.1 answer (closing the connection) carrying ``problem``."""
    body = problem_json(problem, lang, request_id).encode()
    kind = problem.type
    reason = kind.title("en")
    headers = [
        ("Connection", "close"),
        ("Content-Type", PROBLEM_MIMETYPE),
        ("Content-Length", str(len(body))),
        ("Content-Language", lang),
        (REQUEST_ID_HEADER, request_id),
        *SECURITY_HEADERS,
    ]
    head = f"HTTP/1.1 {kind.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + "\r\n").encode("latin-1") + body
