"""SHAP explanations of the churn model: one contract (:class:`Explanation`) for every view.

Modules, one job each (callers use ``from churn_core.explain import X``):

- :mod:`~churn_core.explain.explanation`: the :class:`Explanation` contract and
  :func:`compute_explanation` (contributions in log-odds, summed back to business features);
- :mod:`~churn_core.explain.treeshap`: exact TreeSHAP, XGBoost's own or by split-outcome patterns;
- :mod:`~churn_core.explain.reasons`: each customer's top drivers in percentage points of risk;
- :mod:`~churn_core.explain.sentences`: the reasons in words, English and Chinese;
- :mod:`~churn_core.explain.views`: global, customer (waterfall) and segment views and their
  Altair charts.

Percentage points of risk: one scale everywhere
------------------------------------------------
Sentences, the waterfall, the watch-list, the exports and the CLI speak in percentage points of
risk, all on one scale (:meth:`Explanation.points`). A customer moves from the base risk
(:attr:`Explanation.base_risk`, the calibrated probability at the model's base value) to their own
risk; each driver gets the share of that move in proportion to its log-odds (SHAP) contribution, so
the drivers' points sum exactly to ``risk - base risk`` and the number in a sentence is the driver's
bar in the waterfall. Risks come from the margin with the model's own calibration when it exposes
one (``model.proba_from_margin``) and with the logistic function otherwise.
"""

from churn_core.explain.explanation import (
    Explanation, compute_explanation, margin_to_proba, model_key, stratified_sample_index,
)
from churn_core.explain.reasons import (
    MIN_POINTS, compute_reason_codes, compute_top_reasons, iter_top_reasons, points_from_contributions,
    protected_columns,
)
from churn_core.explain.sentences import format_reasons, format_value
from churn_core.explain.treeshap import _parsed_trees, _raw_contribs  # noqa: F401 (benchmarks)
from churn_core.explain.views import (
    SegmentComparison, build_beeswarm_chart, build_dependence_chart, build_importance_chart,
    build_interaction_chart, build_segment_chart, build_waterfall_chart, compute_beeswarm_data,
    compute_dependence_data, compute_global_importance, compute_interaction_pairs,
    compute_segment_comparison, compute_segment_drivers, compute_waterfall,
    describe_segment_comparison, pick_interaction_partner,
)

__all__ = [
    "Explanation", "SegmentComparison", "MIN_POINTS",
    "compute_explanation", "compute_global_importance", "compute_top_reasons", "iter_top_reasons",
    "compute_reason_codes", "format_reasons", "format_value", "points_from_contributions",
    "protected_columns",
    "stratified_sample_index", "margin_to_proba", "model_key",
    "compute_beeswarm_data", "compute_dependence_data", "pick_interaction_partner",
    "compute_interaction_pairs", "compute_waterfall", "compute_segment_drivers",
    "compute_segment_comparison", "describe_segment_comparison",
    "build_importance_chart", "build_beeswarm_chart", "build_dependence_chart",
    "build_interaction_chart", "build_waterfall_chart", "build_segment_chart",
]
