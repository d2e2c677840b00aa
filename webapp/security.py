"""What every answer carries for the browser's sake, and who may use the sales page.

**Headers.** :data:`SECURITY_HEADERS` is the one header set: Flask's path adds it to every response
(pages, API, problem bodies, static files), the WSGI fast path takes it from
:func:`webapp.decisions.answer`, and the server's own error answers (:mod:`webapp.serving`) from here
too. The pages use no inline script or style, so the policy allows only this origin's style sheet.

**The page's access rule.** The page decides and logs like the API, so it is closed whenever the
decision calls are: its access code is ``PAGE_TOKEN`` (``FLETS_PAGE_TOKEN``) or, when that is unset,
``DECISION_TOKEN``. With a code configured, every page (``/``, ``/checks/…``) first asks for it at
``/signin``; signing in keeps a session cookie (signed with ``SECRET_KEY``, ``HttpOnly``,
``SameSite=Strict``, ``Secure`` over https) for ``PAGE_SESSION_HOURS``. With neither token set the page
is open, as the API is. A separate ``FLETS_PAGE_TOKEN`` lets sales staff share a code while the API
token stays with the order systems; changing the code signs everyone out.

**CSRF.** Every form POST of the page (the check, sign-in, sign-out) carries the session's random token
in a hidden field, compared in constant time; without it the answer is 400 ``bad-request`` (an error
page in the page's language) and nothing is decided.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

from engine.messages import Code, Message

from .auth import DECISION_TOKEN
from .problems import Problem

log = logging.getLogger(__name__)

#: The policy the pages satisfy: nothing but this origin's style sheet, forms posted here only, never
#: framed. JSON answers load nothing, so one policy serves every answer.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

#: The studio's pages (webapp/studio/pages.py) alone run this origin's bundled script (its code
#: editor), call this origin's JSON API, and let the editor add its own style sheet, which carries the
#: page's one-time nonce (``g.csp_nonce``); every other answer keeps the policy above.
STUDIO_PAGES, CSP_NONCE = "studio_pages", "csp_nonce"


def studio_content_security_policy(nonce: str | None) -> str:
    """The page policy plus this origin's script and JSON calls, and the editor's nonce for styles."""
    style = f"style-src 'self' 'nonce-{nonce}'" if nonce else "style-src 'self'"
    parts = [style if d == "style-src 'self'" else d for d in CONTENT_SECURITY_POLICY.split("; ")]
    names = {d.split()[0] for d in parts}
    parts += [d for d in ("script-src 'self'", "connect-src 'self'") if d.split()[0] not in names]
    return "; ".join(parts)


#: THE header set of every answer (Flask's path, the fast path, the server's own errors).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)

#: Config keys: the page's own access code, how long a sign-in lasts, the session signing key.
PAGE_TOKEN = "PAGE_TOKEN"
PAGE_SESSION_HOURS = "PAGE_SESSION_HOURS"
SECRET_KEY = "SECRET_KEY"
#: The hidden form field that carries the CSRF token, and the session key that holds it.
CSRF_FIELD = "csrf_token"
_CSRF_KEY = "csrf"
#: Session keys of a sign-in: which access code it was made with (a fingerprint) and when.
_SIGNED_IN_WITH, _SIGNED_IN_AT = "page", "signed_in_at"
#: The pages that stay reachable without a sign-in.
SIGN_IN_ENDPOINTS = frozenset({"pages.signin", "pages.signin_submit", "pages.signout"})
SESSION_COOKIE = "flets_session"
#: Where a generated signing key is kept for every worker of one instance (``SECRET_KEY`` unset).
SECRET_KEY_FILE = "secret_key"


def add_security_headers(response: Response) -> Response:
    """After every Flask request: the header set (replacing any a view set)."""
    for name, value in SECURITY_HEADERS:
        response.headers[name] = value
    if request.blueprint == STUDIO_PAGES:
        nonce = g.get(CSP_NONCE)
        response.headers["Content-Security-Policy"] = studio_content_security_policy(nonce)
    return response


def with_security_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` plus the header set, for answers written without Flask."""
    return [*headers, *SECURITY_HEADERS]


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` exactly when the request came over https (behind
    the proxy, gunicorn trusts its ``X-Forwarded-Proto``), so plain-http ``make run`` still works."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request and request.is_secure)


# -- the session's signing key -------------------------------------------------------------------


def _secret_key(app: Flask) -> str:
    """``SECRET_KEY`` when configured; a random one per app under test; otherwise one generated once
    per instance folder and shared by every worker (each must verify the others' cookies)."""
    configured = app.config.get(SECRET_KEY)
    if configured:
        return str(configured)
    if app.testing:
        return secrets.token_hex(32)
    return _instance_key(Path(app.instance_path) / SECRET_KEY_FILE)


def _instance_key(path: Path) -> str:
    """The key in ``path``, created atomically by whichever worker comes first (link, not rename, so
    a second worker never replaces a key the first one already signs with)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


# -- CSRF ----------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (made on first use); templates put it in every form."""
    token = session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF_KEY] = token
    return token


def check_csrf() -> None:
    """Refuse a form POST whose hidden token is missing or not this session's (400)."""
    expected = session.get(_CSRF_KEY)
    given = request.form.get(CSRF_FIELD, "")
    if not (
        isinstance(expected, str)
        and given
        and hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise Problem("bad-request", Message(Code.FORM_EXPIRED))


# -- the page's access rule ----------------------------------------------------------------------


def page_access_code() -> str | None:
    """The code that opens the page: ``PAGE_TOKEN``, else ``DECISION_TOKEN``, else none (open)."""
    code = current_app.config.get(PAGE_TOKEN) or current_app.config.get(DECISION_TOKEN)
    return str(code) if code else None


def _fingerprint(code: str) -> str:
    """What a session remembers of the code it signed in with: changing the code signs everyone out,
    and the cookie (readable by its holder) never shows the code."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:32]


def signed_in() -> bool:
    """Whether this session may use the page: no code configured, or signed in with the current code
    within ``PAGE_SESSION_HOURS``."""
    code = page_access_code()
    if code is None:
        return True
    made = session.get(_SIGNED_IN_AT)
    lifetime = float(current_app.config[PAGE_SESSION_HOURS]) * 3600
    return (
        isinstance(made, int | float)
        and 0 <= time.time() - made <= lifetime
        and hmac.compare_digest(str(session.get(_SIGNED_IN_WITH, "")), _fingerprint(code))
    )


def sign_in(given: str) -> bool:
    """Open the page for this session when ``given`` is the access code; a fresh CSRF token either way
    (a token seen before signing in is not trusted after)."""
    code = page_access_code()
    ok = code is not None and hmac.compare_digest(given.encode(), code.encode())
    session.clear()
    if ok:
        assert code is not None
        session[_SIGNED_IN_WITH] = _fingerprint(code)
        session[_SIGNED_IN_AT] = int(time.time())
    else:
        # Behind the proxy the peer is nginx; the client is the last address nginx added.
        client = request.access_route[-1] if request.access_route else request.remote_addr
        log.warning("page sign-in refused", extra={"client": client})
    csrf_token()
    return ok


def sign_out() -> None:
    session.clear()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another host (``//evil``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("pages.index")


def page_guard() -> BaseResponse | None:
    """Before every page: without a sign-in (when a code is configured), to the sign-in page; every
    POST must carry the CSRF token. Nothing is decided for a refused request."""
    if request.endpoint not in SIGN_IN_ENDPOINTS and not signed_in():
        target = request.full_path if request.method == "GET" else request.path
        return redirect(url_for("pages.signin", next=target.rstrip("?")), 303)
    if request.method == "POST":
        check_csrf()
    return None


def init_app(app: Flask) -> None:
    """The session (key, cookie flags), the header set after every request, and the template helpers
    ``csrf_token()``, ``page_signed_in()`` and ``page_access_required()``."""
    app.config.setdefault(PAGE_TOKEN, None)
    app.config.setdefault(PAGE_SESSION_HOURS, 12)
    app.secret_key = _secret_key(app)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.session_interface = _SessionInterface()
    app.after_request(add_security_headers)
    app.add_template_global(csrf_token)
    app.add_template_global(lambda: page_access_code() is not None, "page_access_required")
    app.add_template_global(lambda: page_access_code() is not None and signed_in(),
                            "page_signed_in")  # fmt: skip
