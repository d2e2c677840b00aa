"""The studio API's request bodies (marshmallow, coded messages): read strictly, an unknown key is a
422 naming it (a misspelt ``reason`` must not publish without one)."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from engine.lifecycle.drafts import MAX_DRAFT_CHARS
from engine.messages.schema import CodedSchema

from ..admin_schemas import MAX_IMPACT_CASES as MAX_CASES


def _text_field(required: bool = True) -> fields.String:
    length = validate.Length(min=1, max=MAX_DRAFT_CHARS)
    if required:
        return fields.String(required=True, validate=length)
    return fields.String(load_default=None, validate=length)


class _Body(CodedSchema):
    """A studio request body: unknown keys refused."""

    class Meta:
        unknown = RAISE


class CheckBody(_Body):
    """A draft, and the file of the folder it replaces (default: the served version's)."""

    text = _text_field()
    file = fields.String(load_default=None)


class SimulateBody(_Body):
    """Facts (rules) or a quote request (tariffs), decided by the draft or, without one, live."""

    text = _text_field(required=False)
    file = fields.String(load_default=None)
    facts = fields.Dict(load_default=None)
    request = fields.Dict(load_default=None)
    as_of = fields.Date(load_default=None)
    lang = fields.String(load_default=None, validate=validate.OneOf(("ja", "en")))


class ExampleBody(SimulateBody):
    """A simulated case to append to the draft as an example, with its note."""

    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CaseBody(_Body):
    """A fact set to replay against the draft (its rule set is the draft's)."""

    facts = fields.Dict(required=True)
    as_of = fields.Date(load_default=None)


class ImpactBody(_Body):
    text = _text_field()
    file = fields.String(load_default=None)
    since = fields.Date(load_default=None)
    examples = fields.Integer(load_default=5, validate=validate.Range(min=0, max=100))
    cases = fields.List(
        fields.Nested(CaseBody), load_default=None, validate=validate.Length(max=MAX_CASES)
    )


class PublishBody(_Body):
    text = _text_field()
    file = fields.String(load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    base_digest = fields.String(load_default=None)


class RollbackBody(_Body):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    to = fields.Integer(load_default=None)
