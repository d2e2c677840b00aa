"""The sales workspace without a browser: the start page and its search, forms generated from fact
schemas and tariff parameters, questions that are asked and not assumed, one answer per order with its
quote, messages next to fields, languages, and permalinks to recorded answers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from engine.rules.model import FactType
from webapp import create_app
from webapp.forms import AS_OF_FIELD, ASKED_FIELD, as_of_from_form, fact_fields, facts_from_form
from webapp.sales.records import decode_quote, encode_quote
from webapp.state import app_state

from .conftest import TV_TWO_REFUSALS


def form_data(facts: dict[str, object], prefix: str = "") -> dict[str, str]:
    return {
        prefix + k: ("true" if v is True else "false" if v is False else str(v))
        for k, v in facts.items()
    }


def submit(client: FlaskClient, path: str, data: Mapping[str, object]) -> TestResponse:
    """Post the form as a browser does: with the CSRF token and the question list of the form page."""
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    asked = re.findall(r'name="__asked" value="([^"]+)"', page)
    return client.post(path, data={**data, "csrf_token": token[1], ASKED_FIELD: asked})


@pytest.fixture(scope="module")
def logged_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with a real decision log, for references and permalinks."""
    folder: Path = tmp_path_factory.mktemp("pages-log")
    made = create_app({"TESTING": True, "LOG_LEVEL": "WARNING",
                       "AUDIT_URL": str(folder / "decisions.sqlite3")})  # fmt: skip
    yield made
    app_state(made).decision_log.close()


def test_start_page_groups_situations_by_product_and_intent(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in page
    for product in ("テレビ伝送", "パスポートID", "光コラボ", "ジョイント", "まとめて支払い"):
        assert f">{product}</h2>" in page
    assert "/s/tv-new" in page and "/checks/tv_application" in page
    assert "申し込む" in page and "引っ越す" in page and "料金を知る" in page


def test_search_finds_situations_in_both_languages(client: FlaskClient) -> None:
    by_japanese = client.get("/?q=建物一括").get_data(as_text=True)
    by_english = client.get("/?q=bulk-building&lang=en").get_data(as_text=True)
    for page in (by_japanese, by_english):
        assert "/s/tv-new" in page and "/s/passport-move" not in page
    assert "No situation matches" in client.get("/?q=zzzz&lang=en").get_data(as_text=True)


def test_ask_facts_are_three_state_and_nothing_is_pre_answered(client: FlaskClient) -> None:
    page = client.get("/checks/tv_application").get_data(as_text=True)
    assert '<select id="f-prefecture" name="prefecture"' in page
    for value in ("true", "false", "unconfirmed"):
        assert f'id="f-in_default_or_likely-{value}"' in page
    assert not re.search(r'name="in_default_or_likely" value="\w+" checked', page)
    assert "未確認" in page


def test_an_unanswered_question_is_still_to_ask_not_a_gap(client: FlaskClient) -> None:
    facts = {k: v for k, v in TV_TWO_REFUSALS.items() if k != "in_default_or_likely"}
    facts["likely_to_breach_article_32"] = False
    page = submit(client, "/checks/tv_application?lang=en", form_data(facts)).get_data(as_text=True)
    assert "Still to ask" in page
    assert 'href="#f-in_default_or_likely"' in page
    assert "What the source documents do not say" not in page
    assert "not recorded" in page and 'id="reference"' not in page


def test_refused_application_shows_every_reason_with_its_clause(client: FlaskClient) -> None:
    facts = {**TV_TWO_REFUSALS, "line_has_tv_contract": False, "several_contractors": False,
             "technically_very_difficult": False, "use_beyond_household_or_premises": False,
             "serious_business_hindrance": False}  # fmt: skip
    response = submit(client, "/checks/tv_application?lang=en", form_data(facts))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "NTT East may refuse the application" in page
    assert page.count('class="reason"') == 2
    assert "第8条 2項 (3)号" in page and "第8条 2項 (4)号; 第32条" in page
    assert "青葉ケーブルテレビ" in page and "004_84a0a3d01f54d5ce.txt" not in page
    assert "Cannot go ahead as it stands" in page
    assert "What would change the answer" in page


def test_a_whole_order_is_answered_with_its_quote(logged_app: Flask) -> None:
    client = logged_app.test_client()
    facts = {**TV_TWO_REFUSALS, "in_default_or_likely": False, "likely_to_breach_article_32": False,
             "line_has_tv_contract": False, "several_contractors": False,
             "technically_very_difficult": False, "use_beyond_household_or_premises": False,
             "serious_business_hindrance": False, "bulk_plan": True}  # fmt: skip
    bulk = {"units_in_building": 12, "unit_count_agreed": True, "line_designation": "designated",
            "line_is_menu_5_1_200mbps": True, "exclusive_tv_use": True,
            "technically_difficult_or_hindrance": False}  # fmt: skip
    data: dict[str, object] = {**form_data(facts, "tv_application."),
                               **form_data(bulk, "tv_bulk_plan."), AS_OF_FIELD: "2026-12-01",
                               "q0": "1", "q0.onu_works": "1", "q0.starts_at": "2026-12-02T23:00",
                               "q2": "1", "q2.month": "2026-12", "q2.units": "12"}  # fmt: skip
    response = submit(client, "/s/tv-new?lang=en", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Accepted in order of receipt" in page and "Bulk-building" in page
    assert "3,300 yen" in page  # the night surcharge, its own line
    assert "Total with tax" in page
    reference = re.search(r'id="reference">([^<]+)<', page)
    link = re.search(r'id="permalink" href="([^"]+)"', page)
    assert reference and link
    again = client.get(link[1].replace("&amp;", "&").replace("http://localhost", ""))
    shown = again.get_data(as_text=True)
    assert again.status_code == 200
    assert (
        reference[1] in shown and "Accepted in order of receipt" in shown and "3,300 yen" in shown
    )
    printed = client.get(
        link[1].replace("&amp;", "&").replace("http://localhost", "") + "&view=print"
    )
    assert printed.status_code == 200 and "print-view" in printed.get_data(as_text=True)
    assert client.get("/answers/nothing-here").status_code == 404


def test_invalid_input_is_shown_next_to_the_field(client: FlaskClient) -> None:
    data = form_data({**TV_TWO_REFUSALS, "prefecture": "mars"})
    del data["applicant_is_line_contractor"]
    response = submit(client, "/checks/tv_application", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert 'id="f-applicant_is_line_contractor-error">必須の項目です。' in page
    assert 'id="f-prefecture-error">次のいずれかを指定してください' in page
    assert 'aria-invalid="true"' in page


def test_bad_quote_input_is_shown_next_to_its_field(client: FlaskClient) -> None:
    response = submit(client, "/s/tv-charges?lang=en", {"q1": "1", "q1.month": "December"})
    assert response.status_code == 422
    assert 'id="f-q1-month-error"' in response.get_data(as_text=True)


def test_bad_decision_date_is_shown_next_to_it(client: FlaskClient) -> None:
    data = {**form_data(TV_TWO_REFUSALS), AS_OF_FIELD: "1900-01-01"}
    page = submit(client, "/checks/tv_application?lang=en", data).get_data(as_text=True)
    assert '<p class="field-error" id="as-of-error">No version of' in page


def test_language_toggle_is_remembered(client: FlaskClient) -> None:
    response = client.get("/checks/tv_application?lang=en")
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in client.get("/?lang=ja").get_data(as_text=True)


def test_unknown_check_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/checks/nothing")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "判定ルールが見つかりません" in response.get_data(as_text=True)


def test_form_parsing_keeps_unparseable_values_and_marks_open_questions(app: Flask) -> None:
    from webapp.state import get_rulebook

    with app.app_context():
        rs = get_rulebook().select("tv_bulk_plan")
    data = MultiDict(
        [("units_in_building", "1,200"), ("unit_count_agreed", "false"), ("line_kind", "")]
    )
    assert facts_from_form(rs, data) == (
        {"units_in_building": 1200, "unit_count_agreed": False},
        [],
    )
    asked = MultiDict([(ASKED_FIELD, "line_designation"), ("line_designation", "unknown"),
                       (ASKED_FIELD, "technically_difficult_or_hindrance")])  # fmt: skip
    assert facts_from_form(rs, asked)[1] == [
        "line_designation",
        "technically_difficult_or_hindrance",
    ]
    fields = fact_fields(rs, "en", data, {"units_in_building": ["Not a valid integer."]})
    units = next(f for f in fields if f.name == "units_in_building")
    assert (units.control, units.value, units.errors) == (
        "number",
        "1,200",
        ("Not a valid integer.",),
    )
    assert {spec.type for spec in rs.facts} >= {FactType.INT, FactType.BOOL, FactType.ENUM}


def test_quote_links_round_trip_and_refuse_garbage() -> None:
    items = [{"tariff": "tv_transport", "item": "construction", "params": {"onu_works": 1}}]
    assert decode_quote(encode_quote(items)) == items
    assert decode_quote("not base64!") == [] and decode_quote(encode_quote([])) == []


_PARAMS = st.dictionaries(
    st.text(max_size=12), st.one_of(st.integers(), st.text(max_size=20), st.booleans()), max_size=4
)


@given(st.lists(st.fixed_dictionaries({"tariff": st.text(max_size=20), "params": _PARAMS}),
                min_size=1, max_size=4))  # fmt: skip
def test_any_quote_request_survives_its_link(items: list[dict[str, object]]) -> None:
    assert decode_quote(encode_quote(items)) == items


@given(st.text(max_size=300))
def test_a_tampered_link_reads_as_no_quote_never_an_error(text: str) -> None:
    assert isinstance(decode_quote(text), list)


def test_unknown_situation_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/s/nothing?lang=en")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "There is no situation page" in response.get_data(as_text=True)


def test_decision_date_parsing() -> None:
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "2025-04-01")]))[0].isoformat() == "2025-04-01"  # type: ignore[union-attr]
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "")])) == (None, [])
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "April")])) == (None, ["Not a valid date."])
