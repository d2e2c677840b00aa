"""Where the app keeps its loaded rulebook and tariffs, and the only way views reach them.

Both live in the :class:`engine.lifecycle.reload.EngineHolder` that :mod:`webapp.admin` keeps in ``app.extensions``.
Views call :func:`get_rulebook` / :func:`get_tariffs`; the first call of a request leases the serving
version until the request ends, so a hot reload never changes the version under a request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from engine import Rulebook

from . import admin

RULEBOOK_KEY = "flets.rulebook"
TARIFFS_KEY = "flets.tariffs"


def init_app(app: Flask) -> None:
    """Load the rule sets and tariffs behind the hot-reload holder of :mod:`webapp.admin`.

    Paths come from ``RULES_DIR`` / ``TARIFFS_DIR`` in the config, else the bundled folders.
    """
    admin.init_app(app)
    app.extensions[RULEBOOK_KEY] = app.extensions[TARIFFS_KEY] = app.extensions[admin.ENGINE_KEY]


def get_rulebook() -> Rulebook:
    """The rulebook serving this request (the same version for the whole request)."""
    return admin.request_bundle().rulebook


def get_tariffs() -> Any | None:
    """The tariff book serving this request, or ``None`` when no tariff engine is installed."""
    return admin.request_bundle().tariffs
