"""Save and restore a session: mapping, model, settings, segments and scenarios round-trip."""

import zipfile
import io

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis.segments import Condition, Segment
from churn_core.errors import ChurnCoreError
from churn_core.modeling.warning import TierConfig
from churn_core.sharing.session import read_session, restore_session, save_session
from churn_core.workspace import Workspace


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_path):
    tmp = tmp_path_factory.mktemp("session")
    path = tmp / "c.csv"
    pd.read_csv(sample_path).head(3000).to_csv(path, index=False)
    ws = Workspace.from_file(path)
    ws.train(n_estimators=20, random_state=0)
    return path, ws


def test_round_trip_restores_everything(trained):
    path, ws = trained
    ws.set_meanings(ws.meanings_.with_margin("balance", 0.02).with_flags("region", protected=True))
    ws.update_settings(tiers=TierConfig(high_capacity=123), currency="¥", objective="net_value")
    seg = Segment("Big balances", (Condition("balance", ">", 50000.0),), "and")
    data = save_session(ws, segments={"Big balances": seg}, scenarios=[{"name": "Q1", "budget": 1000}],
                        extra={"budget": 1000})
    fresh = Workspace.from_file(path)
    session = read_session(data)
    restore_session(fresh, session)
    assert fresh.meanings_.money()["balance"] == 0.02 and fresh.meanings_.is_protected("region")
    assert fresh.settings == ws.settings and fresh.settings.tiers.high_capacity == 123
    assert session.segments["Big balances"] == seg
    assert session.scenarios == [{"name": "Q1", "budget": 1000}] and session.extra == {"budget": 1000}
    assert np.allclose(fresh.proba("book"), ws.proba("book"))
    assert int((fresh.tiers() == "High").sum()) == 123


def test_restoring_on_another_file_names_the_file(trained, tmp_path, sample_path):
    _, ws = trained
    data = save_session(ws)
    other = tmp_path / "other.csv"
    pd.read_csv(sample_path).head(100).to_csv(other, index=False)
    with pytest.raises(ChurnCoreError, match=r"saved with another file \(c\.csv\)"):
        restore_session(Workspace.from_file(other), read_session(data))


def test_a_session_file_holds_no_customer_data(trained):
    path, ws = trained
    data = save_session(ws)
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(zf.namelist())
    assert names == ["model/booster.ubj", "model/evaluation.npz", "model/model.json", "session.json"]
    first_id = pd.read_csv(path)["customer_id"].iloc[0]
    assert first_id.encode() not in zf.read("session.json")


def test_not_a_session_file_is_one_clear_error():
    with pytest.raises(ChurnCoreError, match="not a Retention Studio session file"):
        read_session(b"PK\x03\x04 garbage")
    with pytest.raises(ChurnCoreError, match="not a Retention Studio session file"):
        read_session(b"hello")
