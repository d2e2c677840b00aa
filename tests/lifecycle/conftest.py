"""Fixtures for the rule-lifecycle tests: a small first-match table and rule folders to edit."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from engine import Rulebook, load_rulebook
from engine.paths import PROJECT_ROOT

#: A first-match decision table over an enum, an int with bounds and a bool. Tests append rows.
TABLE_HEAD = """\
ruleset: plan_change
version: "{version}"
title: {{ja: プラン変更, en: Plan change}}
region: ntt_west
effective_from: {start}
effective_to: {end}
sources:
  - {{file: 001_ded95cce339fcddd.txt, title: ガイド}}
facts:
  plan:
    type: enum
    label: {{ja: プラン, en: Plan}}
    values: [basic, family, business]
  users:
    type: int
    label: {{ja: 利用者数, en: Users}}
    min: 0
    max: 100
  migrated:
    type: bool
    label: {{ja: 移行済み, en: Migrated}}
    required: false
    default: false
  customer_name:
    type: string
    label: {{ja: お客さま名, en: Customer name}}
    required: false
    default: ""
    personal: true
outcomes:
  allowed: {{kind: positive, label: {{ja: 可, en: Allowed}}}}
  refused: {{kind: negative, label: {{ja: 不可, en: Refused}}}}
  unknown:
    kind: undecidable
    label: {{ja: 判断不可, en: Cannot be decided}}
    gap: {{missing: {{ja: 規定なし, en: No clause}}, ask: {{ja: 窓口, en: The desk}}}}
decide: first_match
default:
  outcome: {default}
  reason: no_row
  message: {{ja: 該当行なし, en: No row}}
  cite: {{source: 001_ded95cce339fcddd.txt, clause: 表}}
rules:
"""

ROW = """\
  - id: {id}
    when: {when}
    outcome: {outcome}
    reason: {id}
    message: {{ja: 行, en: Row}}
    cite: {{source: 001_ded95cce339fcddd.txt, clause: 表}}
"""

EXAMPLES = """\
examples:
  - note: business, not migrated, is no row of the reference table
    facts: {{plan: business, users: 3}}
    expect: {{outcome: {default}, reasons: [no_row]}}
"""

#: The rows of the reference table: basic up to 9 users, family any, business if migrated.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "allowed"),
    ("family_any", "{plan: family}", "allowed"),
    ("business_migrated", "{all: [{plan: business}, {migrated: true}]}", "refused"),
)


def table(
    rows: tuple[tuple[str, str, str], ...] = ROWS,
    default: str = "refused",
    version: str = "1.0",
    start: str = "2024-01-01",
    end: str = "null",
) -> str:
    """The YAML text of a first-match table with ``rows`` as (id, when, outcome)."""
    head = TABLE_HEAD.format(version=version, start=start, end=end, default=default)
    body = "".join(ROW.format(id=i, when=w, outcome=o) for i, w, o in rows)
    return head + body + EXAMPLES.format(default=default)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def rules_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    return folder


@pytest.fixture
def write_table(rules_folder: Path) -> Callable[..., Path]:
    """Write a table (see :func:`table`) into the rules folder and return its path."""

    def write(name: str = "plan_change.yaml", **kwargs: object) -> Path:
        path = rules_folder / name
        path.write_text(table(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
        return path

    return write


@pytest.fixture
def make_table() -> Callable[..., str]:
    """:func:`table` for tests (test modules cannot import conftest under importlib mode)."""
    return table


@pytest.fixture
def find_line() -> Callable[[str, str], int]:
    return line_of


# --- a real, throwaway PostgreSQL server -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bindir() -> Path | None:
    """Debian's PostgreSQL server binaries (``make postgres`` installs the package)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL cluster in a temp dir on a free 127.0.0.1 port; yield its URL; stop it."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: run `make postgres` (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="flets-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    run = functools.partial(subprocess.run, check=True, capture_output=True)
    run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "flets", "--auth=trust",
                         "--encoding=UTF8", "--no-locale"]))  # fmt: skip
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                         "-l", str(root / "server.log"), "start"]))  # fmt: skip
    try:
        yield f"postgresql://flets@127.0.0.1:{port}/postgres"
    finally:
        run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the throwaway server for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A decision log URL of each kind: a SQLite file, and a database on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'decisions.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


#: Starts a two-worker gunicorn on the test's rules folder, in its own process group (so a test can
#: kill master and workers at once), logging its output to the test's folder: (database, *args) → process.
StartServer = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def two_worker_server(rules_folder: Path, tmp_path: Path, free_tcp_port: int) -> StartServer:
    """``start(database, *extra_gunicorn_args, log_level="WARNING")`` on ``127.0.0.1:free_tcp_port``."""

    def start(database: Path, *extra: str, log_level: str = "WARNING") -> subprocess.Popen[bytes]:
        env = {**os.environ, "FLETS_RULES_DIR": str(rules_folder), "FLETS_AUDIT_URL": str(database),
               "FLETS_TARIFFS_DIR": str(tmp_path / "none"), "FLETS_RELOAD_INTERVAL": "0",
               "FLETS_LOG_LEVEL": log_level}  # fmt: skip
        command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", "2",
                   "--bind", f"127.0.0.1:{free_tcp_port}", *extra, "webapp:create_app()"]  # fmt: skip
        with (tmp_path / "server.log").open("wb") as server_log:
            return subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    return start


@pytest.fixture
def free_tcp_port() -> int:
    return free_port()


#: A small first-match table the decision-log tests decide with.
AUDIT_ROWS = (("family_any", "{plan: family}", "allowed"),
              ("basic_small", "{all: [{plan: basic}, {fact: users, less_than: 10}]}", "refused"))  # fmt: skip


@pytest.fixture
def audit_rules(write_table: Callable[..., Path], rules_folder: Path) -> Path:
    """The rules folder holding the :data:`AUDIT_ROWS` table."""
    write_table(rows=AUDIT_ROWS)
    return rules_folder


@pytest.fixture
def book(audit_rules: Path) -> Iterator[Rulebook]:
    """A rulebook holding the :data:`AUDIT_ROWS` table."""
    rulebook = load_rulebook(audit_rules)
    yield rulebook
    rulebook.close()


#: The admin token of the apps :func:`table_app` makes.
ADMIN_TOKEN = "s3cret-admin-token"


def table_app(rules_folder: Path, tmp_path: Path, **config: object) -> Iterator[Flask]:
    """For a fixture (``yield from``): a test app serving ``rules_folder`` without tariffs, with the
    admin token :data:`ADMIN_TOKEN` and ``config`` on top; its reloader and decision log closed after."""
    from webapp import create_app
    from webapp.state import app_state

    application = create_app({"TESTING": True, "RULES_DIR": str(rules_folder),
                              "TARIFFS_DIR": str(tmp_path / "none"), "ADMIN_TOKEN": ADMIN_TOKEN,
                              "LOG_LEVEL": "CRITICAL", **config})  # fmt: skip
    yield application
    state = app_state(application)
    state.reloader.close()
    state.decision_log.close()
