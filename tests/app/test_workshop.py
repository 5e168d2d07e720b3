"""Workshop page (AppTest, English and 简体中文): every step's Next sets the next page up and opens
it, Back and Reset work, and the reveal shows the planted drivers beside the model's."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.i18n import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/12_workshop.py"
# what a session keeps between pages (widget keys are per page)
CARRIED = ("lang", "workspace", "results", "segments", "workshop_step", "workshop_reveal", "_data_loaded_from")

# the title each step's page shows (other pages' titles read from the catalogues: their owners may
# reword them; the test still compares the exact text a user reads)
TITLE_KEYS = ["data.title", "segments.title", "model.title", "warning.title", "drivers.title", "simulator.title",
              "monitoring.winback.title", "workshop.title"]
TITLES = {lang: [load_catalogue(lang)[k] for k in TITLE_KEYS] for lang in ("en", "zh")}
SAMPLE = {"en": "customers.csv", "zh": "customers_zh_gbk.csv"}
SEGMENT = {"en": "Complained in the last 12 months", "zh": "近12个月有投诉的客户"}
LABEL = {"en": ("churned", 1), "zh": ("是否流失", "是")}
NEXT_DATA = {"en": "Next: set up and open the Data page", "zh": "下一步：准备并打开数据页面"}
DRIVERS = {
    "en": ["balance_change_3m_pct", "txn_this_quarter", "complaints_12m", "num_products", "digital_logins_90d",
           "satisfaction", "fees_paid_12m", "tenure_months", "rate_sensitivity"],
    "zh": ["近3月余额变化率", "本季交易笔数", "近12月投诉次数", "产品数", "近90天线上登录次数", "满意度",
           "近12月手续费", "开户月数", "利率敏感度"],
}
FOUND = {"en": "The model's top 5 drivers hold **4 of the 5** planted top drivers.",
         "zh": "模型的前5个原因包含了预设的前5个原因中的**4个**。"}
PLAN_TEXT = {
    "en": "The plan contacts 432 customers. Projected 90% interval: 15.8 to 43.1. The planted model expects "
          "48.0 to 69.0. In the replay, 449 customers leave without the plan and 396 with it.",
    "zh": "方案联系432名客户。预计的90%区间：15.8至43.1。预设模型的预期：48.0至69.0。在重演中，没有方案时有449名客户流失，"
          "有方案时为396名。",
}
METRICS = {"en": [("Projected saves", "27.2"), ("True expected saves", "58.5"), ("Saves in the replay", "53")],
           "zh": [("预计挽留", "27.2"), ("真实预期挽留", "58.5"), ("重演中的挽留", "53")]}


def open_workshop(lang="en", prev=None):
    """The Workshop page run in a session: a new one, or ``prev``'s state brought back to the page
    (as a user clicking Workshop in the sidebar)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if prev is None:
        at.session_state["lang"] = lang
    else:
        for key in CARRIED:
            if key in prev.session_state:
                at.session_state[key] = prev.session_state[key]
    at.switch_page(PAGE)
    return at.run()


def state(at, key, default=None):
    return at.session_state[key] if key in at.session_state else default


def assert_clean(at, where):
    assert [e.value for e in at.exception] == [], where
    assert [e.value for e in at.error] == [], where


def check_reveal(at, lang):
    frame = at.dataframe[0].value
    assert frame.iloc[:, 0].tolist() == DRIVERS[lang]
    assert frame.iloc[:, 1].tolist() == list(range(1, 10))
    assert frame.iloc[:, 3].tolist() == [1, 2, 3, 4, 6, 5, 7, 9, 11]
    assert frame.iloc[:, 2].tolist() == [0.864, 0.691, 0.569, 0.476, 0.394, 0.302, 0.239, 0.188, 0.139]
    markdown = [m.value for m in at.markdown]
    assert FOUND[lang] in markdown
    assert PLAN_TEXT[lang] in markdown
    assert [(m.label, m.value) for m in at.metric] == METRICS[lang]
    effects = at.dataframe[1].value
    assert effects.iloc[:, 1].tolist() == ["-3.90", "-2.30", "-3.75", "-4.25", "-5.00"]
    assert effects.iloc[:, 3].tolist() == ["-3.52", "-3.39", "-2.71", "-4.86", "-4.52"]
    assert effects.iloc[:, 2].tolist()[0] == "-6.0 … -1.8"
    # the replay saves more than the plan's interval: the verdict says the assumptions were cautious
    assert [i.value for i in at.info] == [load_catalogue(lang)["workshop.reveal.verdict.above"]]
    assert "more cautious than the true ones" in load_catalogue("en")["workshop.reveal.verdict.above"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tour_runs_start_to_finish_and_sets_up_every_page(lang):
    at = open_workshop(lang)
    assert_clean(at, "start")
    assert at.button(key="workshop_next").label == NEXT_DATA[lang]
    assert state(at, "workshop_step") == 0
    for i in range(8):
        at.button(key="workshop_next").click().run()
        assert_clean(at, f"step {i + 1}")
        assert at.title[0].value == TITLES[lang][i]
        assert state(at, "workshop_step") == min(i + 1, 7)
        ws = state(at, "workspace")
        results = state(at, "results", {})
        segments = state(at, "segments", {})
        # data: the sample of the language, its label confirmed
        assert ws.load_.source_name == SAMPLE[lang]
        assert (ws.roles_.label, ws.roles_.positive, ws.label_confirmed) == (*LABEL[lang], True)
        # segments from step 2 on
        assert list(segments) == ([SEGMENT[lang]] if i >= 1 else [])
        if i >= 1:
            assert int(segments[SEGMENT[lang]].mask(ws.df).sum()) == 5656
        # model from step 3 on (the fast workshop model)
        assert (ws.model_ is not None) == (i >= 2)
        if i >= 2:
            assert round(ws.model_.metrics_["roc_auc"], 4) == 0.8652
        # the plan from step 6 on, where the simulator and the board report read it
        assert ("last_plan" in results) == (i >= 5)
        if i >= 5:
            # the workshop's plan, and the simulator's (it opens on the same budget and stores what it shows)
            assert (results["last_plan"]["budget"], int(results["last_plan"]["targeted"])) == (50_000, 432)
            assert round(results["last_plan"]["expected_saved"], 2) == 27.25
            assert results["workshop_plan"]["plan"]["expected_saved_low"] == results["last_plan"]["expected_saved_low"]
        if i < 7:
            at = open_workshop(prev=at)
            assert_clean(at, f"back on the workshop after step {i + 1}")
    # the last Next reveals the truth on the workshop page itself
    assert state(at, "workshop_reveal") is True
    check_reveal(at, lang)


def workshop_at(lang, step):
    """The workshop page run in ``lang`` with ``workshop_step`` already set to ``step``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["workshop_step"] = step
    at.switch_page(PAGE)
    return at.run()


def test_back_goes_to_the_previous_step():
    at = workshop_at("en", step=3)
    assert at.subheader[0].value == "4. Early warning"
    assert at.get("progress")[0].proto.text == "Step 4 of 8"
    at.button(key="workshop_back").click().run()
    assert state(at, "workshop_step") == 2
    assert at.subheader[0].value == "3. The churn model"
    assert TITLES["en"][-1] == "Workshop mode" and TITLES["zh"][-1] == "培训工作坊模式"
    assert [e.value for e in at.exception] == []


def test_first_step_has_no_back_and_a_bad_step_starts_over():
    at = workshop_at("zh", step=42)
    assert state(at, "workshop_step") == 0
    assert at.subheader[0].value == "1. 数据"
    assert [b.key for b in at.button if b.key == "workshop_back"] == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reset_brings_back_the_starting_state(lang):
    at = open_workshop(lang)
    at.button(key="workshop_next").click().run()  # data
    at = open_workshop(prev=at)
    at.button(key="workshop_next").click().run()  # segment
    at = open_workshop(prev=at)
    assert state(at, "workspace").has_data and state(at, "segments") and state(at, "workshop_step") == 2
    at.session_state["results"] = {"last_plan": {"budget": 1}, "compare": {}}
    at.session_state["workshop_reveal"] = True
    at.button(key="workshop_reset").click().run()
    assert [e.value for e in at.exception] == []
    assert not state(at, "workspace").has_data
    assert state(at, "workspace").model_ is None
    assert state(at, "results", {}) == {}
    assert state(at, "segments", {}) == {}
    assert state(at, "workshop_step") == 0
    assert state(at, "workshop_reveal") is None
    assert state(at, "lang") == lang  # the language stays
    assert at.button(key="workshop_next").label == NEXT_DATA[lang]


def test_reveal_button_sets_everything_up_from_scratch():
    at = open_workshop("zh")
    assert len(at.dataframe) == 0  # nothing revealed yet
    at.button(key="workshop_reveal_button").click().run()
    assert_clean(at, "reveal")
    ws = state(at, "workspace")
    assert ws.load_.source_name == "customers_zh_gbk.csv" and ws.model_ is not None
    assert state(at, "workshop_step") == 0  # the tour itself did not move
    check_reveal(at, "zh")


def test_reveal_waits_for_the_sample_when_other_data_is_loaded():
    import pandas as pd

    from churn_core.data.ingest import load_file
    from churn_core.workspace import Workspace

    csv = pd.DataFrame({"tenure": [1, 2, 3, 4], "churned": [0, 1, 0, 1]}).to_csv(index=False).encode()
    ws = Workspace().set_history(load_file(csv, "my_bank.csv"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["workspace"] = ws
    at.session_state["workshop_reveal"] = True
    at.switch_page(PAGE)
    at.run()
    assert [e.value for e in at.exception] == []
    assert len(at.dataframe) == 0
    assert at.button(key="workshop_reveal_button").label == "Reveal the truth"
    assert state(at, "workspace").load_.source_name == "my_bank.csv"  # the user's data is untouched
