"""``python -m webapp.serving``: start nginx and gunicorn as one server, stop both as one.

    python -m webapp.serving                              # 127.0.0.1:8000, 2 workers, the service
    python -m webapp.serving --bind 0.0.0.0:9000 --workers 4
    python -m webapp.serving --app 'bare_app:create_app()'   # another WSGI app (the benchmark's)

A private folder holds the run's files (nginx.conf, the socket, nginx's temporary files) and is
removed at the end. Either process exiting stops the other, and the launcher exits non-zero;
SIGTERM or SIGINT stop both gracefully (in-flight requests finish); SIGHUP restarts gunicorn's
workers. Both children get SIGTERM if the launcher itself dies.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

from ..logs import log_line
from . import MULTIPROC_ENV, ServerSettings, body_limit_from_env

#: Where Debian puts nginx (not on a normal user's PATH).
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
#: Seconds both processes get to stop gracefully before they are killed.
STOP_GRACE_S = 35.0
_PR_SET_PDEATHSIG = 1


def parse_args(argv: Sequence[str] | None = None) -> ServerSettings:
    defaults = ServerSettings()
    parser = argparse.ArgumentParser(prog="python -m webapp.serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--bind", default=defaults.bind, help="HOST:PORT clients connect to")
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--app", default=defaults.app, help="the WSGI app, as gunicorn names it")
    parser.add_argument("--log-level", default=defaults.log_level, help="gunicorn's log level")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--bind must be HOST:PORT, not {args.bind!r}")
    return ServerSettings(host=host.strip("[]"), port=int(port), app=args.app,
                          workers=args.workers, log_level=args.log_level,
                          body_limit=body_limit_from_env())  # fmt: skip


def find_nginx() -> str:
    found = shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if Path(p).exists()), None)
    if found is None:
        raise SystemExit(
            "nginx is not installed: `make run` installs Debian's package (or: apt-get install nginx)"
        )
    return found


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the launcher dies (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def gunicorn_command(settings: ServerSettings, socket_path: Path) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:webapp.serving.gunicorn_conf",
            "--bind", f"unix:{socket_path}", "--workers", str(settings.workers),
            "--log-level", settings.log_level, settings.app]  # fmt: skip


def serve(settings: ServerSettings) -> int:
    """Run both processes until a signal or until one of them exits; the exit status.

    gunicorn starts first: its workers' start (importing the app, loading the rules) is most of the
    server's, and nginx's configuration is written and checked (``nginx -t``) meanwhile — which is
    when this process imports what the configuration is written from (the problem texts, the
    headers); nginx starts once it passed. A configuration nginx refuses stops gunicorn again.
    """
    nginx_binary = find_nginx()
    folder = Path(tempfile.mkdtemp(prefix="flets-serving-"))
    try:
        socket_path = folder / "gunicorn.sock"
        with _Signals() as signals:  # before the children start: a stop is never lost
            gunicorn = subprocess.Popen(gunicorn_command(settings, socket_path),
                                        env=_worker_environment(folder),
                                        preexec_fn=_die_with_parent)  # fmt: skip
            signals.gunicorn = gunicorn
            proxy_command, checked = _checked_proxy(settings, folder, socket_path, nginx_binary)
            if checked != 0:
                _stop(gunicorn, signal.SIGTERM)
                _wait(gunicorn)
                return checked
            proxy = subprocess.Popen(proxy_command, stderr=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)  # fmt: skip
            relay = threading.Thread(target=relay_nginx_log, args=(proxy.stderr, sys.stderr),
                                     name="nginx-log", daemon=True)  # fmt: skip
            relay.start()
            try:
                return _supervise(signals, gunicorn, proxy)
            finally:
                relay.join(timeout=STOP_GRACE_S)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _checked_proxy(
    settings: ServerSettings, folder: Path, socket_path: Path, nginx_binary: str
) -> tuple[list[str], int]:
    """nginx's command for the run, its configuration written into ``folder``; and the status of
    ``nginx -t`` on it (0: it passed)."""
    from . import nginx  # the message catalogue and the problem shapes: while gunicorn starts

    nginx.prepare_run_folder(folder)
    config = folder / "nginx.conf"
    config.write_text(nginx.render(settings, folder, socket_path))
    proxy_command = [nginx_binary, "-e", "stderr", "-p", str(folder), "-c", str(config)]
    checked = subprocess.run([*proxy_command, "-t", "-q"], check=False, stderr=subprocess.PIPE)
    relay_nginx_log(io.BytesIO(checked.stderr), sys.stderr)  # what nginx said of it, as JSON lines
    if checked.returncode != 0:
        _log("critical", "nginx refused its configuration; the server did not start")
    return proxy_command, checked.returncode


def _worker_environment(folder: Path) -> dict[str, str]:
    """gunicorn's environment: the workers share one metrics folder, fresh for each run (unless the
    operator named one), so ``/metrics`` sums every worker (:mod:`webapp.metrics`)."""
    env = dict(os.environ)
    if not env.get(MULTIPROC_ENV):
        metrics_folder = folder / "metrics"
        metrics_folder.mkdir()
        env[MULTIPROC_ENV] = str(metrics_folder)
    return env


class _Signals:
    """SIGTERM and SIGINT ask to stop; SIGHUP restarts gunicorn's workers."""

    def __init__(self) -> None:
        self.stopping: list[int] = []
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Callable[..., object] | int | None] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._stop)
        self._previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hup)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.append(signum)

    def _hup(self, _signum: int, _frame: FrameType | None) -> None:
        if self.gunicorn is not None:
            self.gunicorn.send_signal(signal.SIGHUP)


def _supervise(
    signals: _Signals, gunicorn: subprocess.Popen[bytes], proxy: subprocess.Popen[bytes]
) -> int:
    died = ""
    try:
        while not signals.stopping and not died:
            time.sleep(0.2)
            died = next((name for name, p in (("gunicorn", gunicorn), ("nginx", proxy))
                         if p.poll() is not None), "")  # fmt: skip
    finally:
        _stop(gunicorn, signal.SIGTERM)  # graceful: workers finish their requests
        _stop(proxy, signal.SIGQUIT)  # graceful: open requests are answered
        _wait(gunicorn, proxy)
    if signals.stopping or not died:  # Ctrl-C reaches all three processes: nginx may go first
        return 0
    _log("error", f"{died} exited; the server stopped")
    return 1


#: nginx's error-log line: ``2026/12/02 03:09:38 [crit] 19193#19193: *1 connect() … failed …``.
_NGINX_LINE = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?P<level>\w+)\] (?P<pid>\d+)#\d+: (?P<message>.*)$"
)
#: nginx's severities in the names the other log lines use.
_NGINX_LEVELS = {"emerg": "critical", "alert": "critical", "crit": "critical", "error": "error",
                 "warn": "warning", "notice": "info", "info": "info", "debug": "debug"}  # fmt: skip


def nginx_log_line(line: str, now: float) -> str:
    """One line nginx wrote to standard error as the one-object JSON line every other log line is."""
    match = _NGINX_LINE.match(line)
    if match is None:
        return log_line(now, "warning", "nginx", line, {})
    level = _NGINX_LEVELS.get(match["level"], "warning")
    return log_line(now, level, "nginx", match["message"], {"pid": int(match["pid"])})


def relay_nginx_log(stream: IO[bytes] | None, out: TextIO) -> None:
    """Copy nginx's standard error to ``out`` as JSON lines until nginx closes it."""
    if stream is None:
        return
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line:
            out.write(nginx_log_line(line, time.time()) + "\n")
            out.flush()


def _log(level: str, message: str) -> None:
    """A line of the launcher's own, in the same JSON form."""
    print(log_line(time.time(), level, "webapp.serving", message, {}), file=sys.stderr, flush=True)


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)


def _wait(*processes: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
