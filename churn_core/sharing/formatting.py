"""Banker formatting of numbers, one place for the pages, the exports' display copies and the report.

Money with a currency symbol and thousands separators (万 / 亿 in Chinese for large amounts),
rates as percentages, percentage points of risk, integers as integers. Pure functions, no Streamlit.

>>> money(1234567.8, "¥", "en")
'¥1,234,568'
>>> money(1234567.8, "¥", "zh")
'¥123.5万'
>>> pct(0.2038)
'20.4%'
>>> points(6.04, "zh")
'+6.0个百分点'
"""

from __future__ import annotations

import math

import numpy as np

LANGS = ("en", "zh")
#: Currency symbols the settings offer (any short text is accepted).
CURRENCIES = ("¥", "$", "€", "£", "HK$", "")


def _finite(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def money(x, currency="", lang="en", decimals=0, compact=None):
    """``x`` as money: ``¥1,234,568``; in Chinese ``¥123.5万`` / ``¥1.2亿`` from 10,000 up.

    Parameters
    ----------
    compact : bool, optional
        Use 万/亿 (zh) or K/M/B (en). Default: on in Chinese for |x| >= 10,000, off in English.
    """
    v = _finite(x)
    if v is None:
        return "–"
    sign = "-" if v < 0 else ""
    a = abs(v)
    if compact is None:
        compact = lang == "zh" and a >= 10_000
    if compact:
        if lang == "zh":
            for unit, size in (("亿", 1e8), ("万", 1e4)):
                if a >= size:
                    return f"{sign}{currency}{a / size:,.1f}{unit}"
        else:
            for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
                if a >= size:
                    return f"{sign}{currency}{a / size:,.1f}{unit}"
    return f"{sign}{currency}{a:,.{decimals}f}"


def number(x, decimals=0):
    """Thousands separators; integers without decimals (``45`` not ``45.00``)."""
    v = _finite(x)
    if v is None:
        return "–"
    if decimals == 0 or float(v).is_integer():
        return f"{int(round(v)):,}"
    return f"{v:,.{decimals}f}"


def pct(x, decimals=1):
    """A rate (fraction) as a percentage: ``0.2038`` -> ``20.4%``."""
    v = _finite(x)
    if v is None:
        return "–"
    return f"{v * 100:.{decimals}f}%"


def points(x, lang="en", decimals=1, signed=True):
    """Percentage points of risk: ``+6.0 pts`` / ``+6.0个百分点``."""
    v = _finite(x)
    if v is None:
        return "–"
    text = f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}"
    return f"{text}个百分点" if lang == "zh" else f"{text} pts"


def money_column(values, currency="", lang="en"):
    """A list of money strings for a column (display copies; exports keep the numbers)."""
    return [money(v, currency, lang) for v in np.asarray(values, dtype=object)]
