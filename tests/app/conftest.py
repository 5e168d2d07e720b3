"""AppTest helpers: run any page through app.py with the sample (and a small model) in session."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "customers.csv"


@pytest.fixture(scope="session")
def sample_dataset():
    """The bundled sample loaded and role-detected once for the whole test session."""
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from studio.state import Dataset

    load = load_file(SAMPLE)
    return Dataset(load=load, roles=detect_roles(load.df))


@pytest.fixture(scope="session")
def small_model(sample_dataset):
    """A churn model trained once on the sample (shared by every page test)."""
    from churn_core.modeling.model import ChurnModel

    return ChurnModel(random_state=0).fit(sample_dataset.df, sample_dataset.roles)


def make_app(page, *, dataset=None, model=None, lang="en", timeout=60, results=None, segments=None):
    """An AppTest of ``app.py`` opened on ``page`` (e.g. ``"pages/5_model.py"``), not yet run.

    ``dataset`` / ``model`` (from the fixtures above) are put in session state the way the app
    keeps them, so a page test starts where a user who loaded data (and trained) would be.
    """
    from churn_core.workspace import Workspace

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["lang"] = lang
    if dataset is not None:
        ws = Workspace().set_history(dataset.load, roles=dataset.roles)
        if model is not None:
            ws.set_model(model)
        at.session_state["workspace"] = ws
    at.session_state["results"] = dict(results or {})
    at.session_state["segments"] = dict(segments or {})
    at.switch_page(page)
    return at


def dataset_of(at):
    """The session's dataset view (load, roles, meanings) after a run, or None."""
    from studio.state import Dataset

    ws = at.session_state["workspace"] if "workspace" in at.session_state else None
    if ws is None or not ws.has_data:
        return None
    return Dataset(load=ws.load_, roles=ws.roles_, meanings=ws.meanings_)


def workspace_of(at):
    return at.session_state["workspace"]


def _charts(at):
    # Altair charts are "vega_lite_chart" elements in Streamlit 1.67 ("arrow_vega_lite_chart" before)
    return list(at.get("vega_lite_chart")) + list(at.get("arrow_vega_lite_chart"))


def chart_specs(at):
    """Vega-Lite specs of the page's Altair charts (AppTest shows them as UnknownElement)."""
    import json

    return [json.loads(el.proto.spec) for el in _charts(at)]


def chart_rows(at):
    """Rows (dicts) of each chart's data: Streamlit ships them as Arrow next to the spec."""
    import pyarrow as pa

    out = []
    for el in _charts(at):
        rows = []
        for named in el.proto.datasets:
            rows += pa.ipc.open_stream(named.data.data).read_all().to_pylist()
        out.append(rows)
    return out


def chart_frames(at):
    """One DataFrame per dataset shipped with the page's charts, in order."""
    import pyarrow as pa

    return [pa.ipc.open_stream(named.data.data).read_pandas() for el in _charts(at) for named in el.proto.datasets]
