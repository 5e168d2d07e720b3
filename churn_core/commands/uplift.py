"""``python -m churn_core uplift FILE --treatment COL --control VALUE --outcome COL ...``.

Writes ``DIR/uplift.json``: ``offers`` (one entry per offer: ``offer, n_treated, n_control,
rate_treated, rate_control, ate, ate_low, ate_high, qini_auc`` plus ``ate_se, effect,
effect_low, effect_high, significant, auuc, uplift_at_10/20/30, mean_predicted_effect``),
``arms``, ``balance`` (standardised mean differences flagged above 0.1), ``warnings``,
``sentences`` (en/zh) and the settings used. ``ate`` = rate_treated - rate_control of the
positive outcome value.
"""

import json
import sys
from pathlib import Path

HELP = "measure each offer's effect in a randomised campaign (ATE, Qini, balance checks)"


def add_arguments(parser):
    parser.add_argument("file", help="campaign CSV/Excel (one row per customer)")
    parser.add_argument("--treatment", required=True, help="arm column (offer or control)")
    parser.add_argument("--control", required=True, help="the control value of the arm column")
    parser.add_argument("--outcome", required=True, help="outcome column")
    parser.add_argument("--positive-outcome", default=None,
                        help="outcome value counted as 1 (needed unless 0/1, yes/no...)")
    parser.add_argument("--good-outcome", action="store_true",
                        help="the positive outcome is good (visited, bought, retained); "
                             "default: bad (churned)")
    parser.add_argument("--customers", default=None, help="customer table to join for features")
    parser.add_argument("--columns", metavar="MAP.json", default=None,
                        help="column meanings of the --customers table (JSON saved from the Data page); "
                             "its protected columns (age, gender...) are not used as features")
    parser.add_argument("--id", default=None, help="id column joining campaign and customers")
    parser.add_argument("--exclude", default="", help="comma-separated columns not to use")
    parser.add_argument("--no-model", action="store_true",
                        help="checks and average effects only (no per-customer uplift)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder")


def run(args):
    from churn_core.errors import ChurnCoreError
    from churn_core.retention.uplift import UpliftResult, load_campaign_frame, load_table

    if args.columns and not args.customers:
        raise ChurnCoreError("uplift.columns_without_customers",
                             "--columns describes the --customers table: give --customers too.")

    frame = load_table(args.file)
    dropped = []
    if args.customers:
        if not args.id:
            raise ChurnCoreError("uplift.id_needed",
                                 "Give --id COLUMN to join the campaign to --customers.")
        from churn_core.workspace import Workspace

        customers = Workspace.from_file(args.customers, mapping=args.columns)
        protected = [c for c in customers.df.columns if customers.meanings_.is_protected(c)]
        frame = load_campaign_frame(frame, customers.df.drop(columns=protected), args.id)
        dropped = frame.attrs.get("dropped_columns", [])
    elif args.id and args.id not in frame.columns:
        raise ChurnCoreError("uplift.unknown_id_column", f"There is no id column {args.id!r}.",
                             column=args.id)
    exclude = tuple(c.strip() for c in args.exclude.split(",") if c.strip())
    result = UpliftResult(
        treatment=args.treatment, control=args.control, outcome=args.outcome,
        positive=args.positive_outcome, bad_outcome=not args.good_outcome, exclude=exclude,
        id_column=args.id, seed=args.seed, heterogeneous=not args.no_model,
    ).fit(frame)
    report = result.to_dict()
    report["source"] = Path(args.file).name
    if dropped:
        report["customer_columns_dropped"] = dropped
        report["unmatched_campaign_rows"] = frame.attrs.get("unmatched", 0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "uplift.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")
    summary = {"out": str(out / "uplift.json"),
               "offers": [{k: o[k] for k in ("offer", "ate", "ate_low", "ate_high")}
                          for o in report["offers"]],
               "warnings": [w["code"] for w in report["warnings"]]}
    json.dump(summary, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
