"""Fixtures for the web layer: one app per session (loading the rulebook takes seconds), a test client
per test, and a real server (nginx and gunicorn, as `make run` starts them) on a free local port for
end-to-end, browser and fuzz tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from webapp import create_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The screenshots the docs show (docs/sales.md, docs/studio.md).
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def screenshot(target: Any, name: str, **options: Any) -> None:
    """``target.screenshot`` (a page or a locator) into test-output/screenshots/``name``.png, copied to
    docs/screenshots when the docs have none by that name yet: a test run never rewrites the committed
    pictures (they show the day's date), so the working tree stays clean. To refresh one, delete it
    and run the browser tests."""
    out = PROJECT_ROOT / "test-output" / "screenshots" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(out), **options)
    committed = SCREENSHOTS / f"{name}.png"
    if not committed.exists():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, committed)


TEST_OUTPUT = PROJECT_ROOT / "test-output"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

#: Facts for a TV transport application refused on two grounds (第8条2項(3)号 and (4)号).
TV_TWO_REFUSALS = {
    "prefecture": "tokyo",
    "district_in_area": "confirmed_inside",
    "line_kind": "ntt_flets",
    "line_item": "confirmed_eligible",
    "line_designation": "designated",
    "applicant_is_line_contractor": True,
    "in_default_or_likely": True,
    "likely_to_breach_article_32": True,
}

#: The same application with nothing against it: accepted.
TV_ACCEPTED = {
    **TV_TWO_REFUSALS,
    "in_default_or_likely": False,
    "likely_to_breach_article_32": False,
}


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    application = create_app({"TESTING": True, "LOG_LEVEL": "WARNING"})
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become ready in {timeout} s")


def server_command(port: int, *extra: str) -> list[str]:
    """The server exactly as `make run` starts it (nginx in front of gunicorn's sync workers, the
    settings of webapp.serving), on ``127.0.0.1:port``."""
    return [sys.executable, "-m", "webapp.serving", "--bind", f"127.0.0.1:{port}", *extra]


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve(folder: Path, settings: dict[str, str]) -> Iterator[str]:
    """A real server (`make run`'s: nginx and gunicorn) with ``settings`` added to the environment,
    logging to ``folder``/server.log, with its own decision log in ``folder`` (never the repository's
    instance/ that `make run` serves) unless the settings name one; yields its base URL, stops it after."""
    env = {**os.environ, "FLETS_LOG_LEVEL": "WARNING",
           "FLETS_AUDIT_URL": str(folder / "decisions.sqlite3"), **settings}  # fmt: skip
    port = free_port()
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            server_command(port), cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server serving ``webapp:create_app()`` with the bundled rules; yields its base URL."""
    yield from serve(tmp_path_factory.mktemp("gunicorn"), {"FLETS_SECRET_KEY": "live-test"})


#: How the browser tests start Debian's chromium (Playwright's own download does not work offline).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
#: The bundles `make assets` builds (the studio's script, axe-core).
BUILD = PROJECT_ROOT / "webapp" / "static" / "build"


def launched_chromium(*bundles: str) -> Iterator[Any]:
    """Headless chromium driven by Playwright, for a module's tests; skips them when chromium or one
    of the ``bundles`` (file names in :data:`BUILD`) is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "chromium is not installed (run `make browser-deps`); Playwright downloads are not used"
        )
    if not all((BUILD / name).exists() for name in bundles):
        pytest.skip("the browser bundles are not built (run `make assets`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def chromium_path() -> str | None:
    """Debian's chromium, if installed (``make browser-deps`` installs it)."""
    found = shutil.which("chromium")
    if found:
        return found
    return next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
