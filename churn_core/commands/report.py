"""``python -m churn_core report FILE --model DIR [--plan DIR] [--compare DIR] [--columns MAP.json]
[--lang en|zh] --out report.html``: the board report as one self-contained HTML file.

Built from the same Workspace as the app's pages (book, tiers, signals, value, win-back); the plan
is the ``plan.json`` written by ``simulate`` and the comparison the ``compare.json`` of ``compare``.
"""

import json
import sys
from pathlib import Path

from churn_core.commands._common import add_customer_arguments, open_workspace

HELP = "board report: one self-contained HTML file (data, model, drivers, watch-list, plan, win-back)"


def add_arguments(parser):
    parser.add_argument("file", help="customer table (CSV or Excel)")
    parser.add_argument("--model", required=True, help="folder of a model saved by `train`")
    parser.add_argument("--plan", help="folder written by `simulate` (its plan.json)")
    parser.add_argument("--compare", help="folder written by `compare` (its compare.json)")
    add_customer_arguments(parser)
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the report")
    parser.add_argument("--currency", default="", help="money symbol, e.g. ¥ or $ (default: none)")
    parser.add_argument("--out", required=True, help="output HTML file")


def _read_json(folder, name, code):
    from churn_core.errors import ChurnCoreError

    path = Path(folder) / name
    if not path.is_file():
        raise ChurnCoreError(code, f"There is no {name} in {folder}.", path=str(folder))
    return json.loads(path.read_text(encoding="utf-8"))


def run(args):
    from churn_core.modeling.model import ChurnModel
    from churn_core.sharing.board_report import build_board_report, compute_report_figures

    model = ChurnModel.load(args.model)
    saved = Path(args.model) / "columns.json"
    if getattr(args, "columns", None) is None and saved.is_file():
        args.columns = str(saved)
    ws = open_workspace(args.file, args)
    ws.set_model(model)
    plan = _read_json(args.plan, "plan.json", "report.no_plan") if args.plan else None
    compare = _read_json(args.compare, "compare.json", "report.no_compare") if args.compare else None
    page = build_board_report(ws, lang=args.lang, plan=plan, compare=compare, currency=args.currency)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    figures = compute_report_figures(ws, plan, compare)
    summary = {"out": str(out), "bytes": len(page.encode("utf-8")), "lang": args.lang,
               **{k: figures.get(k) for k in ("customers", "churn_rate", "roc_auc", "book_customers")}}
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    return 0
