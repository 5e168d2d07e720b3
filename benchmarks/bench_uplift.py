"""Opt-in timing of the uplift engine: ``python benchmarks/bench_uplift.py``.

Measures the full fit (checks, ATE, 5-fold cross-fitted T-learner, curves) on the bundled
sample campaign (12,000 customers, 6 arms) and on a Hillstrom-shaped campaign (64,000 rows,
3 arms), and ``predict_effects`` on all 20,000 sample customers.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churn_core.data import synth  # noqa: E402
from churn_core.retention import uplift  # noqa: E402


def timed(label, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - start:.1f} s")
    return out


def main():
    customers = pd.read_csv(ROOT / "sample_data/customers.csv")
    campaign = pd.read_csv(ROOT / "sample_data/campaign.csv")
    frame = uplift.load_campaign_frame(campaign, customers, "customer_id")
    result = timed("sample fit (12,000 rows, 6 arms)", lambda: uplift.UpliftResult(
        "arm", "control", "churned", positive=1, id_column="customer_id").fit(frame))
    effects = timed("predict_effects (20,000 customers)",
                    lambda: result.predict_effects(customers))
    for offer in synth.CAMPAIGN_OFFERS:
        mask = synth.responsive_mask(customers, offer)
        print(f"  {offer}: qini_auc {result.offers_.set_index('offer').loc[offer, 'qini_auc']:.4f}"
              f", predicted benefit responsive {effects[offer][mask].mean():.3f}"
              f" vs others {effects[offer][~mask].mean() if (~mask).any() else float('nan'):.3f}")
    rng = np.random.default_rng(0)
    n = 64000
    seg = rng.choice(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], n)
    df = pd.DataFrame({
        "recency": rng.integers(1, 13, n), "history": rng.gamma(1.2, 200, n),
        "mens": rng.integers(0, 2, n), "womens": rng.integers(0, 2, n),
        "zip_code": rng.choice(["Surburban", "Urban", "Rural"], n),
        "newbie": rng.integers(0, 2, n), "channel": rng.choice(["Web", "Phone", "Multichannel"], n),
        "segment": seg,
        "visit": (rng.random(n) < np.select([seg == "Mens E-Mail", seg == "Womens E-Mail"],
                                            [0.183, 0.151], 0.106)).astype(int)})
    timed("Hillstrom-shaped fit (64,000 rows, 3 arms)", lambda: uplift.UpliftResult(
        "segment", "No E-Mail", "visit", positive=1, bad_outcome=False).fit(df))


if __name__ == "__main__":
    main()
