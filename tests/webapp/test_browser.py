"""A real headless chromium fills the sales form and reads the answer, as a sales clerk would."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT, chromium_path

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
COMMITTED_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "sales-page.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "chromium is not installed (run `make browser-deps`); Playwright downloads are not used"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def test_two_refusal_reasons_and_their_citations_are_shown(
    browser: object, live_server: str, test_output: Path
) -> None:
    page = browser.new_page(locale="ja-JP")  # type: ignore[attr-defined]
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="フレッツ・テレビ伝送サービスの契約申込みを承諾できるか").click()
    page.get_by_label("利用回線の終端（設置場所）の都道府県").select_option("tokyo")
    page.get_by_label("設置場所がNTT東日本の別に定める提供区域").select_option("confirmed_inside")
    page.get_by_label("利用回線とテレビ伝送サービスの契約形態").select_option("ntt_flets")
    page.get_by_label("利用回線のIP通信網サービスの品目").select_option("confirmed_eligible")
    page.get_by_label("登録一般放送事業者がこの回線を").select_option("designated")
    contractor = page.get_by_role("group", name="申込者は利用回線の契約者")
    contractor.get_by_label("はい").check()
    page.get_by_role("group", name="申込者がテレビ伝送サービスの料金").get_by_label("はい").check()
    page.get_by_role("group", name="第32条").get_by_label("はい").check()
    page.get_by_role("button", name="判定する").click()

    result = page.locator("#result")
    result.wait_for()
    assert "NTT東日本は申込みを承諾しないことがあります" in result.inner_text()
    reasons = page.locator("li.reason")
    assert reasons.count() == 2
    texts = [reasons.nth(i).inner_text() for i in range(2)]
    assert "支払" in texts[0] and "第8条 2項 (3)号" in texts[0]
    assert "第32条" in texts[1] and "第8条 2項 (4)号; 第32条" in texts[1]
    assert [reasons.nth(i).get_attribute("data-code") for i in range(2)] == [
        "in_default_or_likely",
        "likely_to_breach_article_32",
    ]
    assert "版 1.0.0" in page.locator("#result .meta").inner_text()

    shot = test_output / "sales-page.png"
    page.screenshot(path=str(shot), full_page=False)
    result.screenshot(path=str(test_output / "sales-page-result.png"))
    assert shot.stat().st_size > 10_000
    COMMITTED_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if not COMMITTED_SCREENSHOT.exists():
        shutil.copyfile(shot, COMMITTED_SCREENSHOT)
    page.close()


def test_the_form_is_usable_by_keyboard_and_english(browser: object, live_server: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_server}/checks/tv_application?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role(
        "button", name="Check"
    ).click()  # required fields empty: the browser keeps the form
    assert page.locator("#result").count() == 0
    page.close()
