"""The two languages of the product, and a text written in both.

Everything people read — rule and tariff labels, reasons, error messages — exists in Japanese and
English; an answer is given in one of them. This is the lowest layer of the engine: the file formats,
the rules and the tariffs all build on it.
"""

from __future__ import annotations

import re
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


#: A Japanese character: kana, CJK ideographs, CJK and full-width punctuation and forms.
_JAPANESE = "[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
#: A half-width space between two Japanese characters, or next to Japanese punctuation whatever is on
#: its other side: after 。、「（ … and before 。、」） … (full-width punctuation carries its own space,
#: so 「確認してください。 NTT東日本に…」 has a gap in it).
_SPACE_BETWEEN_JAPANESE = re.compile(
    f"(?<={_JAPANESE}) +(?={_JAPANESE})"
    "|(?<=[、。，．「『（【〔：；！？・]) +"
    "| +(?=[、。，．」』）】〕：；！？・])"
)


def join_japanese(text: str) -> str:
    """``text`` without the half-width spaces between two Japanese characters.

    Japanese is written without spaces between words, but YAML folds a line break in a ``>``/``>-``
    block into a space, so a sentence a policy owner wrapped across lines would be read to a customer
    with a gap in it (「一覧は 資料にありません」, 「ありません。 NTT東日本に」). Every ``ja`` text of a rule
    or tariff file is read through this; a space between a Japanese character other than punctuation and
    a Latin letter or a digit is kept (「NTT 東日本」 stays as written).
    """
    return _SPACE_BETWEEN_JAPANESE.sub("", text)


def has_space_between_japanese(text: str) -> bool:
    return _SPACE_BETWEEN_JAPANESE.search(text) is not None
