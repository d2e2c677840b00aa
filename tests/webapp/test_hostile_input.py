"""Hostile and odd input never reaches a 500: bytes that are not UTF-8, chunked bodies over the limit,
unicode edge cases, wrong types, odd paths.

The probes send raw UTF-8 surrogate bytes (``ED A0 80``: U+D800, which UTF-8 forbids) and their kin
(an overlong ``C0 AF``, UTF-16) in every part of a request the service decodes: JSON bodies (a value,
a key, a personal string fact, a batch, a quote, an order), a query parameter, the path, a header, the
page's form. Before the request screen (:class:`webapp.inputs.RequestScreen`) six of them were 500s,
some in HTML, and the personal fact was logged while the client got a 500. Each must be a 400 problem
naming the part, with nothing logged, against the test client and the real server, with the fast path
on and off. Chunked bodies over the limit must be 413 (werkzeug cut them at the limit and answered
200), a negative chunk size 400 (it was 500).
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from engine.lifecycle.decision_log import MASK, Query
from engine.messages import Code, Message
from engine.paths import rules_dir
from webapp import create_app
from webapp.state import app_state

from .conftest import (
    PROJECT_ROOT,
    TV_ACCEPTED,
    free_port,
    server_command,
    stop_server,
    wait_until_up,
)

TV = b"/v1/rulesets/tv_application/evaluate"
TV_BATCH = b"/v1/rulesets/tv_application/evaluate-batch"
NOTE = b"/v1/rulesets/customer_note/evaluate"
ADMIN_TOKEN = "hostile-admin"
PROBLEM = "application/problem+json"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
#: U+D800 encoded as UTF-8 would encode it: a surrogate, which UTF-8 forbids.
SURROGATE = b"\xed\xa0\x80"
#: Kana or kanji: a Japanese answer's texts all have some.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

#: A rule set with a personal string fact: the log masks it, so a surrogate in it reached the log
#: (masked) and then failed the answer.
CUSTOMER_NOTE = """\
ruleset: customer_note
version: "1.0"
title: {ja: 顧客メモ付きの確認, en: Check with a customer note}
region: ntt_west
effective_from: 2024-01-01
sources:
  - {file: 001_ded95cce339fcddd.txt, title: ガイド}
facts:
  plan: {type: enum, label: {ja: プラン, en: Plan}, values: [basic, family]}
  customer_name: {type: string, label: {ja: お客さま名, en: Customer name}, required: false,
                  default: "", personal: true}
outcomes:
  allowed: {kind: positive, label: {ja: 可, en: Allowed}}
  refused: {kind: negative, label: {ja: 不可, en: Refused}}
decide: first_match
default:
  outcome: refused
  reason: no_row
  message: {ja: 該当行なし, en: No row}
  cite: {source: 001_ded95cce339fcddd.txt, clause: 表}
rules:
  - {id: family_any, when: {plan: family}, outcome: allowed, reason: family_any,
     message: {ja: 家族プランは可, en: Family plans are allowed},
     cite: {source: 001_ded95cce339fcddd.txt, clause: 表}}
examples:
  - note: a family plan is allowed
    facts: {plan: family, customer_name: Sato}
    expect: {outcome: allowed, reasons: [family_any]}
"""


@dataclass(frozen=True)
class Probe:
    """One hostile request: the request target and body as bytes on the wire, the problem it must
    get (its slug and the field it names)."""

    name: str
    method: str
    target: bytes
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: tuple[tuple[str, bytes], ...] = ()
    slug: str = "malformed-json"
    field: str = "body"

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


def _json(text: bytes, value: bytes = SURROGATE) -> bytes:
    return text.replace(b"@", value)


#: The eleven probes of the reliability test, one for each part of a request the service decodes.
PROBES = [
    Probe("json-value", "POST", TV, _json(b'{"facts": {"prefecture": "@"}}')),
    Probe("json-key", "POST", TV, _json(b'{"facts": {"@": 1}}')),
    Probe("json-personal", "POST", NOTE, _json(b'{"facts": {"plan": "family", "customer_name": "@"}}')),
    Probe("json-batch", "POST", TV_BATCH, _json(b'{"items": [{"facts": {"@": "@"}}]}')),
    Probe("json-quote", "POST", b"/v1/quotes", _json(b'{"items": [{"tariff": "@", "item": "x"}]}')),
    Probe("json-order", "POST", b"/v1/orders/check", _json(b'{"checks": [{"ruleset": "@", "facts": {}}]}')),
    Probe("json-overlong", "POST", TV, _json(b'{"facts": {"prefecture": "@"}}', b"\xc0\xaf")),
    Probe("query", "POST", TV_BATCH + b"?explain=%ED%A0%80", b'{"items": [{"facts": {}}]}',
          slug="invalid-encoding", field="explain"),
    Probe("path", "POST", b"/v1/rulesets/%ED%A0%80/evaluate", b'{"facts": {}}',
          slug="invalid-encoding", field="path"),
    Probe("header", "POST", TV, b'{"facts": {}}', headers=(("Accept-Language", SURROGATE),),
          slug="invalid-encoding", field="Accept-Language"),
    Probe("form", "POST", b"/checks/tv_application", b"prefecture=" + SURROGATE,
          content_type=FORM_TYPE, slug="invalid-encoding", field="prefecture"),
]  # fmt: skip

#: More of the same kind: percent-encoded and escaped forms, a cookie, the page's query, UTF-16, the
#: admin API.
MORE_PROBES = [
    Probe("form-escaped", "POST", b"/checks/tv_application", b"__as_of=%ED%A0%80&prefecture=tokyo",
          content_type=FORM_TYPE, slug="invalid-encoding", field="__as_of"),
    Probe("cookie", "GET", b"/", headers=(("Cookie", b"lang=" + SURROGATE),), content_type=None,
          slug="invalid-encoding", field="Cookie"),
    Probe("page-query", "GET", b"/?lang=%ED%A0%80", content_type=None, slug="invalid-encoding",
          field="lang"),
    Probe("json-escaped", "POST", NOTE,
          b'{"facts": {"plan": "family", "customer_name": "\\ud800"}}', field=""),
    Probe("json-utf16", "POST", NOTE,
          '{"facts": {"plan": "family", "customer_name": "X"}}'.encode("utf-16-le")
          .replace(b"X\x00", b"\x00\xd8")),
    Probe("admin-candidate", "POST", b"/v1/admin/impact", _json(b'{"candidate": "@"}'),
          headers=(("Authorization", f"Bearer {ADMIN_TOKEN}".encode()),)),
]  # fmt: skip

#: Raw bytes on the request line itself: a server refuses them before the app (gunicorn does), but a
#: server that passes them on must not make Flask crash (werkzeug decoded such a query strictly).
RAW_LINE_PROBES = [
    Probe("query-raw", "GET", b"/v1/rulesets/tv_application?as_of=" + SURROGATE,
          content_type=None, slug="invalid-encoding", field="as_of"),
    Probe("page-query-raw", "GET", b"/?lang=" + SURROGATE, content_type=None,
          slug="invalid-encoding", field="lang"),
    Probe("path-raw", "POST", b"/v1/rulesets/" + SURROGATE + b"/evaluate", b'{"facts": {}}',
          slug="invalid-encoding", field="path"),
]  # fmt: skip


def request_id(probe: Probe) -> str:
    return f"hostile-{probe.name}-{uuid.uuid4().hex[:12]}"


# --- the test client, fast path on and off --------------------------------------------------------


@pytest.fixture(scope="module")
def rules_with_a_personal_fact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled rules plus ``customer_note``, whose ``customer_name`` is personal."""
    folder = tmp_path_factory.mktemp("hostile") / "rules"
    shutil.copytree(rules_dir(), folder)
    (folder / "customer_note.yaml").write_text(CUSTOMER_NOTE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def both_apps(
    rules_with_a_personal_fact: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[bool, Flask]]:
    """An app with the fast path (``True``) and one without it, each logging decisions to its own
    SQLite log."""
    apps = {
        fast: create_app(
            {
                "TESTING": True,
                "LOG_LEVEL": "WARNING",
                "FAST_PATH": fast,
                "RULES_DIR": str(rules_with_a_personal_fact),
                "AUDIT_URL": str(tmp_path_factory.mktemp("log") / "decisions.sqlite3"),
                "ADMIN_TOKEN": ADMIN_TOKEN,
                "IMPACT_ROOT": str(rules_with_a_personal_fact.parent),
            }
        )
        for fast in (True, False)
    }
    yield apps
    for app in apps.values():
        app_state(app).holder.close()
        app_state(app).decision_log.close()


@pytest.fixture(params=[True, False], ids=["fast-path", "flask"])
def hostile_app(request: pytest.FixtureRequest, both_apps: dict[bool, Flask]) -> Flask:
    app: Flask = both_apps[request.param]
    return app


@pytest.fixture
def errors_logged() -> Iterator[list[logging.LogRecord]]:
    """The error records the web layer logs meanwhile (an unhandled error logs one)."""
    found: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record)

    handler = Keep(logging.ERROR)
    logger = logging.getLogger("webapp")
    logger.addHandler(handler)
    yield found
    logger.removeHandler(handler)


def send(app: Flask, probe: Probe, rid: str, lang: str | None = None) -> Any:
    """``probe`` through a test client (without a cookie jar, which would replace its ``Cookie``),
    its bytes put in the environ as a server puts them (PEP 3333: one latin-1 character per byte;
    the path percent-decoded)."""
    client = app.test_client(use_cookies=False)
    path, _, query = probe.target.partition(b"?")
    headers = {name: value.decode("latin-1") for name, value in probe.headers}
    headers["X-Request-ID"] = rid
    if lang:
        headers["Accept-Language"] = lang
    return client.open(
        method=probe.method,
        data=probe.body,
        content_type=probe.content_type,
        headers=headers,
        environ_overrides={
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
        },
    )


def logged(app: Flask, rid: str) -> list[dict[str, object]]:
    return [r.to_dict() for r in app_state(app).decision_log.query(Query(request_id=rid))]


def assert_refused(status: int, content_type: str, body: dict[str, Any], probe: Probe) -> None:
    assert (status, content_type) == (400, PROBLEM), body
    assert body["type"] == f"/problems/{probe.slug}"
    if probe.field:
        assert [e["field"] for e in body["errors"]] == [probe.field]


@pytest.mark.parametrize("probe", [p.param() for p in PROBES + MORE_PROBES + RAW_LINE_PROBES])
def test_bytes_that_are_not_utf8_are_a_400_before_anything_is_decided(
    hostile_app: Flask, errors_logged: list[logging.LogRecord], probe: Probe
) -> None:
    rid = request_id(probe)
    response = send(hostile_app, probe, rid)
    assert_refused(response.status_code, response.mimetype, response.get_json(force=True), probe)
    assert response.headers["X-Request-ID"] == rid
    assert "X-Content-Type-Options" in response.headers  # the header set of every answer
    assert logged(hostile_app, rid) == []
    assert errors_logged == []


@pytest.mark.parametrize("probe", [p.param() for p in PROBES + MORE_PROBES + RAW_LINE_PROBES])
def test_both_paths_refuse_alike(both_apps: dict[bool, Flask], probe: Probe) -> None:
    """The fast path hands every such request to the screen behind it: the same answer, byte for
    byte, with the fast path and without it."""
    rid = request_id(probe)
    fast, flask = (send(both_apps[on], probe, rid) for on in (True, False))
    assert (fast.status_code, sorted(fast.headers.items()), fast.get_data()) == (
        flask.status_code,
        sorted(flask.headers.items()),
        flask.get_data(),
    )


@pytest.mark.parametrize("probe", [p.param() for p in PROBES if p.name != "header"])
def test_the_refusal_speaks_the_language_asked_for(hostile_app: Flask, probe: Probe) -> None:
    ja = send(hostile_app, probe, request_id(probe)).get_json(force=True)
    en = send(hostile_app, probe, request_id(probe), "en").get_json(force=True)
    for text in (ja["title"], ja["detail"], *(e["message"] for e in ja["errors"])):
        assert JAPANESE.search(text), text
    for text in (en["title"], en["detail"], *(e["message"] for e in en["errors"])):
        assert not JAPANESE.search(text), text
    if probe.slug == "invalid-encoding":
        assert en["detail"] == Message(Code.REQUEST_NOT_UTF8, field=probe.field)
    else:
        assert en["detail"].startswith("The body is not valid JSON (byte ")


def test_the_same_values_in_utf8_are_decided_and_logged_masked(hostile_app: Flask) -> None:
    """The control: the log works, and a personal fact is masked in it."""
    rid = f"hostile-control-{uuid.uuid4().hex[:12]}"
    response = hostile_app.test_client().post(
        NOTE.decode(),
        json={"facts": {"plan": "family", "customer_name": "佐藤 \U0001f600"}},
        headers={"X-Request-ID": rid},
    )
    assert response.status_code == 200
    assert [row["facts"] for row in logged(hostile_app, rid)] == [
        {"plan": "family", "customer_name": MASK}
    ]


def chunked(client: FlaskClient, path: str, stream: io.RawIOBase | io.BytesIO) -> Any:
    """A chunked request as gunicorn hands it to the app: the chunks decoded into ``wsgi.input``, no
    ``CONTENT_LENGTH``, ``wsgi.input_terminated`` set."""
    environ = {"wsgi.input": stream, "wsgi.input_terminated": True}
    headers = {"Transfer-Encoding": "chunked", "Content-Type": JSON_TYPE}
    return client.post(path, headers=headers, environ_overrides=environ)  # no data: no length


def padded(limit: int, extra: int) -> bytes:
    """A valid evaluate body, padded with spaces to ``limit + extra`` bytes: cut anywhere after its
    JSON it still parses, so a cut body would be decided."""
    text = json.dumps({"facts": TV_ACCEPTED}).encode()
    return text + b" " * (limit + extra - len(text))


def test_a_chunked_body_over_the_limit_is_413_not_cut(
    hostile_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(hostile_app.config, "MAX_CONTENT_LENGTH", 4096)
    client = hostile_app.test_client()
    over = chunked(client, TV.decode(), io.BytesIO(padded(4096, 1)))
    assert (over.status_code, over.mimetype) == (413, PROBLEM)
    body = over.get_json()
    assert (body["type"], body["limit"]) == ("/problems/payload-too-large", 4096)
    assert "4096" in body["detail"]
    assert logged(hostile_app, over.headers["X-Request-ID"]) == []
    at_limit = chunked(client, TV.decode(), io.BytesIO(padded(4096, 0)))
    assert at_limit.status_code == 200
    assert at_limit.get_json()["outcome"] == "accepted"


def test_a_chunked_body_the_server_does_not_end_is_not_read(hostile_app: Flask) -> None:
    """Without ``wsgi.input_terminated`` the stream may never end: it is left unread, and werkzeug
    reads the body as empty, as before."""
    stream = io.BytesIO(json.dumps({"facts": TV_ACCEPTED}).encode())
    response = hostile_app.test_client().post(
        TV.decode(),
        headers={"Transfer-Encoding": "chunked", "Content-Type": JSON_TYPE},
        environ_overrides={"wsgi.input": stream},
    )
    assert (response.status_code, response.get_json()["type"]) == (400, "/problems/malformed-json")
    assert stream.tell() == 0


class BrokenChunks(io.RawIOBase):
    """A server's decoded-chunk stream that fails as gunicorn's does on a negative chunk size (its
    ``InvalidChunkSize`` is no ``OSError``)."""

    class InvalidChunkSize(Exception):
        pass

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self.InvalidChunkSize("-1")


def test_a_chunked_body_the_server_cannot_decode_is_400(hostile_app: Flask) -> None:
    response = chunked(hostile_app.test_client(), TV.decode(), BrokenChunks())
    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    body = response.get_json()
    assert body["type"] == "/problems/bad-request"
    assert body["errors"] == [{"field": "body", "code": "malformed", "message": body["detail"]}]


# --- the real server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    #: "proxy": as `make run` serves (nginx in front of gunicorn); "gunicorn": gunicorn alone, with
    #: the same settings, so the app itself meets what a server passes on (chunked bodies).
    kind: str


SERVERS = [("proxy", True), ("proxy", False), ("gunicorn", True), ("gunicorn", False)]


def _gunicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:webapp.serving.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "webapp:create_app()"]  # fmt: skip


@pytest.fixture(
    scope="module", params=SERVERS, ids=[f"{k}-{'fast' if f else 'flask'}" for k, f in SERVERS]
)
def server(
    request: pytest.FixtureRequest,
    rules_with_a_personal_fact: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """A real server on a free local port, with the fast path on or off, the personal-fact rules,
    its own decision log and an admin token to read it."""
    kind, fast = request.param
    port = free_port()
    folder = tmp_path_factory.mktemp("server")
    env = {**os.environ, "FLETS_LOG_LEVEL": "WARNING", "FLETS_FAST_PATH": json.dumps(fast),
           "FLETS_AUDIT_URL": str(folder / "decisions.sqlite3"), "FLETS_SECRET_KEY": "hostile",
           "FLETS_RULES_DIR": str(rules_with_a_personal_fact), "FLETS_ADMIN_TOKEN": ADMIN_TOKEN}  # fmt: skip
    command = server_command(port, "--workers", "1") if kind == "proxy" else _gunicorn_command(port)
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, timeout=120.0)
        yield Server(url, log, kind)
    finally:
        stop_server(process)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == PROBLEM, (self.status, self.headers, self.body[:300])
        found: dict[str, Any] = json.loads(self.body)
        return found


def exchange(url: str, head: bytes, body: Iterable[bytes] = (), timeout: float = 60.0) -> Answer:
    """Send ``head`` then the ``body`` pieces on one connection, exactly as given, while reading the
    answer (a server may answer before the body is all sent)."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=timeout)

    def write() -> None:
        try:
            sock.sendall(head)
            for piece in body:
                sock.sendall(piece)
        except OSError:
            pass  # the server answered and closed: the answer is what counts

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        content = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, content)
    finally:
        sock.close()
        writer.join(timeout)


def request_head(probe: Probe, rid: str, **extra: bytes) -> bytes:
    lines = [probe.method.encode() + b" " + probe.target + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close", b"X-Request-ID: " + rid.encode()]  # fmt: skip
    if probe.content_type:
        lines.append(b"Content-Type: " + probe.content_type.encode())
    if "Transfer-Encoding" not in extra:
        lines.append(b"Content-Length: %d" % len(probe.body))
    lines += [name.encode() + b": " + value for name, value in (*probe.headers, *extra.items())]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def server_logged(server: Server, rid: str) -> list[dict[str, Any]]:
    """The decision-log rows of request ``rid``, read through the admin API."""
    response = requests.get(
        f"{server.url}/v1/admin/decisions",
        params={"request_id": rid},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["decisions"]
    return rows


def server_errors(server: Server, rid: str) -> list[str]:
    """The error lines the server logged for request ``rid``."""
    text = server.log.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if rid in line and '"level":"error"' in line]


@pytest.mark.slow
@pytest.mark.parametrize("probe", [p.param() for p in PROBES + MORE_PROBES])
def test_the_real_server_refuses_bytes_that_are_not_utf8(server: Server, probe: Probe) -> None:
    rid = request_id(probe)
    answer = exchange(server.url, request_head(probe, rid) + probe.body)
    assert_refused(answer.status, answer.headers.get("content-type", ""), answer.problem(), probe)
    assert answer.headers["x-request-id"] == rid
    assert server_logged(server, rid) == []
    assert server_errors(server, rid) == []


@pytest.mark.slow
@pytest.mark.parametrize("probe", [p.param() for p in RAW_LINE_PROBES])
def test_the_real_server_refuses_raw_bytes_on_the_request_line(
    server: Server, probe: Probe
) -> None:
    """The server itself may refuse these (gunicorn does, with a bad-request problem); either way a
    400 problem and nothing logged."""
    rid = request_id(probe)
    answer = exchange(server.url, request_head(probe, rid) + probe.body)
    body = answer.problem()
    assert answer.status == 400
    assert body["type"] in ("/problems/invalid-encoding", "/problems/bad-request")
    assert server_logged(server, rid) == []


@pytest.mark.slow
def test_the_real_server_decides_and_masks_the_same_request_in_utf8(server: Server) -> None:
    rid = f"hostile-control-{uuid.uuid4().hex[:12]}"
    response = requests.post(
        server.url + NOTE.decode(),
        json={"facts": {"plan": "family", "customer_name": "佐藤"}},
        headers={"X-Request-ID": rid},
        timeout=10,
    )
    assert response.status_code == 200
    assert [row["facts"]["customer_name"] for row in server_logged(server, rid)] == [MASK]


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


LIMIT = 8 * 1024 * 1024


def chunked_head() -> tuple[str, bytes]:
    """A request id, and the head of a chunked evaluate request carrying it."""
    rid = f"hostile-chunked-{uuid.uuid4().hex[:12]}"
    chunked = {"Transfer-Encoding": b"chunked"}
    return rid, request_head(Probe("chunked", "POST", TV), rid, **chunked)


@pytest.mark.slow
def test_the_real_server_answers_a_chunked_body_over_the_limit_413(server: Server) -> None:
    rid, head = chunked_head()
    answer = exchange(server.url, head, chunks(padded(LIMIT, 1024 * 1024)))
    body = answer.problem()
    assert (answer.status, body["type"]) == (413, "/problems/payload-too-large")
    assert body["limit"] == LIMIT
    assert server_logged(server, rid) == []


@pytest.mark.slow
def test_the_real_server_decides_a_chunked_body_within_the_limit(server: Server) -> None:
    rid, head = chunked_head()
    answer = exchange(server.url, head, chunks(padded(100_000, 0), 4096))
    assert answer.status == 200, answer.body[:300]
    assert json.loads(answer.body)["outcome"] == "accepted"
    assert len(server_logged(server, rid)) == 1


@pytest.mark.slow
def test_the_real_server_answers_a_negative_chunk_size_400(server: Server) -> None:
    rid, head = chunked_head()
    answer = exchange(server.url, head, [b"-1\r\n{}\r\n0\r\n\r\n"])
    assert (answer.status, answer.problem()["type"]) == (400, "/problems/bad-request")
    assert server_logged(server, rid) == []
    assert server_errors(server, rid) == []
