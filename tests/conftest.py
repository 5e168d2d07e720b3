"""Paths shared by every test tier."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
SAMPLE_DIR = ROOT / "sample_data"


@pytest.fixture(scope="session")
def root_dir():
    return ROOT


@pytest.fixture(scope="session")
def sample_path():
    """The bundled sample: sample_data/customers.csv (20,000 customers)."""
    return SAMPLE_DIR / "customers.csv"


@pytest.fixture(scope="session")
def shared_datasets():
    """Real public churn tables in ../shared/datasets (never copied into the project)."""
    if not SHARED_DATASETS.exists():
        pytest.fail(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def churn_modelling_path(shared_datasets):
    return shared_datasets / "Churn_Modelling.csv"


@pytest.fixture(scope="session")
def telco_path(shared_datasets):
    return shared_datasets / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
