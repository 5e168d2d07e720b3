"""``python -m churn_core generate --rows N --seed S --out DIR``: the sample with planted truth."""

import json
import sys

HELP = "write the sample customers, campaign and ground_truth.json (deterministic)"


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=20000, help="number of customers (>= 60)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")


def run(args):
    from churn_core.data.synth import write_sample

    paths = write_sample(args.out, rows=args.rows, seed=args.seed)
    json.dump({name: str(path) for name, path in paths.items()}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
