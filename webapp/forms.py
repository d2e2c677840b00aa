"""The sales form: a rule set's fact schema turned into form fields, and posted form data into facts.

Pure functions, no Flask: the same fact schema that validates API requests decides every control, so the
page can never drift from the rules. Values that do not parse are passed on unchanged, so the engine's own
validation names the field (``"abc"`` for a number comes back as "Not a valid integer.").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from engine.messages import Code, Message
from engine.messages.language import Lang
from engine.rules.model import AS_OF, FactSpec, FactType, RuleSet

Control = Literal["select", "checkboxes", "radios", "date", "number", "text"]

#: Name of the form field holding the decision date (not a fact).
AS_OF_FIELD = "__as_of"


class FormData(Protocol):
    """What we need from werkzeug's MultiDict: every value sent under a name."""

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FormField:
    """One control of the form, ready for the template."""

    name: str
    control: Control
    label: str
    help: str | None
    required: bool
    choices: tuple[Choice, ...] = ()
    value: str = ""
    minimum: int | None = None
    maximum: int | None = None
    money: bool = False
    default_note: str | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dom_id(self) -> str:
        return f"fact-{self.name}"


_CONTROLS: dict[FactType, Control] = {
    FactType.ENUM: "select",
    FactType.ENUM_LIST: "checkboxes",
    FactType.BOOL: "radios",
    FactType.DATE: "date",
    FactType.INT: "number",
    FactType.MONEY: "number",
    FactType.STRING: "text",
}

_YES_NO = {"ja": ("はい", "いいえ"), "en": ("Yes", "No")}


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _submitted(spec: FactSpec, data: FormData | None) -> list[str]:
    """The raw values the user sent for ``spec`` (or the default when nothing was sent yet)."""
    if data is not None:
        return [v for v in data.getlist(spec.name) if v != ""]
    if spec.required or spec.default is None or spec.default == AS_OF:
        return []
    if isinstance(spec.default, tuple):
        return list(spec.default)
    return [_as_text(spec.default)]


def _choices(spec: FactSpec, lang: Lang, chosen: list[str]) -> tuple[Choice, ...]:
    if spec.type is FactType.BOOL:
        yes, no = _YES_NO[lang]
        return (Choice("true", yes, "true" in chosen), Choice("false", no, "false" in chosen))
    return tuple(Choice(v.value, v.label(lang), v.value in chosen) for v in spec.values)


def _default_note(spec: FactSpec, lang: Lang) -> str | None:
    if spec.default == AS_OF:
        return "未入力なら判定日" if lang == "ja" else "Empty means the decision date"
    return None


def form_fields(
    ruleset: RuleSet,
    lang: Lang,
    data: FormData | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[FormField]:
    """Every fact of ``ruleset`` as a control, filled from ``data`` (or defaults), with its errors."""
    errors = errors or {}
    result = []
    for spec in ruleset.facts:
        chosen = _submitted(spec, data)
        result.append(
            FormField(
                name=spec.name,
                control=_CONTROLS[spec.type],
                label=spec.label(lang),
                help=spec.help(lang) if spec.help else None,
                required=spec.required,
                choices=_choices(spec, lang, chosen),
                value=chosen[0] if chosen else "",
                minimum=spec.minimum,
                maximum=spec.maximum,
                money=spec.type is FactType.MONEY,
                default_note=_default_note(spec, lang),
                errors=tuple(_errors_for(spec.name, errors)),
            )
        )
    return result


def _errors_for(name: str, errors: Mapping[str, list[str]]) -> list[str]:
    """Errors of a field, including those of its list items (``services.1``)."""
    return [m for key, messages in errors.items() if key.split(".")[0] == name for m in messages]


def _parse_one(spec: FactSpec, text: str) -> object:
    """A submitted string as the JSON value the API would get; unparseable text is passed as is."""
    if spec.type is FactType.BOOL:
        return {"true": True, "false": False}.get(text, text)
    if spec.type in (FactType.INT, FactType.MONEY):
        try:
            return int(text.replace(",", "").strip())
        except ValueError:
            return text
    return text


def facts_from_form(ruleset: RuleSet, data: FormData) -> dict[str, object]:
    """The facts a submitted form states; empty controls are left out so defaults apply."""
    facts: dict[str, object] = {}
    for spec in ruleset.facts:
        values = [v for v in data.getlist(spec.name) if v != ""]
        if spec.type is FactType.ENUM_LIST:
            if values or data.getlist(f"{spec.name}.__present"):
                facts[spec.name] = values
        elif values:
            facts[spec.name] = _parse_one(spec, values[0])
    return facts


def as_of_from_form(data: FormData) -> tuple[date | None, list[str]]:
    """The decision date field: (date or None, errors)."""
    text = next((v.strip() for v in data.getlist(AS_OF_FIELD) if v.strip()), "")
    if not text:
        return None, []
    try:
        return date.fromisoformat(text), []
    except ValueError:
        return None, [Message(Code.NOT_A_DATE)]
