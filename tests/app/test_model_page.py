"""AppTest: the Churn model page (gate report, training with progress, evaluation, model card)."""

import json

import pandas as pd
import pytest

from tests.app.conftest import ROOT, SAMPLE, chart_specs, make_app, workspace_of

PAGE = "pages/5_model.py"


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """3,000 sample customers: enough to train in a few seconds inside AppTest."""
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import detect_roles
    from studio.state import Dataset

    path = tmp_path_factory.mktemp("model_page") / "small.csv"
    pd.read_csv(SAMPLE).head(3000).to_csv(path, index=False)
    load = load_file(path)
    return Dataset(load=load, roles=detect_roles(load.df))


def test_needs_data():
    at = make_app(PAGE).run()
    assert not at.exception
    assert any("Load a customer table first" in i.value for i in at.info)


def test_gate_report_before_training(small_dataset):
    at = make_app(PAGE, dataset=small_dataset).run()
    assert not at.exception
    assert at.selectbox(key="model_label").value == "churned"
    assert "**churned = 1** count as churned" in " ".join(m.value for m in at.markdown)
    rows = {m.label: m.value for m in at.metric}
    assert rows["Rows"] == "3,000"
    assert rows["Rows without a label"] == "0"
    excluded = at.dataframe[0].value
    assert excluded["Column"].tolist() == ["customer_id", "snapshot_date"]
    assert any("Train the model" in i.value for i in at.info)


def test_train_button_trains_and_evaluates(small_dataset):
    at = make_app(PAGE, dataset=small_dataset, timeout=180).run()
    at.button(key="model_train").click().run()
    assert not at.exception
    model = workspace_of(at).model_
    assert model is not None and model.metrics_["n_test"] == 600
    labels = [m.label for m in at.metric]
    assert "ROC AUC" in labels and "Calibration error (ECE)" in labels
    assert any(s.value.startswith("Grade ") for s in list(at.success) + list(at.info) + list(at.warning))
    titles = [json.dumps(spec.get("title")) for spec in chart_specs(at)]
    assert any("ROC curve" in x for x in titles)
    assert any("Predicted vs observed churn" in x for x in titles)


def test_evaluation_with_trained_model_in_chinese(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang="zh").run()
    assert not at.exception
    auc = f"{small_model.metrics_['roc_auc']:.3f}"
    assert {m.label: m.value for m in at.metric}["ROC AUC"] == auc
    assert any("评级" in s.value for s in list(at.success) + list(at.info) + list(at.warning))
    specs = chart_specs(at)
    assert all(len(next(iter(s.get("datasets", {"x": []}).values()), [])) <= 5000 for s in specs)


def test_cutoff_slider_moves_confusion(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model).run()
    at.slider(key="model_cutoff").set_value(0.2).run()
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    from churn_core.modeling.metrics import compute_confusion

    c = compute_confusion(small_model.test_y_, small_model.test_proba_, 0.2)
    assert f"{c['flagged']:,} customers flagged; {c['tp']:,} of them really left" in texts
