"""Messages for people: a stable code plus parameters, rendered in Japanese or English from one catalogue.

The engine says what is wrong as ``Message(Code.AT_LEAST, min=0)``, never as a sentence in one language;
the web layer renders it in the language the request asked for (:func:`localized`). The texts live in
:mod:`engine.messages.catalogue`, and marshmallow's own messages are coded by
:mod:`engine.messages.schema`.

A :class:`Message` *is* its English text (a ``str``). Everything that carried English before (field
error dicts, the CLI's output, the rule and tariff validators' diagnostics, ``repr`` in logs) keeps
working, byte for byte, while the code and parameters ride along for whoever can render Japanese.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .catalogue import CATALOGUE, PARAMETERS, Code
from .language import Lang

__all__ = ["Code", "Message", "localized"]


class Message(str):
    """One message: its :class:`Code`, its parameters, and (as a ``str``) its English text."""

    code: Code
    params: Mapping[str, object]

    def __new__(cls, code: Code, /, **params: object) -> Message:
        expected = PARAMETERS[code]
        if params.keys() != expected:
            raise TypeError(f"message {code.value} takes {sorted(expected)}, got {sorted(params)}")
        message = super().__new__(cls, CATALOGUE[code].en.format(**params))
        message.code = code
        message.params = MappingProxyType(params)
        return message

    def render(self, lang: Lang) -> str:
        """The text in ``lang``."""
        if lang == "en":
            return str(self)
        return CATALOGUE[self.code](lang).format(**self.params)

    def format(self, *args: object, **kwargs: object) -> str:
        """Itself. marshmallow formats each message it raises (``msg.format(input=...)``); a Message
        already holds its parameters, and must stay a Message to be rendered in Japanese later."""
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy or a pickle (a FactsError sent to another process) is made from the code, not the text.
        return (_message, (self.code, dict(self.params)))


def _message(code: Code, params: dict[str, object]) -> Message:
    return Message(code, **params)


def localized(text: str, lang: Lang) -> str:
    """``text`` in ``lang`` when it is a :class:`Message`; any other text (a rule file diagnostic for an
    operator, a library's description of an HTTP error) as it was written."""
    return text.render(lang) if isinstance(text, Message) else text
