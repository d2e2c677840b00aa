"""A real headless chromium walks the studio as a policy owner would, against the real server (nginx and
gunicorn, as `make run` starts them) serving a temporary copy of the rules folder:

open a rule set's table → edit in the editor → a diagnostic appears for a typo and disappears when it
is fixed → simulate a case and see the trace (the row lit in the table) → add it as an example →
preview the impact → publish without a bump (refused with the diagnostic) → publish with a bump → the
API serves the new version. Also: /studio without a token is the sign-in form (401); the read-only
token cannot publish; the pages fit a phone and pass axe-core in both languages.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import PROJECT_ROOT, SCREENSHOTS, launched_chromium, screenshot, serve
from .test_studio_pages import ADMIN, VIEWER, rules_copy

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RULESET = "passport_continuation"
#: The case simulated: a relocation keeping the customer ID (continues).
CASE = {"line_provider": "ntt_west", "access_service": "flets_hikari_next",
        "change_type": "relocation", "customer_id_change": "unchanged"}  # fmt: skip
TYPO = "\nrulez: 1"


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with both studio tokens, its own decision log, generations and rules copy."""
    folder = tmp_path_factory.mktemp("studio-server")
    tariffs = folder / "tariffs"
    shutil.copytree(PROJECT_ROOT / "tariffs", tariffs)
    yield from serve(folder, {
        "FLETS_SECRET_KEY": "studio-test", "FLETS_RULES_DIR": str(rules_copy(folder)),
        "FLETS_TARIFFS_DIR": str(tariffs), "FLETS_GENERATIONS_DIR": str(folder / "generations"),
        "FLETS_ADMIN_TOKEN": ADMIN, "FLETS_STUDIO_VIEW_TOKEN": VIEWER})  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium("studio.js", "axe.min.js")


def open_page(browser: Any, width: int = 1280, lang: str = "ja") -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="ja-JP" if lang == "ja" else "en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def sign_in(page: Any, url: str, token: str, path: str = "/studio/") -> None:
    response = page.goto(f"{url}{path}")
    assert response.status == 401
    page.locator("#access-code").fill(token)
    page.locator("form.signin button[type=submit]").click()
    page.wait_for_url(f"{url}{path}")


def draft_text(page: Any) -> str:
    return str(page.evaluate("document.getElementById('cm-host').studioView.state.doc.toString()"))


def replace_in_draft(page: Any, old: str, new: str) -> None:
    """An edit the owner makes (the version line), applied through the editor like typing would."""
    page.evaluate(
        """([old, now]) => { const view = document.getElementById('cm-host').studioView;
             const at = view.state.doc.toString().indexOf(old);
             if (at < 0) throw new Error('not in the draft: ' + old);
             view.dispatch({changes: {from: at, to: at + old.length, insert: now}}); }""",
        [old, new],
    )


def wait_for_clean_check(page: Any) -> None:
    page.wait_for_function(
        "() => { const s = document.getElementById('check-status');"
        " return s.classList.contains('good') && !document.querySelector('#diagnostics li.error'); }"
    )


def shot(page: Any, name: str, locator: Any | None = None) -> None:
    """docs/screenshots/studio-<name>.png (:func:`~.conftest.screenshot`)."""
    screenshot(locator or page, f"studio-{name}")


def assert_fits_and_accessible(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll} px wide at {width} px"
    # axe-core is this origin's script, which the studio's policy allows.
    page.add_script_tag(url="/static/build/axe.min.js")
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"
    )
    assert found == [], f"{page.url}: {found}"


def test_without_a_token_the_studio_is_the_sign_in_form(browser: Any, studio_server: str) -> None:
    page = open_page(browser)
    response = page.goto(f"{studio_server}/studio/rules/{RULESET}")
    assert response.status == 401
    assert page.locator("#access-code").is_visible()
    assert page.locator("#sheet").count() == 0 and page.locator("#cm-host").count() == 0
    page.context.close()


def test_a_policy_owner_edits_simulates_previews_and_publishes(
    browser: Any, studio_server: str
) -> None:
    # A decision in the log, so the impact preview has something to replay.
    decided = requests.post(f"{studio_server}/v1/rulesets/{RULESET}/evaluate",
                            json={"facts": CASE}, timeout=10)  # fmt: skip
    assert decided.status_code == 200
    served = decided.json()["version"]
    page = open_page(browser)
    sign_in(page, studio_server, ADMIN)
    shot(page, "start")

    # The table.
    page.get_by_role("link", name="回線の異動に伴うフレッツ・パスポートID").first.click()
    page.wait_for_url(f"{studio_server}/studio/rules/{RULESET}")
    table = page.locator("#sheet")
    assert table.locator("tbody tr").count() >= 2
    shot(page, "table", page.locator("#table"))

    # The editor: a typo is flagged in place, and the flag goes when it is fixed.
    page.locator("#cm-host .cm-content").wait_for()
    wait_for_clean_check(page)
    page.locator("#cm-host .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(TYPO, delay=20)
    typo_line = draft_text(page).count("\n") + 1
    flagged = page.locator(f'#diagnostics li.error[data-line="{typo_line}"]')
    flagged.wait_for()
    assert f":{typo_line}:" in flagged.inner_text()
    page.locator("#cm-host .cm-lintRange-error").first.wait_for()
    shot(page, "diagnostic", page.locator("#editor"))
    for _ in TYPO:
        page.keyboard.press("Backspace")
    wait_for_clean_check(page)
    assert page.locator(f'#diagnostics li.error[data-line="{typo_line}"]').count() == 0

    # Completion offers the keys the rule-file schema allows at the top level.
    page.keyboard.type("\nde", delay=20)
    offered = page.locator(".cm-tooltip-autocomplete li")
    offered.first.wait_for()
    assert {"decide", "default", "description"} <= set(offered.all_inner_texts())
    page.keyboard.press("Escape")
    for _ in "\nde":
        page.keyboard.press("Backspace")
    wait_for_clean_check(page)

    # The simulator: the answer, the per-rule trace, the deciding row lit in the table.
    form = page.locator("#simulate-form")
    for fact, value in CASE.items():
        form.locator(f'select[name="{fact}"]').select_option(value)
    page.locator("#simulate-run").click()
    page.locator("#trace").wait_for()
    rules = page.locator('#sheet tr[data-rule]:not([data-rule=""])').count()
    assert page.locator("#trace li.rule").count() == rules  # every rule traced
    assert page.locator("#trace li.cond.held").count() >= 1
    assert page.locator("#trace li.cond.failed").count() >= 1
    decides = page.locator("#sheet tr.sim-decides")
    assert decides.count() == 1
    assert "relocation_keeps_customer_id" in decides.inner_text()
    shot(page, "simulator", page.locator("#simulator"))

    # Add the case as an example to the draft.
    note = "スタジオで追加した例"
    page.locator("#example-note").fill(note)
    page.locator("#add-example").click()
    page.wait_for_function(
        "(note) => document.getElementById('cm-host').studioView.state.doc.toString().includes(note)",
        arg=note,
    )
    wait_for_clean_check(page)

    # The impact preview: the log replayed with the draft, and the draft's examples.
    page.locator("#impact-run").click()
    page.locator("#impact-summary").wait_for()
    page.locator("#impact-examples").wait_for()
    assert "合格" in page.locator("#impact-examples").inner_text()
    shot(page, "impact", page.locator("#impact"))

    # Publishing changed content under the same version is refused, with the diagnostic.
    page.locator("#publish-reason").fill("例を追加")
    page.locator("#publish-run").click()
    refused = page.locator("#publish-diagnostics")
    refused.wait_for()
    assert "version-not-bumped" in refused.inner_text()
    shot(page, "refused", page.locator("#publish"))

    # With a bump it is published, and the API serves the new version.
    major, minor, *_ = served.split(".")
    bumped = f"{major}.{int(minor) + 1}.0"
    replace_in_draft(page, f"version: {served}", f"version: {bumped}")
    wait_for_clean_check(page)
    page.locator("#publish-run").click()
    page.locator("#published").wait_for()
    assert bumped in page.locator("#published").inner_text()
    page.locator("#history li").first.wait_for()
    assert bumped in page.locator("#history").inner_text()
    shot(page, "published", page.locator("#publish"))
    deadline = time.monotonic() + 10
    version = None
    while time.monotonic() < deadline:
        answer = requests.post(f"{studio_server}/v1/rulesets/{RULESET}/evaluate",
                               json={"facts": CASE}, timeout=10)  # fmt: skip
        version = answer.json().get("version")
        if version == bumped:
            break
        time.sleep(0.3)
    assert version == bumped

    # A rollback publishes the content before that publish again, as a newer version.
    page.locator("#rollback-reason").fill("元に戻す")
    page.locator("#rollback-run").click()
    page.locator("#publish-result ul.good").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#history li').length >= 2")
    rolled_back = f"{major}.{int(minor) + 1}.1"
    assert rolled_back in page.locator("#history").inner_text()
    answer = requests.get(f"{studio_server}/v1/studio/rules/{RULESET}", timeout=10,
                          headers={"Authorization": f"Bearer {ADMIN}"})  # fmt: skip
    assert answer.json()["version"] == rolled_back
    assert note not in answer.json()["text"]  # the added example is gone again
    page.context.close()


def test_the_table_of_a_draft_is_drawn_before_anything_is_published(
    browser: Any, studio_server: str
) -> None:
    page = open_page(browser)
    sign_in(page, studio_server, ADMIN, f"/studio/rules/{RULESET}")
    page.locator("#cm-host .cm-content").wait_for()
    wait_for_clean_check(page)
    row = page.locator('#sheet tbody tr:has-text("relocation_keeps_customer_id")').first
    rule = row.get_attribute("data-rule")
    assert rule
    replace_in_draft(page, f"id: {rule}\n", f"id: {rule}_draft\n")
    wait_for_clean_check(page)
    page.locator("#draft-table").click()
    page.locator("#draft-note").wait_for()
    assert page.locator(f'#sheet tr[data-rule="{rule}_draft"]').count() == 1
    assert page.locator(f'#sheet tr[data-rule="{rule}"]').count() == 0
    page.locator("#cm-host .cm-content").wait_for()
    assert f"id: {rule}_draft" in draft_text(page)  # the draft is still in the editor
    assert_fits_and_accessible(page, 1280)
    shot(page, "draft-table", page.locator("#table"))
    served = requests.get(f"{studio_server}/v1/studio/rules/{RULESET}", timeout=10,
                          headers={"Authorization": f"Bearer {ADMIN}"})  # fmt: skip
    assert f"id: {rule}_draft" not in served.json()["text"]  # nothing was published
    page.context.close()

    # On a phone, in English: a draft that does not validate keeps the published table, lists why.
    phone = open_page(browser, 390, "en")
    sign_in(phone, studio_server, ADMIN, f"/studio/rules/{RULESET}")
    phone.goto(f"{studio_server}/studio/rules/{RULESET}?lang=en")
    phone.locator("#cm-host .cm-content").wait_for()
    replace_in_draft(phone, "decide:", "decide_typo:")
    phone.locator("#draft-table").click()
    phone.locator("#draft-findings li").first.wait_for()
    assert "published version" in phone.locator("#draft-note").inner_text()
    assert phone.locator(f'#sheet tr[data-rule="{rule}"]').count() == 1
    assert_fits_and_accessible(phone, 390)
    phone.context.close()


def test_a_tariff_is_read_and_quoted(browser: Any, studio_server: str) -> None:
    page = open_page(browser)
    sign_in(page, studio_server, ADMIN, "/studio/tariffs/flets_joint")
    assert page.locator("#figures tbody tr").count() >= 1
    assert page.locator("#items tbody tr").count() >= 1
    page.locator("#cm-host .cm-content").wait_for()
    wait_for_clean_check(page)
    page.locator("#quote-run").click()
    page.locator("#quote-lines tfoot").wait_for()
    assert "円" in page.locator("#quote-lines").inner_text()
    shot(page, "tariff", page.locator("#simulator"))
    page.context.close()


def test_the_read_only_token_cannot_publish(browser: Any, studio_server: str) -> None:
    page = open_page(browser)
    sign_in(page, studio_server, VIEWER, f"/studio/rules/{RULESET}")
    assert page.locator("#view-only").is_visible()
    assert page.locator("#publish-form").count() == 0
    status = page.evaluate(
        """async (ruleset) => {
             const csrf = document.querySelector('input[name="csrf_token"]').value;
             const r = await fetch(`/v1/studio/rules/${ruleset}/publish`, {method: 'POST',
               headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
               body: JSON.stringify({text: 'x', reason: 'no'})});
             return r.status; }""",
        RULESET,
    )
    assert status == 403
    page.context.close()


@pytest.mark.parametrize(("lang", "width"), [("ja", 1280), ("en", 390), ("ja", 390)])
def test_the_studio_fits_a_phone_and_passes_axe(
    browser: Any, studio_server: str, lang: str, width: int
) -> None:
    page = open_page(browser, width, lang)
    sign_in(page, studio_server, ADMIN)
    for path in ("/studio/", f"/studio/rules/{RULESET}", "/studio/tariffs/flets_joint",
                 "/studio/clauses"):  # fmt: skip
        page.goto(f"{studio_server}{path}?lang={lang}")
        page.locator("footer").wait_for()
        assert_fits_and_accessible(page, width)
    page.context.close()


def test_the_screenshots_exist() -> None:
    """docs/studio.md shows these (written by the walk above when missing)."""
    names = "start table diagnostic simulator impact refused published tariff draft-table"
    for name in names.split():
        path: Path = SCREENSHOTS / f"studio-{name}.png"
        assert path.exists() and path.stat().st_size > 5_000, path
