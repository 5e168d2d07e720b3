"""``python -m churn_core train FILE [--label C] [--positive V] [--columns MAP.json] --out DIR``.

Trains, evaluates and scores through the same :class:`~churn_core.workspace.Workspace` as the app.
Writes ``DIR/metrics.json`` (held-out figures, baseline, grade, cross-validation, backtest, the
gate's decisions, ``base_risk``), ``DIR/scores.csv`` (every customer of the file: probability,
status, tier among active customers, three reasons with their points, warning signals),
``DIR/watchlist.csv`` (every active customer of the book, riskiest first), ``DIR/winback.csv``
(every churned customer, value lost first, with reasons), ``DIR/drivers.csv`` (``feature,
mean_abs_shap``, largest first), ``DIR/columns.json`` (the column meanings used; ``score`` and
``simulate`` read it) and the saved model (``model.json``, ``booster.ubj``, ``evaluation.npz``).
Prints a short JSON summary.
"""

import json
import sys
from pathlib import Path

from churn_core.commands._common import add_customer_arguments, open_workspace

HELP = "train the churn model on a customer file; write metrics, scores, watch-list, win-back list and the model"

SUMMARY_KEYS = ["roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "baseline_roc_auc", "grade",
                "n_train", "n_test", "n_trees", "training_seconds", "base_risk"]

COLUMNS_FILE = "columns.json"


def add_arguments(parser):
    parser.add_argument("file", help="CSV, TSV, TXT or .xlsx file with one row per customer")
    add_customer_arguments(parser)
    parser.add_argument("--out", required=True, help="output directory (created if needed)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the reasons")
    parser.add_argument("--high", type=int, default=None,
                        help="customers in the High tier (default: top 10%%)")
    parser.add_argument("--medium", type=int, default=None,
                        help="customers in the Medium tier (default: next 20%%)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the splits and trees")


def load_with_roles(path, label=None, positive=None):
    """``(LoadResult, Roles)`` of ``path`` with ``--label`` / ``--positive`` applied (benchmarks use it)."""
    from churn_core.workspace import Workspace

    ws = Workspace.from_file(path, label=label, positive=positive)
    return ws.load_, ws.roles_


def tier_settings(ws, args):
    """Apply ``--high`` / ``--medium`` to the workspace's tier settings."""
    from dataclasses import replace

    ws.update_settings(tiers=replace(ws.settings.tiers, high_capacity=args.high, medium_capacity=args.medium))


def write_lists(ws, out, lang):
    """``watchlist.csv`` (active customers of the book, riskiest first) and ``winback.csv``."""
    from churn_core.sharing.export import to_safe_csv_bytes

    watch = ws.watchlist(lang=lang)
    reasons = ws.reasons("book", lang=lang, rows=watch.index)
    for j in (1, 2, 3):
        watch[f"reason_{j}"] = reasons[f"reason_{j}"].to_numpy()
        watch[f"points_{j}"] = reasons[f"points_{j}"].to_numpy() if f"points_{j}" in reasons else None
    watch = watch.drop(columns=["signals_text"], errors="ignore")
    (out / "watchlist.csv").write_bytes(to_safe_csv_bytes(watch.reset_index(drop=True)))
    winback = ws.winback(lang=lang)
    (out / "winback.csv").write_bytes(to_safe_csv_bytes(winback.reset_index(drop=True)))
    return watch, winback


def run(args):
    from churn_core.jsonutil import to_jsonable
    from churn_core.modeling.scoring import tier_counts
    from churn_core.modeling.warning import compute_drivers
    from churn_core.sharing.export import to_safe_csv_bytes

    ws = open_workspace(args.file, args)
    tier_settings(ws, args)
    model = ws.train(random_state=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out)
    (out / COLUMNS_FILE).write_text(json.dumps(ws.mapping(), ensure_ascii=False, indent=1, default=str),
                                    encoding="utf-8")

    scores = ws.scores("history", lang=args.lang)
    drivers = compute_drivers(model, ws.df, explanation=ws.explanation("history"))
    (out / "scores.csv").write_bytes(to_safe_csv_bytes(scores))
    (out / "drivers.csv").write_bytes(to_safe_csv_bytes(drivers))
    watch, winback = write_lists(ws, out, args.lang)

    metrics = dict(model.metrics_)
    metrics.update({
        "label": model.label_, "positive": model.positive_, "features": list(model.features_),
        "excluded_columns": dict(model.excluded_), "flagged": dict(model.flagged_),
        "id_column": model.id_column_, "rows_scored": int(len(scores)),
        "base_risk": round(ws.base_risk(), 6),
        "tiers": tier_counts(scores),
        "book": ws.describe_book(), "watchlist_rows": int(len(watch)), "winback_rows": int(len(winback)),
        "meanings": ws.meanings_.as_map(),
        "top_drivers": drivers["feature"].head(5).tolist(),
        "model_card": model.model_card(),
    })
    metrics = to_jsonable(metrics)
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1, default=str),
                                      encoding="utf-8")
    summary = {k: metrics.get(k) for k in SUMMARY_KEYS}
    summary.update({"label": metrics["label"], "positive": metrics["positive"],
                    "excluded_columns": metrics["excluded_columns"], "out": str(out)})
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    return 0
