"""``python -m churn_core profile FILE``: how the file was read, its roles and churn label (JSON)."""

import json
import sys

HELP = "read a customer file (CSV/Excel) and print its encoding, rows, roles and churn label as JSON"


def add_arguments(parser):
    parser.add_argument("file", help="CSV, TSV, TXT or .xlsx file")
    parser.add_argument("--label", help="churn label column (default: detected)")
    parser.add_argument("--positive", help="label value that means churned (default: detected)")
    parser.add_argument("--encoding", help="text encoding (default: detected)")
    parser.add_argument("--delimiter", help="field delimiter (default: detected; 'tab' for tab)")
    parser.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    parser.add_argument("--no-columns", action="store_true", help="leave out the per-column profile")


def run(args):
    from churn_core.errors import ChurnCoreError
    from churn_core.data.ingest import load_file
    from churn_core.data.profile import profile_summary
    from churn_core.data.roles import coerce_positive, detect_positive, detect_roles

    delimiter = args.delimiter
    if delimiter and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    load = load_file(args.file, encoding=args.encoding, delimiter=delimiter, sheet=args.sheet)
    roles = detect_roles(load.df)
    if args.label:
        if args.label not in load.df.columns:
            raise ChurnCoreError("roles.unknown_column", f"There is no column {args.label!r} in the file.",
                                 column=args.label)
        positive = args.positive
        series = load.df[args.label]
        positive = coerce_positive(series, positive) if positive is not None else detect_positive(series)
        roles = roles.with_label(args.label, positive)
    elif args.positive is not None:
        if roles.label is None:
            raise ChurnCoreError("profile.no_label", "No churn label was detected: name it with --label.")
        roles = roles.with_label(roles.label, coerce_positive(load.df[roles.label], args.positive))
    summary = profile_summary(load, roles)
    if args.no_columns:
        summary.pop("column_profile", None)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    return 0
