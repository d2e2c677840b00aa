"""The admin API's queries and bodies: ``GET /v1/admin/decisions`` and ``POST /v1/admin/impact``.

The impact request is read leniently, as it always was: unknown keys are ignored, and an optional
setting that is wrong falls back to its default. A query parameter a view does not read is refused
(400 naming it, :func:`webapp.admin.refuse_unknown_parameters`). What would reach the file system or a
database unchecked is refused instead (422, naming the field), because there it failed as a 500:

* text with control characters (a NUL is neither a path nor a PostgreSQL string) or longer than any
  rule set id or folder name;
* a day outside :data:`FIRST_DAY` … :data:`LAST_DAY`, or a date-time with no UTC instant: the log
  compares instants in UTC, and midnight in Tokyo of 0001-01-01 is in the year 0, which
  :mod:`datetime` cannot hold;
* a limit that is not a whole number from 1 to :data:`MAX_QUERY_LIMIT` (``²`` is a digit to
  :meth:`str.isdigit`, and ``int`` refuses more than 4,300 of them).

Every message is coded (:mod:`engine.messages`), so an operator reads it in the language asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, missing, post_load, pre_load, validate
from marshmallow.types import ErrorMessages

from engine.lifecycle.decision_log import DEFAULT_QUERY_LIMIT, Query, start_of_day
from engine.lifecycle.impact import EXAMPLES_PER_GROUP
from engine.messages import Code, Message
from engine.messages.schema import CodedSchema

#: Most fact sets one impact request may carry.
MAX_IMPACT_CASES = 10_000
#: Most decisions one ``GET /v1/admin/decisions`` answer may list.
MAX_QUERY_LIMIT = DEFAULT_QUERY_LIMIT * 10
#: The days a query or an impact request may name: midnight in Tokyo of each is an instant in UTC.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date.max
#: Longest filter text (a rule set id, an outcome, a request id: the request id header allows 128).
MAX_FILTER_LENGTH = 200
#: Longest candidate folder, relative to the impact root (Linux's PATH_MAX is 4,096 bytes).
MAX_CANDIDATE_LENGTH = 1024

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def _one_message(message: Message) -> ErrorMessages:
    """``message`` for every way a value can fail to load."""
    return dict.fromkeys(("required", "null", "invalid"), message)


def _none_if_empty(text: str | None) -> str | None:
    return text or None


def no_control_characters(text: str) -> None:
    """Refuse text holding a control character (NUL, a line break …)."""
    if _CONTROL_CHARACTER.search(text):
        raise ValidationError(Message(Code.CONTROL_CHARACTERS))


_OUT_OF_RANGE = Message(Code.DATE_OUT_OF_RANGE, min=FIRST_DAY.isoformat(), max=LAST_DAY.isoformat())


def _in_range(day: date, moment: datetime | None = None) -> None:
    """Refuse a day outside :data:`FIRST_DAY` … :data:`LAST_DAY`, and a ``moment`` on it that has no
    UTC instant (late on 9999-12-31 with a negative offset)."""
    ok = FIRST_DAY <= day <= LAST_DAY
    if ok and moment is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            ok = False
    if not ok:
        raise ValidationError(_OUT_OF_RANGE)


def _filter() -> fields.String:
    """A filter of a query: optional text that reaches the log's store as it is."""
    return fields.String(
        load_default=None,
        validate=[validate.Length(max=MAX_FILTER_LENGTH), no_control_characters],
        post_load=[_none_if_empty],
    )


class _OrDefault(fields.Field[Any]):
    """``field``'s value, or the default when it is absent or does not load."""

    def __init__(self, field: fields.Field[Any], default: object) -> None:
        super().__init__(load_default=default)
        self.field = field

    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if value is missing:
            return self.load_default
        try:
            return self.field.deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return self.load_default


class _Day(fields.Field[date]):
    """A day from :data:`FIRST_DAY` to :data:`LAST_DAY`, read by ``date.fromisoformat`` from the
    value's text."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(Message(Code.ADMIN_NOT_A_DAY, input=value)) from None
        _in_range(day)
        return day


class _Moment(fields.Field["datetime | None"]):
    """A query's moment: a day (from midnight in Tokyo) or an ISO date-time, on a day from
    :data:`FIRST_DAY` to :data:`LAST_DAY` and with an instant in UTC; empty: not given."""

    def _deserialize(
        self, value: str, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime | None:
        if value == "":
            return None
        moment: datetime | None = None
        try:
            if "T" in value:
                moment = datetime.fromisoformat(value)
                day = moment.date()
            else:
                day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(Message(Code.ADMIN_NOT_A_MOMENT, input=value)) from None
        _in_range(day, moment)
        return moment or start_of_day(day)


class _QueryLimit(fields.Field[int]):
    """How many decisions to list: a whole number from 1 to :data:`MAX_QUERY_LIMIT`."""

    def _deserialize(
        self, value: str, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if not (_WHOLE_NUMBER.fullmatch(value) and 1 <= int(value) <= MAX_QUERY_LIMIT):
            raise ValidationError(Message(Code.ADMIN_QUERY_LIMIT, max=MAX_QUERY_LIMIT))
        return int(value)


class DecisionQuerySchema(CodedSchema):
    """``GET /v1/admin/decisions``: every filter optional; an empty value counts as not given.
    ``order``: ``asc`` (oldest first, the default) or ``desc`` (newest first). A parameter it does
    not read is refused before (``webapp.admin``)."""

    class Meta:
        unknown = EXCLUDE

    ruleset = _filter()
    since = _Moment(load_default=None)
    until = _Moment(load_default=None)
    outcome = _filter()
    request_id = _filter()
    limit = _QueryLimit(load_default=DEFAULT_QUERY_LIMIT)
    order = fields.String(
        load_default="asc",
        validate=validate.OneOf(("asc", "desc"), error=Message(Code.ADMIN_ORDER)),
    )

    @post_load
    def _query(self, data: dict[str, Any], **_kwargs: Any) -> Query:
        order = data.pop("order")
        return Query(**data, newest_first=order == "desc")


_TOO_MANY_CASES = Message(Code.ADMIN_TOO_MANY_CASES, max=MAX_IMPACT_CASES)


def _at_most_cases(value: Any) -> Any:
    """A list of too many cases is refused whole, before any case is read."""
    if isinstance(value, list) and len(value) > MAX_IMPACT_CASES:
        raise ValidationError(_TOO_MANY_CASES)
    return value


class ImpactCaseSchema(CodedSchema):
    """One fact set to replay; without ``as_of``, today's versions decide it."""

    class Meta:
        unknown = EXCLUDE

    ruleset = fields.String(
        required=True, error_messages=_one_message(Message(Code.ADMIN_CASE_NO_RULESET))
    )
    facts = fields.Dict(
        required=True, error_messages=_one_message(Message(Code.ADMIN_CASE_NO_FACTS))
    )
    as_of = _Day(load_default=None)


class ImpactRequestSchema(CodedSchema):
    """``POST /v1/admin/impact``: replay logged decisions, or the given ``cases``, against the rules
    in the ``candidate`` folder; ``examples`` changed decisions are shown per group."""

    error_messages = {"type": Message(Code.ADMIN_NOT_AN_OBJECT)}

    class Meta:
        unknown = EXCLUDE

    candidate = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error=Message(Code.ADMIN_CANDIDATE_MISSING)),
            validate.Length(max=MAX_CANDIDATE_LENGTH),
            no_control_characters,
        ],
        error_messages=_one_message(Message(Code.ADMIN_CANDIDATE_MISSING)),
    )
    ruleset = _OrDefault(
        fields.String(
            validate=[validate.Length(min=1, max=MAX_FILTER_LENGTH), no_control_characters]
        ),
        None,
    )
    since = _Day(load_default=None)
    cases = fields.List(
        fields.Nested(ImpactCaseSchema),
        load_default=None,
        pre_load=[_at_most_cases],
        error_messages={"invalid": _TOO_MANY_CASES},
    )
    examples = _OrDefault(
        fields.Integer(strict=True, validate=validate.Range(min=0)), EXAMPLES_PER_GROUP
    )

    @pre_load
    def _read_as_always(self, data: Any, **_kwargs: Any) -> Any:
        """``since`` filters the log: it is not read when ``cases`` are given, nor when it is not
        text. A case names its rule set, or (when it names none) it is one of ``ruleset``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("cases") is not None or not isinstance(data.get("since"), str):
            data.pop("since", None)
        cases = data.get("cases")
        if isinstance(cases, list):
            ruleset = self.fields["ruleset"].deserialize(data.get("ruleset", missing))
            data["cases"] = [_with_ruleset(case, ruleset) for case in cases]
        return data


def _with_ruleset(case: Any, ruleset: str | None) -> dict[str, Any]:
    entry = case if isinstance(case, dict) else {}
    return {**entry, "ruleset": entry.get("ruleset") or ruleset}


DECISION_QUERY = DecisionQuerySchema()
IMPACT_REQUEST = ImpactRequestSchema()
