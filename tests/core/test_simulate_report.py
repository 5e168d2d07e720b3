"""One-page HTML summary: every assumption, escaped user text, self-contained, both languages."""

import re
from datetime import datetime, timezone

import numpy as np
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.retention.offers import default_catalogue
from churn_core.sharing.report import build_report_html
from churn_core.retention.simulate import SimulationSettings, compute_assumed_effects, compute_simulation, prepare_inputs


@pytest.fixture(scope="module")
def result_and_catalogue():
    cat = default_catalogue().replace_offer("win_back", name_en="<script>alert(1)</script>", description_en="A & B")
    rng = np.random.default_rng(0)
    p = rng.beta(2, 6, 2000)
    inputs = prepare_inputs(p, compute_assumed_effects(p, cat), rng.lognormal(6, 1, 2000))
    return compute_simulation(inputs, cat, SimulationSettings(budget=12_345, take_up_multiplier=1.1)), cat


WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)


def test_report_lists_results_and_every_assumption(result_and_catalogue):
    res, cat = result_and_catalogue
    page = build_report_html(res, cat, scenario_name="Q3 plan", data_name="customers.csv", generated_at=WHEN)
    assert page.startswith("<!DOCTYPE html>")
    assert "Retention plan — Q3 plan" in page and "2026-01-02 03:04 UTC" in page
    assert "<th>Budget</th><td>12,345</td>" in page
    assert "<th>Take-up multiplier</th><td>× 1.1</td>" in page
    assert f"<td class='n'>{res.summary['targeted']:,}</td>" in page
    for offer in cat:
        assert offer.code in page
    assert "fees &gt; 0" in page and "products+1; product_flag=1" in page
    assert "40%–60%–80%" in page  # fee waiver take-up range
    assert "Contact the riskiest" in page and "Contact at random" in page
    assert "<th>Customer value</th><td>given</td>" in page


def test_report_escapes_user_text_and_loads_nothing(result_and_catalogue):
    res, cat = result_and_catalogue
    page = build_report_html(res, cat, scenario_name='"><img src=x onerror=alert(1)>', generated_at=WHEN)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A &amp; B" in page
    assert not re.search(r"(src|href)\s*=", page.replace("src=x", ""))
    assert "http" not in page


def test_report_in_chinese(result_and_catalogue):
    res, cat = result_and_catalogue
    page = build_report_html(res, cat, lang="zh", generated_at=WHEN)
    assert '<html lang="zh-CN">' in page
    assert "客户挽留方案" in page and "免收手续费" in page and "<th>预算</th><td>12,345</td>" in page
    with pytest.raises(ChurnCoreError, match="lang must be"):
        build_report_html(res, cat, lang="fr")
