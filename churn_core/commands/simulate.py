"""``python -m churn_core simulate FILE --model DIR --budget X [--offers F] --out DIR``.

Scores the customers to act on (the book: active customers, at the latest snapshot when the file
has snapshot dates; the same book the app's simulator uses) with a saved churn model, picks the
best offer (or none) per customer under the budget and each offer's capacity, and writes ``DIR/plan.json`` (figures with 90% intervals,
baselines, per-offer breakdown, tornado, every assumption) and ``DIR/plan.csv`` (one row per
contacted customer: id, offer, churn_probability, expected_saved, expected_value, cost, net_value).
"""

import json
import sys
from pathlib import Path

from churn_core.commands._common import add_customer_arguments, open_workspace
from churn_core.jsonutil import json_default
from churn_core.workspace import DEFAULT_OBJECTIVE

HELP = "retention plan under a budget: best offer per customer, baselines, 90%% intervals"


def add_arguments(parser):
    parser.add_argument("file", help="customer table (CSV or Excel)")
    parser.add_argument("--model", required=True, help="folder of a model saved by `train`")
    add_customer_arguments(parser)
    parser.add_argument("--budget", required=True, type=float, help="campaign budget (same currency as costs)")
    parser.add_argument("--offers", help="offer catalogue, CSV or JSON (default: the six default offers)")
    parser.add_argument("--effects", choices=["assumed", "model"], default="assumed",
                        help="assumed relative effects (default) or model-based: offers move features and "
                             "the model re-scores")
    parser.add_argument("--objective", choices=["saved_value", "net_value"], default=DEFAULT_OBJECTIVE,
                        help="saved_value (default): spend the budget on the plan that keeps the most value "
                             "(at least as many customers and as much value as the baselines); net_value: "
                             "also skip contacts whose expected value kept is below their cost")
    parser.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws for the intervals")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random baseline and the Monte Carlo")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")


def _load_model(path):
    from churn_core.modeling.model import ChurnModel

    return ChurnModel.load(path)


def run(args):
    from churn_core.retention.offers import catalogue_to_records, default_catalogue, load_catalogue

    from churn_core.errors import ChurnCoreError
    from churn_core.retention.simulate import SimulationSettings

    SimulationSettings(budget=args.budget, objective=args.objective, n_draws=args.draws, seed=args.seed)  # validate
    catalogue = load_catalogue(args.offers) if args.offers else default_catalogue()
    path = Path(args.file)
    if not path.exists():
        raise ChurnCoreError("cli.file_not_found", f"File not found: {path}.", path=str(path))
    model = _load_model(args.model)
    saved = Path(args.model) / "columns.json"
    if getattr(args, "columns", None) is None and saved.is_file():
        args.columns = str(saved)  # the meanings the model was trained with
    ws = open_workspace(path, args)
    ws.set_model(model)
    ws.update_settings(objective=args.objective)
    result = ws.plan(args.budget, catalogue, effects=args.effects, n_draws=args.draws, seed=args.seed)
    inputs = ws.simulator_inputs(catalogue, effects=args.effects, seed=args.seed)
    id_col = ws.id_column

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = result.contact_plan().rename(columns={"customer_id": id_col or "row"})
    (out / "plan.csv").write_bytes(_safe_csv_bytes(plan))
    doc = result.to_dict()
    doc["baseline_risk_net_benefit"] = result.baselines["risk"]["net_benefit"]
    doc["baseline_random_net_benefit"] = result.baselines["random"]["net_benefit"]
    doc["customers_file"] = str(path)
    doc["id_column"] = id_col
    doc["effects"] = args.effects
    doc["book"] = ws.describe_book()
    doc["value_source"] = inputs.value_source
    doc["offers"] = catalogue_to_records(catalogue)
    doc["warnings"] = [{"code": w[0], "offer": w[1], "column": w[2]} for w in inputs.warnings]
    (out / "plan.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=json_default), encoding="utf-8")
    summary = {k: doc[k] for k in ("budget", "cost", "targeted", "expected_saved", "expected_saved_low",
                                   "expected_saved_high", "retained_value", "net_benefit", "roi",
                                   "baseline_risk_saved", "baseline_random_saved")}
    summary["plan_json"] = str(out / "plan.json")
    summary["plan_csv"] = str(out / "plan.csv")
    json.dump(summary, sys.stdout, ensure_ascii=False, default=json_default)
    sys.stdout.write("\n")
    return 0


def _safe_csv_bytes(frame):
    from churn_core.sharing.export import to_safe_csv_bytes

    return to_safe_csv_bytes(frame)
