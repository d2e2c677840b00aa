"""The pieces rule files and tariff files share: texts, citations, readings, gaps, sources, regions,
provenance and effective dates.

Both file formats are read by :mod:`engine.format.checker`; the models they produce use these types, so
a citation, a reading or a validity period means the same thing in a rule set and in a tariff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..messages.language import Text

Region = Literal["ntt_east", "ntt_west"]
REGIONS: tuple[Region, ...] = ("ntt_east", "ntt_west")

#: Longest text a request may put in a fact or a quote parameter: facts are codes and short texts, a
#: parameter's free text names a supplied amount; neither is ever a document.
MAX_STRING_LENGTH = 200

#: Where a figure or parameter comes from: the sources, a fact outside them, or our own inference.
Provenance = Literal["sourced", "outside_fact", "inferred"]
PROVENANCES: tuple[Provenance, ...] = ("sourced", "outside_fact", "inferred")


@dataclass(frozen=True)
class Citation:
    """Where in the sources a rule, note or figure comes from."""

    source: str
    clause: str
    reading: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"source": self.source, "clause": self.clause, "reading": self.reading}


@dataclass(frozen=True)
class Gap:
    """What the sources do not say, and whom to ask."""

    missing: Text
    ask: Text

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"missing": self.missing.to_dict(), "ask": self.ask.to_dict()}


@dataclass(frozen=True)
class Reading:
    """An ambiguous passage and the reading this file implements (the other one kept for review)."""

    id: str
    cite: Citation
    passage: str
    chosen: Text
    other: Text

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "cite": self.cite.to_dict(),
            "passage": self.passage,
            "chosen": self.chosen.to_dict(),
            "other": self.other.to_dict(),
        }


@dataclass(frozen=True)
class Source:
    """A source document a file cites: its file name and title."""

    file: str
    title: str


def in_force(day: date, effective_from: date | None, effective_to: date | None) -> bool:
    """Whether ``day`` lies in the closed period ``[effective_from, effective_to]`` (open ends allowed).

    Rule sets, tariffs, figures and tax rates all carry such a period; this is its one meaning.
    """
    if effective_from is not None and day < effective_from:
        return False
    return effective_to is None or day <= effective_to


class Validity:
    """Mixin of a model with a validity period: rule sets, tariffs, figures and tax rates.

    The dataclass that mixes it in declares the two fields; this adds the one ``in_force`` test.
    """

    effective_from: date | None
    effective_to: date | None

    def in_force(self, day: date) -> bool:
        return in_force(day, self.effective_from, self.effective_to)
