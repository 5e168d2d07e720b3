"""Settings survive page changes and a language switch; a saved session survives a browser reload.

In Debian's Chromium (Playwright), on the English sample's first 1,500 customers: the Early warning
High-tier capacity and the simulator budget are set, other pages are visited, the language is
switched, and both values are still there (the simulator's tier targeting counts the High tier the
Early warning page set). Then the session file is prepared and downloaded from the sidebar tool,
the browser page is reloaded (a new Streamlit session with nothing in it), the same customer file is
uploaded, the session file is restored from the sidebar, and the model (Early warning shows the
tiers without retraining), the tier capacity and the budget are back.
Texts come from the catalogues at test time. Screenshots of the key steps go to pytest's tmp dir.
"""

import pytest

from tests.e2e.conftest import (
    MAIN, ROOT, SIDEBAR, assert_clean, catalogue, confirm_label, expand_sidebar_tool, go, main_text,
    new_page, number_value, set_number, switch_language, train_model, upload_customers, wait_idle,
)

pytestmark = pytest.mark.e2e

HIGH = 123        # customers the team can contact (High tier): not the default 10%
BUDGET = 45_000   # the simulator budget: not its default


@pytest.fixture(scope="module")
def customers(tmp_path_factory):
    lines = (ROOT / "sample_data" / "customers.csv").read_bytes().split(b"\n")
    path = tmp_path_factory.mktemp("upload") / "bank_customers.csv"
    path.write_bytes(b"\n".join(lines[:1501]) + b"\n")
    return path


def high_metric(page, words):
    metric = page.locator(f"{MAIN} [data-testid='stMetric']").filter(has_text=words["warning.tier.High"]).first
    return metric.locator("[data-testid='stMetricValue']").inner_text().strip()


def tiers_caption(words, n):
    return words["simulator.target.tiers_help"].format(n=n)


def choose_tier_targeting(page, words):
    page.locator(MAIN).get_by_text(words["simulator.target.tier"], exact=True).click()
    wait_idle(page, timeout=300_000)


def test_settings_survive_pages_and_language_then_a_reload_via_the_session_file(app_url, browser, customers,
                                                                                  shots, tmp_path):
    en, zh = catalogue("en"), catalogue("zh")
    context, page, console = new_page(browser)
    page.goto(app_url)
    wait_idle(page)
    switch_language(page, "en")
    go(page, en["app.page.data"])
    upload_customers(page, str(customers))
    confirm_label(page, en)
    train_model(page, en)
    assert_clean(page, console, "trained")

    # Early warning: the High tier holds exactly the capacity typed in.
    go(page, en["app.page.warning"])
    set_number(page, en["warning.high_n"], HIGH)
    assert number_value(page, en["warning.high_n"]) == str(HIGH)
    assert high_metric(page, en) == str(HIGH)
    shots(page, "warning_capacity_set")

    # Simulator: the budget typed in; tier targeting counts the High tier set on Early warning.
    go(page, en["app.page.simulator"])
    set_number(page, en["simulator.budget"], BUDGET)
    choose_tier_targeting(page, en)
    assert tiers_caption(en, HIGH) in main_text(page), main_text(page)[:3000]
    assert_clean(page, console, "simulator set")
    shots(page, "simulator_set")

    # Elsewhere, then in Chinese: both values kept.
    go(page, en["app.page.data"])
    go(page, en["app.page.segments"])
    switch_language(page, "zh")
    go(page, zh["app.page.model"])
    go(page, zh["app.page.warning"])
    assert number_value(page, zh["warning.high_n"]) == str(HIGH)
    assert high_metric(page, zh) == str(HIGH)
    go(page, zh["app.page.simulator"])
    assert number_value(page, zh["simulator.budget"]) == str(BUDGET)
    assert tiers_caption(zh, HIGH) in main_text(page), main_text(page)[:3000]
    assert_clean(page, console, "zh after page changes")
    shots(page, "simulator_kept_in_zh")
    switch_language(page, "en")
    go(page, en["app.page.warning"])
    assert number_value(page, en["warning.high_n"]) == str(HIGH)

    # Save: prepare and download the session file from the sidebar tool.
    tool = expand_sidebar_tool(page, en["app.tools.session"])
    tool.get_by_role("button", name=en["app.tools.session_prepare"]).click()
    wait_idle(page, timeout=300_000)
    tool = expand_sidebar_tool(page, en["app.tools.session"])
    with page.expect_download() as download:
        tool.get_by_role("button", name=en["app.tools.session_download"]).click()
    saved = tmp_path / "work.rsession"
    download.value.save_as(saved)
    assert saved.stat().st_size > 1000
    assert saved.read_bytes()[:2] == b"PK"  # a zip
    assert_clean(page, console, "session saved")

    # A reload is a new session: nothing loaded.
    page.reload()
    wait_idle(page)
    switch_language(page, "en")
    go(page, en["app.page.warning"])
    assert en["app.need_data"] in main_text(page)

    # The same customer file, then the session file from the sidebar.
    go(page, en["app.page.data"])
    upload_customers(page, str(customers))
    tool = expand_sidebar_tool(page, en["app.tools.session"])
    tool.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(saved))
    wait_idle(page, timeout=300_000)
    assert en["app.tools.session_restored"] in page.locator(SIDEBAR).inner_text()
    assert_clean(page, console, "session restored")
    shots(page, "session_restored")

    # The model is back (tiers without retraining), and so are the capacity and the budget.
    go(page, en["app.page.warning"])
    body = main_text(page)
    assert en["app.need_model"] not in body and en["app.need_data"] not in body, body[:2000]
    assert number_value(page, en["warning.high_n"]) == str(HIGH)
    assert high_metric(page, en) == str(HIGH)
    go(page, en["app.page.simulator"])
    assert number_value(page, en["simulator.budget"]) == str(BUDGET)
    assert_clean(page, console, "after restore")
    shots(page, "simulator_after_restore")
    context.close()
