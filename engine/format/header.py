"""The header both file formats start with: id, version, title, description, region, validity, sources.

A rule file names itself with ``ruleset:``, a tariff with ``tariff:``; everything else in the header is
written, and checked, the same way, so it is read here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..messages.language import Text
from .checker import Checker
from .common import REGIONS, Region, Source
from .loader import MarkedDict

#: The header's keys after the id key, in the order a file writes them.
HEADER_KEYS = (
    "version",
    "title",
    "description",
    "region",
    "effective_from",
    "effective_to",
    "sources",
)


@dataclass
class Header:
    """The header of one file; each field None (sources empty) when it could not be read."""

    id: str | None = None
    version: str | None = None
    title: Text | None = None
    description: Text | None = None
    region: Region | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    sources: tuple[Source, ...] = ()

    @property
    def source_names(self) -> list[str]:
        return [s.file for s in self.sources]


def read_header(checker: Checker, top: MarkedDict, id_key: str) -> Header:
    """Read the header keys of ``top``; an absent required key is one ``missing-key`` diagnostic.

    ``description`` may be left out, but when written it must be a text (null included, as the JSON
    Schema says); ``effective_to`` may be null (open-ended).
    """
    description = None
    if "description" in top:
        description = checker.text(top["description"], top.where("description"), "description")
    header = Header(
        id=checker.required(top, id_key, id_key, checker.identifier),
        version=checker.required(top, "version", "version", checker.version),
        title=checker.required(top, "title", "title", checker.text),
        description=description,
        region=checker.required(top, "region", "region", checker.one_of(REGIONS)),
        effective_from=checker.required(top, "effective_from", "effective_from", checker.day),
        effective_to=checker.optional(top, "effective_to", "effective_to", checker.day),
        sources=checker.required(top, "sources", "sources", checker.sources) or (),
    )
    checker.in_order(
        header.effective_from, header.effective_to, top.where("effective_to"), "effective_to"
    )
    return header
