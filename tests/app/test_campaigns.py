"""AppTest of the Past campaigns page on the bundled sample."""


import json

import pytest

from tests.app.conftest import make_app

PAGE = "pages/9_campaigns.py"


def table_with(at, column):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture(scope="module")
def measured(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=180)
    at.run()
    assert not at.exception
    at.button(key="campaigns_run").click().run()
    return at


def test_page_without_data_asks_for_it():
    at = make_app(PAGE, timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Past campaigns"
    assert "Load the customer table first" in at.info[0].value


def test_defaults_pick_the_sample_campaign(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    assert not at.exception
    assert at.selectbox(key="campaigns_treatment").value == "arm"
    assert at.selectbox(key="campaigns_control_arm").value == "control"
    assert at.selectbox(key="campaigns_outcome").value == "churned"
    assert "12,000 campaign customers joined; 0 without a customer record." in [
        c.value for c in at.caption]


def test_sample_run_shows_arms_and_effects(measured):
    at = measured
    assert not at.exception
    assert "6 arms: control and 5 offers." in [c.value for c in at.caption]
    arms = at.dataframe[0].value
    assert arms["Customers"].tolist() == [2000] * 6
    assert arms["Arm"].tolist()[0] == "control"
    sentences = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert "- cross_sell cuts churn by 5.0 points (95% interval 3.0 to 7.0 points)." in sentences
    effects = table_with(at, "Rate with offer (%)")
    assert effects.set_index("Offer").loc["rm_call", "Benefit (points)"] == 4.25
    assert any("the split looks random" in s.value for s in at.success)


def test_charts_are_aggregated(measured):
    import pyarrow as pa

    charts = measured.get("vega_lite_chart")
    assert len(charts) == 2
    rows = [sum(pa.ipc.open_stream(d.data.data).read_all().num_rows for d in c.proto.datasets)
            for c in charts]
    assert rows[0] == 5 + 1  # one point per offer + the zero line
    assert 5 * 2 < rows[1] <= 5 * 101 + 2  # five curves of <= 101 points + the random line
    titles = [json.loads(c.proto.spec)["layer"][0]["encoding"]["x"]["title"]
              if "layer" in json.loads(c.proto.spec) else
              json.loads(c.proto.spec)["encoding"]["x"]["title"] for c in charts]
    assert titles == ["Benefit (points, 95% interval)", "Share of customers targeted (best first)"]


def test_segment_effects_by_column(measured):
    at = measured
    at.selectbox(key="campaigns_seg_col").set_value("complaints_12m").run()
    at.selectbox(key="campaigns_seg_val_complaints_12m").set_value("0").run()
    assert not at.exception
    assert any(c.value.startswith("complaints_12m = 0:") for c in at.caption)


def test_use_in_simulator_stores_the_result(measured):
    at = measured
    at.button(key="campaigns_use").click().run()
    assert not at.exception
    stored = at.session_state["results"]["uplift"]
    assert sorted(stored.offers_names_) == ["cross_sell", "fee_waiver", "loyalty_points",
                                            "rate_bonus", "rm_call"]
    assert any("measured effects for" in s.value for s in at.success)


def test_power_calculator(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.number_input(key="campaigns_design_rate").set_value(10.0)
    at.number_input(key="campaigns_design_change").set_value(5.0).run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["686"]


def test_assignment_download(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.text_input[0].set_value("control, rm_call")
    at.button[-1].click().run()  # the form's submit button
    assert not at.exception
    counts = at.dataframe[-1].value
    assert sorted(counts["Customers"].tolist()) == [10000, 10000]


def test_bad_column_choice_shows_a_message(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.selectbox(key="campaigns_treatment").set_value("customer_id").run()
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert at.error[0].value == "customer_id has 12000 values; choose the column with the arms."


def test_outcome_equal_to_treatment_shows_a_message(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.selectbox(key="campaigns_outcome").set_value("arm").run()
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert at.error[0].value == "The treatment and the outcome must be different columns."


def test_chinese_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh", timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "历史营销活动"


def test_upload_flow_with_good_outcome(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 3000
    segment = np.repeat(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], n // 3)
    visit = (rng.random(n) < np.select([segment == "Mens E-Mail", segment == "Womens E-Mail"],
                                       [0.18, 0.15], 0.10)).astype(int)
    df = pd.DataFrame({"recency": rng.integers(1, 13, n), "segment": segment, "visit": visit,
                       "channel": rng.choice(["Web", "Phone"], n)})
    at = make_app(PAGE, timeout=120)
    at.run()
    at.radio(key="campaigns_source").set_value("upload").run()
    at.file_uploader(key="campaigns_upload").set_value(
        ("hillstrom.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    at.selectbox(key="campaigns_treatment").set_value("segment").run()
    at.selectbox(key="campaigns_control_segment").set_value("No E-Mail")
    at.selectbox(key="campaigns_outcome").set_value("visit").run()
    at.radio(key="campaigns_kind").set_value("good")
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert "3 arms: control and 2 offers." in [c.value for c in at.caption]
    mens = (visit[segment == "Mens E-Mail"].mean() - visit[segment == "No E-Mail"].mean()) * 100
    sentences = [m.value for m in at.markdown if m.value.startswith("- Mens")]
    assert sentences[0].startswith(f"- Mens E-Mail raises the visit rate by {mens:.1f} points")
