"""AppTest: the Churn model page in English and Chinese (one label from the workspace, refusal of an
unconfirmed label, training, the plain verdict equal to the model's metrics, every widget)."""

import json

import pytest

from churn_core.data.roles import detect_roles
from tests.app.conftest import ROOT, chart_specs, make_app, workspace_of
from tests.app.media import run_keeping_downloads

PAGE = "pages/5_model.py"
CHURN_MODELLING = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"

REFUSAL = {
    "en": "Confirm the churn label on the Data page first: do the customers with Exited = 1 really count as having left?",
    "zh": "请先在数据页确认流失标签：Exited = 1 的客户是否确实计为已流失？",
}
VERDICT = {
    "en": "The model ranks a leaver above a stayer {times} times in 100: grade {grade}, {use}.",
    "zh": "模型把流失客户排在留存客户之前的概率为每 100 次 {times} 次：评级 {grade}，{use}。",
}
USE = {"en": {"A": "ready to use", "B": "usable, check the lists by hand",
              "C": "not ready: check the data and the label"},
       "zh": {"A": "可以使用", "B": "可以使用，但名单需人工复核", "C": "尚不可用：请检查数据和标签"}}


def verdict(metrics, lang):
    return VERDICT[lang].format(times=int(round(100 * metrics["roc_auc"])), grade=metrics["grade"],
                                use=USE[lang][metrics["grade"]])


@pytest.fixture(scope="module")
def churn_modelling():
    from churn_core.data.ingest import load_file
    from studio.state import Dataset

    load = load_file(CHURN_MODELLING)
    return Dataset(load=load, roles=detect_roles(load.df))


def boxes(at):
    return [s.value for s in list(at.success) + list(at.info) + list(at.warning)]


# ------------------------------------------------------------------------------ before a model
@pytest.mark.parametrize("lang, text", [("en", "Load a customer table first"), ("zh", "请先加载客户数据")])
def test_needs_data(lang, text):
    at = make_app(PAGE, lang=lang).run()
    assert not at.exception
    assert any(text in i.value for i in at.info)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_label_asks_for_one_on_the_data_page_and_never_trains(sample_dataset, lang):
    from studio.state import Dataset

    no_label = Dataset(load=sample_dataset.load, roles=sample_dataset.roles.with_label(None, None))
    at = make_app(PAGE, dataset=no_label, lang=lang).run()
    assert not at.exception
    expected = {"en": "No churn label is chosen yet. Choose the column that says whether a customer left on "
                      "the Data page: the app never guesses it.",
                "zh": "尚未选择流失标签。请在数据页选择表示客户是否流失的列：本应用从不猜测标签。"}[lang]
    assert [i.value for i in at.info] == [expected]
    assert not [b for b in at.button if b.key == "model_train"]  # no way to train on a guessed column
    assert workspace_of(at).model_ is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shows_the_data_pages_label_and_the_gate(churn_modelling, lang):
    at = make_app(PAGE, dataset=churn_modelling, lang=lang).run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "model_label"]  # the label is chosen on the Data page only
    label = {"en": "Churn label: customers with **Exited = 1** count as having left (chosen on the Data page).",
             "zh": "流失标签：**Exited = 1** 的客户计为已流失（在数据页选择）。"}[lang]
    assert at.markdown[0].value == label
    unconfirmed = {"en": "The churn label **Exited = 1** has not been confirmed yet. Confirm it on the Data page "
                         "before training.",
                   "zh": "流失标签 **Exited = 1** 尚未确认。训练前请先在数据页确认。"}[lang]
    assert [w.value for w in at.warning] == [unconfirmed]
    metrics = [m.value for m in at.metric]
    assert metrics == ["10,000", "0", "2,037", "20.4%"]  # rows, no label, churners, churn rate
    excluded = at.dataframe[0].value.iloc[:, 0].tolist()
    assert excluded == ["RowNumber", "CustomerId", "Surname"]


# ------------------------------------------------------------------------------ training
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_refuses_an_unconfirmed_label_then_trains_once_confirmed(churn_modelling, lang):
    at = make_app(PAGE, dataset=churn_modelling, lang=lang, timeout=240).run()
    at.button(key="model_train").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [REFUSAL[lang]]
    ws = workspace_of(at)
    assert ws.model_ is None

    ws.label_confirmed = True  # what the Data page's "confirm" does
    at.button(key="model_train").click().run()
    assert not at.exception and not at.error
    model = ws.model_
    assert model is not None and model.label_ == "Exited"
    m = model.metrics_
    assert m["n_test"] == 2000 and m["grade"] == "A"
    assert verdict(m, lang) in boxes(at)
    assert f"{int(round(100 * m['roc_auc']))} " in verdict(m, lang)
    shown = {mm.label: mm.value for mm in at.metric}
    assert shown["ROC AUC"] == f"{m['roc_auc']:.3f}"
    assert shown["PR AUC"] == f"{m['pr_auc']:.3f}"
    assert shown[{"en": "Customers tested", "zh": "测试客户数"}[lang]] == "2,000"
    assert shown[{"en": "Trees", "zh": "树的数量"}[lang]] == str(model.n_trees_)  # an integer as an integer
    assert shown[{"en": "Calibration error (ECE)", "zh": "校准误差（ECE）"}[lang]] == f"{100 * m['ece']:.1f}%"


# ------------------------------------------------------------------------------ a trained model
@pytest.fixture(scope="module", params=["en", "zh"])
def trained(request, sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, lang=request.param)
    downloads = run_keeping_downloads(at)
    assert not at.exception
    return request.param, at, downloads


def test_verdict_comes_first_and_equals_the_metrics(trained, small_model):
    lang, at, _ = trained
    assert verdict(small_model.metrics_, lang) in boxes(at)
    base = int(round(100 * small_model.metrics_["baseline_roc_auc"]))
    assert any(f"{base} " in m.value for m in at.markdown)


def test_every_technical_metric_has_a_tooltip_in_both_languages(trained):
    lang, at, _ = trained
    advanced = {"en": ["ROC AUC", "PR AUC", "Brier score", "Calibration error (ECE)", "Baseline ROC AUC",
                       "Calibration", "Trees", "Tree depth"],
                "zh": ["ROC AUC", "PR AUC", "Brier 分数", "校准误差（ECE）", "基准模型 ROC AUC", "校准方法",
                       "树的数量", "树的深度"]}[lang]
    helps = {m.label: m.help for m in at.metric}
    for label in advanced:
        assert helps[label], label
    assert ("log-odds" if lang == "en" else "对数几率") in " ".join(c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}[advanced[5]] == {"en": "Platt scaling", "zh": "Platt 缩放"}[lang]
    expander = {"en": "Advanced: technical metrics", "zh": "高级：技术指标"}[lang]
    assert expander in [e.label for e in at.expander]


def test_charts_and_rates_as_percentages(trained, small_model):
    lang, at, _ = trained
    titles = [json.dumps(spec.get("title"), ensure_ascii=False) for spec in chart_specs(at)]
    assert any(f"AUC {small_model.metrics_['roc_auc']:.3f}" in x for x in titles)
    shown = {m.label: m.value for m in at.metric}
    rate = {"en": "Churn rate (test customers)", "zh": "流失率（测试客户）"}[lang]
    assert shown[rate] == f"{100 * small_model.metrics_['test_churn_rate']:.1f}%"


def test_cutoff_slider_moves_the_confusion_text(trained, small_model):
    from churn_core.modeling.metrics import compute_confusion

    lang, at, _ = trained
    at.slider(key="model_cutoff").set_value(20).run()
    assert not at.exception
    c = compute_confusion(small_model.test_y_, small_model.test_proba_, 0.2)
    text = " ".join(m.value for m in at.markdown)
    expected = {"en": f"{c['flagged']:,} customers flagged; {c['tp']:,} of them really left",
                "zh": f"共标记 {c['flagged']:,} 位客户，其中 {c['tp']:,} 位确实流失"}[lang]
    assert expected in text
    at.slider(key="model_cutoff").set_value(50).run()


def test_model_card_and_zip_download(trained, small_model):
    import io
    import zipfile

    lang, at, downloads = trained
    names = zipfile.ZipFile(io.BytesIO(downloads["model_download"])).namelist()
    assert "model.json" in names
    card = {"en": "Model card", "zh": "模型卡"}[lang]
    assert card in [e.label for e in at.expander]
    features = at.dataframe[-2].value  # the card's features, then its left-out columns
    assert len(features) == len(small_model.model_card()["features"])
