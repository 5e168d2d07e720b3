"""A Streamlit client without a browser: one session spoken over the app's own websocket protocol.

Used by ``run_load.py --driver ws`` (opt-in, not collected by pytest). A browser tab costs a
Chromium renderer (tens of MB and a good share of a core while the page draws); on a 2-core machine
20 of them starve the server they are meant to load. This client does what the frontend does on
the wire and nothing else, so every session still goes through the real server:

- ``GET /_stcore/health`` for the XSRF cookie (``_streamlit_xsrf``), then the websocket
  ``/_stcore/stream`` with the subprotocols ``["streamlit", <xsrf cookie>]``, the cookie and a
  same-origin ``Origin`` header, as the frontend opens it;
- every run is a ``BackMsg.rerun_script`` (``ClientState``: page script hash, widget states,
  ``context_info`` with an en-US locale and the page URL); the reply is the stream of
  ``ForwardMsg``: ``new_session`` (session id), ``navigation`` (the pages: hash and title),
  ``delta`` (elements and blocks at a ``delta_path``), ``script_finished``;
- an upload is the uploader's three steps: ``BackMsg.file_urls_request`` → ``ForwardMsg.
  file_urls_response`` (file id and upload URL) → multipart ``PUT`` of the bytes to
  ``/_stcore/upload_file/<session>/<file id>`` with the ``X-Xsrftoken`` header → a rerun whose
  widget state for the uploader is a ``FileUploaderState`` naming the uploaded file;
- a button press is a rerun with ``trigger_value`` for the button's id (sent once, as the frontend
  does); a form submit also sends the form's widget values; other widget values are kept per widget
  id and sent with every rerun while the widget is on the page (the frontend drops inactive ones).

Widgets are found by their label and the container they are in (main area or sidebar), never by
position, and the page's visible text is collected from the elements of the last finished run.

What it leaves out, by design: the browser's drawing (layout, charts, the data grid, fonts) and
the message cache (the client reports no cached message hashes, so the server sends every element
in full each run: a little more work for the server than a browser tab that has them cached).
"""

import asyncio
import json
import time
import urllib.request
import uuid
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

MAIN, SIDEBAR = 0, 1  # the first index of a delta_path: root containers
XSRF_COOKIE = "_streamlit_xsrf"
# string fields of an element or block that a reader sees as text
TEXT_FIELDS = ("body", "label", "text", "message", "title", "value", "caption")
FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")


class ProtocolError(Exception):
    """The server said something the journey did not expect (exception element, missing widget)."""


def _repeated(field):
    flag = getattr(field, "is_repeated", None)
    return flag if flag is not None else field.label == field.LABEL_REPEATED


def _texts(message):
    """The visible strings of one element/block proto (its own text fields, one level down too)."""
    out = []
    for field, value in message.ListFields():
        if field.type == field.TYPE_STRING and field.name in TEXT_FIELDS and value:
            out.append(value)
        elif field.type == field.TYPE_MESSAGE and not _repeated(field):
            for sub, subvalue in value.ListFields():
                if sub.type == sub.TYPE_STRING and sub.name in TEXT_FIELDS and subvalue:
                    out.append(subvalue)
    return out


class Page:
    """What the frontend would show after a run: elements and blocks by delta path."""

    def __init__(self):
        self.nodes = {}  # tuple(delta_path) -> ("element", kind, proto) | ("block", kind, proto)

    def apply(self, msg):
        path = tuple(msg.metadata.delta_path)
        delta = msg.delta
        which = delta.WhichOneof("type")
        if which == "new_element":
            kind = delta.new_element.WhichOneof("type")
            self.nodes[path] = ("element", kind, getattr(delta.new_element, kind) if kind else None)
        elif which == "add_block":
            kind = delta.add_block.WhichOneof("type")
            self.nodes[path] = ("block", kind, delta.add_block)

    def text(self, container=MAIN):
        out = []
        for path in sorted(self.nodes):
            if path and path[0] == container:
                _, _, proto = self.nodes[path]
                if proto is not None:
                    out.extend(_texts(proto))
        return "\n".join(out)

    def widgets(self, kind, container=MAIN):
        return [(path, proto) for path, (node, k, proto) in sorted(self.nodes.items())
                if node == "element" and k == kind and path and path[0] == container]

    def widget(self, kind, label, container=MAIN):
        """The first ``kind`` element whose label contains ``label`` (None if there is none)."""
        for _, proto in self.widgets(kind, container):
            if label in proto.label:
                return proto
        return None

    def widget_ids(self):
        return {getattr(proto, "id") for node, _, proto in self.nodes.values()
                if node == "element" and proto is not None and proto.DESCRIPTOR.fields_by_name.get("id") is not None
                and getattr(proto, "id")}


class StreamlitSession:
    """One browser-less session on ``url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, url, timeout=240.0, locale="en-US"):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.locale = locale
        self.ws = None
        self.session_id = None
        self.xsrf = None
        self.pages = {}  # title -> page_script_hash
        self.page_hash = ""
        self.page_url = self.url + "/"
        self.page = Page()
        self.widget_values = {}  # id -> WidgetState (persistent values, not triggers)
        self.exceptions = []
        self.bytes_in = 0
        self.runs = 0
        self._queue = asyncio.Queue()
        self._reader = None

    # ------------------------------------------------------------------ connection
    async def connect(self):
        import websockets.asyncio.client as wsc

        def health():
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=self.timeout) as resp:
                cookies = resp.headers.get_all("Set-Cookie") or []
                return resp.read(), cookies

        body, cookies = await asyncio.to_thread(health)
        if body != b"ok":
            raise ProtocolError(f"health check said {body[:50]!r}")
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            if name.strip() == XSRF_COOKIE:
                self.xsrf = rest.split(";", 1)[0]
        host = urlparse(self.url).netloc
        headers = {"Origin": self.url}
        protocols = ["streamlit"]
        if self.xsrf:
            headers["Cookie"] = f"{XSRF_COOKIE}={self.xsrf}"
            protocols.append(self.xsrf)
        self.ws = await asyncio.wait_for(
            wsc.connect(f"ws://{host}/_stcore/stream", subprotocols=protocols, additional_headers=headers,
                        max_size=None, open_timeout=self.timeout, compression=None),
            timeout=self.timeout)
        self._reader = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for data in self.ws:
                self.bytes_in += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                await self._queue.put(msg)
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits
            await self._queue.put(exc)
        else:
            await self._queue.put(ConnectionError("websocket closed by the server"))

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                self._reader.cancel()

    async def _send(self, back):
        await self.ws.send(back.SerializeToString())

    async def _next(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise asyncio.TimeoutError()
        item = await asyncio.wait_for(self._queue.get(), remaining)
        if isinstance(item, Exception):
            raise item
        return item

    # ------------------------------------------------------------------ runs
    async def rerun(self, triggers=(), values=(), page=None):
        """Send one ``rerun_script`` and wait until the run (and any ``st.rerun`` it asks for) has
        finished. ``triggers``: WidgetStates sent once (button presses); ``values``: WidgetStates
        kept for the widget's life. ``page``: a page title from the navigation (switches page).
        Returns the seconds from sending to the last ``script_finished``."""
        for state in values:
            self.widget_values[state.id] = state
        if page is not None:
            if page not in self.pages:
                raise ProtocolError(f"no page titled {page!r} (pages: {sorted(self.pages)})")
            self.page_hash = self.pages[page]
        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = ""
        cs.page_script_hash = self.page_hash
        cs.page_name = ""
        ci = cs.context_info
        ci.timezone = "UTC"
        ci.timezone_offset = 0
        ci.locale = self.locale
        ci.url = self.page_url
        ids = set()
        for state in list(triggers) + list(self.widget_values.values()):
            if state.id not in ids:
                ids.add(state.id)
                cs.widget_states.widgets.append(state)
        started = time.monotonic()
        await self._send(back)
        seconds = await self._wait_finished(started + self.timeout, started)
        self.runs += 1
        return seconds

    async def _wait_finished(self, deadline, started):
        page = Page()
        exceptions = []
        while True:
            try:
                msg = await self._next(deadline)
            except asyncio.TimeoutError:
                raise asyncio.TimeoutError(f"no script_finished within {self.timeout:g} s") from None
            which = msg.WhichOneof("type")
            if which == "delta":
                page.apply(msg)
                if msg.delta.WhichOneof("type") == "new_element" and msg.delta.new_element.WhichOneof("type") == "exception":
                    exc = msg.delta.new_element.exception
                    exceptions.append(f"{exc.type}: {exc.message}"[:300])
            elif which == "new_session":
                ns = msg.new_session
                if ns.initialize.session_id:
                    self.session_id = ns.initialize.session_id
                if ns.page_script_hash:
                    self.page_hash = ns.page_script_hash
                self._learn_pages(ns.app_pages)
            elif which == "navigation":
                self._learn_pages(msg.navigation.app_pages)
                if msg.navigation.page_script_hash:
                    self.page_hash = msg.navigation.page_script_hash
            elif which == "page_info_changed":
                self.page_url = self.url + "/" + (("?" + msg.page_info_changed.query_string)
                                                 if msg.page_info_changed.query_string else "")
            elif which == "script_finished":
                status = msg.script_finished
                if status == FINISHED_EARLY:  # st.rerun(): the next run replaces this one's page
                    page = Page()
                    continue
                self.page = page
                self.exceptions.extend(exceptions)
                if status == COMPILE_ERROR:
                    raise ProtocolError("script finished with a compile error")
                if exceptions:
                    raise ProtocolError("exception element: " + exceptions[0])
                alive = page.widget_ids()
                self.widget_values = {k: v for k, v in self.widget_values.items() if k in alive}
                return time.monotonic() - started
            elif which == "page_not_found":
                raise ProtocolError(f"page not found: {msg.page_not_found.page_name!r}")

    def _learn_pages(self, app_pages):
        for p in app_pages:
            if p.page_name and p.page_script_hash:
                self.pages[p.page_name] = p.page_script_hash

    # ------------------------------------------------------------------ user actions
    def find(self, kind, label, container=MAIN):
        widget = self.page.widget(kind, label, container)
        if widget is None:
            labels = [proto.label for _, proto in self.page.widgets(kind, container)]
            raise ProtocolError(f"no {kind} labelled {label!r} on the page (there are {labels})")
        return widget

    async def goto(self, title):
        return await self.rerun(page=title)

    async def click(self, label, container=MAIN):
        """Press the button whose label contains ``label``; a form submit button also sends the
        form's current widget values (text inputs given with ``type_text``)."""
        button = self.find("button", label, container)
        state = _state(button.id)
        state.trigger_value = True
        return await self.rerun(triggers=[state])

    def type_text(self, label, text, container=MAIN):
        """Set a text input's value for the next run (inside a form it is sent with the submit)."""
        box = self.find("text_input", label, container)
        state = _state(box.id)
        state.string_value = text
        self.widget_values[box.id] = state

    async def upload(self, label, name, data, mime="text/csv", container=MAIN):
        """Upload ``data`` through the uploader labelled ``label``, as the frontend does: ask for an
        upload URL, PUT the bytes, then rerun with the uploader's new state. Returns the seconds from
        the URL request to the end of the run the upload started."""
        uploader = self.find("file_uploader", label, container)
        started = time.monotonic()
        back = BackMsg()
        request_id = uuid.uuid4().hex
        back.file_urls_request.request_id = request_id
        back.file_urls_request.file_names.append(name)
        back.file_urls_request.session_id = self.session_id or ""
        await self._send(back)
        deadline = started + self.timeout
        while True:
            msg = await self._next(deadline)
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                break
        response = msg.file_urls_response
        if response.error_msg or not response.file_urls:
            raise ProtocolError(f"upload URL refused: {response.error_msg or 'no URL'}")
        urls = response.file_urls[0]
        status = await asyncio.to_thread(self._put, urls.upload_url, name, data, mime)
        if status not in (200, 204):
            raise ProtocolError(f"upload PUT answered {status}")
        state = _state(uploader.id)
        info = UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id,
                                file_urls=FileURLs(file_id=urls.file_id, upload_url=urls.upload_url,
                                                   delete_url=urls.delete_url))
        state.file_uploader_state_value.uploaded_file_info.append(info)
        await self.rerun(values=[state])
        return time.monotonic() - started

    def _put(self, upload_url, name, data, mime):
        boundary = "----loadtest" + uuid.uuid4().hex
        body = b"".join([
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode(),
            f"Content-Type: {mime}\r\n\r\n".encode(),
            data, f"\r\n--{boundary}--\r\n".encode(),
        ])
        target = upload_url if upload_url.startswith("http") else self.url + upload_url
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": self.url}
        if self.xsrf:
            headers["X-Xsrftoken"] = self.xsrf
            headers["Cookie"] = f"{XSRF_COOKIE}={self.xsrf}"
        request = urllib.request.Request(target, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def expect(self, text, where, container=MAIN):
        """Fail unless ``text`` is in the page's visible text (case-insensitive, as Playwright's
        ``get_by_text(exact=False)`` that the browser journey uses)."""
        body = self.page.text(container)
        if text.lower() not in body.lower():
            raise ProtocolError(f"{where}: {text!r} not shown; page: {body[:400]!r}".replace("\n", " | "))


def _state(widget_id):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState()
    state.id = widget_id
    return state


# ---------------------------------------------------------------------------------- the journey
async def journey(url, csv_bytes, csv_name, rows, reruns, index, timeout_s, record, delay=0.0, think=0.0):
    """One analyst, as ``run_load.journey`` does it in a browser: open the app, Data page, upload,
    confirm the label, Segments page, add a condition, save a segment, Model page, train, then
    ``reruns`` page switches Segments <-> Model on cached results. Fills ``record`` (same keys as the
    browser journey: ok, error, steps, reruns) and never raises.

    ``think``: mean seconds the analyst looks at the page before each action after the first
    (uniform between 0.5x and 1.5x, seeded by ``index`` so runs repeat); 0 = no pause at all (every
    session clicks again the moment its previous run has finished). Pauses are not in the step or
    rerun times."""
    import random

    await asyncio.sleep(delay)
    session = StreamlitSession(url, timeout=timeout_s)
    steps = record.setdefault("steps", {})
    rng = random.Random(index)
    paused = [0.0]

    async def pause():
        if think > 0:
            seconds = think * rng.uniform(0.5, 1.5)
            paused[0] += seconds
            await asyncio.sleep(seconds)

    try:
        t = time.monotonic()
        await session.connect()
        await session.rerun()  # the first run: home page, navigation, session id
        if "Data" not in session.pages:
            raise ProtocolError(f"no Data page in the navigation: {sorted(session.pages)}")
        steps["open"] = time.monotonic() - t

        steps["upload"] = 0.0
        await pause()
        steps["upload"] += await session.goto("Data")
        await pause()
        steps["upload"] += await session.upload("customer file", csv_name, csv_bytes)
        session.expect(f"{rows:,}", "upload")
        if session.page.widget("button", "Confirm this label"):  # training needs a confirmed label
            await pause()
            steps["upload"] += await session.click("Confirm this label")

        steps["segment"] = 0.0
        await pause()
        steps["segment"] += await session.goto("Segments")
        await pause()
        steps["segment"] += await session.click("Add condition")
        name = f"load{index}"
        session.type_text("Segment name", name)
        await pause()
        steps["segment"] += await session.click("Save segment")
        session.expect(f"Saved “{name}”", "save segment")

        steps["train"] = 0.0
        await pause()
        steps["train"] += await session.goto("Churn model")
        await pause()
        steps["train"] += await session.click("Train the model")
        session.expect("Model trained in", "train")

        record["reruns"] = []
        for i in range(reruns):
            title, marker = ("Segments", "Segment") if i % 2 == 0 else ("Churn model", "Grade ")
            await pause()
            seconds = await session.goto(title)
            session.expect(marker, f"rerun {i}")
            record["reruns"].append(round(seconds, 3))
        record["ok"] = True
    except Exception as exc:  # noqa: BLE001 - every failure is counted and described
        record["ok"] = False
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        record["error"] = f"{exc.__class__.__name__}: {text}"
    finally:
        steps.update({k: round(v, 2) for k, v in steps.items()})
        record["runs"] = session.runs
        record["think_s"] = round(paused[0], 1)
        record["mb_received"] = round(session.bytes_in / 2**20, 2)
        if session.exceptions:
            record["exceptions"] = session.exceptions[:3]
        try:
            await asyncio.wait_for(session.close(), 15)
        except Exception:  # noqa: BLE001
            pass


if __name__ == "__main__":  # one session against a running server: python ws_driver.py URL CSV [ROWS]
    import sys

    rec = {}
    csv = open(sys.argv[2], "rb").read()
    asyncio.run(journey(sys.argv[1], csv, "customers_load.csv", int(sys.argv[3]) if len(sys.argv) > 3 else 2000,
                        2, 0, 240.0, rec))
    print(json.dumps(rec, indent=1, ensure_ascii=False))
