"""AppTest: the Churn drivers page in English and Chinese, on the sample and on Churn_Modelling.

One scale: the top sentence's points are the waterfall bar of the same driver, a customer's bars
add up to risk - base risk, and the reasons table quotes the same points. Every widget is driven.
"""

import re

import numpy as np
import pandas as pd
import pytest

from churn_core.analysis.segments import Condition, Segment
from churn_core.data.roles import detect_roles
from tests.app.conftest import ROOT, chart_rows, make_app, workspace_of
from tests.app.media import read_csv, run_keeping_downloads

PAGE = "pages/7_drivers.py"
CHURN_MODELLING = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"
POINTS = {"en": re.compile(r"(raises|lowers) the risk by (\d+) points?"),
          "zh": re.compile(r"流失风险(上升|下降)(\d+)个百分点")}
HEADERS = {"en": ["Customer id", "Churn risk (%)", "Value (per year)", "Risk tier", "Segments", "Reason 1",
                  "Reason 1 (percentage points)", "Reason 2", "Reason 2 (percentage points)", "Reason 3",
                  "Reason 3 (percentage points)"],
           "zh": ["客户编号", "流失风险（%）", "价值（每年）", "风险等级", "所属客群", "原因1", "原因1（百分点）",
                  "原因2", "原因2（百分点）", "原因3", "原因3（百分点）"]}


def _segments():
    return {"Complainers": Segment("Complainers", (Condition("complaints_12m", ">=", 2),)),
            "Happy": Segment("Happy", (Condition("satisfaction", ">=", 4),))}


def run(at):
    downloads = run_keeping_downloads(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return downloads


def waterfall(at):
    return next(r for r in chart_rows(at) if r and "effect" in r[0])


def sentences(at, lang):
    return [m.value for m in at.markdown if POINTS[lang].search(m.value)]


def everyone(at, lang):
    return next(d.value for d in at.dataframe if HEADERS[lang][0] in d.value.columns)


def check_one_scale(at, lang):
    """The shown customer: top sentence = its waterfall bar; bars sum to risk - base; table agrees."""
    ws = workspace_of(at)
    expl = ws.explanation("book")
    picked = at.selectbox(key="drivers_cust_pick").value.split(" · ")[0]
    book = ws.book().frame
    ids = book[ws.id_column].astype(str).to_numpy() if ws.id_column else np.array([str(i) for i in book.index])
    pos = int(np.flatnonzero(ids == picked)[0])
    rows = waterfall(at)
    base, final = rows[0]["end"], rows[-1]["end"]
    assert base == pytest.approx(100 * expl.base_risk)
    assert final == pytest.approx(100 * expl.proba[pos])
    assert sum(r["points"] for r in rows[1:-1]) == pytest.approx(final - base, abs=1e-6)
    # the bars as shown (one decimal each) add up to the move to within their rounding
    shown = [round(r["points"], 1) for r in rows[1:-1]]
    assert sum(shown) == pytest.approx(final - base, abs=0.05 * len(shown) + 1e-9)
    reasons = ws.reasons("book", lang=lang, rows=ws.book().frame.index[[pos]]).iloc[0]
    first = sentences(at, lang)[0]
    assert first.startswith("1\\. ")
    driver = reasons["driver_1"]
    feature = expl.features[list(expl.columns).index(driver)]
    bar = next(r for r in rows if r["label"].split(" ", 1)[1].startswith(f"{feature} = "))
    assert bar["points"] == pytest.approx(reasons["points_1"], abs=1e-9)
    assert int(POINTS[lang].search(first).group(2)) == int(np.floor(abs(bar["points"]) + 0.5))
    assert np.sign(bar["points"]) == (1 if final > base else -1)
    return pos, reasons


# ------------------------------------------------------------------------------ sample, en and zh
@pytest.fixture(scope="module", params=["en", "zh"])
def sample_page(request, sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=180, lang=request.param,
                  segments=_segments())
    downloads = run(at)
    return request.param, at, downloads


def test_acts_on_the_book_and_says_how_many(sample_page, sample_dataset):
    lang, at, _ = sample_page
    df = sample_dataset.df
    latest = df["snapshot_date"].astype(str) == df["snapshot_date"].astype(str).max()
    n = int((latest & (df["churned"] != 1)).sum())
    assert len(workspace_of(at).book()) == n
    snap = pd.Timestamp(df["snapshot_date"].astype(str).max()).date().isoformat()
    expected = {"en": f"Acting on the customers who have not left at the latest snapshot ({snap}): {n:,} customers.",
                "zh": f"作用对象：最新快照（{snap}）中尚未流失的客户，共{n:,}位。"}[lang]
    assert at.info[0].value == expected


def test_top_sentence_equals_the_waterfall_bar_and_bars_add_up(sample_page):
    lang, at, _ = sample_page
    check_one_scale(at, lang)


def test_protected_attributes_are_out_of_reasons_with_a_visible_note(sample_page):
    lang, at, _ = sample_page
    note = {"en": "Protected attributes are left out of the reasons: age, gender. They still count in the risk "
                  "and in the charts.",
            "zh": "受保护属性不作为原因列出：age、gender。它们仍计入风险和图表。"}[lang]
    captions = [c.value for c in at.caption]
    assert note.replace("age、gender", "age, gender") in captions
    drivers = workspace_of(at).reasons("book", lang=lang)[["driver_1", "driver_2", "driver_3"]]
    assert not drivers.isin(["age", "gender"]).any().any()
    at.toggle(key="drivers_protected").set_value(True)
    run(at)
    assert any(c.value.startswith({"en": "Protected attributes are included", "zh": "原因中包含受保护属性"}[lang])
               for c in at.caption)
    table = everyone(at, lang)
    reasons = " ".join(table[HEADERS[lang][5]].tolist() + table[HEADERS[lang][7]].tolist())
    assert "age" in reasons.lower() or "年龄" in reasons
    at.toggle(key="drivers_protected").set_value(False)
    run(at)


def test_reasons_for_everyone_riskiest_first_with_translated_headers_and_full_export(sample_page):
    lang, at, downloads = sample_page
    ws = workspace_of(at)
    table = everyone(at, lang)
    n = len(ws.book())
    assert list(table.columns) == HEADERS[lang]
    assert len(table) == 1000  # on screen; the download holds all
    risk = [float(v.rstrip("%")) for v in table[HEADERS[lang][1]]]
    assert risk == sorted(risk, reverse=True)
    full = read_csv(downloads["dl_csv_churn_reasons"])
    assert list(full.columns) == HEADERS[lang] and len(full) == n
    top = int(np.argmax(ws.explanation("book").proba))
    assert full.iloc[0, 0] == str(ws.book().frame[ws.id_column].iloc[top])
    assert float(full.iloc[0, 1]) == round(100 * float(ws.explanation("book").proba[top]), 1)
    reasons = ws.reasons("book", lang=lang).iloc[top]
    assert full.iloc[0, 5] == reasons["reason_1"]
    assert float(full.iloc[0, 6]) == round(reasons["points_1"], 2)
    seg = full[HEADERS[lang][4]]
    complainers = int((ws.book().frame["complaints_12m"] >= 2).sum())
    assert int(seg.str.contains("Complainers").sum()) == complainers


def test_everyone_tier_and_segment_filters_use_the_shared_tiers(sample_page):
    lang, at, _ = sample_page
    ws = workspace_of(at)
    high = {"en": "High", "zh": "高"}[lang]
    at.multiselect(key="drivers_all_tier").select(high)
    run(at)
    n_high = int((ws.tiers() == "High").sum())
    count = {"en": f"{n_high:,} customers match;", "zh": f"共{n_high:,}位客户符合条件"}[lang]
    assert any(c.value.startswith(count) for c in at.caption)
    assert set(everyone(at, lang)[HEADERS[lang][3]]) == {high}
    at.selectbox(key="drivers_all_seg").select("Complainers")
    run(at)
    book = ws.book().frame
    both = int(((ws.tiers() == "High").to_numpy() & (book["complaints_12m"] >= 2).to_numpy()).sum())
    assert len(everyone(at, lang)) == min(both, 1000)
    at.multiselect(key="drivers_all_tier").unselect(high)
    at.selectbox(key="drivers_all_seg").select(at.selectbox(key="drivers_all_seg").options[0])
    run(at)


def test_customer_filters_search_segment_tier_and_risk(sample_page):
    lang, at, _ = sample_page
    ws = workspace_of(at)
    book = ws.book().frame
    ids = book["customer_id"].astype(str)
    at.text_input(key="drivers_search").input("c0001")
    run(at)
    n = int(ids.str.contains("c0001", case=False).sum())
    found = {"en": f"{n:,} customers match; the {min(n, 50)} riskiest are listed.",
             "zh": f"共{n:,}位客户符合条件；列出风险最高的{min(n, 50)}位。"}[lang]
    assert found in [c.value for c in at.caption]
    check_one_scale(at, lang)
    at.text_input(key="drivers_search").input("")
    at.selectbox(key="drivers_cust_seg").select("Happy")
    at.multiselect(key="drivers_cust_tier").select({"en": "Medium", "zh": "中"}[lang])
    at.slider(key="drivers_cust_score").set_value((10, 90))
    run(at)
    p = ws.explanation("book").proba * 100
    keep = ((book["satisfaction"] >= 4).to_numpy() & (ws.tiers() == "Medium").to_numpy() & (p >= 10) & (p <= 90))
    n = int(keep.sum())
    found = {"en": f"{n:,} customers match;", "zh": f"共{n:,}位客户符合条件"}[lang]
    assert any(c.value.startswith(found) for c in at.caption)
    if n:
        picks = at.selectbox(key="drivers_cust_pick").options
        at.selectbox(key="drivers_cust_pick").select(picks[-1])
        run(at)
        check_one_scale(at, lang)
    at.text_input(key="drivers_search").input("no such customer")
    run(at)
    assert {"en": "No customer matches these filters.", "zh": "没有符合这些条件的客户。"}[lang] in [
        i.value for i in at.info]
    at.text_input(key="drivers_search").input("")
    at.selectbox(key="drivers_cust_seg").select(at.selectbox(key="drivers_cust_seg").options[0])
    at.multiselect(key="drivers_cust_tier").set_value([])
    at.slider(key="drivers_cust_score").set_value((0, 100))
    run(at)


def test_global_views_actionable_toggle_dependence_and_interactions(sample_page):
    lang, at, _ = sample_page
    rows = chart_rows(at)
    assert all(len(r) <= 5000 for r in rows)
    assert rows[0][0]["feature"] == "balance_change_3m_pct"
    at.toggle(key="drivers_actionable").set_value(True)
    run(at)
    table = next(d.value for d in at.dataframe if {"en": "Kind", "zh": "类型"}[lang] in d.value.columns)
    assert set(table[{"en": "Kind", "zh": "类型"}[lang]]) == {{"en": "Actionable", "zh": "可干预"}[lang]}
    at.toggle(key="drivers_actionable").set_value(False)
    dep = at.selectbox(key="drivers_dep_feature")
    dep.select(dep.options[2])
    at.toggle(key="drivers_interactions").set_value(True)
    run(at)
    pairs = [r for r in chart_rows(at) if r and "mean_abs_interaction" in r[0]]
    assert len(pairs) == 1 and len(pairs[0]) == 10
    at.toggle(key="drivers_interactions").set_value(False)
    run(at)


def test_segment_views_and_comparison_in_points(sample_page):
    lang, at, _ = sample_page
    at.selectbox(key="drivers_seg").select("Complainers")
    at.selectbox(key="drivers_cmp_a").select("Complainers")
    at.selectbox(key="drivers_cmp_b").select("Happy")
    run(at)
    start = {"en": "Complainers\\: mean churn risk", "zh": "Complainers"}[lang]
    words = [m.value for m in at.markdown if m.value.startswith(start) and "complaints\\_12m" in m.value]
    assert len(words) == 1
    at.selectbox(key="drivers_cmp_b").select("Complainers")
    run(at)
    assert {"en": "Pick two different segments.", "zh": "请选择两个不同的客群。"}[lang] in [i.value for i in at.info]


def test_a_segment_saved_later_reaches_the_export(sample_page):
    lang, at, _ = sample_page
    segments = dict(at.session_state["segments"])
    at.session_state["segments"] = {**segments, "Many products": Segment(
        "Many products", (Condition("num_products", ">=", 5),))}
    downloads = run(at)
    full = read_csv(downloads["dl_csv_churn_reasons"])
    many = int((workspace_of(at).book().frame["num_products"] >= 5).sum())
    assert many > 0 and int(full[HEADERS[lang][4]].str.contains("Many products").sum()) == many
    at.session_state["segments"] = segments
    run(at)


def test_a_segment_of_another_file_shows_a_translated_error_not_a_crash(sample_dataset, small_model):
    stale = {"Old file": Segment("Old file", (Condition("no_such_column", ">=", 1),))}
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=180, segments=stale)
    at.run()
    assert not at.exception
    at.selectbox(key="drivers_cust_seg").select("Old file")
    at.selectbox(key="drivers_all_seg").select("Old file")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Column no\\_such\\_column is not in the data."] * 3  # filters of both lists and the segment tab
    assert everyone(at, "en").shape[0] == 1000  # the filter that cannot apply filters nothing


def test_chinese_titles_and_sentences(sample_page):
    lang, at, _ = sample_page
    if lang != "zh":
        pytest.skip("Chinese only")
    assert at.title[0].value == "流失原因"
    assert [tab.label for tab in at.tabs] == ["全体客户", "单个客户", "客群", "全部客户的原因"]
    assert all("，流失风险" in s for s in sentences(at, "zh"))


def test_without_a_model_points_to_the_model_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    assert not at.exception
    assert [i.value for i in at.info] == ["Train the churn model first on the Churn model page."]


# ------------------------------------------------------------------------------ Churn_Modelling
@pytest.fixture(scope="module")
def churn_modelling():
    from churn_core.data.ingest import load_file
    from churn_core.modeling.model import ChurnModel
    from studio.state import Dataset

    load = load_file(CHURN_MODELLING)
    dataset = Dataset(load=load, roles=detect_roles(load.df))
    return dataset, ChurnModel(random_state=0, cv_folds=0).fit(dataset.df, dataset.roles)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_churn_modelling_one_scale_and_full_export(churn_modelling, lang):
    dataset, model = churn_modelling
    at = make_app(PAGE, dataset=dataset, model=model, timeout=180, lang=lang)
    downloads = run(at)
    ws = workspace_of(at)
    assert len(ws.book()) == 7963  # the 10,000 customers minus the 2,037 who left
    pos, reasons = check_one_scale(at, lang)
    assert reasons["points_1"] > 0  # the riskiest customer: what raises the risk
    full = read_csv(downloads["dl_csv_churn_reasons"])
    assert len(full) == 7963 and list(full.columns) == HEADERS[lang]
    assert not full[HEADERS[lang][5]].str.contains("Gender|Age").any()  # protected, by default
    points = ws.explanation("book").points()
    move = 100 * (ws.explanation("book").proba - ws.base_risk())
    assert np.allclose(points.sum(axis=1), move, atol=1e-6)
