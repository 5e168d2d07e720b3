"""What a page offers for download in an AppTest: the bytes behind each download button.

AppTest keeps downloads in an in-memory media store it creates for each run and does not expose;
:func:`run_keeping_downloads` runs the app with a store that remembers itself and returns
``{button key: bytes}`` (the key given to ``st.download_button``, e.g. ``dl_csv_warning_watch_list``).
"""

import io
from unittest.mock import patch

import pandas as pd
import streamlit.testing.v1.app_test as _app_test
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage


class _KeptStorage(MemoryMediaFileStorage):
    last = None

    def __init__(self, media_endpoint):
        super().__init__(media_endpoint)
        _KeptStorage.last = self


def run_keeping_downloads(at, timeout=None):
    """Run ``at`` and return ``{key: bytes}`` of every download button on the page."""
    with patch.object(_app_test, "MemoryMediaFileStorage", _KeptStorage):
        at.run(timeout=timeout)
    out = {}
    for button in at.get("download_button"):
        key = button.proto.id.split("-", 2)[-1]
        out[key] = _KeptStorage.last.get_file(button.proto.url.rsplit("/", 1)[-1]).content
    return out


def read_csv(data):
    """A downloaded CSV (UTF-8 with BOM) as a DataFrame, every cell as text."""
    assert data[:3] == b"\xef\xbb\xbf", "CSV downloads start with a UTF-8 BOM"
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
