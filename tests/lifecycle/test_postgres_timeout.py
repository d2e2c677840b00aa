"""A PostgreSQL decision log whose server accepts connections but never answers fails within the connect
timeout instead of holding the caller for the TCP timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import psycopg
import pytest

from engine.lifecycle.decision_log import open_decision_log, postgres
from engine.lifecycle.decision_log.postgres import _connect_options


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port whose listener completes the TCP handshake (backlog) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_fails_within_the_connect_timeout(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT_S", 1)  # the default, shortened for the test
    started = time.monotonic()
    with pytest.raises(psycopg.errors.ConnectionTimeout):
        open_decision_log(f"postgresql://flets@127.0.0.1:{silent_server}/flets")
    assert time.monotonic() - started < 8


def test_the_default_timeout_applies_unless_the_url_sets_one() -> None:
    assert _connect_options("postgresql://u@127.0.0.1:5432/db") == {"connect_timeout": 5}
    assert _connect_options("postgresql://u@127.0.0.1:5432/db?connect_timeout=2") == {}
