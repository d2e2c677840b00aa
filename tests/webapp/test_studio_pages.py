"""The studio's pages (/studio) through Flask's test client: who may enter, what the start page and a
rule set's table show (server-rendered, without JavaScript), the languages, the content security
policy that lets only the studio run this origin's script. The browser walk is test_studio_browser.py.

Every app here serves a temporary copy of the rules folder, never the repository's rules/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webapp import create_app
from webapp.security import CONTENT_SECURITY_POLICY

from .conftest import PROJECT_ROOT

ADMIN, VIEWER = "studio-admin-token", "studio-view-token"
STUDIO_TEMPLATES = PROJECT_ROOT / "webapp" / "templates" / "studio"
#: A copy of passport_continuation whose examples no longer reach the rename row (the row whose
#: reason is UNCOVERED_REASON).
UNCOVERED_ID, UNCOVERED_REASON = "studio_uncovered_copy", "rename_keeps_service"
#: The reason of the row the first example of passport_continuation reaches.
RELOCATION_REASON = "relocation_keeps_customer_id"


def rules_copy(folder: Path) -> Path:
    """The bundled rules copied into ``folder``, plus one rule set with a row no example reaches."""
    rules = folder / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    text = (rules / "passport_continuation.yaml").read_text(encoding="utf-8")
    text = text.replace("ruleset: passport_continuation", f"ruleset: {UNCOVERED_ID}", 1)
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    for line in lines:
        if UNCOVERED_REASON in line and line.lstrip().startswith("expect:"):
            del kept[-2:]  # the example's note and facts lines
            continue
        kept.append(line)
    (rules / f"{UNCOVERED_ID}.yaml").write_text("".join(kept), encoding="utf-8")
    return rules


def studio_config(folder: Path) -> dict[str, object]:
    tariffs = folder / "tariffs"
    shutil.copytree(PROJECT_ROOT / "tariffs", tariffs)
    return {
        "TESTING": True,
        "LOG_LEVEL": "WARNING",
        "RULES_DIR": str(rules_copy(folder)),
        "TARIFFS_DIR": str(tariffs),
        "ADMIN_TOKEN": ADMIN,
        "STUDIO_VIEW_TOKEN": VIEWER,
    }


@pytest.fixture(scope="module")
def studio_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield create_app(studio_config(tmp_path_factory.mktemp("studio")))


@pytest.fixture
def anonymous(studio_app: Flask) -> FlaskClient:
    return studio_app.test_client()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def signed_in(client: FlaskClient, token: str) -> FlaskClient:
    form = client.get("/studio/signin")
    response = client.post(
        "/studio/signin",
        data={"csrf_token": csrf_of(form.text), "access_code": token, "next": "/studio/"},
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def editor(studio_app: Flask) -> FlaskClient:
    return signed_in(studio_app.test_client(), ADMIN)


@pytest.fixture
def viewer(studio_app: Flask) -> FlaskClient:
    return signed_in(studio_app.test_client(), VIEWER)


# -- who may enter ---------------------------------------------------------------------------------

STUDIO_PAGES = [
    "/studio/",
    "/studio/rules/passport_continuation",
    "/studio/tariffs/flets_joint",
    "/studio/clauses",
]


@pytest.mark.parametrize("path", STUDIO_PAGES)
def test_without_a_sign_in_a_studio_page_is_the_sign_in_form_with_401(
    anonymous: FlaskClient, path: str
) -> None:
    response = anonymous.get(path)
    assert response.status_code == 401
    assert 'id="access-code"' in response.text and "/studio/signin" in response.text
    # Nothing of the studio: no table, no draft, no rule text.
    assert 'id="sheet"' not in response.text and 'id="draft"' not in response.text
    assert "relocation_keeps_customer_id" not in response.text


def test_a_wrong_token_opens_nothing(anonymous: FlaskClient) -> None:
    form = anonymous.get("/studio/signin")
    response = anonymous.post(
        "/studio/signin", data={"csrf_token": csrf_of(form.text), "access_code": "guess"}
    )
    assert response.status_code == 403
    assert "トークン" in response.text and 'aria-invalid="true"' in response.text
    assert anonymous.get("/studio/").status_code == 401


def test_the_sign_in_form_needs_its_csrf_token(anonymous: FlaskClient) -> None:
    response = anonymous.post("/studio/signin", data={"access_code": ADMIN})
    assert response.status_code == 400
    assert anonymous.get("/studio/").status_code == 401


def test_with_no_token_configured_the_studio_is_closed(
    studio_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(studio_app.config, "ADMIN_TOKEN", None)
    monkeypatch.setitem(studio_app.config, "STUDIO_VIEW_TOKEN", None)
    client = studio_app.test_client()
    response = client.get("/studio/")
    assert response.status_code == 401
    assert "FLETS_ADMIN_TOKEN" in response.text


def test_a_bearer_admin_token_opens_the_studio_without_a_session(anonymous: FlaskClient) -> None:
    response = anonymous.get("/studio/", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    assert 'id="rulesets"' in response.text
    wrong = anonymous.get("/studio/", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_signing_out_closes_the_studio(editor: FlaskClient) -> None:
    page = editor.get("/studio/")
    assert page.status_code == 200
    response = editor.post("/studio/signout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert editor.get("/studio/").status_code == 401


def test_the_read_only_token_sees_no_publish_form(viewer: FlaskClient, editor: FlaskClient) -> None:
    seen = viewer.get("/studio/rules/passport_continuation")
    assert seen.status_code == 200
    assert 'id="sheet"' in seen.text and 'id="publish-form"' not in seen.text
    assert 'id="rollback-form"' not in seen.text and 'id="view-only"' in seen.text
    edited = editor.get("/studio/rules/passport_continuation")
    assert 'id="publish-form"' in edited.text and 'id="view-only"' not in edited.text


# -- the start page ----------------------------------------------------------------------------------


def test_the_start_page_lists_every_rule_set_and_tariff_with_version_digest_and_counts(
    studio_app: Flask, editor: FlaskClient
) -> None:
    html = editor.get("/studio/").text
    with studio_app.app_context():
        from engine.rules.rulebook import ruleset_digest
        from webapp.state import app_state

        lease = app_state(studio_app).holder.acquire()
        try:
            book, tariffs = lease.bundle.rulebook, lease.bundle.tariffs
            for rid in book.ids():
                rs = book.shown_version(rid)
                row = re.search(rf'<tr id="ruleset-{rid}">(.*?)</tr>', html, re.S)
                assert row, rid
                assert rs.version in row.group(1)
                digest = ruleset_digest(rs)
                assert digest and digest in row.group(1)
            assert tariffs is not None
            for tid in tariffs.ids():
                assert f'id="tariff-{tid}"' in html
        finally:
            lease.release()
    # The copy whose rename row no example reaches: one uncovered row, marked.
    row = re.search(rf'<tr id="ruleset-{UNCOVERED_ID}">(.*?)</tr>', html, re.S)
    assert row and re.search(r'<td class="num attention">1</td>', row.group(1))


# -- a rule set's table ------------------------------------------------------------------------------


def rule_with_reason(app: Flask, ruleset_id: str, reason: str) -> str:
    """The id of the rule of ``ruleset_id`` that gives ``reason`` (rule ids are the file's business)."""
    with app.app_context():
        from webapp.state import app_state

        lease = app_state(app).holder.acquire()
        try:
            rs = lease.bundle.rulebook.shown_version(ruleset_id)
            return next(r.id for r in rs.rules if r.reason.code == reason)
        finally:
            lease.release()


def rows_of(html: str) -> dict[str, str]:
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr id="row-([^"]+)"[^>]*>.*?</tr>', html, re.S)
    }


def test_the_table_has_a_row_per_rule_and_the_default_with_conditions_outcome_reason_and_source(
    studio_app: Flask, editor: FlaskClient
) -> None:
    html = editor.get("/studio/rules/passport_continuation").text
    rows = rows_of(html)
    rule = rule_with_reason(studio_app, "passport_continuation", RELOCATION_REASON)
    assert "_default" in rows and rule in rows
    row = rows[rule]
    assert RELOCATION_REASON in row
    # Conditions in the rule set's own labels under their fact's column, the code kept in the title.
    assert re.search(
        r'<td data-fact="change_type"><span class="cond" title="= relocation">＝ ', row
    )
    assert "継続" in row or "continues" in row
    assert "001_ded95cce339fcddd.txt" in row or "ご利用ガイド" in row  # the cited source
    assert 'href="#example-0"' in row  # the example that reaches it
    assert "uncovered" not in row.split(">", 1)[0]
    assert "どの行にも、その行に当たる例があります" in html


def test_rows_no_example_reaches_are_highlighted(studio_app: Flask, editor: FlaskClient) -> None:
    html = editor.get(f"/studio/rules/{UNCOVERED_ID}").text
    row = rows_of(html)[rule_with_reason(studio_app, UNCOVERED_ID, UNCOVERED_REASON)]
    assert 'class="uncovered' in row or " uncovered" in row.split(">", 1)[0]
    assert "例なし" in row
    assert "1行はどの例にも当たりません" in html


def test_the_table_reads_in_english(studio_app: Flask, editor: FlaskClient) -> None:
    response = editor.get("/studio/rules/passport_continuation?lang=en")
    assert '<html lang="en">' in response.text
    assert "Decision table" in response.text and "Every row is reached" in response.text
    rule = rule_with_reason(studio_app, "passport_continuation", RELOCATION_REASON)
    row = rows_of(response.text)[rule]
    assert "= " in row and "判定表" not in response.text


def test_the_simulator_form_is_the_generated_fact_form(editor: FlaskClient) -> None:
    html = editor.get("/studio/rules/passport_continuation").text
    form = html.split('id="simulate-form"', 1)[1].split("</form>", 1)[0]
    for fact in ("line_provider", "access_service", "change_type", "customer_id_change"):
        assert f'name="{fact}"' in form


def test_the_form_reads_as_facts_for_the_simulator(editor: FlaskClient) -> None:
    html = editor.get("/studio/rules/passport_continuation").text
    response = editor.post(
        "/studio/rules/passport_continuation/facts",
        data={"csrf_token": csrf_of(html), "line_provider": "ntt_west",
              "access_service": "flets_hikari_next", "change_type": "relocation"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["facts"] == {
        "line_provider": "ntt_west",
        "access_service": "flets_hikari_next",
        "change_type": "relocation",
    }
    refused = editor.post("/studio/rules/passport_continuation/facts", data={"line_provider": "x"})
    assert refused.status_code == 400


def _editor_text(html: str) -> str:
    """The draft in the page's editor (the textarea's text, unescaped)."""
    found = re.search(r'<textarea id="draft" name="text"[^>]*>(.*?)</textarea>', html, re.S)
    assert found is not None
    return unescape(found.group(1))


def test_the_table_of_a_draft_shows_the_edit_before_it_is_published(
    studio_app: Flask, editor: FlaskClient, viewer: FlaskClient
) -> None:
    page = editor.get("/studio/rules/passport_continuation").text
    assert 'id="draft-form"' in page and 'id="draft-table"' in page
    rule = rule_with_reason(studio_app, "passport_continuation", RELOCATION_REASON)
    text = _editor_text(page)
    assert f"id: {rule}\n" in text
    edited = text.replace(f"id: {rule}\n", f"id: {rule}_draft\n", 1)
    for client in (editor, viewer):  # reading a draft's table publishes nothing: a viewer may too
        html = client.get("/studio/rules/passport_continuation").text
        answer = client.post("/studio/rules/passport_continuation/draft",
                             data={"csrf_token": csrf_of(html), "text": edited})  # fmt: skip
        assert answer.status_code == 200, answer.text[:500]
        rows = rows_of(answer.text)
        assert f"{rule}_draft" in rows and rule not in rows
        assert RELOCATION_REASON in rows[f"{rule}_draft"]
        assert 'id="draft-note"' in answer.text and "まだ公開されていません" in answer.text
        assert _editor_text(answer.text) == edited  # the draft stays in the editor
    # Nothing was published: the page still shows the served rule.
    assert rule in rows_of(editor.get("/studio/rules/passport_continuation").text)


def test_a_draft_that_does_not_validate_keeps_the_published_table_and_lists_its_findings(
    studio_app: Flask, editor: FlaskClient
) -> None:
    html = editor.get("/studio/rules/passport_continuation?lang=en").text
    broken = _editor_text(html).replace("decide:", "decide_typo:", 1)
    answer = editor.post("/studio/rules/passport_continuation/draft?lang=en",
                         data={"csrf_token": csrf_of(html), "text": broken})  # fmt: skip
    assert answer.status_code == 422
    assert "the table is still the published version" in answer.text
    findings = answer.text.split('id="draft-findings"', 1)[1].split("</ol>", 1)[0]
    assert "decide_typo" in findings or "decide" in findings
    rule = rule_with_reason(studio_app, "passport_continuation", RELOCATION_REASON)
    assert rule in rows_of(answer.text)  # the served table
    assert _editor_text(answer.text) == broken


def test_a_draft_table_needs_the_pages_csrf_token(editor: FlaskClient) -> None:
    answer = editor.post("/studio/rules/passport_continuation/draft", data={"text": "x"})
    assert answer.status_code == 400


def test_an_unknown_rule_set_or_tariff_is_404(editor: FlaskClient) -> None:
    assert editor.get("/studio/rules/nothing_here").status_code == 404
    assert editor.get("/studio/tariffs/nothing_here").status_code == 404


def test_a_tariff_page_shows_figures_with_provenance_items_and_examples(
    editor: FlaskClient,
) -> None:
    html = editor.get("/studio/tariffs/flets_joint").text
    assert 'id="figures"' in html and 'id="items"' in html and 'id="examples"' in html
    assert re.search(r'<td class="prov (sourced|outside_fact|inferred)">', html)
    assert 'id="quote-form"' in html and 'id="draft"' in html


def test_the_rule_file_schema_is_served_for_completion(editor: FlaskClient) -> None:
    response = editor.get("/studio/rule-format.schema.json")
    assert response.status_code == 200
    assert response.json is not None and "rules" in response.json["properties"]


# -- what the browser may run --------------------------------------------------------------------------


def test_only_the_studio_pages_may_run_this_origins_script_and_the_editors_styles(
    editor: FlaskClient, anonymous: FlaskClient
) -> None:
    page = editor.get("/studio/rules/passport_continuation")
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r'data-nonce="([^"]+)"', page.text)
    assert nonce and f"'nonce-{nonce.group(1)}'" in policy
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe" not in policy
    again = editor.get("/studio/rules/passport_continuation").headers["Content-Security-Policy"]
    assert again != policy  # a fresh nonce per page
    assert anonymous.get("/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_studio_templates_hold_no_inline_script_or_style() -> None:
    for template in STUDIO_TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|javascript:",
                             text, re.I), template  # fmt: skip
        assert not re.search(r"(src|href|action)=\"(https?:)?//", text), template


# -- the clause index ------------------------------------------------------------------------------


def test_the_clause_page_lists_every_clause_and_links_each_to_what_cites_it(
    viewer: FlaskClient,
) -> None:
    """Issue 17: the studio links each clause to its rules (as the catalogue does)."""
    from engine.lifecycle.coverage import bundled_coverage

    expected = bundled_coverage()
    page = viewer.get("/studio/clauses")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="status-(encoded|gap|not_a_rule)">', page.text)
    assert len(rows) == sum(len(s.rows) for s in expected.sources) > 400
    # 第12条 (the contractor's cancellation) is cited by a rule of tv_cancellation: its row links there.
    row = page.text[page.text.index("<code>第12条</code>") :].split("</tr>", 1)[0]
    assert "/studio/rules/tv_cancellation#row-" in row
    assert viewer.get("/studio/").text.count('href="/studio/clauses"') == 1
