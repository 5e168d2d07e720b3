"""Other tables for page tests: the shared Churn_Modelling file and a synthetic credit-card export
(money = revolving balance + transaction amount), each loaded and role-detected once."""

import functools
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHURN_MODELLING = ROOT.parent / "shared" / "datasets" / "Churn_Modelling.csv"


def _dataset(load):
    from churn_core.data.roles import detect_roles
    from studio.state import Dataset

    return Dataset(load=load, roles=detect_roles(load.df))


@functools.lru_cache(maxsize=None)
def churn_modelling():
    from churn_core.data.ingest import load_file

    return _dataset(load_file(CHURN_MODELLING))


@functools.lru_cache(maxsize=None)
def credit_card(rows=800, seed=3):
    from churn_core.data.ingest import load_file
    from churn_core.data.synth import make_credit_card

    data = make_credit_card(rows, seed).to_csv(index=False).encode("utf-8")
    return _dataset(load_file(io.BytesIO(data), filename="cards.csv"))
