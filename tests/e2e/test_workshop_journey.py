"""Workshop mode in a real browser (Debian's Chromium via Playwright), in English and 简体中文.

The tour runs start to finish: each step's Next sets the next page up and opens it, the group comes
back to the Workshop page through the sidebar, and the last Next reveals the truth. Then the board
report is downloaded from the sidebar tool and opened in Chromium with the network blocked: every
request that is not the file itself is aborted and counted (0 allowed), and no console error.
Screenshots go to a tmp dir. Set RS_REQUIRE_BROWSER=1 (CI does) to fail rather than skip when
Chromium is missing.
"""

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

LANG = {
    "en": {"locale": "en-US", "workshop": "Workshop",
           "found": "4 of the 5", "replayed": "Saves in the replay",
           "report_title": "Customer retention: board report"},
    "zh": {"locale": "zh-CN", "workshop": "培训工作坊",
           "found": "中的4个", "replayed": "重演中的挽留", "report_title": "客户挽留：董事会报告"},
}

# the title each step's page shows, read from the catalogues (their owners may reword them)
TITLE_KEYS = ["data.title", "segments.title", "model.title", "warning.title", "drivers.title", "simulator.title",
              "monitoring.winback.title", "workshop.title"]
for _lang, _words in LANG.items():
    _catalogue = {}
    for _path in sorted((ROOT / "locales" / _lang).glob("*.json")):
        _catalogue.update(json.loads(_path.read_text(encoding="utf-8")))
    _words["titles"] = [_catalogue[k] for k in TITLE_KEYS]
    _words["report"] = _catalogue["app.tools.report"]  # the sidebar tool's expander


# app_url and browser: the shared fixtures of tests/e2e/conftest.py (one server and one Chromium per module)


def _assert_clean(page, errors, where):
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()[:500]}"
    alerts = page.locator("[data-testid='stMain'] [data-testid='stAlertContentError']")
    assert alerts.count() == 0, f"{where}: {alerts.first.inner_text()[:500]}"
    assert errors == [], f"{where}: browser console errors {errors}"


def _main_title(page):
    return page.locator("[data-testid='stMain'] h1").first.inner_text().strip()


def _wait_title(page, title, timeout=180_000):
    """Wait until the page shows ``title`` (a click reaches the server after a moment on a busy
    machine: the app can look idle before the rerun starts), then until the script is idle."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid='stMain'] h1").first).to_have_text(title, timeout=timeout)
    wait_idle(page, timeout=timeout)


def _open_workshop(page, words):
    page.locator("[data-testid='stSidebarNavLink']").filter(has_text=words["workshop"]).first.click()
    _wait_title(page, words["titles"][-1])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workshop_tour_and_offline_board_report(app_url, browser, lang, tmp_path):
    words = LANG[lang]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(locale=words["locale"], viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(app_url)
    wait_idle(page)
    _open_workshop(page, words)
    _assert_clean(page, errors, "workshop")
    assert _main_title(page) == words["titles"][-1]

    # the tour, start to finish: Next sets the next page up and opens it; back via the sidebar
    for i, title in enumerate(words["titles"]):
        page.locator(".st-key-workshop_next button").click()
        if i == len(words["titles"]) - 1:  # the last Next stays on the workshop page and reveals
            page.get_by_text(words["replayed"]).first.wait_for(timeout=180_000)
        _wait_title(page, title)
        _assert_clean(page, errors, f"step {i + 1}")
        assert _main_title(page) == title, f"step {i + 1}"
        page.screenshot(path=str(shots / f"{lang}_{i + 1}.png"))
        if i < len(words["titles"]) - 1:
            _open_workshop(page, words)
            _assert_clean(page, errors, f"workshop after step {i + 1}")
    body = page.locator("[data-testid='stMain']").inner_text()
    assert words["found"] in body and words["replayed"] in body, body[-2000:]

    # the board report from the sidebar tool
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text(words["report"], exact=True).first.click()
    page.locator(".st-key-_report_prepare button").click()
    page.locator(".st-key-_report_download button").wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)
    _assert_clean(page, errors, "report prepared")
    with page.expect_download(timeout=60_000) as info:
        page.locator(".st-key-_report_download button").click()
    report = tmp_path / "board_report.html"
    info.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    context.close()

    # ... opened with the network blocked: only the file itself may load
    offline = browser.new_context(locale=words["locale"], offline=True)
    blocked = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    offline.route("**/*", route)
    viewer = offline.new_page()
    report_errors = []
    viewer.on("console", lambda m: report_errors.append(m.text) if m.type == "error" else None)
    viewer.on("pageerror", lambda e: report_errors.append(str(e)))
    viewer.goto(report.as_uri())
    viewer.wait_for_load_state("load")
    viewer.screenshot(path=str(shots / f"{lang}_report.png"), full_page=True)
    assert blocked == []
    assert report_errors == []
    assert viewer.locator("h1").first.inner_text().strip() == words["report_title"]
    # the report carries the workshop's plan (budget 50,000; 27.25 customers kept in expectation)

    def figure(name):
        return float(viewer.locator(f"[data-figure='{name}']").first.get_attribute("data-value"))

    assert figure("plan_budget") == 50_000
    assert round(figure("plan_expected_saved"), 2) == 27.25
    assert viewer.locator("svg").count() >= 1  # the charts are inline
    offline.close()
