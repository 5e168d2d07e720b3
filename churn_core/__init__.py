"""Retention Studio engine: ingestion, store, segments, model, explanations, simulation, uplift.

This package never imports streamlit; the app layer (``studio/``, ``pages/``) builds on it.
"""

from churn_core.errors import ChurnCoreError

__all__ = ["ChurnCoreError"]
__version__ = "0.1.0"
