"""Scoring beyond one machine: the same scores as ``churn_core.modeling.scoring``, on Spark.

The Spark engine (:mod:`churn_core.scale.spark`) is optional: it needs ``pyspark`` and a Java
runtime (``requirements-spark.txt``); nothing else in the engine or the app imports it.
"""

__all__ = ["spark"]
