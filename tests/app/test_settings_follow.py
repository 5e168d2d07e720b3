"""One setting, every page and the CLI: the tier capacity set on Early warning, the margins set on
Customer value and the label set on the Data page are the ones the simulator, the drivers, the model
page and the CLI (through the saved column mapping) use."""

import json

import pytest

from churn_core.cli import main
from tests.app.conftest import SAMPLE, make_app, workspace_of

pytestmark = pytest.mark.slow


def _clean(at):
    assert not at.exception, [e.value for e in at.exception]


def test_tier_margin_and_label_follow_every_page_and_the_cli(sample_dataset, small_model, tmp_path, capsys):
    at = make_app("pages/6_early_warning.py", dataset=sample_dataset, model=small_model, timeout=240)
    at.run()
    _clean(at)
    ws = workspace_of(at)

    # 1. the High-tier capacity set on Early warning ...
    at.number_input(key="warning_high").set_value(200).run()
    _clean(at)
    assert ws.settings.tiers.high_capacity == 200
    assert int((ws.tiers() == "High").sum()) == 200

    # ... is the simulator's High tier
    at.switch_page("pages/8_simulator.py").run()
    _clean(at)
    at.radio(key="sim_targeting").set_value("Risk tiers").run()
    _clean(at)
    plan = at.session_state["results"]["last_plan"]
    assert 0 < plan["targeted"] <= 200

    # 2. a margin set on Customer value ...
    at.switch_page("pages/3_value.py").run()
    _clean(at)
    fp = ws.load_.fingerprint[:12]
    at.number_input(key=f"value_margin:{fp}:balance").set_value(3.0)
    [b for b in at.button if b.proto.is_form_submitter][0].click().run()
    _clean(at)
    assert ws.meanings_.money()["balance"] == pytest.approx(0.03)
    book = ws.book().frame
    expected = (book["balance"].fillna(0) * 0.03 + book["total_assets"].fillna(0) * 0.004
                + book["fees_paid_12m"].fillna(0) * 1.0 + book["num_products"].fillna(0) * ws.settings.value.product_margin
                - ws.settings.value.cost_to_serve)
    assert ws.customer_value("book") == pytest.approx(expected.to_numpy())

    # ... is the simulator's value, and the CLI's through the saved mapping
    at.switch_page("pages/8_simulator.py").run()
    _clean(at)
    at.radio(key="sim_targeting").set_value("Optimiser: best offer (or none) per customer").run()
    _clean(at)
    page_plan = at.session_state["results"]["last_plan"]
    model_dir = tmp_path / "model"
    ws.model_.save(model_dir)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(ws.mapping(), ensure_ascii=False), encoding="utf-8")
    settings = page_plan["settings"]
    capsys.readouterr()
    assert main(["simulate", str(SAMPLE), "--model", str(model_dir), "--columns", str(mapping), "--budget", str(page_plan["budget"]),
                 "--draws", str(settings["n_draws"]), "--seed", str(settings["seed"]),
                 "--out", str(tmp_path / "plan")]) == 0
    cli_plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    for key in ("cost", "targeted", "expected_saved", "retained_value", "net_benefit"):
        assert cli_plan[key] == pytest.approx(page_plan[key]), key

    # 3. a label chosen on the Data page is the Model page's and the CLI's
    at.switch_page("pages/1_data.py").run()
    _clean(at)
    label_box = [s for s in at.selectbox if str(s.key).startswith("data_label_")][0]
    label_box.set_value("has_relationship_manager").run()
    at.button(key="data_label_apply").click().run()
    _clean(at)
    assert ws.roles_.label == "has_relationship_manager" and ws.label_confirmed
    assert ws.model_ is None  # a model of another label is not kept
    at.switch_page("pages/5_model.py").run()
    _clean(at)
    shown = [e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.text) for e in kind]
    assert any("has_relationship_manager" in str(v).replace("\\", "") for v in shown)  # markdown-escaped
    mapping.write_text(json.dumps(ws.mapping(), ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["profile", str(SAMPLE), "--columns", str(mapping), "--no-columns"]) == 0
    assert json.loads(capsys.readouterr().out)["label"]["column"] == "has_relationship_manager"
