"""A real browser (Debian's Chromium via Playwright) walks the whole product in both languages.

The app is started on a free loopback port (``conftest.app_url``); a customer file is uploaded
through the Data page's uploader (the sidebar's session uploader is a second file input, so the
upload is scoped to the main area); the detected label is confirmed; the model is trained; every
page is visited in English and in Chinese; any exception box or browser console error fails the test.
Set RS_REQUIRE_BROWSER=1 (CI does) to make a missing Chromium a failure instead of a skip.
"""

import pytest

from tests.e2e.conftest import (
    ROOT, assert_clean, catalogue, confirm_label, go, main_text, nav_links, new_page, switch_language,
    train_model, upload_customers, wait_idle,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory):
    """2,000 customers of the Chinese GBK sample: Chinese headers and values through the uploader."""
    raw = (ROOT / "sample_data" / "customers_zh_gbk.csv").read_bytes()
    lines = raw.split(b"\n")
    path = tmp_path_factory.mktemp("upload") / "客户样本.csv"
    path.write_bytes(b"\n".join(lines[:2001]) + b"\n")
    return path


def test_journey_upload_and_every_page_in_both_languages(app_url, browser, upload_file, shots):
    en, zh = catalogue("en"), catalogue("zh")
    context, page, console = new_page(browser)
    page.goto(app_url)
    wait_idle(page)
    assert_clean(page, console, "home")
    assert page.get_by_role("heading", name=en["app.title"]).count() == 1

    # Data page: upload the file through the Data page's uploader, then confirm the detected label.
    go(page, en["app.page.data"])
    upload_customers(page, str(upload_file))
    assert_clean(page, console, "data page after upload")
    body = main_text(page)
    assert "2,000" in body, body[:1500]
    assert "gb18030" in body.lower(), body[:1500]
    confirm_label(page, en)
    shots(page, "data_label_confirmed")

    # Train the model so the later pages have something to show.
    train_model(page, en)
    assert_clean(page, console, "model page after training")
    body = main_text(page)
    assert en["model.trained"].split("{")[0] in body, body[:2000]
    assert en["model.verdict"].split("{")[0] in body, body[:2000]
    shots(page, "model_trained")

    visited = {}
    for lang in ["en", "zh"]:
        switch_language(page, lang)
        count = nav_links(page).count()
        assert count >= 10
        for i in range(count):
            link = nav_links(page).nth(i)
            title = link.inner_text().strip().splitlines()[-1].strip()
            link.click()
            wait_idle(page, timeout=300_000)
            assert_clean(page, console, f"{lang} / {title}")
            visited.setdefault(lang, []).append(title)
        shots(page, f"last_page_{lang}")
    assert visited["zh"][1] == zh["app.page.data"]
    assert visited["en"][1] == en["app.page.data"]
    assert visited["zh"][:2] == [zh["app.page.home"], zh["app.page.data"]]
    context.close()
