"""The CLI speaks the one scale of points: ``scores.csv`` points and ``metrics.json`` base risk."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from churn_core import explain
from churn_core.cli import main
from churn_core.modeling.model import ChurnModel


@pytest.fixture(scope="module")
def trained(tmp_path_factory, churn_modelling_path):
    """``train`` once on the first 3,000 customers of the shared Churn_Modelling file."""
    tmp = tmp_path_factory.mktemp("explain_cli")
    df = pd.read_csv(churn_modelling_path).head(3000)
    path = tmp / "customers.csv"
    df.to_csv(path, index=False)
    out = tmp / "model"
    assert main(["train", str(path), "--out", str(out)]) == 0
    model = ChurnModel.load(out)
    scores = pd.read_csv(out / "scores.csv")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return df, model, scores, metrics


def test_metrics_base_risk_is_the_explanation_base_risk(trained):
    df, model, _, metrics = trained
    expl = explain.compute_explanation(model, df)
    assert metrics["base_risk"] == round(expl.base_risk, 6)
    assert metrics["base_risk"] == round(float(model.proba_from_margin(np.array([expl.base_value]))[0]), 6)


def _whole_points(sentence):
    if not isinstance(sentence, str) or not sentence:
        return None
    if "less than 1 point" in sentence:
        return 0
    return int(re.search(r"by (\d+) points?$", sentence).group(1))


def test_scores_points_agree_with_sentences_and_the_waterfall(trained):
    df, model, scores, metrics = trained
    expl = explain.compute_explanation(model, df)
    by_id = scores.set_index("CustomerId").loc[df["CustomerId"]]
    assert (by_id["reason_1"].fillna("") != "").all()  # above the base: raises; below: protects
    above = expl.proba > metrics["base_risk"]
    assert (by_id.loc[above, "points_1"] > 0).all()
    assert (by_id.loc[~above, "points_1"] < 0).all()
    for j in (1, 2, 3):
        reason = by_id[f"reason_{j}"].fillna("")
        pts = by_id[f"points_{j}"]
        has = reason != ""
        assert pts[~has].isna().all()
        shown = reason[has].map(_whole_points).to_numpy()
        # the CSV's 2-decimal points rounded half up are the sentence's number, every row
        assert (shown == np.floor(pts[has].abs().to_numpy() + 0.5)).all()
        assert (reason[has].str.contains(" raises the risk by ") == (pts[has] > 0)).all()
        assert not reason.str.contains(r"^Age |^Gender ").any()
    # the riskiest customer's first number is its bar in the waterfall
    top = int(np.argmax(expl.proba))
    wf = explain.compute_waterfall(expl, top, top=expl.n_features)
    bars = wf[wf["kind"] == "driver"]["points"]
    assert np.abs(bars.to_numpy() - by_id["points_1"].iloc[top]).min() < 0.005
    assert wf["points"][wf["kind"].isin(["driver", "other"])].sum() == pytest.approx(
        100 * (expl.proba[top] - expl.base_risk), abs=1e-9)
