"""The two languages of the product, and a text written in both.

Everything people read — rule and tariff labels, reasons, error messages — exists in Japanese and
English; an answer is given in one of them. This is the lowest layer of the engine: the file formats,
the rules and the tariffs all build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["ja", "en"]
LANGUAGES: tuple[Lang, ...] = ("ja", "en")


@dataclass(frozen=True)
class Text:
    """A text shown to people, in Japanese and English."""

    ja: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.ja

    def to_dict(self) -> dict[str, str]:
        return {"ja": self.ja, "en": self.en}
