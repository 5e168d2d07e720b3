"""A real browser (Debian's Chromium via Playwright) walks the whole product in both languages.

The app is started on a free loopback port; a customer file is uploaded through the uploader; every
page is visited in English and in Chinese; any exception box or browser console error fails the test.
Set RS_REQUIRE_BROWSER=1 (CI does) to make a missing Chromium a failure instead of a skip.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not CHROMIUM.exists():
        if os.environ.get("RS_REQUIRE_BROWSER"):
            pytest.fail("Debian's chromium is not installed at /usr/bin/chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
             f"--server.port={port}", "--server.address=127.0.0.1", "--server.fileWatcherType=none"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start: " + log.read_text(errors="replace")[-2000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory):
    """2,000 customers of the Chinese GBK sample: Chinese headers and values through the uploader."""
    raw = (ROOT / "sample_data" / "customers_zh_gbk.csv").read_bytes()
    lines = raw.split(b"\n")
    path = tmp_path_factory.mktemp("upload") / "客户样本.csv"
    path.write_bytes(b"\n".join(lines[:2001]) + b"\n")
    return path


def _wait_idle(page, timeout=120_000):
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def _assert_clean(page, errors, where):
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()[:500]}"
    assert errors == [], f"{where}: browser console errors {errors}"


def _nav_links(page):
    return page.locator("[data-testid='stSidebarNavLink']")


def _click_button(page, names):
    for name in names:
        button = page.get_by_role("button", name=name)
        if button.count():
            button.first.click()
            return True
    return False


def test_journey_upload_and_every_page_in_both_languages(app_url, browser, upload_file):
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(app_url)
    _wait_idle(page)
    _assert_clean(page, errors, "home")
    assert page.get_by_role("heading", name="Retention Studio").count() == 1

    # Data page: upload the file through the real uploader.
    _nav_links(page).nth(1).click()
    _wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(upload_file))
    _wait_idle(page)
    _assert_clean(page, errors, "data page after upload")
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "2,000" in body or "2000" in body, body[:1500]
    assert "gb18030" in body.lower() or "gbk" in body.lower(), body[:1500]

    # Train the model so the later pages have something to show.
    model_link = _nav_links(page).filter(has_text="Churn model")
    model_link.first.click()
    _wait_idle(page)
    assert _click_button(page, ["Train the model"])
    _wait_idle(page, timeout=300_000)
    _assert_clean(page, errors, "model page after training")
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "Model trained in" in body and "Grade " in body, body[:2000]

    visited = {}
    for lang_label in ["English", "简体中文"]:
        page.locator("[data-testid='stSidebar']").get_by_text(lang_label, exact=True).click()
        _wait_idle(page)
        count = _nav_links(page).count()
        assert count >= 10
        for i in range(count):
            link = _nav_links(page).nth(i)
            title = link.inner_text().strip().splitlines()[-1].strip()
            link.click()
            _wait_idle(page, timeout=300_000)
            _assert_clean(page, errors, f"{lang_label} / {title}")
            visited.setdefault(lang_label, []).append(title)
    assert visited["简体中文"][1] == "数据"
    assert visited["English"][1] == "Data"
    context.close()
