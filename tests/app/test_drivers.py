"""Drivers page: global views, one customer, segments, reasons for everyone (en and zh)."""

import pytest

from churn_core.analysis.segments import Condition, Segment
from tests.app.conftest import chart_rows, make_app

PAGE = "pages/7_drivers.py"


def _segments():
    return {"Complainers": Segment("Complainers", (Condition("complaints_12m", ">=", 2),)),
            "Happy": Segment("Happy", (Condition("satisfaction", ">=", 4),))}


@pytest.fixture(scope="module")
def page(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=180, segments=_segments())
    at.run()
    assert not at.exception, at.exception
    return at


def test_explanation_is_computed_once_and_cached(page, small_model, sample_dataset):
    results = page.session_state["results"]
    keys = [k for k in results if k.startswith("explanation:")]
    assert len(keys) == 1
    expl = results[keys[0]]
    assert len(expl) == 20_000
    assert results["explanation"] is expl
    page.run()  # a rerun reuses it
    assert page.session_state["results"][keys[0]] is expl


def test_global_charts_stay_under_5000_points(page):
    rows = chart_rows(page)
    assert all(len(r) <= 5000 for r in rows)
    importance = rows[0]
    assert importance[0]["feature"] == "balance_change_3m_pct"
    assert {r["feature"] for r in importance[:3]} == {"balance_change_3m_pct", "txn_this_quarter",
                                                      "complaints_12m"}
    assert len(rows[1]) == 5000  # beeswarm: 10 drivers x 500 customers


def test_one_customer_shows_waterfall_and_reasons_in_both_languages(page):
    texts = [m.value for m in page.markdown]
    english = [s for s in texts if " raises the risk by " in s]
    chinese = [s for s in texts if "，流失风险上升" in s]
    assert 1 <= len(english) <= 3 and 1 <= len(chinese) <= 3
    assert english[0].startswith("1. ")
    waterfall = next(r for r in chart_rows(page) if r and "effect" in r[0])
    assert waterfall[0]["label"] == "00 Base risk"
    assert waterfall[-1]["label"].endswith("This customer")
    base, final = waterfall[0]["end"], waterfall[-1]["end"]
    steps = sum(r["points"] for r in waterfall[1:-1])
    assert steps == pytest.approx(final - base, abs=1e-6)


def test_customer_search_by_id(page):
    page.text_input(key="drivers_search").input("C000001").run()
    assert not page.exception
    caption = next(c.value for c in page.caption if "customers match" in c.value)
    assert caption == "1 customers match; the 1 riskiest are listed."
    page.text_input(key="drivers_search").input("c00010").run()  # C000100..C000109
    caption = next(c.value for c in page.caption if "customers match" in c.value)
    assert caption == "10 customers match; the 10 riskiest are listed."
    page.text_input(key="drivers_search").input("").run()


def test_segment_views_and_comparison_in_words(page):
    page.selectbox(key="drivers_cmp_a").select("Complainers")
    page.selectbox(key="drivers_cmp_b").select("Happy").run()
    assert not page.exception
    words = [m.value for m in page.markdown if m.value.startswith("Complainers: mean churn risk")]
    assert len(words) == 1
    assert "points higher" in words[0] and "complaints_12m" in words[0]


def test_reasons_for_everyone(page):
    page.button(key="drivers_all_run").click().run()
    assert not page.exception
    table = next(d.value for d in page.dataframe if "reason_1" in d.value.columns)
    assert len(table) == 1000
    assert list(table.columns[:4]) == ["customer_id", "reason_1", "reason_2", "reason_3"]


def test_page_in_chinese(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=180, lang="zh",
                  segments=_segments())
    at.run()
    assert not at.exception
    assert at.title[0].value == "流失驱动因素"
    assert [tab.label for tab in at.tabs] == ["全体客户", "单个客户", "客群", "全部客户的原因"]


def test_page_without_model_points_to_the_model_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    assert not at.exception
    assert len(at.info) == 1


def test_big_table_path_uses_a_sample_and_explains_one_customer_on_the_fly(sample_dataset, small_model):
    at = make_app(PAGE, dataset=sample_dataset, model=small_model, timeout=180, segments=_segments())
    at.session_state["drivers_full_limit"] = 4000
    at.run()
    assert not at.exception, at.exception
    assert any("stratified sample of 4,000 of the 20,000" in i.value for i in at.info)
    expl = at.session_state["results"]["explanation"]
    assert len(expl) == 4000
    # the search still covers every customer, not only the sample
    at.text_input(key="drivers_search").input("c00010").run()
    caption = next(c.value for c in at.caption if "customers match" in c.value)
    assert caption == "10 customers match; the 10 riskiest are listed."
    assert any(" raises the risk by " in m.value for m in at.markdown)
