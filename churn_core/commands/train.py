"""``python -m churn_core train FILE [--label C] [--positive V] --out DIR``: train, evaluate, score.

Writes ``DIR/metrics.json`` (held-out figures, baseline, grade, cross-validation, backtest, the gate's
decisions), ``DIR/scores.csv`` (every customer: probability, tier, three reasons, warning signals),
``DIR/drivers.csv`` (``feature, mean_abs_shap``, largest first) and the saved model
(``model.json``, ``booster.ubj``, ``evaluation.npz``). Prints a short JSON summary.
"""

import json
import sys
from pathlib import Path

HELP = "train the churn model on a customer file; write metrics.json, scores.csv, drivers.csv and the model"

SUMMARY_KEYS = ["roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "baseline_roc_auc", "grade",
                "n_train", "n_test", "n_trees", "training_seconds"]


def add_arguments(parser):
    parser.add_argument("file", help="CSV, TSV, TXT or .xlsx file with one row per customer")
    parser.add_argument("--label", help="churn label column (default: detected)")
    parser.add_argument("--positive", help="label value that means churned (default: detected)")
    parser.add_argument("--out", required=True, help="output directory (created if needed)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the reasons")
    parser.add_argument("--high", type=int, default=None,
                        help="customers in the High tier (default: top 10%%)")
    parser.add_argument("--medium", type=int, default=None,
                        help="customers in the Medium tier (default: next 20%%)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the splits and trees")


def load_with_roles(path, label=None, positive=None):
    """Read ``path`` and detect roles, with ``--label`` / ``--positive`` applied."""
    from churn_core.errors import ChurnCoreError
    from churn_core.data.ingest import load_file
    from churn_core.data.roles import coerce_positive, detect_positive, detect_roles

    load = load_file(path)
    roles = detect_roles(load.df)
    if label:
        if label not in load.df.columns:
            raise ChurnCoreError("roles.unknown_column", f"There is no column {label!r} in the file.",
                                 column=label)
        series = load.df[label]
        pos = coerce_positive(series, positive) if positive is not None else detect_positive(series)
        roles = roles.with_label(label, pos)
    elif positive is not None:
        if roles.label is None:
            raise ChurnCoreError("model.no_label", "No churn label was detected: name it with --label.")
        roles = roles.with_label(roles.label, coerce_positive(load.df[roles.label], positive))
    return load, roles


def run(args):
    from churn_core.modeling.scoring import score_frame, tier_counts
    from churn_core.explain import compute_explanation
    from churn_core.sharing.export import to_safe_csv_bytes
    from churn_core.modeling.model import ChurnModel, _json_safe
    from churn_core.modeling.warning import compute_drivers

    load, roles = load_with_roles(args.file, args.label, args.positive)
    df = load.df
    model = ChurnModel(random_state=args.seed).fit(df, roles)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out)

    explanation = compute_explanation(model, df)
    scores = score_frame(model, df, args.lang, args.high, args.medium, explanation=explanation)
    drivers = compute_drivers(model, df, explanation=explanation)
    (out / "scores.csv").write_bytes(to_safe_csv_bytes(scores))
    (out / "drivers.csv").write_bytes(to_safe_csv_bytes(drivers))

    metrics = dict(model.metrics_)
    metrics.update({
        "label": model.label_, "positive": model.positive_, "features": list(model.features_),
        "excluded_columns": dict(model.excluded_), "flagged": dict(model.flagged_),
        "id_column": model.id_column_, "rows_scored": int(len(scores)),
        "tiers": tier_counts(scores),
        "top_drivers": drivers["feature"].head(5).tolist(),
        "model_card": model.model_card(),
    })
    metrics = _json_safe(metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1, default=str),
                                      encoding="utf-8")
    summary = {k: metrics.get(k) for k in SUMMARY_KEYS}
    summary.update({"label": metrics["label"], "positive": metrics["positive"],
                    "excluded_columns": metrics["excluded_columns"], "out": str(out)})
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    return 0
