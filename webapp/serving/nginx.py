"""nginx's configuration for one run of the server, written from :class:`~webapp.serving.ServerSettings`.

nginx listens where clients connect, reads each request whole (headers, then the body: in memory
up to 1 MiB, in a temporary file beyond) and only then passes it to gunicorn on a Unix socket in
the run's private folder; it reads gunicorn's answer at once and sends it at the client's pace.
What nginx refuses itself (:mod:`.errors`) it answers with problem bodies written into this file,
in Japanese or English by ``Accept-Language`` (English when it comes first or Japanese is not
offered, as the API's :func:`webapp.i18n.lang_for` picks for the usual headers).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from engine.messages.language import LANGUAGES

from ..observability import REQUEST_ID_HEADER
from ..problems import PROBLEM_MIMETYPE
from ..security import SECURITY_HEADERS
from . import ServerSettings
from .errors import ServerError, problem_json, server_errors

#: The request id nginx writes into its own problem bodies (an nginx variable).
_REQUEST_ID = "$request_id"
#: The internal locations of nginx's problem answers (a named location cannot take the error of a
#: request line that did not parse: it has no URI to redirect).
ERROR_PREFIX = "/__flets_server_error/"
#: Folders nginx keeps request bodies and answers in when they exceed its memory buffers.
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_string(text: str) -> str:
    """``text`` as a single-quoted nginx string (backslashes and quotes escaped); a ``$`` would
    start a variable, so only the request id placeholder may hold one."""
    if "$" in text.replace(_REQUEST_ID, ""):
        raise ValueError(f"a '$' in an nginx string: {text!r}")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _error_location(error: ServerError) -> str:
    returns = {
        lang: f"return {error.status} {nginx_string(problem_json(error.problem, lang, _REQUEST_ID))};"
        for lang in LANGUAGES
    }
    headers = "\n".join(
        f"        add_header {name} {nginx_string(value)} always;"
        for name, value in (*SECURITY_HEADERS, (REQUEST_ID_HEADER, _REQUEST_ID))
    )
    return f"""
    location = {ERROR_PREFIX}{error.name} {{
        internal;
        default_type {PROBLEM_MIMETYPE};
        add_header Content-Language $flets_lang always;
{headers}
        if ($flets_lang = en) {{ {returns["en"]} }}
        {returns["ja"]}
    }}"""


def _user_line() -> str:
    """Run as root (CI, a container), nginx's workers drop to ``nobody``; otherwise nginx runs as the
    user who started it and the directive would only warn."""
    if os.geteuid() != 0:
        return ""
    return "user nobody nogroup;"


def prepare_run_folder(folder: Path) -> None:
    """The run's folder, private to the user nginx's workers run as (they read the socket in it)."""
    for name in TEMP_FOLDERS:
        (folder / name).mkdir(exist_ok=True)
    folder.chmod(0o700)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (folder, *(folder / name for name in TEMP_FOLDERS)):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)


def render(settings: ServerSettings, folder: Path, socket_path: Path) -> str:
    """The whole ``nginx.conf`` for a run whose files live in ``folder``."""
    errors = server_errors(settings.body_limit, settings.head_line_limit)
    error_pages = "\n".join(
        f"        error_page {' '.join(map(str, e.statuses))} = {ERROR_PREFIX}{e.name};"
        for e in errors
    )
    temp = "\n".join(f"    {name}_temp_path {folder / name};" for name in TEMP_FOLDERS)
    return f"""# Written by webapp.serving for one run; edits are lost.
{_user_line()}
worker_processes {settings.proxy_workers};
worker_rlimit_nofile 8192;
pid {folder / "nginx.pid"};
error_log stderr warn;
daemon off;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    server_tokens off;
{temp}

    map $http_accept_language $flets_lang {{
        default ja;
        "~*^\\s*en" en;
        "~*^(?!.*\\bja\\b).*\\ben\\b" en;
    }}

    server {{
        listen {settings.bind};

        # Slow clients: a request must arrive at a pace; nothing reaches a worker before it is whole.
        client_header_timeout {settings.client_timeout_s}s;
        client_body_timeout {settings.client_timeout_s}s;
        send_timeout {settings.send_timeout_s}s;
        keepalive_timeout {settings.keepalive_s}s;
        reset_timedout_connection on;
        client_max_body_size {settings.body_limit};
        client_body_buffer_size 1m;
        large_client_header_buffers 4 8k;

{error_pages}

        location / {{
            proxy_pass http://unix:{socket_path}:;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_buffers 64 16k;
            proxy_intercept_errors off;
            proxy_connect_timeout 5s;
            proxy_read_timeout {settings.proxy_read_timeout_s}s;
            proxy_send_timeout {settings.proxy_read_timeout_s}s;
            proxy_redirect off;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
{"".join(_error_location(e) for e in errors)}
    }}
}}
"""
