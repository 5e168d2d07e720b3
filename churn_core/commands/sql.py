"""``python -m churn_core sql FILE "QUERY"``: run one safe SELECT on the file (table ``customers``), print CSV.

The CSV is neutralised like the app's downloads (``churn_core.sharing.export.to_safe_frame``): a text
cell or header starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` so a
spreadsheet never runs it; numeric columns are printed as they are.
"""

import sys
import tempfile

from churn_core.commands.segments import load_table

HELP = "run one SELECT on FILE (table customers) through the SQL guard and print CSV"


def add_arguments(parser):
    parser.add_argument("file", help="CSV or Excel file of customers")
    parser.add_argument("query", help='one SELECT statement, e.g. "SELECT COUNT(*) FROM customers"')
    parser.add_argument("--max-rows", type=int, default=10_000, help="cap on result rows (default 10000)")
    parser.add_argument("--max-mb", type=float, default=16.0, help="cap on the result size in MB (default 16)")
    parser.add_argument("--timeout", type=float, default=10.0, help="time limit in seconds (default 10)")


def run(args):
    from churn_core.analysis.sqlguard import check_sql, run_user_sql
    from churn_core.data.store import SessionStore
    from churn_core.sharing.export import to_safe_frame

    check_sql(args.query, ["customers"])  # refuse before reading the file
    df = load_table(args.file)
    with tempfile.TemporaryDirectory(prefix="churn_sql_") as root:
        store = SessionStore(root_dir=root)
        try:
            store.load_frame("customers", df)
            result = run_user_sql(store, args.query, max_rows=args.max_rows, timeout_s=args.timeout,
                                  max_bytes=max(1, int(args.max_mb * 2**20)))
        finally:
            store.close()
    to_safe_frame(result.frame).to_csv(sys.stdout, index=False, lineterminator="\n")
    if result.truncated:
        sys.stderr.write(f"note: {result.truncation_message}\n")
    return 0
