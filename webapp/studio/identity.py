"""Who uses the studio: tokens, their names and roles, and the studio session of the pages.

The admin token (``ADMIN_TOKEN``) is an editor named ``admin``; ``STUDIO_EDITORS``
(``FLETS_STUDIO_EDITORS="alice=token1,bob=token2"``) names more editors, whose names the publish
record keeps; ``STUDIO_VIEW_TOKEN`` is a viewer (reads, checks, simulates, never publishes). A script
sends ``Authorization: Bearer <token>``; the pages sign a person in with :func:`sign_in`, which keeps
the identity and a fingerprint of the token (never the token) in the signed session cookie, so
changing a token signs its sessions out. A session's POST to the API carries the session's CSRF token
in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from flask import current_app, request, session

from engine.messages import Code, Message

from ..auth import ADMIN_TOKEN, bearer_token, token_matches
from ..problems import Problem
from ..security import csrf_token

#: Config keys: named editor tokens (``name=token,…``) and the read-only token.
STUDIO_EDITORS = "STUDIO_EDITORS"
STUDIO_VIEW_TOKEN = "STUDIO_VIEW_TOKEN"
#: The header a session's POST carries the CSRF token in.
CSRF_HEADER = "X-CSRF-Token"
#: The session's keys: the studio sign-in, and the CSRF token (:func:`webapp.security.csrf_token`).
_SESSION_KEY, _CSRF_KEY = "studio", "csrf"


@dataclass(frozen=True)
class Identity:
    name: str
    role: str  # "editor" or "viewer"

    @property
    def may_publish(self) -> bool:
        return self.role == "editor"


def _tokens() -> list[tuple[str, Identity]]:
    """Every configured token with the identity it opens."""
    config = current_app.config
    found: list[tuple[str, Identity]] = []
    if config.get(ADMIN_TOKEN):
        found.append((str(config[ADMIN_TOKEN]), Identity("admin", "editor")))
    for entry in str(config.get(STUDIO_EDITORS) or "").split(","):
        name, _, token = entry.strip().partition("=")
        if name.strip() and token.strip():
            found.append((token.strip(), Identity(name.strip(), "editor")))
    if config.get(STUDIO_VIEW_TOKEN):
        found.append((str(config[STUDIO_VIEW_TOKEN]), Identity("viewer", "viewer")))
    return found


def _identity_of(token: str) -> Identity | None:
    return next((who for expected, who in _tokens() if token_matches(token, expected)), None)


def _fingerprint(token: str) -> str:
    """What a session keeps of the token it signed in with: changing the token signs it out, and
    the cookie never shows the token."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, b"studio\0" + token.encode(), hashlib.sha256).hexdigest()[:32]


def sign_in(token: str) -> Identity | None:
    """Open a studio session for ``token`` (the pages' sign-in); ``None`` when it opens nothing.
    Only the studio's key of the session changes (a sales-page sign-in in the same browser stays);
    the session's CSRF token is made fresh either way."""
    who = _identity_of(token)
    session.pop(_SESSION_KEY, None)
    session.pop(_CSRF_KEY, None)
    if who is not None:
        session[_SESSION_KEY] = {
            "name": who.name,
            "role": who.role,
            "fp": _fingerprint(token),
            "at": int(time.time()),
        }
    csrf_token()
    return who


def sign_out() -> None:
    session.pop(_SESSION_KEY, None)


def _session_identity() -> Identity | None:
    """The session's identity, while its token is still configured and within
    ``PAGE_SESSION_HOURS`` of the sign-in."""
    held = session.get(_SESSION_KEY)
    if not isinstance(held, dict):
        return None
    made = held.get("at")
    lifetime = float(current_app.config.get("PAGE_SESSION_HOURS", 12)) * 3600
    if not isinstance(made, int | float) or not 0 <= time.time() - made <= lifetime:
        return None
    for token, who in _tokens():
        if who.name == held.get("name") and hmac.compare_digest(
            str(held.get("fp", "")), _fingerprint(token)
        ):
            return who
    return None  # the token changed or was removed: signed out


def current_identity() -> Identity | None:
    """Who calls: a bearer token first (the admin token, a named editor's, the view token), else
    the studio session :func:`sign_in` opened."""
    given = bearer_token(request.headers.get("Authorization"))
    if given is not None:
        return _identity_of(given)
    return _session_identity()


def check_csrf_header() -> None:
    """A session's POST carries the session's CSRF token in :data:`CSRF_HEADER` (a bearer one
    needs none: no browser sends a bearer token by itself)."""
    sent = request.headers.get(CSRF_HEADER, "")
    expected = session.get(_CSRF_KEY)
    if not (isinstance(expected, str) and sent and hmac.compare_digest(sent, expected)):
        raise Problem("bad-request", Message(Code.FORM_EXPIRED))


def tokens_configured() -> bool:
    """Whether any studio token is configured (with none, the studio is closed)."""
    return bool(_tokens())
