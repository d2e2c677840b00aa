"""Who may call what: bearer tokens for the admin API and, when configured, for the decision calls.

Every admin call needs ``Authorization: Bearer <ADMIN_TOKEN>`` (``FLETS_ADMIN_TOKEN``); with no
token configured the admin API is closed (403). Decision calls (every other ``POST /v1/…``) are open
unless ``DECISION_TOKEN`` (``FLETS_DECISION_TOKEN``) is set. Without a bearer token the answer is
401, with a wrong one 403. The WSGI fast path checks the decision token with
:func:`decision_token_refusal` too.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, current_app, request

from engine.messages.language import Text

from .problems import Problem

#: Config keys of the two tokens.
ADMIN_TOKEN = "ADMIN_TOKEN"
DECISION_TOKEN = "DECISION_TOKEN"
#: The blueprint of the admin API, which its own token guards instead of the decision token.
ADMIN_BLUEPRINT = "admin"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; nothing matches when no token is configured."""
    return bool(expected) and hmac.compare_digest(given.encode(), str(expected).encode())


def token_refusal(expected: str | None, authorization: str | None, what: str) -> Problem | None:
    """The problem for a request to ``what`` sending ``Authorization: authorization``: 401 without a
    bearer token, 403 with a wrong one or when no token is configured; ``None`` when it may pass."""
    given = bearer_token(authorization)
    if given is None:
        return Problem(
            "unauthorized",
            Text(f"{what}には Bearer トークンが必要です。", f"{what} needs a bearer token."),
        )
    if not token_matches(given, expected):
        return Problem("forbidden", Text("トークンが正しくありません。", "The token is not valid."))
    return None


def require_token(expected: str | None, what: str) -> None:
    """Refuse this request (:func:`token_refusal`) unless it sends the ``expected`` token."""
    refusal = token_refusal(expected, request.headers.get("Authorization"), what)
    if refusal is not None:
        raise refusal


def decision_token_refusal(expected: str | None, authorization: str | None) -> Problem | None:
    """The problem for a decision call, ``None`` when it may pass: no ``DECISION_TOKEN`` configured
    (``expected``), or the right one sent."""
    return token_refusal(expected, authorization, "decision API") if expected else None


def require_admin() -> None:
    """Before every admin view: the admin token."""
    require_token(current_app.config.get(ADMIN_TOKEN), "admin API")


def guard_decisions() -> None:
    """With ``DECISION_TOKEN`` set, every ``POST /v1/…`` outside the admin API needs it too."""
    if (
        request.method == "POST"
        and request.path.startswith("/v1/")
        and request.blueprint != ADMIN_BLUEPRINT
    ):
        refusal = decision_token_refusal(
            current_app.config.get(DECISION_TOKEN), request.headers.get("Authorization")
        )
        if refusal is not None:
            raise refusal


def init_app(app: Flask) -> None:
    """Both tokens unset unless configured; the decision-token guard before every request."""
    app.config.setdefault(ADMIN_TOKEN, None)
    app.config.setdefault(DECISION_TOKEN, None)
    app.before_request(guard_decisions)


def no_store(response: Response) -> Response:
    """After every answer of a token-guarded API (admin, studio): never cached, and a 401 names the
    scheme it wants (RFC 6750)."""
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response
