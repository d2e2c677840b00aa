"""Where the bundled rule, tariff and clause-index folders are, and how to point the service elsewhere.

In a checkout they are the top-level ``rules/``, ``tariffs/`` and ``sources/`` folders policy owners
edit; an installed wheel carries the same folders as ``engine/bundled/*`` (setup.py), so
``flets-elig check`` and the server work outside a checkout too.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where the wheel puts the bundled folders; absent in a checkout.
BUNDLED = Path(__file__).resolve().parent / "bundled"


def bundled_dir(name: str) -> Path:
    """The bundled folder ``name`` (``rules``, ``tariffs``, ``sources``; ``docs`` holds only the rule-file
    JSON Schema in a wheel) of this installation."""
    installed = BUNDLED / name
    return installed if installed.is_dir() else PROJECT_ROOT / name


def rules_dir() -> Path:
    """``$FLETS_RULES_DIR`` or the bundled ``rules/`` folder."""
    return Path(os.environ.get("FLETS_RULES_DIR") or bundled_dir("rules"))


def tariffs_dir() -> Path:
    """``$FLETS_TARIFFS_DIR`` or the bundled ``tariffs/`` folder."""
    return Path(os.environ.get("FLETS_TARIFFS_DIR") or bundled_dir("tariffs"))
