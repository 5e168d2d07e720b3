"""``python -m churn_core score FILE --model DIR --out PATH``: score new customers with a saved model.

Writes a CSV (UTF-8 with BOM, safe for Excel) with the id column when the model has one,
``churn_probability, status, risk_tier, reason_1..3, points_1..3, signals``; prints a JSON summary.
``status`` is ``churned`` for rows whose label column says so (tier ``Left``), else ``active``;
tiers are cut among active customers. Column meanings come from ``--columns``, else from the
``columns.json`` saved beside the model.
Values never seen at training are treated as missing; columns the model needs must be present.
"""

import json
import sys
from pathlib import Path

from churn_core.commands._common import add_customer_arguments, open_workspace

HELP = "score a customer file with a model saved by `train` (CSV with probability, tier, reasons, signals)"


def add_arguments(parser):
    parser.add_argument("file", help="CSV, TSV, TXT or .xlsx file with the model's columns")
    parser.add_argument("--model", required=True, help="directory written by `train --out`")
    add_customer_arguments(parser)
    parser.add_argument("--out", required=True, help="output CSV path")
    parser.add_argument("--engine", choices=["local", "spark"], default="local",
                        help="where to score (default: local)")
    parser.add_argument("--master", default=None,
                        help="--engine spark: Spark master (default local[2]; spark://host:7077, yarn, k8s://...)")
    parser.add_argument("--format", choices=["parquet", "csv"], default=None,
                        help="--engine spark: Parquet or CSV partitions in the --out folder (default: by suffix)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the reasons")
    parser.add_argument("--high", type=int, default=None, help="customers in the High tier (default: top 10%%)")
    parser.add_argument("--medium", type=int, default=None, help="customers in the Medium tier (default: next 20%%)")


def run(args):
    from churn_core.commands.train import tier_settings
    from churn_core.errors import ChurnCoreError
    from churn_core.modeling.model import ChurnModel
    from churn_core.modeling.scoring import tier_counts
    from churn_core.sharing.export import to_safe_csv_bytes

    if args.engine == "spark":  # same columns and summary, computed on Spark (churn_core/scale)
        from churn_core.scale.spark import run_score

        summary = run_score(args.file, args.model, args.out, master=args.master, fmt=args.format,
                            lang=args.lang, high=args.high, medium=args.medium,
                            columns=getattr(args, "columns", None))
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return 0
    model = ChurnModel.load(args.model)
    saved = Path(args.model) / "columns.json"
    if getattr(args, "columns", None) is None and saved.is_file():
        args.columns = str(saved)  # the meanings the model was trained with
    ws = open_workspace(args.file, args)
    df = ws.df
    missing = [c for c in model.features_ if c not in df.columns]
    if missing:
        raise ChurnCoreError("model.missing_columns", "The file lacks columns the model needs: "
                             + ", ".join(map(str, missing)), columns=", ".join(map(str, missing)))
    ws.set_model(model)
    tier_settings(ws, args)
    scores = ws.scores("history", lang=args.lang)
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_safe_csv_bytes(scores))
    summary = {"rows": int(len(scores)), "out": str(out), "engine": args.engine,
               "mean_probability": round(float(scores["churn_probability"].mean()), 6),
               "tiers": tier_counts(scores)}
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0
