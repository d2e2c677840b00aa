"""A real headless chromium walks the sales workspace as a sales clerk would: every page at 1280 px and
390 px in Japanese and English, no page wider than a phone, no serious or critical axe-core violation,
and every situation end to end (fill, answer, quote, permalink in a fresh context, print view)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from webapp.sales.situations import SITUATIONS

from .conftest import BUILD, launched_chromium, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE = BUILD / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390}
#: (language, viewport) pairs a flow is walked in: both languages, both widths.
VIEWS = [("ja", "desktop"), ("en", "phone"), ("en", "desktop"), ("ja", "phone")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium(AXE.name)


def new_page(browser: Any, view: str, lang: str) -> Any:
    context = browser.new_context(
        viewport={"width": WIDTHS[view], "height": 900},
        locale="ja-JP" if lang == "ja" else "en-GB",
        bypass_csp=True,  # to inject axe-core; the pages' own policy allows no inline script
    )
    context.set_default_timeout(90_000)  # the machine is shared: answers with what-ifs can be slow
    return context.new_page()


def assert_fits_and_accessible(page: Any, view: str, axe: bool = True) -> None:
    """Not wider than the viewport at phone width; no serious or critical axe-core violation."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if view == "phone":
        assert width <= WIDTHS["phone"], f"{page.url} is {width} px wide at 390 px"
    if not axe:
        return
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"
    )
    assert found == [], f"{page.url}: {found}"


PLAIN_PAGES = ["/", "/?q=bulk", "/docs", "/checks/tv_application", "/checks/collab_order",
               "/checks/tv_suspension", *(f"/s/{s.id}" for s in SITUATIONS)]  # fmt: skip


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("path", PLAIN_PAGES)
def test_every_page_fits_a_phone_and_passes_axe(
    browser: Any, live_server: str, path: str, lang: str
) -> None:
    page = new_page(browser, "phone", lang)
    page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
    # /docs is the same long page in both languages but for a few headings: axe reads it once.
    assert_fits_and_accessible(page, "phone", axe=not (path == "/docs" and lang == "ja"))
    page.context.close()


FILL = """(scope) => {
  const fields = [...document.querySelectorAll(scope)];
  for (const field of fields) {
    for (const s of field.querySelectorAll('select')) {
      if (!s.value && s.options.length > 1) s.value = s.options[1].value;
    }
    const radios = [...field.querySelectorAll('input[type=radio]')];
    if (radios.length && !radios.some(r => r.checked)) {
      (radios.find(r => r.value === 'false') || radios[0]).checked = true;
    }
    for (const n of field.querySelectorAll('input[type=number]')) {
      if (!n.value) n.value = n.min && Number(n.min) > 0 ? n.min : '1';
    }
    for (const d of field.querySelectorAll('input[type=date]')) if (!d.value) d.value = '2026-11-20';
    for (const m of field.querySelectorAll('input[type=month]')) if (!m.value) m.value = '2026-12';
    for (const t of field.querySelectorAll('input[type=datetime-local]')) {
      if (!t.value) t.value = '2026-12-02T10:00';
    }
  }
}"""


def fill_everything(page: Any) -> None:
    """Answer every question of a situation page as a clerk might: the first choice of each list,
    "no" for every yes/no question, the smallest number, a date in November 2026."""
    page.evaluate(FILL, "section.questions .field")


def fill_quote_inputs(page: Any) -> None:
    """Tick every quote item and fill its required inputs the same way."""
    for box in page.locator("fieldset.quote-item input[type=checkbox][name^=q]").all():
        box.check()
    page.evaluate(FILL, "fieldset.quote-item .field:has(.req)")


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.locator("form.facts button[type=submit]").click()


def check_permalink_and_print(
    browser: Any, page: Any, view: str, lang: str, shot: str, max_pages: int = 2
) -> None:
    """The permalink, opened in a fresh context, shows the same answer and reference; the print view
    renders on A4 (one page for a typical answer, ``max_pages`` at most)."""
    reference = page.locator("#reference").inner_text()
    verdict = page.locator(".verdict").inner_text()
    link = page.locator("#permalink").get_attribute("href")
    fresh = new_page(browser, view, lang)
    fresh.goto(link)
    assert fresh.locator("#reference").inner_text() == reference
    assert fresh.locator(".verdict").inner_text() == verdict
    assert_fits_and_accessible(fresh, view)
    with fresh.expect_navigation():
        fresh.locator("#print-link").click()
    assert fresh.locator("#reference").inner_text() == reference
    pdf = fresh.pdf(format="A4")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 1 <= pages <= max_pages, f"{shot}: {pages} A4 pages"
    screenshot(fresh, f"{shot}-print", full_page=True)
    fresh.context.close()


@pytest.mark.parametrize("situation", [s.id for s in SITUATIONS])
def test_each_situation_end_to_end(browser: Any, live_server: str, situation: str) -> None:
    """Fill, answer, quote; the recorded answer's permalink and print view; both languages and widths
    (alternating per situation, so the four combinations are each walked several times)."""
    index = [s.id for s in SITUATIONS].index(situation)
    lang, view = VIEWS[index % len(VIEWS)]
    page = new_page(browser, view, lang)
    page.goto(f"{live_server}/s/{situation}?lang={lang}")
    fill_everything(page)
    fill_quote_inputs(page)
    submit(page)
    if page.locator("#error-summary").count():  # a quote input the generic filler cannot guess
        for box in page.locator("fieldset.quote-item input[type=checkbox][name^=q]").all():
            box.uncheck()
        submit(page)
    assert page.locator("#error-summary").count() == 0, page.locator("#error-summary").inner_text()
    assert page.locator("#result").count() == 1
    assert_fits_and_accessible(page, view)
    shot = f"{situation}-{lang}-{view}"
    screenshot(page.locator("#result"), shot)
    if page.locator("#reference").count():
        check_permalink_and_print(browser, page, view, lang, shot)
    page.context.close()


def fill_tv_application(page: Any, lang: str) -> None:
    """The TV application with everything confirmed and nothing against it."""
    pick = {"prefecture": "tokyo", "district_in_area": "confirmed_inside", "line_kind": "ntt_flets",
            "line_item": "confirmed_eligible", "line_designation": "designated"}  # fmt: skip
    for fact, value in pick.items():
        page.locator(f"#f-tv_application-{fact}").select_option(value)
    page.locator("#f-tv_application-applicant_is_line_contractor-true").check()
    fill_everything(page)


@pytest.mark.parametrize(
    "starts_at,surcharge",
    [("2026-12-02T23:00", "3,300"), ("2026-12-30T10:00", "1,650")],
    ids=["weekday-23h", "30-december-10h"],
)
@pytest.mark.parametrize("lang,view", [("ja", "desktop"), ("en", "phone")])
def test_tv_construction_is_priced_with_its_surcharge_line(
    browser: Any, live_server: str, starts_at: str, surcharge: str, lang: str, view: str
) -> None:
    page = new_page(browser, view, lang)
    page.goto(f"{live_server}/s/tv-new?lang={lang}")
    fill_tv_application(page, lang)
    page.locator("#q0-include").check()
    page.locator("#f-q0-onu_works").fill("1")
    page.locator("#f-q0-starts_at").fill(starts_at)
    page.locator("#__as_of, #as-of").first.fill("2026-12-01")
    submit(page)
    assert page.locator("#error-summary").count() == 0, page.locator("#error-summary").inner_text()
    rows = page.locator(".quote-table tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    surcharge_rows = [t for t in texts if surcharge in t]
    assert len(texts) == 3 and len(surcharge_rows) == 1, texts
    assert re.search("割増|surcharge", surcharge_rows[0], re.IGNORECASE)
    assert page.locator("#reference").count() == 1
    assert_fits_and_accessible(page, view)
    name = "tv-construction-" + ("night" if "23:00" in starts_at else "year-end")
    screenshot(page.locator(".quote"), f"{name}-{lang}-{view}")
    check_permalink_and_print(browser, page, view, lang, f"{name}-{lang}-{view}", max_pages=1)
    page.context.close()


def test_open_questions_are_asked_not_assumed(browser: Any, live_server: str) -> None:
    """Nothing is pre-answered; an unanswered question is listed as still to ask, linked to it."""
    page = new_page(browser, "desktop", "en")
    page.goto(f"{live_server}/s/tv-new?lang=en")
    assert page.locator("#f-tv_application-in_default_or_likely input:checked").count() == 0
    for fact, value in {"prefecture": "tokyo", "district_in_area": "confirmed_inside",
                        "line_kind": "ntt_flets", "line_item": "confirmed_eligible",
                        "line_designation": "designated"}.items():  # fmt: skip
        page.locator(f"#f-tv_application-{fact}").select_option(value)
    page.locator("#f-tv_application-applicant_is_line_contractor-true").check()
    submit(page)
    to_confirm = page.locator(".to-confirm")
    assert "still to ask" in to_confirm.inner_text().lower()
    link = to_confirm.get_by_role("link", name=re.compile("in default"))
    link.click()
    assert page.evaluate("document.activeElement.id") == "f-tv_application-in_default_or_likely"
    assert page.locator("#reference").count() == 0
    page.keyboard.press("Tab")
    page.context.close()


def test_keyboard_and_error_summary(browser: Any, live_server: str) -> None:
    page = new_page(browser, "phone", "en")
    page.goto(f"{live_server}/checks/tv_application?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    submit(page)
    summary = page.locator("#error-summary")
    assert summary.count() == 1
    assert_fits_and_accessible(page, "phone")
    page.context.close()


def test_start_page_search(browser: Any, live_server: str) -> None:
    page = new_page(browser, "phone", "ja")
    page.goto(f"{live_server}/?lang=ja")
    screenshot(page, "start-ja-phone", full_page=True)
    page.locator("#search").fill("パスポート")
    with page.expect_navigation():
        page.locator("form.search button").click()
    links = page.locator("li.entry > a")
    found = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/s/passport-use" in found and "/s/passport-move" in found and "/s/tv-new" not in found
    desktop = new_page(browser, "desktop", "en")
    desktop.goto(f"{live_server}/?lang=en")
    screenshot(desktop, "start-en-desktop", full_page=True)
    desktop.context.close()
    page.context.close()
