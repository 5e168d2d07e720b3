"""``python -m churn_core compare OLD NEW [--model DIR] [--id COL] [--columns MAP.json] --out DIR``.

Compares two snapshots of the same bank (KPI monitoring; every definition is in
:mod:`churn_core.analysis.compare`). OLD and NEW are two files; with one file (NEW omitted) its two
latest snapshot dates are compared (or ``--old-date`` / ``--new-date``).

Writes ``DIR/compare.json`` (``customers_old``, ``customers_new``, ``retained``, ``lost``, ``new``,
``retention_rate``, ``churn_rate_old``, ``churn_rate_new``, ``value_old``, ``value_new``,
``tier_migration`` (``{from: {to: count}}`` with ``--model``, else null), ``drift``
(``[{"column", "psi", "flag"}]``) and extras), ``DIR/migration.csv`` (id, ``status``,
``tier_old``, ``tier_new``) and ``DIR/drift.csv``; prints a short JSON summary.
"""

import json
import sys
from pathlib import Path

from churn_core.commands._common import add_customer_arguments, open_workspace

HELP = "compare two snapshots (retention, lost and new customers, value, tier migration, drift)"

SUMMARY_KEYS = ["customers_old", "customers_new", "retained", "lost", "new", "retention_rate"]


def add_arguments(parser):
    parser.add_argument("old", metavar="OLD", help="the earlier snapshot (CSV, TSV, TXT or .xlsx)")
    parser.add_argument("new", metavar="NEW", nargs="?", default=None,
                        help="the later snapshot (omit it to compare two snapshot dates of OLD)")
    add_customer_arguments(parser)
    parser.add_argument("--model", default=None, help="directory written by `train --out` (tier migration)")
    parser.add_argument("--id", dest="id_column", default=None, help="customer id column (default: detected)")
    parser.add_argument("--old-date", default=None, help="one file: the earlier snapshot date (default: second latest)")
    parser.add_argument("--new-date", default=None, help="one file: the later snapshot date (default: latest)")
    parser.add_argument("--high", type=int, default=None, help="customers in the High tier (default: top 10%%)")
    parser.add_argument("--medium", type=int, default=None, help="customers in the Medium tier (default: next 20%%)")
    parser.add_argument("--out", required=True, help="output directory (created if needed)")


def _frames(args):
    """``(old_frame, new_frame, workspace of the old file)``."""
    from churn_core.analysis.compare import split_snapshots
    from churn_core.errors import ChurnCoreError

    ws_old = open_workspace(args.old, args)
    if args.new is None:
        snap = ws_old.meanings_.column("snapshot_date")
        if snap is None:
            raise ChurnCoreError("compare.no_snapshot_column", "Give two files, or one file with a snapshot date "
                                 "column (map one with --columns).")
        old, new = split_snapshots(ws_old.df, snap, args.old_date, args.new_date)
        return old, new, ws_old
    if args.old_date or args.new_date:
        raise ChurnCoreError("compare.dates_with_two_files", "--old-date / --new-date pick snapshots of one file; "
                             "omit NEW to use them.")
    ws_new = open_workspace(args.new, args)
    return ws_old.df, ws_new.df, ws_old


def run(args):
    from churn_core.analysis.compare import compute_comparison, default_drift_columns
    from churn_core.errors import ChurnCoreError
    from churn_core.jsonutil import to_jsonable
    from churn_core.modeling.model import ChurnModel
    from churn_core.modeling.warning import TierConfig
    from churn_core.sharing.export import to_safe_csv_bytes

    model = None
    if args.model is not None:
        model = ChurnModel.load(args.model)
        saved = Path(args.model) / "columns.json"
        if getattr(args, "columns", None) is None and saved.is_file():
            args.columns = str(saved)  # the meanings the model was trained with
    old, new, ws = _frames(args)
    id_column = args.id_column
    if id_column is None and model is not None and model.id_column_ in old.columns and model.id_column_ in new.columns:
        id_column = model.id_column_  # the id the model was trained with
    id_column = id_column or ws.id_column
    if id_column is None:
        raise ChurnCoreError("compare.no_id", "No customer id column was found; name it with --id COL.")
    for which, frame in (("OLD", old), ("NEW", new)):
        if id_column not in frame.columns:
            raise ChurnCoreError("compare.no_id_column", f"{which} has no column {id_column!r}; name the id "
                                 "column with --id COL.", column=str(id_column), snapshot=which)
    label = ws.roles_.label
    snap = ws.meanings_.column("snapshot_date")
    columns = None
    if model is None:
        features = set(ws.roles_.features)
        columns = [c for c in default_drift_columns(old, new, exclude=(id_column, label, snap)) if c in features]
    tiers = TierConfig(high_capacity=args.high, medium_capacity=args.medium)
    result = compute_comparison(old, new, id_column, meanings=ws.meanings_, label=label,
                                positive=ws.roles_.positive if label else None, assumptions=ws.settings.value,
                                model=model, tier_config=tiers, columns=columns)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = to_jsonable(result.to_dict())
    (out / "compare.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "migration.csv").write_bytes(to_safe_csv_bytes(result.migration))
    (out / "drift.csv").write_bytes(to_safe_csv_bytes(result.drift))
    summary = {k: data[k] for k in SUMMARY_KEYS}
    summary["drift_flags"] = data["drift_flags"]
    summary["out"] = str(out)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0
