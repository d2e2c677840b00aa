"""The sales forms: a rule set's facts and a tariff item's parameters turned into form fields, and posted
form data back into facts, unknown facts and quote parameters.

Pure functions, no Flask: the fact schema that validates API requests and the parameter specs that
validate quote requests decide every control, so the page can never drift from the rules or the
tariffs. Values that do not parse are passed on unchanged, so the engine's own validation names the
field (``"abc"`` for a number comes back as "Not a valid integer.").

Questions, not defaults: a fact marked ``ask`` is three-state (yes / no / not confirmed yet) with
nothing chosen, and an enum whose "not known yet" value is chosen (or left empty) is sent as
*unknown*, so the answer lists it as still to ask instead of resting on a default nobody confirmed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from engine.messages import Code, Message, localized
from engine.messages.language import Lang
from engine.rules.model import AS_OF, FactSpec, FactType, RuleSet
from engine.tariff.model import Item, ParamSpec

Control = Literal[
    "select", "checkboxes", "radios", "date", "number", "text", "month", "datetime-local"
]

#: Name of the form field holding the decision date (not a fact).
AS_OF_FIELD = "__as_of"
#: The value of a three-state question's third answer, "not confirmed yet".
UNCONFIRMED = "unconfirmed"
#: The hidden field listing the questions a form asked: a question the form asked and the seller
#: left unanswered is unknown; a fact a client posts without the form takes its default, as in the API.
ASKED_FIELD = "__asked"


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
    #: An ``ask`` fact (three answers, none chosen until the customer says).
    ask: bool = False

    @property
    def dom_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _text(code: Code, lang: Lang, **params: object) -> str:
    return localized(Message(code, **params), lang)


_CONTROLS: dict[FactType, Control] = {
    FactType.ENUM: "select",
    FactType.ENUM_LIST: "checkboxes",
    FactType.BOOL: "radios",
    FactType.DATE: "date",
    FactType.INT: "number",
    FactType.MONEY: "number",
    FactType.STRING: "text",
}


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _values(data: FormData | None, name: str) -> list[str]:
    return [] if data is None else [v for v in data.getlist(name) if v != ""]


def _shown(spec: FactSpec, data: FormData | None, name: str) -> list[str]:
    """The values to show for ``spec``: what was sent, else its default — never for an ``ask`` fact,
    a required one or one whose default means "not known yet"."""
    if data is not None:
        return _values(data, name)
    if spec.ask or spec.required or spec.default is None or spec.default == AS_OF:
        return []
    if spec.unknown_value is not None and spec.default == spec.unknown_value:
        return []
    if isinstance(spec.default, tuple):
        return list(spec.default)
    return [_as_text(spec.default)]


def _yes_no(lang: Lang, chosen: list[str], ask: bool) -> tuple[Choice, ...]:
    choices = [
        Choice("true", _text(Code.SALES_YES, lang), "true" in chosen),
        Choice("false", _text(Code.SALES_NO, lang), "false" in chosen),
    ]
    if ask:
        choices.append(
            Choice(UNCONFIRMED, _text(Code.SALES_UNCONFIRMED, lang), UNCONFIRMED in chosen)
        )
    return tuple(choices)


def _fact_note(spec: FactSpec, lang: Lang) -> str | None:
    if spec.default == AS_OF:
        return _text(Code.SALES_AS_OF_DEFAULT, lang)
    if spec.ask:
        return _text(Code.SALES_ASK_NOTE, lang)
    if spec.unknown_value is not None:
        value = next(v for v in spec.values if v.value == spec.unknown_value)
        return _text(Code.SALES_UNKNOWN_NOTE, lang, value=value.label(lang))
    return None


def fact_fields(
    ruleset: RuleSet,
    lang: Lang,
    data: FormData | None = None,
    errors: Mapping[str, list[str]] | None = None,
    prefix: str = "",
    skip: Collection[str] = (),
) -> list[FormField]:
    """Every fact of ``ruleset`` (but those in ``skip``) as a control named ``prefix + fact``, filled
    from ``data`` (or defaults that are not questions), with its errors (keyed by fact name)."""
    errors = errors or {}
    result = []
    for spec in ruleset.facts:
        if spec.name in skip:
            continue
        name = prefix + spec.name
        chosen = _shown(spec, data, name)
        if spec.type is FactType.BOOL:
            choices = _yes_no(lang, chosen, spec.ask)
        else:
            choices = tuple(Choice(v.value, v.label(lang), v.value in chosen) for v in spec.values)
        result.append(
            FormField(
                name=name,
                control=_CONTROLS[spec.type],
                label=spec.label(lang),
                help=spec.help(lang) if spec.help else None,
                required=spec.required,
                choices=choices,
                value=chosen[0] if chosen else "",
                minimum=spec.minimum,
                maximum=spec.maximum,
                money=spec.type is FactType.MONEY,
                default_note=_fact_note(spec, lang),
                errors=tuple(_errors_for(spec.name, errors)),
                ask=spec.ask,
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
        return _integer(text)
    return text


def _integer(text: str) -> object:
    try:
        return int(text.replace(",", "").strip())
    except ValueError:
        return text


def facts_from_form(
    ruleset: RuleSet, data: FormData, prefix: str = "", skip: Collection[str] = ()
) -> tuple[dict[str, object], list[str]]:
    """The facts a submitted form states, and the facts it leaves unknown.

    Empty controls are left out so defaults apply — except, for a question the form asked
    (:data:`ASKED_FIELD`), an ``ask`` fact left unanswered or answered "not confirmed yet", and an enum
    left empty or at its "not known yet" value: those are unknown (no default is assumed for them).
    """
    facts: dict[str, object] = {}
    unknown: list[str] = []
    asked = set(data.getlist(ASKED_FIELD))
    for spec in ruleset.facts:
        if spec.name in skip:
            continue
        name = prefix + spec.name
        values = _values(data, name)
        if spec.type is FactType.ENUM_LIST:
            if values or data.getlist(f"{name}.__present"):
                facts[spec.name] = values
        elif (
            values
            and values[0] != UNCONFIRMED
            and not (name in asked and values[0] == spec.unknown_value)
        ):
            facts[spec.name] = _parse_one(spec, values[0])
        elif name in asked and (spec.ask or spec.unknown_value is not None):
            unknown.append(spec.name)
    return facts, unknown


def as_of_from_form(data: FormData) -> tuple[date | None, list[str]]:
    """The decision date field: (date or None, errors)."""
    text = next((v.strip() for v in data.getlist(AS_OF_FIELD) if v.strip()), "")
    if not text:
        return None, []
    try:
        return date.fromisoformat(text), []
    except ValueError:
        return None, [Message(Code.NOT_A_DATE)]


# --- quote parameters -----------------------------------------------------------------------------

_PARAM_CONTROLS: dict[str, Control] = {
    "int": "number",
    "money": "number",
    "decimal": "text",
    "bool": "radios",
    "date": "date",
    "datetime": "datetime-local",
    "month": "month",
    "enum": "select",
    "string": "text",
}


def param_fields(
    item: Item,
    lang: Lang,
    prefix: str,
    data: FormData | None = None,
    errors: Mapping[str, list[str]] | None = None,
    skip: Collection[str] = (),
) -> list[FormField]:
    """Every parameter of a tariff item (but those in ``skip``) as a control named ``prefix + param``;
    a month is a month picker, a date and time a date-and-time picker."""
    errors = errors or {}
    return [
        _param_field(spec, lang, prefix, data, tuple(_errors_for(spec.name, errors)))
        for spec in item.params.values()
        if spec.name not in skip
    ]


def _param_field(
    spec: ParamSpec, lang: Lang, prefix: str, data: FormData | None, errors: tuple[str, ...]
) -> FormField:
    name = prefix + spec.name
    sent = _values(data, name) if data is not None else []
    if data is None and spec.default is not None:
        sent = [_as_text(spec.default)]
    if spec.type == "bool":
        choices = _yes_no(lang, sent, ask=False)
    else:
        choices = tuple(Choice(k, v(lang), k in sent) for k, v in spec.values.items())
    return FormField(
        name=name,
        control=_PARAM_CONTROLS[spec.type],
        label=spec.label(lang),
        help=spec.help(lang) if spec.help else None,
        required=spec.required and spec.default is None,
        choices=choices,
        value=sent[0] if sent else "",
        minimum=int(spec.minimum) if spec.minimum is not None else None,
        maximum=int(spec.maximum) if spec.maximum is not None else None,
        money=spec.type == "money",
        errors=errors,
    )


def params_from_form(
    item: Item, data: FormData, prefix: str, skip: Collection[str] = ()
) -> dict[str, object]:
    """The parameters a submitted quote item states; empty controls are left out so defaults apply."""
    params: dict[str, object] = {}
    for spec in item.params.values():
        values = _values(data, prefix + spec.name)
        if spec.name in skip or not values:
            continue
        text = values[0]
        if spec.type in ("int", "money"):
            params[spec.name] = _integer(text)
        elif spec.type == "bool":
            params[spec.name] = {"true": True, "false": False}.get(text, text)
        else:
            params[spec.name] = text
    return params
