"""Fixtures for the tariff tests: the real tariff folder, and editable copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import EngineError
from engine.paths import PROJECT_ROOT
from engine.tariff import QuoteRequestError, TariffBook, load_tariffs

TARIFFS = PROJECT_ROOT / "tariffs"


@pytest.fixture(scope="session")
def book() -> TariffBook:
    return load_tariffs(TARIFFS)


@pytest.fixture
def tariff_copy(tmp_path: Path) -> Callable[[str, str, str], Path]:
    """Copy the tariff folder and replace ``old`` with ``new`` in one file; returns the folder."""

    def edit(file: str, old: str, new: str) -> Path:
        folder = tmp_path / "tariffs"
        if not folder.exists():
            # A draft folder: the edits try out figures an owner might set, under versions that
            # this copy never published (its own ledger starts empty).
            shutil.copytree(TARIFFS, folder, ignore=shutil.ignore_patterns("versions.lock"))
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return folder

    return edit


def _field_errors(book: TariffBook, request: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(QuoteRequestError) as caught:
        book.quote(request)
    assert isinstance(caught.value, EngineError)
    return caught.value.fields


@pytest.fixture
def field_errors() -> Callable[[TariffBook, dict[str, Any]], dict[str, list[str]]]:
    """Price a request that must fail; returns its field errors (path → messages)."""
    return _field_errors
