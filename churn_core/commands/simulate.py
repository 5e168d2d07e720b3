"""``python -m churn_core simulate FILE --model DIR --budget X [--offers F] --out DIR``.

Scores the customers with a saved churn model, picks the best offer (or none) per customer under
the budget and each offer's capacity, and writes ``DIR/plan.json`` (figures with 90% intervals,
baselines, per-offer breakdown, tornado, every assumption) and ``DIR/plan.csv`` (one row per
contacted customer: id, offer, churn_probability, expected_saved, expected_value, cost, net_value).
"""

import json
import sys
from pathlib import Path

HELP = "retention plan under a budget: best offer per customer, baselines, 90%% intervals"


def add_arguments(parser):
    parser.add_argument("file", help="customer table (CSV or Excel)")
    parser.add_argument("--model", required=True, help="folder of a model saved by `train`")
    parser.add_argument("--budget", required=True, type=float, help="campaign budget (same currency as costs)")
    parser.add_argument("--offers", help="offer catalogue, CSV or JSON (default: the six default offers)")
    parser.add_argument("--effects", choices=["assumed", "model"], default="assumed",
                        help="assumed relative effects (default) or model-based: offers move features and "
                             "the model re-scores")
    parser.add_argument("--objective", choices=["saved_value", "net_value"], default="saved_value",
                        help="saved_value (default): spend the budget on the plan that keeps the most value "
                             "(at least as many customers and as much value as the baselines); net_value: "
                             "also skip contacts whose expected value kept is below their cost")
    parser.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws for the intervals")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random baseline and the Monte Carlo")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")


def _load_table(path):
    try:
        from churn_core.data.ingest import load_file
    except ImportError:  # ingestion not available: plain UTF-8 CSV
        import pandas as pd

        return pd.read_csv(path, encoding="utf-8-sig"), None
    load = load_file(path)
    return load.df, load


def _load_model(path):
    from churn_core.modeling.model import ChurnModel

    return ChurnModel.load(path)


def _id_column(df, model):
    col = getattr(model, "id_column_", None)
    if col and col in df.columns:
        return col
    try:
        from churn_core.data.roles import detect_roles

        ids = detect_roles(df).id_columns
        if ids:
            return ids[0]
    except ImportError:
        pass
    return None


def run(args):
    from churn_core.errors import ChurnCoreError
    from churn_core.retention.offers import catalogue_to_records, default_catalogue, load_catalogue
    from churn_core.retention.simulate import (
        SimulationSettings,
        compute_assumed_effects,
        compute_model_effects,
        compute_simulation,
        prepare_inputs_from_frame,
    )

    settings = SimulationSettings(budget=args.budget, objective=args.objective, n_draws=args.draws, seed=args.seed)
    catalogue = load_catalogue(args.offers) if args.offers else default_catalogue()
    path = Path(args.file)
    if not path.exists():
        raise ChurnCoreError("simulate.file_not_found", f"File not found: {path}.", path=str(path))
    df, _ = _load_table(path)
    model = _load_model(args.model)
    p = model.predict_proba(df)
    if args.effects == "model":
        effects = compute_model_effects(model, df, catalogue, churn_probability=p)
    else:
        effects = compute_assumed_effects(p, catalogue)
    id_col = _id_column(df, model)
    inputs = prepare_inputs_from_frame(df, catalogue, p, effects, id_column=id_col, seed=args.seed)
    result = compute_simulation(inputs, catalogue, settings)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = result.contact_plan().rename(columns={"customer_id": id_col or "row"})
    (out / "plan.csv").write_bytes(_safe_csv_bytes(plan))
    doc = result.to_dict()
    doc["baseline_risk_net_benefit"] = result.baselines["risk"]["net_benefit"]
    doc["baseline_random_net_benefit"] = result.baselines["random"]["net_benefit"]
    doc["customers_file"] = str(path)
    doc["id_column"] = id_col
    doc["effects"] = args.effects
    doc["offers"] = catalogue_to_records(catalogue)
    doc["warnings"] = [{"code": w[0], "offer": w[1], "column": w[2]} for w in inputs.warnings]
    (out / "plan.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=_default), encoding="utf-8")
    summary = {k: doc[k] for k in ("budget", "cost", "targeted", "expected_saved", "expected_saved_low",
                                   "expected_saved_high", "retained_value", "net_benefit", "roi",
                                   "baseline_risk_saved", "baseline_random_saved")}
    summary["plan_json"] = str(out / "plan.json")
    summary["plan_csv"] = str(out / "plan.csv")
    json.dump(summary, sys.stdout, ensure_ascii=False, default=_default)
    sys.stdout.write("\n")
    return 0


def _safe_csv_bytes(frame):
    try:
        from churn_core.sharing.export import to_safe_csv_bytes
    except ImportError:  # export module not available: same rules, locally
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith(("string", "str")):
                frame[col] = frame[col].map(
                    lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v)
        return frame.to_csv(index=False).encode("utf-8-sig")
    return to_safe_csv_bytes(frame)


def _default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value) if np.isfinite(value) else None
    return str(value)
