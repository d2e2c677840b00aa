"""The server model (webapp/serving): slow clients cannot stop the service, and what the server refuses
before Flask is answered as a problem.

The slow-client and worker-error tests run against the live server, started exactly as `make run`
starts it. nginx's own refusals are also tested on nginx alone (the run's generated config, with no
gunicorn behind it), which is fast and shows the answer for workers that are down.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from webapp.security import SECURITY_HEADERS
from webapp.serving import ServerSettings, body_limit_from_env, nginx
from webapp.serving.__main__ import find_nginx, parse_args
from webapp.serving.errors import error_for, server_errors
from webapp.serving.worker import write_problem

from .conftest import TV_ACCEPTED, free_port

EVALUATE = "/v1/rulesets/tv_application/evaluate"
SLOW_CLIENTS = 50
NORMAL_REQUESTS = 200
#: The whole slow-client scenario stops by itself within this many seconds, whatever the server does.
SCENARIO_BUDGET_S = 90.0


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def exchange(host: str, port: int, raw: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str],
                                                                               bytes]:  # fmt: skip
    """Send raw bytes, read the whole answer (the server closes after an error): status, headers,
    body."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_problem(
    status: int, headers: dict[str, str], body: bytes, slug: str
) -> dict[str, object]:
    """The problem+json shape of webapp/problems.py, with the header set of every answer."""
    assert headers["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS:
        assert headers[name.lower()] == value
    problem = json.loads(body)
    assert set(problem) >= {"type", "title", "status", "detail", "errors", "request_id"}
    assert problem["type"] == f"/problems/{slug}" and problem["status"] == status
    assert problem["request_id"] == headers["x-request-id"] and problem["errors"] == []
    return problem  # type: ignore[no-any-return]


# -- slow clients against the real server ----------------------------------------------------------


def _open_slow_clients(host: str, port: int) -> list[socket.socket]:
    """Half of them stop in the middle of a header; the other half promise a body and never send it."""
    clients = []
    for index in range(SLOW_CLIENTS):
        sock = socket.create_connection((host, port), timeout=5)
        if index % 2:
            sock.sendall(f"POST {EVALUATE} HTTP/1.1\r\nHost: {host}\r\nContent-Ty".encode())
        else:
            sock.sendall(f"POST {EVALUATE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                         "application/json\r\nContent-Length: 1000\r\n\r\n{\"facts\"".encode())  # fmt: skip
        clients.append(sock)
    return clients


@pytest.mark.slow
def test_fifty_slow_clients_do_not_stop_the_service(live_server: str) -> None:
    host, port = address(live_server)
    deadline = time.monotonic() + SCENARIO_BUDGET_S
    slow = _open_slow_clients(host, port)
    opened = time.monotonic()
    try:
        latencies = []
        for _ in range(NORMAL_REQUESTS):
            assert time.monotonic() < deadline, "the normal requests ran out of time"
            started = time.perf_counter()
            response = requests.post(f"{live_server}{EVALUATE}", json={"facts": TV_ACCEPTED},
                                     timeout=5)  # fmt: skip
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            assert response.json()["outcome"] == "accepted"
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        assert p99 < 1.0, f"p99 {p99:.3f} s with {SLOW_CLIENTS} slow clients open"
        if time.monotonic() - opened < ServerSettings().client_timeout_s - 1:
            # Before nginx's timeout drops them, the slow clients are connected and unanswered.
            for sock in slow:
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1)
    finally:
        for sock in slow:
            sock.close()


# -- gunicorn's own refusals (past nginx) ----------------------------------------------------------


@pytest.mark.slow
def test_a_request_gunicorn_refuses_is_answered_as_a_problem(live_server: str) -> None:
    """More header fields than gunicorn takes (nginx passes them): gunicorn's refusal, not HTML."""
    host, port = address(live_server)
    fields = "".join(f"X-Field-{i}: {i}\r\n" for i in range(150))
    status, headers, body = exchange(
        host,
        port,
        f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n{fields}Connection: close\r\n\r\n".encode(),
    )
    assert status == 400
    problem = assert_problem(status, headers, body, "bad-request")
    assert "バイト" in str(problem["detail"])  # the request could not be read: the default language


def test_the_worker_writes_problems_instead_of_gunicorns_html() -> None:
    """What the worker puts in place of gunicorn's ``write_error``, for each status gunicorn uses."""
    for status, slug in ((400, "bad-request"), (414, "bad-request"), (431, "bad-request"),
                         (501, "bad-request"), (500, "internal-error")):  # fmt: skip
        ours, theirs = socket.socketpair()
        with ours, theirs:
            write_problem(ours, status, "Bad Request", "Invalid request line 'x'")
            ours.shutdown(socket.SHUT_WR)
            raw = theirs.recv(65536)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        answered = int(lines[0].split()[1])
        problem = assert_problem(answered, headers, body, slug)
        assert "Invalid request line" not in str(problem["detail"])
        assert int(headers["content-length"]) == len(body)


# -- nginx's own refusals (nginx alone, the run's configuration) ---------------------------------


@pytest.fixture(scope="module")
def nginx_alone() -> Iterator[tuple[str, int]]:
    """nginx with the configuration `make run` writes, and no gunicorn behind its socket (in a folder
    under /tmp as the launcher's: nginx's workers may run as another user)."""
    with tempfile.TemporaryDirectory(prefix="flets-nginx-test-") as name:
        yield from _nginx_in(Path(name))


def _nginx_in(folder: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    settings = ServerSettings(port=port)
    nginx.prepare_run_folder(folder)
    config = folder / "nginx.conf"
    config.write_text(nginx.render(settings, folder, folder / "gunicorn.sock"))
    binary = find_nginx()
    process = subprocess.Popen([binary, "-e", "stderr", "-p", str(folder), "-c", str(config)],
                               stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def test_a_malformed_request_line_is_a_problem_in_japanese_by_default(
    nginx_alone: tuple[str, int],
) -> None:
    status, headers, body = exchange(*nginx_alone, b"GARBAGE\r\n\r\n")
    assert status == 400
    problem = assert_problem(status, headers, body, "bad-request")
    assert problem["title"] == "不正なリクエストです"
    assert headers["content-language"] == "ja"


def test_headers_too_large_are_a_problem_in_the_language_asked_for(
    nginx_alone: tuple[str, int],
) -> None:
    big = "a" * 9000
    raw = f"GET / HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nX-Big: {big}\r\n\r\n".encode()
    status, headers, body = exchange(*nginx_alone, raw)
    problem = assert_problem(status, headers, body, "bad-request")
    assert problem["detail"] == (
        "The request line or the headers are too long or too many (at most 8190 bytes a line)."
    )
    assert headers["content-language"] == "en"
    long_line = f"GET /{'x' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert_problem(*exchange(*nginx_alone, long_line), "bad-request")  # nginx's 414


def test_a_body_over_the_limit_is_refused_before_it_is_read(nginx_alone: tuple[str, int]) -> None:
    limit = ServerSettings().body_limit
    raw = (f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nContent-Type: "
           f"application/json\r\nContent-Length: {limit + 1}\r\n\r\n").encode()  # fmt: skip
    status, headers, body = _send_tolerant(*nginx_alone, raw)
    problem = assert_problem(status, headers, body, "payload-too-large")
    assert status == 413 and problem["limit"] == limit
    assert problem["detail"] == f"The request body is limited to {limit} bytes."


def test_a_chunked_body_over_the_limit_is_413_not_cut(nginx_alone: tuple[str, int]) -> None:
    limit = ServerSettings().body_limit
    chunk = b"x" * 1_048_576
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(limit // len(chunk) + 1))
    raw = (f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"  # fmt: skip
    result: list[tuple[int, dict[str, str], bytes]] = []
    # nginx may answer (and stop reading) before the whole body is sent: read in another thread.
    sender = threading.Thread(target=lambda: result.append(_send_tolerant(*nginx_alone, raw)))
    sender.start()
    sender.join(timeout=30)
    assert result, "no answer within 30 s"
    status, headers, body = result[0]
    assert status == 413
    assert_problem(status, headers, body, "payload-too-large")


def _send_tolerant(host: str, port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Like :func:`exchange`, but a reset while sending is fine when the answer came first."""
    with socket.create_connection((host, port), timeout=20) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_workers_that_are_down_are_503_not_ready(nginx_alone: tuple[str, int]) -> None:
    host, port = nginx_alone
    response = requests.get(f"http://{host}:{port}/readyz", headers={"Accept-Language": "en"},
                            timeout=10)  # fmt: skip
    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "/problems/not-ready"
    assert problem["detail"] == "The service is starting or restarting; retry in a few seconds."
    assert response.headers["X-Frame-Options"] == "DENY"


# -- the one configuration ---------------------------------------------------------------------------


def test_server_errors_map_every_status_to_a_problem_of_that_status() -> None:
    """A refusal of the client's request is a 400 (or 413) problem; the workers being away is 503."""
    expected = {400: "bad-request", 403: "bad-request", 408: "bad-request", 413: "payload-too-large",
                414: "bad-request", 431: "bad-request", 494: "bad-request", 499: "bad-request",
                501: "bad-request", 505: "bad-request", 500: "internal-error", 599: "internal-error",
                502: "not-ready", 503: "not-ready", 504: "not-ready"}  # fmt: skip
    errors = server_errors(100, 8190)
    for status, slug in expected.items():
        problem = error_for(status, errors).problem
        assert problem.slug == slug, status
        assert problem.to_dict("en")["status"] == problem.type.status


def test_nginx_strings_escape_quotes_and_refuse_variables() -> None:
    assert nginx.nginx_string("it's \\ fine") == "'it\\'s \\\\ fine'"
    with pytest.raises(ValueError):
        nginx.nginx_string("costs $5")


def test_launcher_arguments_and_the_body_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_args(["--bind", "[::1]:9000", "--workers", "3"])
    assert (settings.host, settings.port, settings.workers, settings.bind) == ("::1", 9000, 3,
                                                                              "[::1]:9000")  # fmt: skip
    assert body_limit_from_env({"FLETS_MAX_CONTENT_LENGTH": "1024"}) == 1024
    with pytest.raises(ValueError):
        body_limit_from_env({"FLETS_MAX_CONTENT_LENGTH": "lots"})
    assert Path(find_nginx()).exists()


def test_a_configuration_nginx_refuses_stops_the_started_gunicorn_and_says_why_in_json(
    tmp_path: Path,
) -> None:
    """gunicorn starts before nginx's configuration is checked (start time): when nginx refuses it,
    the launcher stops gunicorn again, exits non-zero, and every line it leaves is JSON."""
    env = {**os.environ, "FLETS_MAX_CONTENT_LENGTH": str(10**24), "FLETS_AUDIT_URL": "none",
           "FLETS_GENERATIONS_DIR": str(tmp_path)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp.serving", "--bind", f"127.0.0.1:{free_port()}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    said = [line["message"] for line in lines if line["logger"] == "nginx"]
    assert any("client_max_body_size" in message for message in said)
    assert any(line["logger"] == "webapp.serving" and line["level"] == "critical" for line in lines)
    with pytest.raises(ProcessLookupError):  # gunicorn and its workers are gone too
        os.killpg(process.pid, 0)


def test_the_launcher_and_gunicorns_master_import_neither_flask_nor_the_app() -> None:
    """Three processes start the server; only the workers need the app (docs/benchmarks.md)."""
    script = (
        "import sys, webapp.serving.__main__, webapp.serving.gunicorn_conf, webapp.serving.worker;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'marshmallow', "
        "'durable', 'engine') or m in ('webapp.api', 'webapp.observability')))"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True)  # fmt: skip
    assert found.stdout.strip() == "[]"
