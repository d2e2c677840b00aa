"""The loaded tariffs: list, describe and quote — the API the web app and the CLI call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ..clock import today_in_tokyo
from ..errors import EngineError, ValidationError
from ..format.loader import read_yaml_file, yaml_files
from ..format.versions import VersionedFile, check_versions, lock_known, read_lock, versioned_file
from ..messages import Code, Message
from .model import Item, Tariff, TaxRate
from .params import json_schema
from .quote import build_quote
from .validate import load_folder


class QuoteRequestError(EngineError):
    """A quote request the tariffs cannot accept; ``fields`` maps each field path to its messages.

    Paths look like ``items.0.params.size_mb`` (the shape marshmallow uses), so the API can return them
    as a 422 body unchanged. The messages are :class:`~engine.messages.Message` objects (English as
    text, Japanese on request), a kind's own refusals (``ParamProblem``) included.
    """

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = {key: list(messages) for key, messages in fields.items()}
        super().__init__(f"invalid quote request: {', '.join(sorted(self.fields))}")


class UnknownTariffError(EngineError):
    """No tariff with this id is loaded."""

    def __init__(self, tariff_id: str, known: Iterable[str] = ()) -> None:
        self.tariff_id = tariff_id
        self.known = sorted(known)
        self.message = Message(Code.UNKNOWN_TARIFF, id=tariff_id)
        super().__init__(f"unknown tariff {tariff_id!r}")


class TariffBook:
    """Every validated tariff (all versions) and the consumption-tax table, loaded once."""

    def __init__(
        self,
        tariffs: Iterable[Tariff],
        rates: Iterable[TaxRate],
        files: Iterable[VersionedFile] = (),
    ) -> None:
        self._tariffs = sorted(tariffs, key=lambda t: (t.id, t.effective_from))
        self._rates = list(rates)
        #: Each version's file: ``id@version`` → its content digest and ``version:`` line.
        self.files = {f.key: f for f in files}

    def digest(self, tariff: Tariff) -> str:
        """The content digest of ``tariff``'s file (:mod:`engine.format.versions`)."""
        found = self.files.get(f"{tariff.id}@{tariff.version}")
        return found.digest if found else ""

    @property
    def tariffs(self) -> list[Tariff]:
        return list(self._tariffs)

    @property
    def rates(self) -> list[TaxRate]:
        return list(self._rates)

    def ids(self) -> list[str]:
        return sorted({t.id for t in self._tariffs})

    def versions(self, tariff_id: str) -> list[Tariff]:
        return [t for t in self._tariffs if t.id == tariff_id]

    def tax_rate(self, day: date) -> TaxRate | None:
        return next((rate for rate in self._rates if rate.in_force(day)), None)

    def list(self) -> list[dict[str, Any]]:
        """A summary of every tariff version: id, version, title, region, effective dates."""
        return [t.summary() for t in self._tariffs]

    def describe(self, tariff_id: str, as_of: date | None = None) -> dict[str, Any]:
        """Everything a client needs to build a quote form for one tariff, and its examples.

        The version in force on ``as_of`` (default today) is described, or the latest one when none is.
        :raises UnknownTariffError: when no tariff has this id.
        """
        versions = self.versions(tariff_id)
        if not versions:
            raise UnknownTariffError(tariff_id, self.ids())
        day = as_of or today_in_tokyo()
        tariff = next((t for t in versions if t.in_force(day)), versions[-1])
        return _describe(tariff)

    def quote(self, request: Any, as_of: date | None = None) -> dict[str, Any]:
        """Price a quote request (see the package docstring); raises :class:`QuoteRequestError`."""
        return build_quote(self, request, as_of)


def load_tariffs(folder: Path, label: Callable[[Path], str] = str) -> TariffBook:
    """Load and validate every file in ``folder`` (named by ``label``, see
    :func:`~engine.tariff.validate.load_folder`), each version against the folder's ledger
    (``versions.lock``, :mod:`engine.format.versions`); raises ``engine.errors.ValidationError``."""
    tariffs, rates = load_folder(folder, label)
    files = [
        found
        for path in yaml_files(folder)
        if (found := versioned_file(read_yaml_file(path, label(path)), "tariff")) is not None
    ]
    entries, problems = read_lock(folder)
    versions_of: dict[str, list[str]] = {}
    for tariff in tariffs:
        versions_of.setdefault(tariff.id, []).append(tariff.version)
    problems += check_versions(files, lock_known(entries, folder), "tariff", versions_of)
    if problems:
        raise ValidationError(problems)
    return TariffBook(tariffs, rates, files)


def _describe(tariff: Tariff) -> dict[str, Any]:
    return {
        **tariff.summary(),
        "description": None if tariff.description is None else tariff.description.to_dict(),
        "file": tariff.file,
        "sources": [{"file": file, "title": title} for file, title in tariff.sources],
        "tax": {"basis": tariff.price_basis, "cite": tariff.tax_cite.to_dict()},
        "earlier_period": tariff.earlier_period and tariff.earlier_period.to_dict(),
        "readings": [reading.to_dict() for reading in tariff.readings.values()],
        "figures": [figure.to_dict() for figure in tariff.figures.values()],
        "items": [_describe_item(item) for item in tariff.items.values()],
        "examples": [
            {"note": example.note, "request": example.request, "expect": example.expect}
            for example in tariff.examples
        ],
    }


def _describe_item(item: Item) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": item.id,
        "title": item.title.to_dict(),
        "kind": item.kind,
        "tax": item.tax,
        "params_schema": json_schema(item.params),
        "figures": dict(item.figures),
        "cite": [cite.to_dict() for cite in item.cite],
        "readings": list(item.readings),
        "notes": [note.to_dict() for note in item.notes],
    }
    if item.description is not None:
        result["description"] = item.description.to_dict()
    if item.gap is not None:
        result["gap"] = item.gap.to_dict()
    return result
