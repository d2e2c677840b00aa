"""Quote request errors: every field named, every message coded, in English and in Japanese."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from engine.messages import Code, Message
from engine.tariff import TariffBook
from engine.tariff.kinds import MODULES

AS_OF = "2025-04-01"

#: Price ``request`` expecting a QuoteRequestError; returns its field errors (the ``field_errors`` fixture).
FieldErrors = Callable[[TariffBook, dict[str, Any]], dict[str, list[str]]]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"tariff": "nope", "item": "x"}, ["items.0.tariff"]),
        ({"tariff": "tv_transport", "item": "nope"}, ["items.0.item"]),
        ({"tariff": "tv_transport"}, ["items.0.item"]),
        (
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": -1}},
            ["items.0.params.size_mb"],
        ),
        (
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": "big"}},
            ["items.0.params.size_mb"],
        ),
        (
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": True}},
            ["items.0.params.size_mb"],
        ),
        ({"tariff": "flets_joint", "item": "base_fee", "params": {}}, ["items.0.params.size_mb"]),
        (
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1, "colour": 1}},
            ["items.0.params.colour"],
        ),
        (
            {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "2025-13"}},
            ["items.0.params.month"],
        ),
        (
            {
                "tariff": "tv_transport",
                "item": "monthly_fee",
                "params": {"month": "2025-01", "lines": 1.5},
            },
            ["items.0.params.lines"],
        ),
        (
            {
                "tariff": "tv_transport",
                "item": "outage_credit",
                "params": {"known_at": "2025-03-02T00:00", "restored_at": "2025-03-01T00:00"},
            },
            ["items.0.params.restored_at"],
        ),
        ({"tariff": "flets_joint", "item": "base_fee", "params": []}, ["items.0.params"]),
        ("base_fee", ["items.0"]),
        (
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": 1}, "extra": 1},
            ["items.0.extra"],
        ),
    ],
)
def test_bad_items_name_the_field(
    book: TariffBook, item: Any, expected: list[str], field_errors: FieldErrors
) -> None:
    assert sorted(field_errors(book, {"as_of": AS_OF, "items": [item]})) == expected


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        ([], ["_schema"]),
        ({}, ["items"]),
        ({"items": []}, ["items"]),
        (
            {"items": [{"tariff": "flets_joint", "item": "contract_fee"}], "as_of": "yesterday"},
            ["as_of"],
        ),
        ({"items": [{"tariff": "flets_joint", "item": "contract_fee"}], "colour": 1}, ["colour"]),
        (
            {"as_of": "2010-01-01", "items": [{"tariff": "flets_joint", "item": "contract_fee"}]},
            ["items.0.tariff"],
        ),
    ],
)
def test_bad_requests_name_the_field(
    book: TariffBook,
    request_body: Any,
    expected: list[str],
    field_errors: FieldErrors,
) -> None:
    assert sorted(field_errors(book, request_body)) == expected


def test_errors_from_several_items_are_reported_together(
    book: TariffBook, field_errors: FieldErrors
) -> None:
    request = {
        "as_of": AS_OF,
        "items": [
            {"tariff": "flets_joint", "item": "base_fee", "params": {"size_mb": -1}},
            {"tariff": "tv_transport", "item": "monthly_fee", "params": {}},
        ],
    }
    assert sorted(field_errors(book, request)) == ["items.0.params.size_mb", "items.1.params.month"]


JOINT_ITEMS = "base_fee, per_target_fee, contract_fee, construction"
TARIFFS = "flets_joint, matomete_merchant_fee, passport_id_purchases, tv_transport"


def joint(**params: Any) -> dict[str, Any]:
    return {"tariff": "flets_joint", "item": "base_fee", "params": params}


def outage(known_at: str, restored_at: str) -> dict[str, Any]:
    params = {"known_at": known_at, "restored_at": restored_at}
    return {"tariff": "tv_transport", "item": "outage_credit", "params": params}


@pytest.mark.parametrize(
    ("request_body", "code", "english"),
    [
        ({"items": [joint(size_mb=-1)]}, Code.AT_LEAST, "Must be greater than or equal to 0."),
        ({"items": [joint(size_mb="big")]}, Code.NOT_A_NUMBER, "Not a valid number."),
        ({"items": [joint()]}, Code.REQUIRED, "Missing data for required field."),
        (
            {"items": [joint(size_mb=1, colour=1)]},
            Code.UNKNOWN_PARAM,
            "Unknown parameter. Expected one of: size_mb, quantity, month, registered_on.",
        ),
        ({"items": [{**joint(), "params": []}]}, Code.PARAMS_NOT_AN_OBJECT, "Must be an object."),
        (
            {"items": ["base_fee"]},
            Code.QUOTE_ITEM_NOT_AN_OBJECT,
            "Must be an object with tariff, item and params.",
        ),
        ({"items": [{**joint(size_mb=1), "extra": 1}]}, Code.UNKNOWN_FIELD, "Unknown field."),
        (
            {
                "items": [
                    {"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": "13"}}
                ]
            },
            Code.PARAM_NOT_A_MONTH,
            "Not a valid month (YYYY-MM).",
        ),
        (
            {"items": [outage("2025-03-02T00:00", "2025-03-01T00:00")]},
            Code.PARAM_BEFORE,
            "Must not be before known_at.",
        ),
        (
            {"items": [outage("2025-03-02T00:00", "2025-03-03T00:00+09:00")]},
            Code.PARAM_TIME_ZONE,
            "Give the local (Japan) time without a time zone offset.",
        ),
        (
            {"items": [outage("2025-03-02T00:00", "soon")]},
            Code.PARAM_NOT_A_DATETIME,
            "Not a valid date and time (YYYY-MM-DDTHH:MM).",
        ),
        (
            {"items": [{"tariff": "nothing", "item": "x"}]},
            Code.QUOTE_UNKNOWN_TARIFF,
            f"Unknown tariff. Known: {TARIFFS}.",
        ),
        (
            {"items": [{"tariff": "flets_joint", "item": "nothing"}]},
            Code.QUOTE_UNKNOWN_ITEM,
            f"Unknown item. Expected one of: {JOINT_ITEMS}.",
        ),
        (
            {"items": [{"tariff": "flets_joint"}]},
            Code.QUOTE_ITEM_REQUIRED,
            f"Missing data for required field. Expected one of: {JOINT_ITEMS}.",
        ),
        (
            {"as_of": "2010-01-01", "items": [joint(size_mb=1)]},
            Code.QUOTE_TARIFF_NOT_IN_FORCE,
            "No version of tariff flets_joint is in force on 2010-01-01.",
        ),
        (
            {"as_of": "yesterday", "items": [joint(size_mb=1)]},
            Code.PARAM_NOT_A_DATE,
            "Not a valid date (YYYY-MM-DD).",
        ),
        ([], Code.QUOTE_NOT_AN_OBJECT, "The request must be an object."),
        ({"items": []}, Code.QUOTE_NO_ITEMS, "Give a non-empty list of items."),
        (
            {"items": [joint(size_mb=1)] * 101},
            Code.QUOTE_TOO_MANY_ITEMS,
            "At most 100 items per quote.",
        ),
    ],
)
def test_request_errors_are_coded_messages_in_their_english(
    book: TariffBook,
    request_body: Any,
    code: Code,
    english: str,
    field_errors: FieldErrors,
) -> None:
    if isinstance(request_body, dict):
        request_body = {"as_of": AS_OF, **request_body}
    (found,) = field_errors(book, request_body).values()
    assert [(message.code, message) for message in found if isinstance(message, Message)] == [
        (code, english)
    ]


def requested(tariff: str, item_id: str, **params: Any) -> dict[str, Any]:
    return {"tariff": tariff, "item": item_id, "params": params}


def bulk(**params: Any) -> dict[str, Any]:
    return requested("tv_transport", "bulk_plan_monthly", month="2025-04", units=10, **params)


#: (item requested, field refused, code, its English as always returned, its Japanese), one per refusal.
KIND_REFUSALS: list[tuple[dict[str, Any], str, Code, str, str]] = [
    (
        requested(
            "passport_id_purchases",
            "monthly_flat",
            monthly_price=500,
            purchased_on="2025-05-10",
            through_month="2025-04",
        ),
        "through_month",
        Code.MONTH_BEFORE_PURCHASE,
        "is before the purchase month.",
        "購入日（purchased_on）の月以降の月を指定してください。",
    ),
    (
        requested(
            "tv_transport",
            "invoice_fees",
            charges_month="2024-12",
            service_start="2025-01-10",
            collab_line=True,
        ),
        "charges_month",
        Code.MONTH_BEFORE_SERVICE_START,
        "is before the month of service_start.",
        "提供開始日（service_start）の月以降の月を指定してください。",
    ),
    (
        bulk(units_changed_to=12),
        "units_change_approved_on",
        Code.UNIT_CHANGE_INCOMPLETE,
        "is needed together with the other unit-change parameter.",
        "変更後の戸数（units_changed_to）と戸数変更の承諾日（units_change_approved_on）は、"
        "両方を指定するか、両方とも省略してください。",
    ),
    (
        bulk(units_change_approved_on="2025-04-10"),
        "units_changed_to",
        Code.UNIT_CHANGE_INCOMPLETE,
        "is needed together with the other unit-change parameter.",
        "変更後の戸数（units_changed_to）と戸数変更の承諾日（units_change_approved_on）は、"
        "両方を指定するか、両方とも省略してください。",
    ),
    (
        bulk(
            plan_start="2025-04-15",
            units_changed_to=12,
            units_change_approved_on="2025-04-10",
        ),
        "units_change_approved_on",
        Code.UNIT_CHANGE_OUTSIDE_PLAN,
        "must fall between plan_start and plan_end.",
        "適用開始日（plan_start）から適用廃止日（plan_end）までの日付を指定してください。",
    ),
    (
        requested("tv_transport", "construction", onu_works=1, time_slot="daytime"),
        "work_date",
        Code.WORK_DATE_FOR_DAYTIME,
        "is needed when the daytime slot is designated (Dec 29–Jan 3 rule).",
        "午前8時30分〜午後5時を指定した工事は、12月29日〜1月3日かどうかで料金が変わるため、"
        "施工日を指定してください。",
    ),
    (
        requested(
            "tv_transport",
            "construction",
            onu_works=1,
            starts_at="2026-12-30T10:00",
            work_date="2026-12-30",
        ),
        "starts_at",
        Code.STARTS_AT_OR_TIME_SLOT,
        "give starts_at, or time_slot and work_date, not both: the slot follows from the start.",
        "工事の開始日時（starts_at）を指定する場合は、施工時間帯（time_slot）と施工日（work_date）は"
        "指定しないでください。時間帯は開始日時から決まります。",
    ),
    (
        requested("tv_transport", "construction", onu_works=1, onu_work_amount=30000),
        "onu_work_amount",
        Code.ONU_WORKS_OR_AMOUNT,
        "give onu_works or onu_work_amount, not both.",
        "回線終端装置工事は、件数（onu_works）か合計額（onu_work_amount）のどちらか一方で"
        "指定してください。",
    ),
    (
        requested("tv_transport", "construction"),
        "exchange_works",
        Code.CONSTRUCTION_WITHOUT_WORK,
        "name at least one exchange or ONU work.",
        "交換機等工事または回線終端装置工事を1件以上指定してください。",
    ),
    (
        requested("flets_joint", "base_fee", size_mb=1, month="2025-05"),
        "registered_on",
        Code.JOINT_MONTH_AND_REGISTRATION,
        "is needed together with the other of month / registered_on.",
        "料金月（month）と登録日（registered_on）は、両方を指定するか、両方とも省略してください。",
    ),
    (
        requested("flets_joint", "base_fee", size_mb=1, registered_on="2025-03-10"),
        "month",
        Code.JOINT_MONTH_AND_REGISTRATION,
        "is needed together with the other of month / registered_on.",
        "料金月（month）と登録日（registered_on）は、両方を指定するか、両方とも省略してください。",
    ),
    (
        requested("flets_joint", "construction"),
        "new_softwares",
        Code.JOINT_CONSTRUCTION_WITHOUT_WORK,
        "name at least one software work.",
        "工事するソフトウェアを1件以上指定してください。",
    ),
]


@pytest.mark.parametrize(("asked", "field", "code", "english", "japanese"), KIND_REFUSALS)
def test_a_kinds_refusals_keep_their_english_and_read_in_japanese(
    book: TariffBook,
    asked: dict[str, Any],
    field: str,
    code: Code,
    english: str,
    japanese: str,
    field_errors: FieldErrors,
) -> None:
    errors = field_errors(book, {"as_of": AS_OF, "items": [asked]})
    assert list(errors) == [f"items.0.params.{field}"]
    (message,) = errors[f"items.0.params.{field}"]
    assert isinstance(message, Message) and message.code is code
    assert (str(message), message.render("en")) == (english, english)
    assert message.render("ja") == japanese


def test_every_refusal_a_kind_can_make_is_tested() -> None:
    """Each code a kind raises ``ParamProblem`` with has a case above, so none reaches a caller
    untried in either language."""
    raised: set[Code] = set()
    for module in MODULES:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ParamProblem":
                code = node.args[1]
                assert isinstance(code, ast.Attribute), ast.unparse(node)
                raised.add(Code[code.attr])
    assert raised == {code for _, _, code, _, _ in KIND_REFUSALS}
