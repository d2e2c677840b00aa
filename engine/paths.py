"""Where the bundled rule and tariff folders are, and how to point the service elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def rules_dir() -> Path:
    """``$FLETS_RULES_DIR`` or the bundled ``rules/`` folder."""
    return Path(os.environ.get("FLETS_RULES_DIR") or PROJECT_ROOT / "rules")


def tariffs_dir() -> Path:
    """``$FLETS_TARIFFS_DIR`` or the bundled ``tariffs/`` folder."""
    return Path(os.environ.get("FLETS_TARIFFS_DIR") or PROJECT_ROOT / "tariffs")
