"""The web service: JSON API for order systems, a sales page, and their documentation.

``gunicorn 'webapp:create_app()'`` serves it; the rulebook and tariffs are loaded once at start-up.
:func:`create_app` is the composition root: settings, then each part wired with its ``init_app``
(the engine state in :mod:`webapp.state`, the tokens in :mod:`webapp.auth`, the headers, the page's
access rule and CSRF in :mod:`webapp.security`), the blueprints, and the fast path of
:mod:`webapp.fast` in front of it all. How it is served (a buffering proxy in front of gunicorn) is
:mod:`webapp.serving`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if (
    TYPE_CHECKING
):  # imported in create_app: the launcher and gunicorn's master import webapp.serving
    from flask import Flask

#: Largest request body (bytes): about 5,000 typical batch items.
DEFAULT_MAX_CONTENT_LENGTH = 8 * 1024 * 1024
#: Most items in one evaluate-batch request.
DEFAULT_MAX_BATCH_ITEMS = 5000


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application.

    Settings come from defaults, then ``FLETS_*`` environment variables, then ``test_config``.
    :raises engine.ValidationError: when a rule or tariff file is bad; the app never serves half a rulebook.
    """
    # The app's modules are imported here, not when the package is: the launcher and gunicorn's
    # master import ``webapp.serving`` only, and should not pay for the whole app (start time).
    from flask import Flask

    from . import (
        admin,
        api,
        auth,
        docs,
        health,
        i18n,
        observability,
        pages,
        problems,
        security,
        state,
    )
    from .decisions import BATCH_LIMIT, BODY_LIMIT
    from .fast.wsgi import DecisionFastPath
    from .inputs import RequestScreen
    from .studio import api as studio_api
    from .studio import pages as studio_pages

    app = Flask(__name__)
    app.config.from_mapping(
        {BODY_LIMIT: DEFAULT_MAX_CONTENT_LENGTH, BATCH_LIMIT: DEFAULT_MAX_BATCH_ITEMS},
        RULES_DIR=None,
        TARIFFS_DIR=None,
        LOG_LEVEL="INFO",
        JSON_SORT_KEYS=False,
        FAST_PATH=True,
    )
    app.config.from_prefixed_env("FLETS")
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    observability.init_app(app)
    problems.init_app(app)
    i18n.init_app(app)
    state.init_app(app)
    auth.init_app(app)
    security.init_app(app)

    app.register_blueprint(admin.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(studio_pages.bp)
    app.register_blueprint(studio_api.bp)
    # Bytes that are not UTF-8 and chunked bodies over the limit are refused before Flask reads them;
    # the fast path hands the screen what it does not answer itself.
    app.wsgi_app = RequestScreen(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["FAST_PATH"]:
        app.wsgi_app = DecisionFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
