"""Past campaigns page: effects equal pandas, offer names, escaped user strings, no crash without
feature columns, measured effects fed to the simulator; in English and Chinese."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import ROOT, make_app

PAGE = "pages/9_campaigns.py"
CAMPAIGN = ROOT / "sample_data" / "campaign.csv"
NAMES = {"control": "control", "cross_sell": "Second product", "fee_waiver": "Fee waiver",
         "loyalty_points": "Loyalty points / tier upgrade", "rate_bonus": "Deposit rate bonus",
         "rm_call": "Relationship-manager call"}


def table_with(at, column):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(at):
    """Every piece of Markdown text on the page (markdown, captions, alerts)."""
    return [e.value for kind in ("markdown", "caption", "warning", "success", "info", "error")
            for e in getattr(at, kind)]


@pytest.fixture(scope="module")
def measured(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=180)
    at.run()
    assert not at.exception
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    return at


def _no_feature_campaign(n=1200, seed=1):
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "rm_call", "fee_waiver"], n)
    churned = (rng.random(n) < np.select([arm == "rm_call", arm == "fee_waiver"], [0.10, 0.13], 0.16)).astype(int)
    return pd.DataFrame({"arm": arm, "churned": churned})


def _upload(at, name, frame):
    at.radio(key="campaigns_source").set_value(at.radio(key="campaigns_source").options[1]).run()
    at.file_uploader(key="campaigns_upload").set_value((name, frame.to_csv(index=False).encode(), "text/csv")).run()


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
    assert "12,000 campaign customers joined; 0 without a customer record." in [c.value for c in at.caption]


def test_arms_table_equals_pandas_with_offer_names(measured):
    camp = pd.read_csv(CAMPAIGN)
    arms = measured.dataframe[0].value
    expected = [NAMES[a] for a in ["control", *sorted(set(camp["arm"]) - {"control"})]]
    assert arms["Arm"].tolist() == expected
    assert arms["Customers"].tolist() == ["2,000"] * 6
    rates = camp.groupby("arm")["churned"].mean()
    assert arms.set_index("Arm").loc["Fee waiver", "Outcome rate"] == f"{rates['fee_waiver'] * 100:.1f}%"
    assert "6 arms: control and 5 offers." in [c.value for c in measured.caption]


def test_effects_equal_pandas_in_points_with_names_in_sentences(measured):
    camp = pd.read_csv(CAMPAIGN)
    rates = camp.groupby("arm")["churned"].mean()
    effects = table_with(measured, "Rate with offer").set_index("Offer")
    benefit = (rates["control"] - rates["rm_call"]) * 100
    assert effects.loc["Relationship-manager call", "Benefit (points)"] == f"{benefit:+.2f}"
    assert effects.loc["Relationship-manager call", "Rate in control"] == f"{rates['control'] * 100:.1f}%"
    sentences = [m.value for m in measured.markdown if m.value.startswith("- ")]
    cross = (rates["control"] - rates["cross_sell"]) * 100
    assert sentences[0].startswith(f"- Second product cuts churn by {cross:.1f}".replace(".", "\\."))
    assert not any("cross_sell" in s or "rm_call" in s for s in sentences)


def test_technical_curves_are_under_an_advanced_expander_with_tooltips(measured):
    expander = next(e for e in measured.expander if e.label == "Advanced: uplift curves, Qini and AUUC")
    assert expander.radio(key="campaigns_curve").help.startswith("Qini curve:")
    measured.radio(key="campaigns_curve").set_value("Uplift").run()
    assert not measured.exception
    table = table_with(measured, "Qini (0 = random)")
    assert table["Offer"].tolist()[0] == "Second product"


def test_segment_effects_by_column(measured):
    at = measured
    at.selectbox(key="campaigns_seg_col").set_value("complaints_12m").run()
    at.selectbox(key="campaigns_seg_val_complaints_12m").set_value("0").run()
    assert not at.exception
    frame = at.session_state["_campaigns_frame"][1]
    n = int((frame["complaints_12m"].astype(str) == "0").sum())
    assert f"complaints\\_12m = 0: {n:,} campaign customers." in [c.value for c in at.caption]


def test_use_in_simulator_stores_the_result_and_names_the_offers(measured):
    at = measured
    at.button(key="campaigns_use").click().run()
    assert not at.exception
    stored = at.session_state["results"]["uplift"]
    assert sorted(stored.offers_names_) == ["cross_sell", "fee_waiver", "loyalty_points", "rate_bonus", "rm_call"]
    done = next(s.value for s in at.success if s.value.startswith("The simulator will use"))
    assert "Second product" in done and "cross_sell" not in done


def test_power_calculator(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.number_input(key="campaigns_design_rate").set_value(10.0)
    at.number_input(key="campaigns_design_change").set_value(5.0)
    at.selectbox(key="campaigns_alpha").set_value(0.05)
    at.selectbox(key="campaigns_power").set_value(0.8).run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["686"]


def test_assignment_download(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.text_input(key="campaigns_assign_arms").set_value("control, rm_call")
    at.number_input(key="campaigns_assign_seed").set_value(7)
    at.button[-1].click().run()  # the form's submit button
    assert not at.exception
    counts = at.dataframe[-1].value
    assert sorted(counts["Customers"].tolist()) == ["10,000", "10,000"]


def test_bad_column_choice_shows_a_message_and_keeps_the_page(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.selectbox(key="campaigns_treatment").set_value("customer_id").run()
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert at.error[0].value == "customer\\_id has 12000 values; choose the column with the arms."  # escaped
    assert at.metric, "the design section is still shown"


def test_outcome_equal_to_treatment_shows_a_message(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, timeout=60)
    at.run()
    at.selectbox(key="campaigns_outcome").set_value("arm").run()
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert at.error[0].value == "The treatment and the outcome must be different columns."


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_campaign_without_feature_columns_reports_average_effects(lang, sample_dataset, small_model):
    from studio.i18n import load_catalogue

    df = _no_feature_campaign()
    at = make_app(PAGE, dataset=sample_dataset, lang=lang, timeout=120)
    at.run()
    _upload(at, "campaign.csv", df)
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert load_catalogue(lang)["campaigns.warn.uplift.no_features"] in [w.value for w in at.warning]
    offer = "Offer" if lang == "en" else "措施"
    effects = table_with(at, offer)
    name = "Relationship-manager call" if lang == "en" else "客户经理回访"
    rates = df.groupby("arm")["churned"].mean()
    assert effects.set_index(offer).iloc[:, 4].loc[name] == f"{(rates['control'] - rates['rm_call']) * 100:+.2f}"
    at.button(key="campaigns_use").click().run()
    assert not at.exception
    # the simulator then uses the measured average effects (spread by risk) for these two offers
    sim = make_app("pages/8_simulator.py", dataset=sample_dataset, model=small_model, lang=lang, timeout=120,
                   results={"uplift": at.session_state["results"]["uplift"]})
    sim.run()
    source = sim.radio(key="sim_effect_source")
    source.set_value(source.options[-1]).run()
    assert not sim.exception
    by_offer = table_with(sim, offer).set_index(offer)
    measured_word = "Measured in a past campaign" if lang == "en" else "历史活动实测"
    assert by_offer.iloc[:, -1].loc[name] == measured_word


def test_user_strings_are_shown_as_text_never_as_markdown(sample_dataset):
    df = _no_feature_campaign()
    df["arm"] = df["arm"].replace({"rm_call": "![x](http://evil.example/a.png)"})
    at = make_app(PAGE, dataset=sample_dataset, timeout=120)
    at.run()
    _upload(at, "[click](http://evil.example).csv", df)
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    shown = texts(at)
    assert "File \\[click\\]\\(http\u2060\\://evil\\.example\\)\\.csv: 1,200 rows, 2 columns." in shown
    assert any("\\!\\[x\\]\\(http\u2060\\://evil\\.example/a\\.png\\)" in s for s in shown)
    assert not any("](http" in s for s in shown)
    assert "![x](http://evil.example/a.png)" in table_with(at, "Arm")["Arm"].tolist()


@pytest.mark.parametrize("lang", ["zh"])  # English: the `measured` tests drive the same widgets
def test_every_widget_on_the_sample(lang, sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang=lang, timeout=180)
    at.run()
    kind = at.radio(key="campaigns_kind")
    kind.set_value(kind.options[0])
    at.selectbox(key="campaigns_positive_churned").set_value("1")
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    curve = at.radio(key="campaigns_curve")
    curve.set_value(curve.options[1]).run()
    at.selectbox(key="campaigns_seg_col").set_value("gender").run()
    values = at.selectbox(key="campaigns_seg_val_gender").options
    at.selectbox(key="campaigns_seg_val_gender").set_value(values[-1]).run()
    at.button(key="campaigns_use").click().run()
    at.number_input(key="campaigns_design_change").set_value(-2.0).run()
    assert not at.exception
    assert not at.error
    if lang == "zh":
        assert at.title[0].value == "历史营销活动"
        assert "共 6 个分组：对照组和 5 项措施。" in [c.value for c in at.caption]
        assert "交叉销售第二个产品" in table_with(at, "分组")["分组"].tolist()
    # a language switch keeps the choices made with translated labels
    at.session_state["lang"] = "en" if lang == "zh" else "zh"
    at.run()
    assert not at.exception
    assert at.radio(key="campaigns_curve").index == 1


def test_upload_flow_with_good_outcome_and_join_off():
    rng = np.random.default_rng(3)
    n = 3000
    segment = np.repeat(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], n // 3)
    visit = (rng.random(n) < np.select([segment == "Mens E-Mail", segment == "Womens E-Mail"],
                                       [0.18, 0.15], 0.10)).astype(int)
    df = pd.DataFrame({"recency": rng.integers(1, 13, n), "segment": segment, "visit": visit,
                       "channel": rng.choice(["Web", "Phone"], n)})
    at = make_app(PAGE, timeout=120)
    at.run()
    _upload(at, "hillstrom.csv", df)
    assert not at.exception
    at.selectbox(key="campaigns_treatment").set_value("segment").run()
    at.selectbox(key="campaigns_control_segment").set_value("No E-Mail")
    at.selectbox(key="campaigns_outcome").set_value("visit").run()
    at.radio(key="campaigns_kind").set_value("good (retained, visited, bought)")
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert "3 arms: control and 2 offers." in [c.value for c in at.caption]
    mens = (visit[segment == "Mens E-Mail"].mean() - visit[segment == "No E-Mail"].mean()) * 100
    sentences = [m.value for m in at.markdown if m.value.startswith("- Mens")]
    assert sentences[0].startswith(f"- Mens E\\-Mail raises the visit rate by {mens:.1f}".replace(".", "\\."))
    json.dumps(at.session_state["_campaigns_result"][1].to_dict())


def test_uploaded_campaign_joined_to_the_customers_gets_their_features(sample_dataset):
    from studio.i18n import load_catalogue

    at = make_app(PAGE, dataset=sample_dataset, timeout=180)
    at.run()
    _upload(at, "campaign.csv", pd.read_csv(CAMPAIGN))
    assert "File campaign\\.csv: 12,000 rows, 3 columns." in [c.value for c in at.caption]
    at.checkbox(key="campaigns_join").check().run()
    at.selectbox(key="campaigns_id").set_value("customer_id").run()
    assert not at.exception
    assert "12,000 rows; 0 without a customer record." in [c.value for c in at.caption]
    at.button(key="campaigns_run").click().run()
    assert not at.exception
    assert load_catalogue("en")["campaigns.warn.uplift.no_features"] not in [w.value for w in at.warning]
    assert len(at.session_state["_campaigns_result"][1].features_) > 5
