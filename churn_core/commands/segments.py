"""``python -m churn_core segments FILE --by COL[,COL...]``: churn profile per group, as JSON."""

import json
import math
import sys
import tempfile

HELP = "churn rate, lift and average balance per group of FILE (JSON list)"


def add_arguments(parser):
    parser.add_argument("file", help="CSV or Excel file of customers")
    parser.add_argument("--by", required=True, help="column(s) to group by, comma separated")
    parser.add_argument("--label", help="churn column (detected when omitted)")
    parser.add_argument("--positive", help="value of the churn column that means 'left' (detected when omitted)")


def load_table(path):
    """The file as a DataFrame through the ingestion module."""
    from churn_core.data.ingest import load_file

    return load_file(path).df


def _roles(df, label=None, positive=None):
    from churn_core.data.roles import detect_roles

    roles = detect_roles(df)
    if label is not None:
        if label not in df.columns:
            from churn_core.errors import ChurnCoreError

            raise ChurnCoreError("segments.unknown_column", f"Column {label!r} is not in the file.", column=label)
        if positive is None:
            positive = roles.positive if roles.label == label else None
        else:
            positive = _match_positive(df[label], positive)
        roles = roles.with_label(label, positive)
    elif positive is not None and roles.label is not None:
        roles = roles.with_label(roles.label, _match_positive(df[roles.label], positive))
    return roles


def _match_positive(series, text):
    """The value of ``series`` whose text is ``text`` (so "1" finds the integer 1)."""
    for value in series.dropna().unique():
        if str(value) == str(text):
            return value.item() if hasattr(value, "item") else value
    return text


def _clean(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def run(args):
    from churn_core.errors import ChurnCoreError
    from churn_core.analysis.segments import compute_group_profiles, detect_columns
    from churn_core.data.store import SessionStore

    by = [c.strip() for c in args.by.split(",") if c.strip()]
    df = load_table(args.file)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ChurnCoreError("segments.unknown_column", f"Column {missing[0]!r} is not in the file; columns: "
                             + ", ".join(map(str, df.columns)), column=missing[0])
    cols = detect_columns(df, _roles(df, args.label, args.positive))
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
    records = [{k: _clean(row[k]) for k in keep} for row in frame.to_dict("records")]
    json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0
