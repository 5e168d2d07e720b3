"""One JSON converter for the whole engine: numpy/pandas values to plain JSON values.

``to_jsonable(obj)`` walks dicts, lists and tuples; numpy scalars become Python numbers, NaN and
infinities become ``None``, timestamps and dates ISO text, sets sorted lists. ``dumps`` is
``json.dumps`` with it (UTF-8 text, Chinese kept as is).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import numpy as np
import pandas as pd


def to_scalar(value):
    """A plain Python scalar for a numpy / pandas scalar (others unchanged, NaN kept)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_jsonable(obj):
    """``obj`` with every value JSON can hold (recursively)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((to_jsonable(v) for v in obj), key=str)
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    obj = to_scalar(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (pd.Timestamp, datetime, date)):
        return obj.isoformat()
    if obj is pd.NaT or (obj is not None and not isinstance(obj, (str, bytes)) and _is_na(obj)):
        return None
    return obj


def _is_na(value):
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def json_default(value):
    """``default=`` for ``json.dumps``: what :func:`to_jsonable` gives, else the text of the value."""
    out = to_jsonable(value)
    return str(out) if out is value else out


def dumps(obj, indent=None):
    """``json.dumps`` of :func:`to_jsonable` (Chinese kept; unknown objects as text)."""
    return json.dumps(to_jsonable(obj), ensure_ascii=False, indent=indent, default=str)
