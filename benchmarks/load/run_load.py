"""Load test (opt-in, not collected by pytest): N concurrent browser sessions against one Streamlit server.

Run from the project root::

    python benchmarks/load/run_load.py                       # 20 sessions, 2,000-row upload each
    python benchmarks/load/run_load.py --sessions 5 --out /tmp/load.json

What it does, bounded in count and time (``--max-minutes``, default 25; everything is stopped then):

1. starts ``streamlit run app.py`` on 127.0.0.1 and a free port (loopback only: the browser aborts
   every request that is not for that address), with its own TMPDIR so session folders can be
   counted, and ``--server.disconnectedSessionTTL`` from ``--ttl``;
2. samples the server's RSS (``/proc/<pid>/status``) twice a second for the whole run;
3. **cold baseline**: RSS of the idle server; **warm-up**: one session does the whole journey and
   closes, then the run waits for the session timeout; **warm baseline**: RSS after that (the
   modules every session imports - pandas, xgboost, shap... - are loaded once per process and
   stay: they are not a per-session cost);
4. **load**: ``--sessions`` browser contexts at once in one headless Debian Chromium (Playwright),
   each: open the app, upload the same small CSV through the real uploader on the Data page, add a
   segment condition and save it on the Segments page, train the model on the Model page, then
   ``--reruns`` page reruns on cached results (switching between the Segments and Model pages:
   each switch reruns the page script, which must reuse the trained model and stored data). A
   rerun is timed in the browser from the click to the app's script state going back from
   ``running`` to ``notRunning`` (a MutationObserver on ``stApp``), so it is the server's run plus
   the websocket round trip, not the drawing of the page;
5. closes every context and samples RSS until the session timeout has passed and RSS is flat;
   counts session folders left in the server's TMPDIR (a store not closed leaves its folder).

A session fails on any uncaught exception box (``stException``), a missing expected text, or a
timeout. Results are printed as JSON (and written to ``--out``).

The driver waits on ``[data-testid='stApp'][data-test-script-state='notRunning']`` and finds
things by visible text and ``data-testid``, never by position, so page refactors that keep the
words keep it working.
"""

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
NAV = "[data-testid='stSidebarNavLink']"


# ---------------------------------------------------------------------------------------- server
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def rss_breakdown(pid):
    """Resident MB of the server by kind of mapping (``/proc/<pid>/smaps``): the main heap, glibc
    thread arenas (anonymous mappings reserved in 64 MB units), other anonymous memory (Python
    object arenas, DuckDB/jemalloc, mimalloc, numpy buffers) and files (shared libraries)."""
    kinds = {"heap": 0, "thread_arenas": 0, "other_anon": 0, "files": 0, "stack_other": 0}
    arena_count = 0
    try:
        with open(f"/proc/{pid}/smaps") as fh:
            current = None
            for line in fh:
                head = line.split()
                if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                    start, end = (int(x, 16) for x in head[0].split("-"))
                    size_kb = (end - start) // 1024
                    name = head[5] if len(head) > 5 else ""
                    if name == "[heap]":
                        current = "heap"
                    elif name.startswith("/"):
                        current = "files"
                    elif name.startswith("["):
                        current = "stack_other"
                    elif size_kb in (65536, 131072) or (start % (64 << 20) == 0 and size_kb <= 65536):
                        current = "thread_arenas"
                        arena_count += size_kb == 65536 or start % (64 << 20) == 0
                    else:
                        current = "other_anon"
                elif head[0] == "Rss:" and current:
                    kinds[current] += int(head[1])
    except OSError:
        return None
    out = {k: round(v / 1024.0, 1) for k, v in kinds.items()}
    out["thread_arena_mappings"] = int(arena_count)
    return out


class Sampler(threading.Thread):
    """RSS of one process every ``period`` seconds, tagged with the current phase."""

    def __init__(self, pid, period=0.5):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples, self.phase, self.stop = [], "start", threading.Event()
        self.load_avg = []  # (t, 1-minute load average, phase) every 5 s
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop.is_set():
            value = rss_mb(self.pid)
            now = round(time.monotonic() - self.t0, 2)
            if value is not None:
                self.samples.append((now, round(value, 1), self.phase))
            if not self.load_avg or now - self.load_avg[-1][0] >= 5:
                self.load_avg.append((now, os.getloadavg()[0], self.phase))
            self.stop.wait(self.period)

    def recent(self, seconds):
        now = time.monotonic() - self.t0
        values = [v for t, v, _ in self.samples if t >= now - seconds]
        return statistics.median(values) if values else None

    def peak(self, phase):
        values = [v for _, v, p in self.samples if p == phase]
        return max(values) if values else None


def start_server(port, ttl, workdir, env_extra):
    tmp = workdir / "server_tmp"
    tmp.mkdir()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", TMPDIR=str(tmp), **env_extra)
    log = open(workdir / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--server.fileWatcherType=none",
         f"--server.disconnectedSessionTTL={ttl}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited: " + (workdir / "streamlit.log").read_text(errors="replace")[-2000:])
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return proc, url, tmp
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("streamlit did not become healthy in 90 s")


def stop_server(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def session_folders(tmp):
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("retention_"))


# ---------------------------------------------------------------------------------------- browser
class SessionFailed(Exception):
    pass


WATCH_STATE = """() => {
  if (window.__st) return;
  window.__st = {running: 0, idle: 0};
  // Records come in batches: read each change's old value (the state it left), so a run that
  // started and finished within one batch is still seen.
  new MutationObserver((records) => {
    const now = performance.now();
    for (const r of records) {
      if (r.oldValue === "running") { window.__st.idle = now; if (window.__st.running === 0) window.__st.running = now; }
      else if (r.target.getAttribute("data-test-script-state") === "running") window.__st.running = now;
    }
    const app = document.querySelector("[data-testid='stApp']");
    if (app && app.getAttribute("data-test-script-state") === "running") window.__st.running = now;
  }).observe(document.documentElement, {attributes: true, attributeOldValue: true, subtree: true,
                                        attributeFilter: ["data-test-script-state"]});
}"""
RUN_FINISHED = """(t0) => window.__st && window.__st.idle > t0
  && !!document.querySelector("[data-testid='stApp'][data-test-script-state='notRunning']")"""


async def timed_run(page, action, timeout_ms, retry_after_ms=None, record=None, arrived=None):
    """Seconds from ``action`` (a click, an upload) until the script run it started has finished,
    as the browser sees it (the app's script state going running -> notRunning, watched by a
    MutationObserver; follow-up reruns that start within 0.3 s are included).

    ``retry_after_ms``: when no run at all was seen by then and the app is idle, do ``action``
    once more (a navigation click right after the page opened is sometimes dropped by the
    frontend); counted in ``record["retries"]``. ``arrived``: a JavaScript expression that is true
    when the action's effect is already there (the page's URL for a navigation): then the run
    happened without the observer seeing the state flip (a starved renderer batches ``running`` and
    ``notRunning`` into one paint) and clicking again would wait for ever; returns None (no time)
    and counts it in ``record["unobserved_runs"]``.
    """
    await page.evaluate(WATCH_STATE)
    t0 = await page.evaluate("performance.now()")
    await action()
    try:
        await page.wait_for_function(RUN_FINISHED, arg=t0, timeout=retry_after_ms or timeout_ms)
    except Exception:  # noqa: BLE001
        seen_run = await page.evaluate(f"window.__st.running > {t0}")
        if not retry_after_ms or seen_run:
            if retry_after_ms:
                await page.wait_for_function(RUN_FINISHED, arg=t0, timeout=timeout_ms)
            else:
                raise
        else:
            if arrived and await page.evaluate(arrived):
                if record is not None:
                    record["unobserved_runs"] = record.get("unobserved_runs", 0) + 1
                return None
            if record is not None:
                record["retries"] = record.get("retries", 0) + 1
            await action()
            await page.wait_for_function(RUN_FINISHED, arg=t0, timeout=timeout_ms)
    while True:
        seen = await page.evaluate("window.__st.idle")
        await page.wait_for_timeout(300)
        idle, busy = await page.evaluate(
            "[window.__st.idle, !document.querySelector(\"[data-testid='stApp'][data-test-script-state='notRunning']\")]")
        if idle > seen or busy:  # another run started: wait for it too
            await page.wait_for_function(RUN_FINISHED, arg=seen if busy else idle - 1, timeout=timeout_ms)
            continue
        return (idle - t0) / 1000.0


async def check_clean(page, where):
    boxes = page.locator(EXCEPTION)
    if await boxes.count():
        raise SessionFailed(f"{where}: exception box: {(await boxes.first.inner_text())[:300]}")


async def goto_page(page, title, timeout_ms, record=None):
    """Click the sidebar link ``title``; return the seconds the page's run took."""
    link = page.locator(NAV).filter(has_text=title)
    if not await link.count():
        raise SessionFailed(f"no navigation link {title!r}")
    href = await link.first.get_attribute("href")
    arrived = None
    if href:
        path = urlparse(href).path or "/"
        arrived = f"window.location.pathname === {json.dumps(path)} && !!document.querySelector({json.dumps(IDLE)})"
    seconds = await timed_run(page, link.first.click, timeout_ms, retry_after_ms=20_000, record=record,
                              arrived=arrived)
    await check_clean(page, title)
    return seconds


async def main_text(page):
    return await page.locator("[data-testid='stMain']").inner_text()


async def expect_text(page, text, where, timeout_ms):
    try:
        await page.locator("[data-testid='stMain']").get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    except Exception as exc:  # noqa: BLE001
        body = (await main_text(page))[:400].replace("\n", " | ")
        raise SessionFailed(f"{where}: {text!r} not shown ({exc.__class__.__name__}); page: {body}") from None


async def customer_uploader(page):
    """The file input of the customer-table uploader: in the main area, labelled "customer file"
    when such a label exists (the sidebar and other sections have uploaders of their own)."""
    boxes = page.locator("[data-testid='stMain'] [data-testid='stFileUploader']")
    labelled = boxes.filter(has_text="customer file")
    box = labelled.first if await labelled.count() else boxes.first
    return box.locator("input[type='file']")


async def journey(browser, url, csv_path, rows, reruns, index, timeout_ms, record, delay=0.0):
    """One analyst: upload, segment, train, then cached reruns. Fills ``record``."""
    await asyncio.sleep(delay)
    context = await browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})

    async def loopback_only(route):
        if route.request.url.startswith(url):
            await route.continue_()
        else:
            record.setdefault("blocked", []).append(route.request.url[:100])
            await route.abort()

    await context.route("**/*", loopback_only)
    page = await context.new_page()
    steps = record.setdefault("steps", {})
    try:
        t = time.monotonic()
        await page.goto(url, timeout=timeout_ms)
        await page.wait_for_selector(IDLE, timeout=timeout_ms)
        await page.locator(NAV).filter(has_text="Data").first.wait_for(timeout=timeout_ms)
        await page.wait_for_timeout(1000)
        await page.wait_for_selector(IDLE, timeout=timeout_ms)
        await check_clean(page, "home")
        steps["open"] = time.monotonic() - t

        t = time.monotonic()
        await goto_page(page, "Data", timeout_ms, record)
        uploader = await customer_uploader(page)
        await timed_run(page, lambda: uploader.set_input_files(str(csv_path), timeout=timeout_ms), timeout_ms)
        await check_clean(page, "upload")
        await expect_text(page, f"{rows:,}", "upload", timeout_ms)
        confirm = page.get_by_role("button", name="Confirm this label")
        if await confirm.count():  # training needs a confirmed label (Data page)
            await timed_run(page, confirm.first.click, timeout_ms)
            await check_clean(page, "confirm label")
        steps["upload"] = time.monotonic() - t

        t = time.monotonic()
        await goto_page(page, "Segments", timeout_ms, record)
        await timed_run(page, page.get_by_role("button", name="Add condition").first.click, timeout_ms)
        await check_clean(page, "add condition")
        name = f"load{index}"
        await page.get_by_label("Segment name").first.fill(name, timeout=timeout_ms)
        await timed_run(page, page.get_by_role("button", name="Save segment").first.click, timeout_ms)
        await check_clean(page, "save segment")
        await expect_text(page, f"Saved “{name}”", "save segment", timeout_ms)
        steps["segment"] = time.monotonic() - t

        t = time.monotonic()
        await goto_page(page, "Churn model", timeout_ms, record)
        await timed_run(page, page.get_by_role("button", name="Train the model").first.click, timeout_ms)
        await check_clean(page, "train")
        await expect_text(page, "Model trained in", "train", timeout_ms)
        steps["train"] = time.monotonic() - t

        record["reruns"] = []
        for i in range(reruns):
            title, marker = ("Segments", "Segment") if i % 2 == 0 else ("Churn model", "Grade ")
            seconds = await goto_page(page, title, timeout_ms, record)
            await expect_text(page, marker, f"rerun {i}", timeout_ms)
            if seconds is not None:  # None: the run was not seen, so it has no time
                record["reruns"].append(round(seconds, 3))
        record["ok"] = True
    except Exception as exc:  # noqa: BLE001 - every failure is counted and described
        record["ok"] = False
        record["error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    finally:
        steps.update({k: round(v, 2) for k, v in steps.items()})
        await context.close()


async def run_phases(args, one, sampler, tmp, result):
    """Warm-up, warm baseline, then ``--bursts`` times: load, and the wait for the session timeout;
    the same for every driver. ``one(index, reruns, record, delay)`` runs one session's journey and
    fills ``record``. The summary's memory figures are those after the last burst; a second burst
    tells a leak (RSS after the TTL grows again by as much) from a high-water mark (it does not)."""
    # warm-up: imports and first-use caches, then wait for the session to expire
    sampler.phase = "warmup"
    warm = {}
    await one(0, 2, warm, 0.0)
    result["warmup"] = warm
    sampler.phase = "warmup_idle"
    result["warm_folders_open"] = len(session_folders(tmp))
    await asyncio.sleep(args.ttl + args.settle)
    result["warm_baseline_mb"] = sampler.recent(5)
    result["warm_breakdown_mb"] = rss_breakdown(sampler.pid)
    result["warm_folders_left"] = len(session_folders(tmp))

    result["sessions"], result["bursts"] = [], []
    for burst in range(args.bursts):
        sampler.phase = "load"
        records = [{} for _ in range(args.sessions)]
        spy = start_profile(args, sampler.pid) if burst == 0 else None
        started = time.monotonic()
        cpu0 = os.times()

        async def timed(i, rec):
            await one(burst * args.sessions + i + 1, args.reruns, rec, i * args.stagger)
            rec["ended_s"] = round(time.monotonic() - started, 2)

        await asyncio.gather(*(timed(i, rec) for i, rec in enumerate(records)))
        cpu1 = os.times()
        stop_profile(spy, result)
        for i, rec in enumerate(records):
            rec["started_s"] = round(i * args.stagger, 2)
            rec["burst"] = burst + 1
        result["sessions"] += records
        info = {"load_wall_s": round(time.monotonic() - started, 1),
                "driver_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
                "peak_load_mb": sampler.peak("load"),
                "failures": sum(not r.get("ok") for r in records)}
        result["end_of_load_breakdown_mb"] = rss_breakdown(sampler.pid)
        result["folders_at_end_of_load"] = len(session_folders(tmp))
        await wait_after(args, sampler, tmp, result)
        info["after_ttl_mb"] = result["after_ttl_plus_mb"]
        result["bursts"].append(info)
    result["load_wall_s"] = result["bursts"][0]["load_wall_s"]
    result["driver_cpu_s"] = result["bursts"][0]["driver_cpu_s"]
    result["peak_load_mb"] = max(b["peak_load_mb"] or 0 for b in result["bursts"])


def start_profile(args, pid):
    """``--profile FILE``: py-spy samples the server for the load phase only (collapsed stacks,
    ``--gil``: only the thread holding the GIL, i.e. where the Python time goes)."""
    if not args.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--output", args.profile, "--rate", "50",
               "--nonblocking"]
    if args.profile_gil:
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profile(spy, result):
    if spy is None:
        return
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(timeout=10)
    result["profile_exit"] = spy.returncode


async def wait_after(args, sampler, tmp, result):
    """Every session is closed: wait for the session TTL, then until RSS is flat."""
    sampler.phase = "after"
    await asyncio.sleep(args.ttl + args.settle)
    result["after_ttl_mb"] = sampler.recent(5)
    result["folders_after_ttl"] = len(session_folders(tmp))
    await asyncio.sleep(args.settle)
    result["after_ttl_plus_mb"] = sampler.recent(5)
    result["after_breakdown_mb"] = rss_breakdown(sampler.pid)


async def run_browser(args, url, csv_path, sampler, tmp, result):
    from playwright.async_api import async_playwright

    timeout_ms = int(args.step_timeout * 1000)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            async def one(index, reruns, record, delay):
                await journey(browser, url, csv_path, args.rows, reruns, index, timeout_ms, record, delay=delay)

            await run_phases(args, one, sampler, tmp, result)
        finally:
            await browser.close()


async def run_ws(args, url, csv_path, sampler, tmp, result):
    """The same phases with the browser-less protocol driver (``ws_driver.py``): one asyncio task
    per session, each its own websocket, in this process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import ws_driver

    data = csv_path.read_bytes()

    async def one(index, reruns, record, delay):
        await ws_driver.journey(url, data, csv_path.name, args.rows, reruns, index, args.step_timeout, record,
                                delay=delay, think=args.think)

    await run_phases(args, one, sampler, tmp, result)


def max_overlap(sessions):
    """The largest number of sessions in progress at the same moment (from their start and end
    offsets in seconds, within their burst)."""
    best = 0
    for burst in {s.get("burst", 1) for s in sessions}:
        events = []
        for s in sessions:
            if s.get("burst", 1) == burst and "started_s" in s and "ended_s" in s:
                events += [(s["started_s"], 1), (s["ended_s"], -1)]
        current = 0
        for _, step in sorted(events, key=lambda e: (e[0], e[1])):
            current += step
            best = max(best, current)
    return best


def percentile(values, q):
    """Nearest-rank percentile: the smallest value with at least ``q`` % of the values <= it."""
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(round(q / 100.0 * len(values), 9)) - 1))
    return values[k]


def summarise(result):
    sessions = result.get("sessions", [])
    reruns = [r for s in sessions for r in s.get("reruns", [])]
    failures = [s.get("error") for s in sessions if not s.get("ok")]
    steps = {}
    for s in sessions:
        for k, v in s.get("steps", {}).items():
            steps.setdefault(k, []).append(v)
    base = result.get("warm_baseline_mb")
    after = result.get("after_ttl_plus_mb")
    return {
        "sessions": len(sessions),
        "failures": len(failures),
        "failure_messages": failures,
        "navigation_retries": sum(s.get("retries", 0) for s in sessions),
        "unobserved_runs": sum(s.get("unobserved_runs", 0) for s in sessions),
        "max_concurrent_sessions": max_overlap(sessions),
        "reruns": len(reruns),
        "rerun_p50_s": percentile(reruns, 50),
        "rerun_p95_s": percentile(reruns, 95),
        "rerun_max_s": max(reruns) if reruns else None,
        "step_p50_s": {k: percentile(v, 50) for k, v in steps.items()},
        "step_max_s": {k: max(v) for k, v in steps.items()},
        "cold_baseline_mb": result.get("cold_baseline_mb"),
        "warm_baseline_mb": base,
        "peak_load_mb": result.get("peak_load_mb"),
        "after_ttl_mb": after,
        "after_vs_warm_baseline_pct": round(100.0 * (after - base) / base, 1) if base and after else None,
        "session_folders_after_ttl": result.get("folders_after_ttl"),
        "breakdown_mb": {"warm": result.get("warm_breakdown_mb"), "end_of_load": result.get("end_of_load_breakdown_mb"),
                         "after": result.get("after_breakdown_mb")},
        "load_wall_s": result.get("load_wall_s"),
        "bursts": result.get("bursts"),
        "driver": result.get("settings", {}).get("driver"),
        "driver_cpu_s": result.get("driver_cpu_s"),
        "load_avg": {"start": result.get("machine", {}).get("load_avg_start"),
                     "max_during_load": max((v for _, v, p in result.get("load_avg_samples", []) if p == "load"),
                                            default=None),
                     "end": result.get("machine", {}).get("load_avg_end")},
        "tracebacks": result.get("server_log_tracebacks"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", choices=["browser", "ws"], default="browser",
                        help="browser: one headless Chromium context per session (Playwright); "
                             "ws: Streamlit's websocket protocol spoken from Python (ws_driver.py), no browser")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (1-40)")
    parser.add_argument("--rows", type=int, default=2000, help="rows of sample_data/customers.csv to upload")
    parser.add_argument("--reruns", type=int, default=6, help="cached page reruns per session")
    parser.add_argument("--stagger", type=float, default=1.0,
                        help="seconds between session starts (all sessions then overlap)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="ws driver: mean seconds a session waits before each action (0.5x-1.5x, seeded); "
                             "0 = every session acts again the moment its run finished")
    parser.add_argument("--bursts", type=int, default=1,
                        help="load phases one after the other, each followed by the TTL wait (1-3)")
    parser.add_argument("--ttl", type=int, default=30, help="server.disconnectedSessionTTL in seconds")
    parser.add_argument("--settle", type=int, default=20, help="extra seconds after the TTL before measuring")
    parser.add_argument("--step-timeout", type=float, default=240.0, help="seconds per step before a session fails")
    parser.add_argument("--max-minutes", type=float, default=25.0, help="hard cap on the whole run")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server, e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--out", help="write the JSON result here too")
    parser.add_argument("--profile", metavar="FILE",
                        help="py-spy the server during the load phase into FILE (collapsed stacks)")
    parser.add_argument("--profile-gil", action="store_true", help="with --profile: only GIL-holding samples")
    args = parser.parse_args(argv)
    if not 1 <= args.bursts <= 3:
        parser.error("--bursts must be between 1 and 3")
    if not 1 <= args.sessions <= 40:
        parser.error("--sessions must be between 1 and 40")
    if args.driver == "browser" and not Path(CHROMIUM).exists():
        parser.error(f"Debian chromium is needed at {CHROMIUM}")
    env_extra = dict(item.split("=", 1) for item in args.env)

    workdir = Path(tempfile.mkdtemp(prefix="load_"))
    csv_path = workdir / "customers_load.csv"
    with open(ROOT / "sample_data" / "customers.csv", encoding="utf-8") as src:
        lines = [next(src) for _ in range(args.rows + 1)]
    csv_path.write_text("".join(lines), encoding="utf-8")

    result = {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": {"nproc": os.cpu_count(), "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "load_avg_start": os.getloadavg(), "python": platform.python_version()},
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
    }
    port = free_port()
    proc, url, tmp = start_server(port, args.ttl, workdir, env_extra)
    sampler = Sampler(proc.pid)
    sampler.start()
    try:
        time.sleep(5)
        result["cold_baseline_mb"] = sampler.recent(4)
        runner = run_browser if args.driver == "browser" else run_ws
        asyncio.run(asyncio.wait_for(runner(args, url, csv_path, sampler, tmp, result),
                                     timeout=args.max_minutes * 60))
    except asyncio.TimeoutError:
        result["aborted"] = f"stopped after --max-minutes {args.max_minutes:g}"
    finally:
        sampler.stop.set()
        stop_server(proc)
    log = (workdir / "streamlit.log").read_text(errors="replace")
    result["server_log_tracebacks"] = log.count("Traceback")
    result["server_log_tail"] = log[-1500:] if "Traceback" in log else ""
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["rss_samples"] = sampler.samples[::4]
    result["load_avg_samples"] = sampler.load_avg
    result["summary"] = summarise(result)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(json.dumps(result["summary"], indent=1, ensure_ascii=False))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if not result["summary"]["failures"] and "aborted" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
