"""``python -m churn_core profile FILE``: how the file was read, its roles and churn label (JSON)."""

import json
import sys

from churn_core.commands._common import add_customer_arguments, open_workspace

HELP = "read a customer file (CSV/Excel) and print its encoding, rows, roles and churn label as JSON"


def add_arguments(parser):
    parser.add_argument("file", help="CSV, TSV, TXT or .xlsx file")
    add_customer_arguments(parser)
    parser.add_argument("--encoding", help="text encoding (default: detected)")
    parser.add_argument("--delimiter", help="field delimiter (default: detected; 'tab' for tab)")
    parser.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    parser.add_argument("--no-columns", action="store_true", help="leave out the per-column profile")


def run(args):
    from churn_core.data.profile import profile_summary

    delimiter = args.delimiter
    if delimiter and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    ws = open_workspace(args.file, args, encoding=args.encoding, delimiter=delimiter, sheet=args.sheet)
    summary = profile_summary(ws.load_, ws.roles_)
    summary["meanings"] = ws.meanings_.as_map()
    if args.no_columns:
        summary.pop("column_profile", None)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    return 0
