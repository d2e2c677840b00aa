"""The message catalogue: every code has both texts, messages render from their code, and marshmallow's
messages are coded by the field's class and key, never by reading the English."""

from __future__ import annotations

import copy
import pickle
from string import Formatter

import pytest
from marshmallow import RAISE, ValidationError, fields, validate

from engine.messages import Code, Message, localized
from engine.messages.catalogue import CATALOGUE, _check
from engine.messages.language import LANGUAGES, Text
from engine.messages.schema import CodedSchema, uncoded_messages
from engine.paths import rules_dir
from engine.rules.facts import facts_schema_class
from engine.rules.rulebook import read_rulesets, rule_files


def parameters(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def test_every_code_has_japanese_and_english_naming_the_same_parameters() -> None:
    assert set(CATALOGUE) == set(Code)
    for code, text in CATALOGUE.items():
        assert all(text(lang).strip() for lang in LANGUAGES), code
        assert parameters(text.ja) == parameters(text.en), code


def test_a_catalogue_missing_a_code_or_a_parameter_does_not_load() -> None:
    without_one = {code: text for code, text in CATALOGUE.items() if code is not Code.NULL}
    with pytest.raises(LookupError, match="null"):
        _check(without_one)
    disagreeing = {**CATALOGUE, Code.AT_LEAST: Text("以上の値にしてください。", "At least {min}.")}
    with pytest.raises(ValueError, match="at_least"):
        _check(disagreeing)


def test_a_message_is_its_english_text_and_renders_japanese_from_its_code() -> None:
    message = Message(Code.BETWEEN, min=1, max=9)
    assert message == "Must be greater than or equal to 1 and less than or equal to 9."
    assert (message.code, dict(message.params)) == (Code.BETWEEN, {"min": 1, "max": 9})
    assert message.render("ja") == "1以上9以下の値にしてください。"
    assert message.render("en") == str(message) and type(str(message)) is str
    assert localized(message, "ja") == "1以上9以下の値にしてください。"
    assert localized("A rule file diagnostic.", "ja") == "A rule file diagnostic."


def test_a_message_needs_exactly_its_parameters() -> None:
    with pytest.raises(TypeError, match="min"):
        Message(Code.AT_LEAST)
    with pytest.raises(TypeError, match="max"):
        Message(Code.REQUIRED, max=3)


def test_a_message_survives_copies_pickles_and_marshmallows_formatting() -> None:
    message = Message(Code.ONE_OF, choices="a, b")
    for twin in (copy.copy(message), copy.deepcopy(message), pickle.loads(pickle.dumps(message))):
        assert isinstance(twin, Message) and twin.render("ja") == message.render("ja")
    assert message.format(input="x", choices="ignored") is message


@pytest.mark.parametrize(
    ("message", "en", "ja"),
    [
        # The texts the web layer's translation table produced before the catalogue, kept byte for byte.
        (Message(Code.REQUIRED), "Missing data for required field.", "必須の項目です。"),
        (Message(Code.UNKNOWN_FIELD), "Unknown field.", "定義されていない項目です。"),
        (
            Message(Code.NOT_A_BOOLEAN),
            "Not a valid boolean.",
            "true または false で指定してください。",
        ),
        (Message(Code.NOT_AN_INTEGER), "Not a valid integer.", "整数で指定してください。"),
        (Message(Code.NOT_A_STRING), "Not a valid string.", "文字列で指定してください。"),
        (Message(Code.NOT_A_DATE), "Not a valid date.", "日付（YYYY-MM-DD）で指定してください。"),
        (Message(Code.NOT_A_LIST), "Not a valid list.", "配列で指定してください。"),
        (
            Message(Code.NOT_A_MAPPING),
            "Not a valid mapping type.",
            "オブジェクトで指定してください。",
        ),
        (Message(Code.INVALID_INPUT_TYPE), "Invalid input type.", "入力の型が正しくありません。"),
        (Message(Code.ITEMS_REPEAT), "Items must not repeat.", "同じ値を重ねて指定できません。"),
        (
            Message(Code.FACTS_NOT_AN_OBJECT),
            "Facts must be a JSON object.",
            "facts は JSON オブジェクトで指定してください。",
        ),
        (Message(Code.NULL), "Field may not be null.", "null は指定できません。"),
        (
            Message(Code.TOO_SHORT, min=1),
            "Shorter than minimum length 1.",
            "1件以上指定してください。",
        ),
        (
            Message(Code.ONE_OF, choices="a, b"),
            "Must be one of: a, b.",
            "次のいずれかを指定してください: a, b。",
        ),
        (
            Message(Code.AT_LEAST, min=0),
            "Must be greater than or equal to 0.",
            "0以上の値にしてください。",
        ),
        (
            Message(Code.AT_MOST, max=9),
            "Must be less than or equal to 9.",
            "9以下の値にしてください。",
        ),
        (
            Message(Code.TOO_LONG, max=200),
            "Longer than maximum length 200.",
            "200件（文字）以内にしてください。",
        ),
        (
            Message(Code.UNKNOWN_RULESET, id="x"),
            "Rule set 'x' does not exist.",
            "判定ルール 'x' はありません。",
        ),
        (
            Message(Code.NO_VERSION_IN_FORCE, id="x", day="1900-01-01"),
            "No version of 'x' is in force on 1900-01-01.",
            "1900-01-01 に有効な 'x' の版はありません。",
        ),
    ],
)
def test_the_texts_clients_already_saw_are_unchanged(message: Message, en: str, ja: str) -> None:
    assert (message, message.render("ja")) == (en, ja)


class Order(CodedSchema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=10))
    count = fields.Integer(validate=validate.Range(min=1))
    tags = fields.List(
        fields.String(validate=validate.OneOf(["a", "b"])), validate=validate.Length(max=2)
    )
    day = fields.Date()
    note = fields.String(error_messages={"invalid": "Write a note."})


def load_errors(data: object) -> dict[str, list[Message]]:
    with pytest.raises(ValidationError) as caught:
        Order().load(data)
    return caught.value.normalized_messages()  # type: ignore[no-any-return, no-untyped-call]


def test_marshmallow_raises_coded_messages_in_its_own_english() -> None:
    errors = load_errors(
        {"count": 0, "tags": ["a", "c", "b"], "day": "someday", "colour": 1, "note": 3}
    )
    assert errors == {
        "name": ["Missing data for required field."],
        "count": ["Must be greater than or equal to 1."],
        "tags": {1: ["Must be one of: a, b."]},
        "day": ["Not a valid date."],
        "colour": ["Unknown field."],
        "note": ["Write a note."],
    }
    codes = {
        "name": Code.REQUIRED,
        "count": Code.AT_LEAST,
        "day": Code.NOT_A_DATE,
        "colour": Code.UNKNOWN_FIELD,
    }
    for name, code in codes.items():
        assert [m.code for m in errors[name]] == [code]
    assert errors["tags"][1][0].render("ja") == "次のいずれかを指定してください: a, b。"  # type: ignore[call-overload]
    assert type(errors["note"][0]) is str  # the schema's author wrote it: kept as written
    length = load_errors({"name": ""})["name"][0]
    assert (length, length.render("ja")) == (
        "Length must be between 1 and 10.",
        "1文字以上10文字以内で指定してください。",
    )
    too_many = load_errors({"name": "x", "tags": ["a", "a", "b"]})["tags"][0]
    assert (too_many.code, too_many.render("ja")) == (
        Code.TOO_LONG,
        "2件（文字）以内にしてください。",
    )
    assert load_errors([1])["_schema"][0].code is Code.INVALID_INPUT_TYPE  # type: ignore[index]


def test_coding_a_schema_leaves_the_declaring_class_alone() -> None:
    Order()
    declared = Order._declared_fields["tags"]
    assert isinstance(declared, fields.List)
    assert not isinstance(declared.error_messages["invalid"], Message)
    assert not isinstance(declared.inner.error_messages["invalid"], Message)


def test_every_fact_schema_is_coded_throughout() -> None:
    rulesets, _ = read_rulesets(rule_files(rules_dir()))
    assert rulesets
    for ruleset in rulesets:
        assert uncoded_messages(facts_schema_class(ruleset)()) == [], ruleset.id


def test_uncoded_messages_names_what_still_speaks_english_only() -> None:
    class Loose(CodedSchema):
        when = fields.DateTime()
        code = fields.String(validate=validate.Regexp("^[a-z]+$"))

    assert uncoded_messages(Loose()) == ["when.invalid", "code: Regexp"]
