"""gunicorn's sync worker, answering gunicorn's own refusals as problems instead of HTML pages.

Behind nginx few malformed requests reach a worker, but some do (more header fields than gunicorn
takes, a header name nginx passes and gunicorn refuses). gunicorn writes every such refusal with
one function, ``gunicorn.util.write_error(sock, status, reason, message)``; the worker replaces it,
in its own process only, with :func:`write_problem`. The request could not be read, so its
``Accept-Language`` is unknown: the problem is in the API's default language.
"""

from __future__ import annotations

import socket
import uuid

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

from . import ServerSettings, body_limit_from_env


def write_problem(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's ``write_error``, writing the problem its ``status`` means (its English ``reason``
    and ``message`` are gunicorn's log's, not the client's)."""
    # Imported here, in a worker (which has loaded the app, and these with it): gunicorn's master
    # imports this module to find the worker class, and should not import the app (start time).
    from ..i18n import DEFAULT_LANG
    from .errors import error_for, response_bytes, server_errors

    del reason, message
    errors = server_errors(body_limit_from_env(), ServerSettings().head_line_limit)
    error = error_for(status, errors)
    util.write_nonblock(sock, response_bytes(error.problem, DEFAULT_LANG, uuid.uuid4().hex))


class ProblemSyncWorker(SyncWorker):  # type: ignore[misc]
    """The sync worker with :func:`write_problem` for gunicorn's own error answers."""

    def init_process(self) -> None:
        util.write_error = write_problem
        super().init_process()
