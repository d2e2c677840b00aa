"""The sales page: forms generated from fact schemas, cited answers, messages next to fields, languages."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from engine.rules.model import FactType
from webapp.forms import AS_OF_FIELD, as_of_from_form, facts_from_form, form_fields

from .conftest import TV_TWO_REFUSALS


def form_data(facts: dict[str, object]) -> dict[str, str]:
    return {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in facts.items()
    }


def submit(client: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    """Post the form as a browser does: with the CSRF token of the form page it was filled on."""
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return client.post(path, data={**data, "csrf_token": token[1]})


def test_index_lists_checks_in_japanese_by_default(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "/checks/tv_application" in page
    assert "フレッツ・テレビ伝送サービスの契約申込みを承諾できるか" in page


def test_form_controls_follow_the_fact_types(client: FlaskClient) -> None:
    page = client.get("/checks/tv_application").get_data(as_text=True)
    assert '<select id="fact-prefecture" name="prefecture"' in page
    # A required yes/no fact is a pair of radios with nothing pre-chosen; an optional one shows its default.
    assert re.search(
        r'id="fact-applicant_is_line_contractor-true"\s+name="applicant_is_line_contractor" value="true" required>',
        page,
    )
    assert re.search(r'name="bulk_plan" value="false" checked>', page)
    assert "<legend>申込者は利用回線の契約者" in page
    assert 'type="date" id="as-of"' in page
    assert "版 1.0.0" in page and "2019-10-01" in page


def test_enum_lists_are_checkboxes_and_ints_numbers(client: FlaskClient, app: object) -> None:
    page = client.get("/checks/collab_order").get_data(as_text=True)
    assert 'type="checkbox"' in page
    assert 'type="hidden"' in page
    bulk = client.get("/checks/tv_bulk_plan").get_data(as_text=True)
    assert 'type="number"' in bulk and 'name="units_in_building"' in bulk


def test_refused_application_shows_every_reason_with_its_clause(client: FlaskClient) -> None:
    response = submit(client, "/checks/tv_application?lang=en", form_data(TV_TWO_REFUSALS))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "NTT East may refuse the application" in page
    assert page.count('class="reason"') == 2
    assert "第8条 2項 (3)号" in page and "第8条 2項 (4)号; 第32条" in page
    assert "青葉ケーブルテレビ" in page  # the seed's title, not only its file name
    assert "NTT East makes the final decision" in page  # the outcome's consequence
    assert "Quote" not in page  # a refusal is not priced


def test_accepted_application_shows_the_monthly_fee_quote(client: FlaskClient) -> None:
    facts = {**TV_TWO_REFUSALS, "in_default_or_likely": False, "likely_to_breach_article_32": False}
    page = submit(
        client, "/checks/tv_application", {**form_data(facts), AS_OF_FIELD: "2025-04-01"}
    ).get_data(as_text=True)
    assert "受付順に承諾されます" in page
    assert "お見積り" in page and "450 円" in page and "495 円" in page


def test_undecidable_answer_names_the_gap_and_whom_to_ask(client: FlaskClient) -> None:
    facts = {**TV_TWO_REFUSALS, "in_default_or_likely": False, "likely_to_breach_article_32": False,
             "line_kind": "collab_via_operator"}  # fmt: skip
    page = submit(client, "/checks/tv_application?lang=en", form_data(facts)).get_data(as_text=True)
    assert "What the sources do not say" in page
    assert "The customer&#39;s collaboration operator" in page


def test_invalid_input_is_shown_next_to_the_field(client: FlaskClient) -> None:
    data = form_data({**TV_TWO_REFUSALS, "prefecture": "mars"})
    del data["applicant_is_line_contractor"]
    response = submit(client, "/checks/tv_application", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert (
        '<p class="field-error" id="fact-applicant_is_line_contractor-error">必須の項目です。'
        in page
    )
    assert 'id="fact-prefecture-error">次のいずれかを指定してください' in page
    assert 'aria-invalid="true"' in page
    assert 'value="true" checked' in page  # what the user chose is kept


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


def test_form_parsing_keeps_unparseable_values_for_the_engine_to_name(app: object) -> None:
    from webapp.state import get_rulebook

    with app.app_context():  # type: ignore[attr-defined]
        rs = get_rulebook().select("tv_bulk_plan")
    data = MultiDict(
        [("units_in_building", "1,200"), ("unit_count_agreed", "false"), ("line_kind", "")]
    )
    assert facts_from_form(rs, data) == {"units_in_building": 1200, "unit_count_agreed": False}
    assert facts_from_form(rs, MultiDict([("units_in_building", "many")])) == {
        "units_in_building": "many"
    }
    fields = form_fields(rs, "en", data, {"units_in_building": ["Not a valid integer."]})
    units = next(f for f in fields if f.name == "units_in_building")
    assert (units.control, units.value, units.errors) == (
        "number",
        "1,200",
        ("Not a valid integer.",),
    )
    assert {spec.type for spec in rs.facts} >= {FactType.INT, FactType.BOOL, FactType.ENUM}


def test_decision_date_parsing() -> None:
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "2025-04-01")]))[0].isoformat() == "2025-04-01"  # type: ignore[union-attr]
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "")])) == (None, [])
    assert as_of_from_form(MultiDict([(AS_OF_FIELD, "April")])) == (None, ["Not a valid date."])
