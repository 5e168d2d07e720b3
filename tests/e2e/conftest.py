"""Shared launch fixtures and helpers of the browser tests (Debian's Chromium via Playwright).

One Streamlit server per test module (``app_url``), one Chromium per module (``browser``).
Set RS_REQUIRE_BROWSER=1 (CI does) to make a missing Chromium a failure instead of a skip.
Texts the tests look for are read from the catalogues at test time (``catalogue(lang)``), never
hard-coded English, so the pages' owners can reword them.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
MAIN = "[data-testid='stMain']"
SIDEBAR = "[data-testid='stSidebar']"
LANG_LABELS = {"en": "English", "zh": "简体中文"}


def catalogue(lang):
    """Every key of ``locales/<lang>/*.json`` (read now, so rewording a text does not break a test)."""
    words = {}
    for path in sorted((ROOT / "locales" / lang).glob("*.json")):
        words.update(json.loads(path.read_text(encoding="utf-8")))
    return words


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
        deadline = time.monotonic() + 120  # a busy 2-core machine can take over a minute
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


@pytest.fixture
def shots(tmp_path):
    """``shots(page, name)`` saves a screenshot of a key step into pytest's tmp dir."""
    folder = tmp_path / "screenshots"
    folder.mkdir()

    def shoot(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    shoot.folder = folder
    return shoot


# Streamlit's own frontend, when a page is opened at a page URL (a reload on /early_warning, a
# link to /data), first probes that path as a possible base URL of the server: it requests
# <page>/_stcore/health and <page>/_stcore/host-config, gets two 404s ("Failed to load resource"),
# then falls back to the root and connects (streamlit 1.67 static/js/index.*.js: the list of
# possible base URIs walks the path up to "/"). Not the app's doing: exactly these two are ignored.
STREAMLIT_BASE_PROBE = re.compile(
    r"^Failed to load resource: the server responded with a status of 404 \(Not Found\) "
    r"@ http://127\.0\.0\.1:\d+/[^/]+/_stcore/(health|host-config)$")


class Console:
    """Console errors and uncaught page errors of one page, with the URL each came from."""

    def __init__(self, page):
        self.errors = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, message):
        if message.type == "error":
            text = f"{message.text} @ {message.location.get('url', '')}"
            if not STREAMLIT_BASE_PROBE.match(text):
                self.errors.append(text)


def new_page(browser, lang="en"):
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US",
                                  viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    return context, page, Console(page)


def wait_idle(page, timeout=120_000):
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def assert_clean(page, console, where):
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()[:500]}"
    assert console.errors == [], f"{where}: browser console errors {console.errors}"


def nav_links(page):
    """Every page link of the sidebar (past 10 pages Streamlit hides the rest behind "View N more")."""
    more = page.locator("[data-testid='stSidebarNavViewButton']")
    if more.count() and "more" in more.first.inner_text():  # Streamlit's own, untranslated text
        more.first.click()
        page.wait_for_timeout(200)
    return page.locator("[data-testid='stSidebarNavLink']")


def go(page, title, timeout=300_000):
    """Open the page whose sidebar link reads ``title`` (a translated page name)."""
    link = nav_links(page).filter(has_text=re.compile("^" + re.escape(title) + "$"))
    if not link.count():
        link = nav_links(page).filter(has_text=title)
    link.first.click()
    wait_idle(page, timeout=timeout)


def switch_language(page, lang):
    page.locator(SIDEBAR).get_by_text(LANG_LABELS[lang], exact=True).click()
    wait_idle(page)


def main_text(page):
    return page.locator(MAIN).inner_text()


def upload_customers(page, path_or_payload):
    """Upload through the Data page's own uploader (the sidebar has a session uploader too)."""
    page.locator(f"{MAIN} [data-testid='stFileUploader'] input[type='file']").set_input_files(path_or_payload)
    wait_idle(page, timeout=300_000)


def confirm_label(page, words):
    """Click the Data page's "Confirm this label" (the Model page refuses to train before it)."""
    button = page.locator(MAIN).get_by_role("button", name=words["data.label.confirm"], exact=True)
    assert button.count() == 1, main_text(page)[:2000]
    button.click()
    wait_idle(page)
    label_ok = words["data.label.summary"].split("{")[0].strip()
    assert label_ok in main_text(page), main_text(page)[:2000]


def train_model(page, words):
    go(page, words["app.page.model"])
    button = page.locator(MAIN).get_by_role("button", name=words["model.train"], exact=True)
    assert button.count() == 1, main_text(page)[:2000]
    button.click()
    wait_idle(page, timeout=300_000)


def set_number(page, label, value):
    """Type ``value`` into the number input labelled ``label`` and commit it (Enter)."""
    box = page.locator(MAIN).get_by_label(label, exact=True)
    assert box.count() == 1, f"no single number input {label!r}"
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page, timeout=300_000)


def number_value(page, label):
    return page.locator(MAIN).get_by_label(label, exact=True).input_value()


def expand_sidebar_tool(page, title):
    """Open the sidebar expander ``title`` (a no-op when it is already open)."""
    expander = page.locator(f"{SIDEBAR} [data-testid='stExpander']").filter(has_text=title).first
    details = expander.locator("details")
    if details.count() and details.first.get_attribute("open") is None:
        expander.locator("summary").first.click()
        page.wait_for_timeout(300)
    return expander
