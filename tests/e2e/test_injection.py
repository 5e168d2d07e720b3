"""Markdown/HTML injection (issue 15, item 4): user strings are shown as text on every page.

A customer CSV whose column names, cell values, churn label, label values and FILE NAME are
Markdown/HTML payloads pointing at 127.0.0.2 (a loopback address that is not the app's) is uploaded
through the Data page in Debian's Chromium; the label is confirmed, the model trained, and every page
is visited in English and in 简体中文. The test fails on any request to a host other than the app's
own, any <img> whose src is not the app's, any <a href> to 127.0.0.2 or a javascript: URL, any
script run by a payload, and any console error. Screenshots go to pytest's tmp dir.
"""

import io
import re
from urllib.parse import urlsplit

import pandas as pd
import pytest

from tests.e2e.conftest import (
    MAIN, ROOT, SIDEBAR, assert_clean, catalogue, confirm_label, go, main_text, nav_links, new_page,
    switch_language, train_model, upload_customers, wait_idle,
)

pytestmark = pytest.mark.e2e

EVIL = "127.0.0.2"
RENAMES = {  # column name -> payload
    "region": "![x](http://127.0.0.2:9/x.png)",
    "occupation": "[click](http://127.0.0.2:9/)",
    "income_band": "<img src=http://127.0.0.2:9/y.png>",
    "value_tier": "<script>window.__pwned=1</script>",
    "gender": "[js](javascript:window.__pwned=2)",
    "churned": "churn <img src=http://127.0.0.2:9/l.png>",
}
CELLS = [  # region values
    "![h](http://127.0.0.2:9/h.png)",
    "<img src=http://127.0.0.2:9/f.png onerror=window.__pwned=3>",
    "[c](http://127.0.0.2:9/c)",
    '<a href="http://127.0.0.2:9/a">a</a>',
    "[j](javascript:window.__pwned=4)",
    "<script>window.__pwned=5</script>",
]
LABEL_VALUES = {1: "churned ![p](http://127.0.0.2:9/p.png)", 0: "stayed [s](http://127.0.0.2:9/s)"}
# A file name cannot hold "/" (the browser keeps only what follows the last one), but browsers read
# "\\" as "/" in http URLs: "http:\\127.0.0.2:9\\f" and "\\\\127.0.0.2:9\\i.png" point at 127.0.0.2.
FILE_NAME = r"[f](http:\\127.0.0.2:9\f) ![i](\\127.0.0.2:9\i.png) <img src=\\127.0.0.2:9\y.png> [k](javascript:x).csv"


@pytest.fixture(scope="module")
def hostile_csv():
    df = pd.read_csv(ROOT / "sample_data" / "customers.csv", nrows=1200)
    df["region"] = [CELLS[i % len(CELLS)] for i in range(len(df))]
    df["occupation"] = df["occupation"].where(df.index % 3 != 0, "[o](http://127.0.0.2:9/o)")
    df["churned"] = df["churned"].map(LABEL_VALUES)
    df = df.rename(columns=RENAMES)
    out = io.StringIO()
    df.to_csv(out, index=False)
    return {"name": FILE_NAME, "mimeType": "text/csv", "buffer": out.getvalue().encode("utf-8")}


def visible(shown):
    """Shown text without the invisible word joiners escape_md puts into "://", "www." and "@"."""
    return shown.replace("\u2060", "")


def leaks(page, app_origin):
    """Outside images and links on the page now, and whether any payload script ran."""
    found = []
    for src in page.eval_on_selector_all("img", "els => els.map(e => e.src)"):
        if not (src.startswith(app_origin + "/") or src.startswith(("data:", "blob:"))):
            found.append(f"img {src}")
    for href, where in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => [e.href, (e.closest('[data-testid]') || e).getAttribute('data-testid')"
                       " + ': ' + (e.closest('[data-testid]') || e).outerHTML.slice(0, 300)])"):
        if EVIL in href or href.lower().startswith("javascript:"):
            found.append(f"a {href} in {where}")
    if page.evaluate("() => window.__pwned"):
        found.append(f"script ran: {page.evaluate('() => window.__pwned')}")
    return found


def test_hostile_names_and_values_render_as_text_on_every_page(app_url, browser, hostile_csv, shots):
    en = catalogue("en")
    origin = urlsplit(app_url)
    app_origin = f"{origin.scheme}://{origin.netloc}"
    context, page, console = new_page(browser)
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https", "ws", "wss") and urlsplit(r.url).netloc != origin.netloc
            else None)
    page.goto(app_url)
    wait_idle(page)
    switch_language(page, "en")
    go(page, en["app.page.data"])
    upload_customers(page, hostile_csv)
    assert_clean(page, console, "hostile upload")
    # the file name is shown, as text, in the sidebar
    # (a pair of backslashes reaches the page as one: compared with runs of them as one)
    sidebar = re.sub(r"\\+", r"\\", visible(page.locator(SIDEBAR).inner_text()))
    shown = en["app.loaded"].format(name=re.sub(r"\\+", r"\\", FILE_NAME), rows="1,200")
    assert shown in sidebar, [line for line in sidebar.splitlines() if "csv" in line]
    # the payload column names are shown as text in the main area
    body = visible(main_text(page))
    assert RENAMES["churned"] in body, body[:3000]
    shots(page, "data_page_hostile")
    confirm_label(page, en)
    train_model(page, en)
    assert_clean(page, console, "trained on hostile data")
    assert outside == []
    assert leaks(page, app_origin) == [], "\n".join(leaks(page, app_origin))

    visited = []
    for lang in ["en", "zh"]:
        switch_language(page, lang)
        for i in range(nav_links(page).count()):
            link = nav_links(page).nth(i)
            title = link.inner_text().strip().splitlines()[-1].strip()
            link.click()
            wait_idle(page, timeout=300_000)
            where = f"{lang} / {title}"
            assert_clean(page, console, where)
            assert outside == [], f"{where}: requests to other hosts {outside}"
            assert leaks(page, app_origin) == [], f"{where}: {leaks(page, app_origin)}"
            assert page.locator(f"{MAIN} script").count() == 0, where
            visited.append(where)
        shots(page, f"last_page_{lang}")
    assert len(visited) >= 2 * 12, visited
    context.close()
