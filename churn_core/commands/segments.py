"""``python -m churn_core segments FILE --by COL[,COL...]``: churn profile per group, as JSON."""

import json
import sys
import tempfile

from churn_core.commands._common import add_customer_arguments, open_workspace
from churn_core.jsonutil import to_jsonable

HELP = "churn rate, lift and average balance per group of FILE (JSON list)"


def add_arguments(parser):
    parser.add_argument("file", help="CSV or Excel file of customers")
    parser.add_argument("--by", required=True, help="column(s) to group by, comma separated")
    add_customer_arguments(parser)


def load_table(path):
    """The file as a DataFrame through the ingestion module."""
    from churn_core.data.ingest import load_file

    return load_file(path).df


def run(args):
    from churn_core.errors import ChurnCoreError
    from churn_core.analysis.segments import compute_group_profiles, detect_columns
    from churn_core.data.store import SessionStore

    by = [c.strip() for c in args.by.split(",") if c.strip()]
    ws = open_workspace(args.file, args)
    df = ws.df
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ChurnCoreError("segments.unknown_column", f"Column {missing[0]!r} is not in the file; columns: "
                             + ", ".join(map(str, df.columns)), column=missing[0])
    cols = detect_columns(df, ws.roles_)
    if cols.label is None:
        raise ChurnCoreError("segments.no_label", "No churn column found; name it with --label and --positive.")
    with tempfile.TemporaryDirectory(prefix="churn_seg_") as root:
        store = SessionStore(root_dir=root)
        try:
            store.load_frame("customers", df)
            frame = compute_group_profiles(store, cols, by)
        finally:
            store.close()
    keep = by + ["customers", "churned", "churn_rate", "lift"]
    if cols.balance:
        frame["avg_balance"] = frame["avg_balance"]
        keep.append("avg_balance")
    records = [{k: to_jsonable(row[k]) for k in keep} for row in frame.to_dict("records")]
    json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0
