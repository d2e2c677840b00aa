"""Where the app keeps its loaded rulebook and tariffs, and the only way views reach them.

Both live in :class:`Holder` objects stored in ``app.extensions``. Views call :func:`get_rulebook` /
:func:`get_tariffs` on every request and read ``holder.current`` then, never caching the object, so a later
hot reload only has to swap ``holder.current`` (or change this module) and every view follows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

from engine import Rulebook, load_rulebook
from engine.paths import rules_dir, tariffs_dir

T = TypeVar("T")

RULEBOOK_KEY = "flets.rulebook"
TARIFFS_KEY = "flets.tariffs"

log = logging.getLogger(__name__)


@dataclass
class Holder(Generic[T]):
    """A box whose ``current`` value may be replaced while the app runs (hot reload)."""

    current: T


def load_tariff_book(folder: Path) -> Any | None:
    """Load the tariff book when the tariff engine is installed; ``None`` when it is not (yet).

    :raises engine.ValidationError: when a tariff file is bad (the app must not start half-loaded).
    """
    try:
        from engine.tariff import load_tariffs
    except ImportError:
        log.warning("engine.tariff is not available; tariff endpoints answer 503")
        return None
    return load_tariffs(folder)


def init_app(app: Flask) -> None:
    """Load the rule sets and tariffs once and put them in ``app.extensions``.

    Paths come from ``RULES_DIR`` / ``TARIFFS_DIR`` in the config, else the bundled folders.
    """
    rules = Path(app.config.get("RULES_DIR") or rules_dir())
    tariffs = Path(app.config.get("TARIFFS_DIR") or tariffs_dir())
    app.extensions[RULEBOOK_KEY] = Holder(load_rulebook(rules))
    app.extensions[TARIFFS_KEY] = Holder(load_tariff_book(tariffs))


def rulebook_holder() -> Holder[Rulebook]:
    holder: Holder[Rulebook] = current_app.extensions[RULEBOOK_KEY]
    return holder


def get_rulebook() -> Rulebook:
    """The rulebook serving this request."""
    return rulebook_holder().current


def get_tariffs() -> Any | None:
    """The tariff book serving this request, or ``None`` when no tariff engine is installed."""
    holder: Holder[Any | None] = current_app.extensions[TARIFFS_KEY]
    return holder.current
