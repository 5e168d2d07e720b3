"""Pure helpers of the opt-in load test (benchmarks/load): percentiles, session overlap, and how the
websocket driver reads a page out of ForwardMsg deltas. No server, no browser."""

import importlib.util
import sys
from pathlib import Path

import pytest

LOAD = Path(__file__).resolve().parents[1] / "benchmarks" / "load"


def _module(name):
    spec = importlib.util.spec_from_file_location(f"load_{name}", LOAD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_load():
    return _module("run_load")


@pytest.fixture(scope="module")
def ws_driver():
    return _module("ws_driver")


def test_percentile_nearest_rank(run_load):
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert run_load.percentile(values, 50) == 10.0
    assert run_load.percentile(values, 95) == 19.0
    assert run_load.percentile(values, 100) == 20.0
    assert run_load.percentile([3.0], 95) == 3.0
    assert run_load.percentile([], 95) is None


def test_max_overlap_counts_sessions_in_progress_together(run_load):
    sessions = [{"started_s": 0, "ended_s": 10}, {"started_s": 2, "ended_s": 4}, {"started_s": 5, "ended_s": 6},
                {"started_s": 10, "ended_s": 12}]
    assert run_load.max_overlap(sessions) == 2  # a session ending at 10 is not with one starting at 10


def test_max_overlap_is_per_burst(run_load):
    sessions = [{"started_s": 0, "ended_s": 5, "burst": 1}, {"started_s": 0, "ended_s": 5, "burst": 1},
                {"started_s": 0, "ended_s": 5, "burst": 2}]
    assert run_load.max_overlap(sessions) == 2


def test_summary_counts_failures_and_memory_against_the_warm_baseline(run_load):
    result = {"sessions": [{"ok": True, "reruns": [1.0, 2.0], "steps": {"train": 4.0}},
                           {"ok": False, "error": "TimeoutError: x", "reruns": [3.0], "steps": {"train": 6.0}}],
              "warm_baseline_mb": 400.0, "after_ttl_plus_mb": 460.0}
    summary = run_load.summarise(result)
    assert (summary["failures"], summary["failure_messages"]) == (1, ["TimeoutError: x"])
    assert (summary["reruns"], summary["rerun_p50_s"], summary["rerun_max_s"]) == (3, 2.0, 3.0)
    assert summary["step_p50_s"] == {"train": 4.0}
    assert summary["after_vs_warm_baseline_pct"] == 15.0


def _delta(path, kind, **fields):
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    element = getattr(msg.delta.new_element, kind)
    for name, value in fields.items():
        setattr(element, name, value)
    return msg


def test_page_finds_widgets_by_label_and_container(ws_driver):
    page = ws_driver.Page()
    page.apply(_delta([0, 0], "markdown", body="Rows loaded 2,000"))
    page.apply(_delta([0, 1], "button", id="b-main", label="Confirm this label"))
    page.apply(_delta([1, 0], "file_uploader", id="u-side", label="Restore a session"))
    page.apply(_delta([0, 2], "file_uploader", id="u-main", label="Upload a customer file"))
    assert page.widget("button", "Confirm").id == "b-main"
    assert page.widget("file_uploader", "customer file").id == "u-main"
    assert page.widget("file_uploader", "Restore") is None  # it is in the sidebar
    assert page.widget("file_uploader", "Restore", container=ws_driver.SIDEBAR).id == "u-side"
    assert page.text() == "Rows loaded 2,000\nConfirm this label\nUpload a customer file"
    assert page.widget_ids() == {"b-main", "u-side", "u-main"}


def test_a_later_delta_at_the_same_path_replaces_the_element(ws_driver):
    page = ws_driver.Page()
    page.apply(_delta([0, 3], "markdown", body="Training…"))
    page.apply(_delta([0, 3], "alert", body="Model trained in 2.1 s"))
    assert page.text() == "Model trained in 2.1 s"
