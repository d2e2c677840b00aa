"""Security headers on every answer, the cookies' flags, CSRF on every form, and the page's access rule
(webapp/security.py), with Flask's test client."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import webapp.security as security
from engine.lifecycle.decision_log import Query
from webapp import create_app
from webapp.decisions import answer
from webapp.security import SECURITY_HEADERS
from webapp.state import app_state

from .conftest import TV_ACCEPTED, TV_TWO_REFUSALS

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
STATIC = TEMPLATES.parent / "static"
EVALUATE = "/v1/rulesets/tv_application/evaluate"
FORM = "/checks/tv_application"
DECISION_TOKEN, PAGE_TOKEN = "order-systems-token", "sales-staff-code"


def form_data(facts: dict[str, object]) -> dict[str, str]:
    return {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in facts.items()
    }


def csrf_of(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found is not None, "the page has no CSRF field"
    return found[1]


def assert_security_headers(response: TestResponse) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name) == value, (response.request.path, name)


def cookie(response: TestResponse, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


# -- headers ---------------------------------------------------------------------------------------


def test_the_header_set_forbids_framing_sniffing_referrers_and_foreign_content() -> None:
    headers = dict(SECURITY_HEADERS)
    policy = {d.split()[0]: d.split()[1:] for d in headers["Content-Security-Policy"].split("; ")}
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["style-src"] == ["'self'"] and "script-src" not in policy  # no script at all
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/", None, 200),
        ("GET", FORM, None, 200),
        ("GET", "/checks/nothing", None, 404),  # the page's HTML error
        ("GET", "/docs", None, 200),
        ("GET", "/problems/bad-request", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("GET", "/healthz", None, 200),
        ("GET", "/readyz", None, 200),
        ("GET", "/static/style.css", None, 200),
        ("GET", "/v1/nothing", None, 404),
        ("DELETE", EVALUATE, None, 405),
        ("POST", EVALUATE, {"facts": TV_ACCEPTED}, 200),  # the fast path
        ("POST", EVALUATE, {"facts": {}}, 422),  # handed to Flask
        ("POST", EVALUATE, "not json", 415),
        ("POST", "/v1/rulesets/tv_application/evaluate-batch", {"items": [{"facts": TV_ACCEPTED}]},
         200),
    ],
)  # fmt: skip
def test_every_answer_carries_the_header_set(
    client: FlaskClient, method: str, path: str, body: object, status: int
) -> None:
    if isinstance(body, dict):
        response = client.open(path, method=method, json=body)
    else:
        response = client.open(path, method=method, data=body)
    response.close()  # a static file is streamed
    assert response.status_code == status
    assert_security_headers(response)


def test_the_fast_paths_answer_has_the_header_set() -> None:
    _, headers = answer("{}", "en")
    for pair in SECURITY_HEADERS:
        assert headers.count(pair) == 1


def test_the_templates_need_nothing_the_policy_forbids() -> None:
    """No inline script or style, no event handler attributes, no foreign origin: the CSP holds."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", text, re.I), (
            template
        )
        assert not re.search(r"(src|href|action)=\"(https?:)?//", text), template
    # Stylesheets beside the bundles `make assets` builds from npm (webapp/static/build/); only the
    # studio's pages load a bundle, and their policy allows this origin's scripts (and nothing else).
    assert {p.suffix for p in STATIC.iterdir() if p.is_file()} == {".css"}
    assert {p.name for p in STATIC.iterdir() if p.is_dir()} <= {"build"}
    assert "@import" not in (STATIC / "style.css").read_text()
    for template in (TEMPLATES / "studio").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\ssrc=)|\son[a-z]+=|javascript:", text, re.I), (
            template
        )
        assert not re.search(r"(src|href|action)=\"(https?:)?//", text), template


# -- cookies ---------------------------------------------------------------------------------------


def test_the_language_cookie_is_http_only_and_lax(client: FlaskClient) -> None:
    plain = cookie(client.get("/?lang=en"), "lang")
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    over_https = cookie(client.get("/?lang=en", base_url="https://localhost"), "lang")
    assert "Secure" in over_https


def test_the_session_cookie_is_http_only_strict_and_secure_over_https(client: FlaskClient) -> None:
    plain = cookie(client.get(FORM), security.SESSION_COOKIE)
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    fresh = client.application.test_client()
    over_https = cookie(fresh.get(FORM, base_url="https://localhost"), security.SESSION_COOKIE)
    assert "Secure" in over_https


# -- CSRF ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with a decision log (to see what was decided) and no token: the page is open."""
    folder = tmp_path_factory.mktemp("security")
    app = create_app({"TESTING": True, "LOG_LEVEL": "WARNING",
                      "AUDIT_URL": str(folder / "decisions.sqlite3")})  # fmt: skip
    yield app
    app_state(app).decision_log.close()


@pytest.fixture
def open_page(logged_app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(logged_app.config, "DECISION_TOKEN", None)
    monkeypatch.setitem(logged_app.config, "PAGE_TOKEN", None)
    return logged_app.test_client()


def decisions_logged(app: Flask, request_id: str) -> int:
    return len(app_state(app).decision_log.query(Query(request_id=request_id, limit=None)))


def post_form(client: FlaskClient, request_id: str, **extra: str) -> TestResponse:
    return client.post(f"{FORM}?lang=en", data={**form_data(TV_TWO_REFUSALS), **extra},
                       headers={"X-Request-ID": request_id})  # fmt: skip


def test_a_form_post_without_its_token_is_refused_and_decides_nothing(
    open_page: FlaskClient, logged_app: Flask
) -> None:
    open_page.get(FORM)  # a session exists; the forged post just lacks the token
    response = post_form(open_page, "csrf-missing")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "The form has expired or was not sent from this page" in page
    assert decisions_logged(logged_app, "csrf-missing") == 0


def test_the_refusal_is_in_the_pages_language(open_page: FlaskClient) -> None:
    response = open_page.post(FORM, data=form_data(TV_TWO_REFUSALS))
    assert response.status_code == 400
    assert "フォームの有効期限が切れたか" in response.get_data(as_text=True)


def test_a_token_from_another_session_or_a_wrong_one_is_refused(
    open_page: FlaskClient, logged_app: Flask
) -> None:
    other = logged_app.test_client()
    foreign = csrf_of(other.get(FORM))
    open_page.get(FORM)
    assert post_form(open_page, "csrf-foreign", csrf_token=foreign).status_code == 400
    assert post_form(open_page, "csrf-wrong", csrf_token="x" * 43).status_code == 400
    assert decisions_logged(logged_app, "csrf-foreign") == 0


def test_a_post_with_the_sessions_token_decides_and_logs(
    open_page: FlaskClient, logged_app: Flask
) -> None:
    token = csrf_of(open_page.get(FORM))
    response = post_form(open_page, "csrf-ok", csrf_token=token)
    assert response.status_code == 200
    assert "NTT East may refuse the application" in response.get_data(as_text=True)
    assert decisions_logged(logged_app, "csrf-ok") == 1


def test_a_cross_site_post_without_the_cookie_is_refused(logged_app: Flask) -> None:
    """SameSite=Strict: a post from another site arrives without the session, so no token matches."""
    attacker = logged_app.test_client(use_cookies=False)
    victim_token = csrf_of(logged_app.test_client().get(FORM))
    response = attacker.post(FORM, data={**form_data(TV_ACCEPTED), "csrf_token": victim_token})
    assert response.status_code == 400


# -- the page's access rule ------------------------------------------------------------------------


@pytest.fixture
def closed_page(logged_app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """Decision calls need a token; the page has its own code."""
    monkeypatch.setitem(logged_app.config, "DECISION_TOKEN", DECISION_TOKEN)
    monkeypatch.setitem(logged_app.config, "PAGE_TOKEN", PAGE_TOKEN)
    return logged_app.test_client()


def sign_in(client: FlaskClient, code: str, next_page: str = FORM) -> TestResponse:
    page = client.get(f"/signin?next={next_page}")
    assert page.status_code == 200
    return client.post("/signin", data={"access_code": code, "next": next_page,
                                        "csrf_token": csrf_of(page)})  # fmt: skip


def test_with_a_token_configured_the_page_asks_to_sign_in(closed_page: FlaskClient) -> None:
    for path in ("/", FORM):
        response = closed_page.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/signin?next=")
    assert closed_page.get("/docs").status_code == 200  # the API reference stays public


def test_a_post_without_a_sign_in_decides_nothing(
    closed_page: FlaskClient, logged_app: Flask
) -> None:
    """Even with a valid CSRF token (of a session that never signed in)."""
    token = csrf_of(closed_page.get("/signin"))
    response = post_form(closed_page, "not-signed-in", csrf_token=token)
    assert response.status_code == 303 and "/signin" in response.headers["Location"]
    assert decisions_logged(logged_app, "not-signed-in") == 0


def test_a_wrong_code_is_refused_in_the_pages_language(closed_page: FlaskClient) -> None:
    response = sign_in(closed_page, "guess")
    assert response.status_code == 403
    assert "アクセスコードが正しくありません。" in response.get_data(as_text=True)
    assert closed_page.get(FORM).status_code == 303
    # The API's token is not the page's code when the page has its own.
    assert sign_in(closed_page, DECISION_TOKEN).status_code == 403


def test_signing_in_opens_the_page_and_signing_out_closes_it(
    closed_page: FlaskClient, logged_app: Flask
) -> None:
    response = sign_in(closed_page, PAGE_TOKEN)
    assert response.status_code == 303 and response.headers["Location"] == FORM
    session_cookie = cookie(response, security.SESSION_COOKIE)
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    assert PAGE_TOKEN not in session_cookie
    form = closed_page.get(FORM)
    assert form.status_code == 200
    decided = post_form(closed_page, "signed-in", csrf_token=csrf_of(form))
    assert decided.status_code == 200
    assert decisions_logged(logged_app, "signed-in") == 1
    # The sign-in does not open the API: decision calls still need their bearer token.
    assert closed_page.post(EVALUATE, json={"facts": TV_ACCEPTED}).status_code == 401
    signed_out = closed_page.post("/signout", data={"csrf_token": csrf_of(form)})
    assert signed_out.status_code == 303
    assert closed_page.get(FORM).status_code == 303


def test_sign_out_needs_the_csrf_token(closed_page: FlaskClient) -> None:
    sign_in(closed_page, PAGE_TOKEN)
    assert closed_page.post("/signout").status_code == 400
    assert closed_page.get(FORM).status_code == 200


def test_without_a_page_code_the_decision_token_opens_the_page(
    closed_page: FlaskClient, monkeypatch: pytest.MonkeyPatch, logged_app: Flask
) -> None:
    monkeypatch.setitem(logged_app.config, "PAGE_TOKEN", None)
    assert closed_page.get(FORM).status_code == 303
    assert sign_in(closed_page, DECISION_TOKEN).status_code == 303
    assert closed_page.get(FORM).status_code == 200


def test_changing_the_code_or_the_passing_of_the_day_signs_out(
    closed_page: FlaskClient, monkeypatch: pytest.MonkeyPatch, logged_app: Flask
) -> None:
    sign_in(closed_page, PAGE_TOKEN)
    assert closed_page.get(FORM).status_code == 200
    monkeypatch.setitem(logged_app.config, "PAGE_TOKEN", "a-new-code")
    assert closed_page.get(FORM).status_code == 303
    sign_in(closed_page, "a-new-code")
    assert closed_page.get(FORM).status_code == 200
    hours = logged_app.config["PAGE_SESSION_HOURS"]
    later = time.time() + hours * 3600 + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert closed_page.get(FORM).status_code == 303


def test_after_signing_in_only_a_local_page_is_the_next_stop(closed_page: FlaskClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = sign_in(closed_page, PAGE_TOKEN, target)
        assert response.headers["Location"] == "/"


def test_with_no_token_the_page_is_open_and_sign_in_leads_to_it(open_page: FlaskClient) -> None:
    assert open_page.get(FORM).status_code == 200
    assert open_page.get("/signin").status_code == 303
