"""The churn model: XGBoost with a pre-training gate, honest evaluation and calibrated probabilities.

:class:`ChurnModel` follows scikit-learn habits: settings in ``__init__``, ``fit(df, roles)``
returns ``self``, results in trailing-underscore attributes. What it does in ``fit``:

1. the gate (:func:`churn_core.modeling.prep.compute_gate`): label -> 0/1, ids, leaks, free text out;
2. a stratified held-out **test** set (20%; grouped by customer when a customer has several
   snapshot rows, so no customer is on both sides), never used until the final figures;
3. on the other 80%, **cross-fitting** (up to ``cv_max_rows`` = 50,000 rows): k boosters, each
   early-stopped on its own held-out fold, give the cross-validated AUC and out-of-fold margins; the final
   booster learns on all 80% with the folds' mean tree count. Larger tables use one validation
   split instead (early stopping and calibration on it; no cross-validation);
4. XGBoost (``hist``, native categoricals, depth 4, learning rate 0.05, at most 400 trees; one
   thread under 50,000 rows). Depth and tree counts were compared by 5-fold CV on the non-test
   rows of Churn_Modelling, Telco and the sample: depth 3-5, learning rate 0.03-0.1 and
   min_child_weight 2-10 were all within 0.002 AUC, so the defaults stay small for fast SHAP.
   From 200,000 non-test rows the learning rate is 0.1 (``learning_rate="auto"``): on 1M generated
   customers it stops at 196 trees instead of 398 with the same test AUC (0.8689 vs 0.8691), which
   halves the training and the TreeSHAP of every customer (BENCHMARKS.md, goal 2);
5. calibration of the margin (Platt scaling by default, ``isotonic`` possible) on out-of-fold
   margins (or the validation split): the simulator multiplies these probabilities into money;
6. figures on the untouched test set, a logistic-regression baseline (one-hot + scaling) for the
   grade, and a temporal backtest when a snapshot date exists (earlier snapshots -> latest); both
   train on at most 200,000 rows (a random sample of them), so a million customers cost one full fit.

The saved form (``save(dir)``) is ``model.json`` (settings, preparation, calibration, metrics),
``booster.ubj`` (XGBoost's own format) and ``evaluation.npz`` (test labels and probabilities, no
pickle).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core.modeling import metrics as M
from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_jsonable
from churn_core.modeling.prep import PrepConfig, Preprocessor, compute_gate, label_to_binary

__all__ = ["ChurnModel", "FORMAT_VERSION"]

FORMAT_VERSION = 1

# The logistic baseline and the temporal backtest are reporting figures: past a few hundred thousand
# training rows their AUC barely moves while their cost grows with every row. Without the cap the
# backtest was a second full-size XGBoost fit, 45% of `train` on 1M customers (pyinstrument profile,
# BENCHMARKS.md "Scale"); the figures with and without the cap are compared there.
BASELINE_MAX_ROWS = 200_000
BACKTEST_MAX_ROWS = 200_000
# Early stopping evaluates the validation rows after every tree: past this many (a stratified
# sample) the stopping point is as well placed and the evaluation stops costing 2.7 s of `train` on
# 1M customers. Calibration still uses every validation row.
EARLY_STOPPING_MAX_ROWS = 50_000
# From this many non-test rows ``learning_rate="auto"`` takes the larger step: big tables reach the
# same test AUC in half the trees, and every tree costs TreeSHAP time for every customer.
LARGE_TABLE_ROWS = 200_000
AUTO_LEARNING_RATE = (0.05, 0.1)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _noop(fraction, code):
    return None


class ChurnModel:
    """Gradient-boosted churn model with a reporting gate and calibrated probabilities.

    Parameters
    ----------
    label, positive : optional
        Label column and churn value; taken from ``roles`` (or detected) when omitted.
    max_depth : int
        Tree depth (<= 5 keeps SHAP on a million customers fast).
    learning_rate : float or "auto"
        ``"auto"``: 0.05, or 0.1 from ``LARGE_TABLE_ROWS`` non-test rows (the value used is
        ``learning_rate_``).
    n_estimators : int
        Most trees; early stopping usually stops well before.
    early_stopping_rounds : int
    test_size, valid_size : float
        Held-out test share, and validation share of the rest.
    cv_folds : int
        Folds of the cross-validated AUC (0 to skip).
    cv_max_rows : int
        Cross-fitting is used up to this many non-test rows; larger tables use one validation
        split (at 100,000 generated customers: test AUC 0.8594 vs 0.8597 with cross-fitting,
        ECE 0.0066 vs 0.0046, fit 2.6 s vs 7.2 s; a 20% split of 40,000+ rows holds 5,000+
        churners, enough to stop early and to calibrate).
    calibration : {"platt", "isotonic", "none"}
    min_churners : int
    max_categories : int
    random_state : int
    n_jobs : int
    progress : callable, optional
        ``progress(fraction, code)`` called during ``fit``.
    """

    def __init__(self, label=None, positive=None, max_depth=4, learning_rate="auto", n_estimators=400,
                 early_stopping_rounds=40, test_size=0.2, valid_size=0.2, cv_folds=5,
                 cv_max_rows=50_000, calibration="platt", min_churners=20, max_categories=30,
                 random_state=0, n_jobs=2, progress=None):
        self.label = label
        self.positive = positive
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.test_size = test_size
        self.valid_size = valid_size
        self.cv_folds = cv_folds
        self.cv_max_rows = cv_max_rows
        self.calibration = calibration
        self.min_churners = min_churners
        self.max_categories = max_categories
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress

    # ------------------------------------------------------------ helpers
    def _validate_settings(self):
        if not 1 <= int(self.max_depth) <= 8:
            raise ValueError("max_depth must be between 1 and 8")
        if self.learning_rate != "auto" and not (isinstance(self.learning_rate, (int, float))
                                                 and 0 < float(self.learning_rate) <= 1):
            raise ValueError("learning_rate must be 'auto' or in (0, 1]")
        if int(self.n_estimators) < 1:
            raise ValueError("n_estimators must be positive")
        if not 0.05 <= float(self.test_size) <= 0.5 or not 0.05 <= float(self.valid_size) <= 0.5:
            raise ValueError("test_size and valid_size must be between 0.05 and 0.5")
        if self.calibration not in ("platt", "isotonic", "none"):
            raise ValueError("calibration must be 'platt', 'isotonic' or 'none'")

    def _resolve_learning_rate(self, n_rows):
        """The learning rate used for ``n_rows`` non-test rows (``"auto"``: see ``LARGE_TABLE_ROWS``)."""
        if self.learning_rate == "auto":
            small, large = AUTO_LEARNING_RATE
            return large if n_rows >= LARGE_TABLE_ROWS else small
        return float(self.learning_rate)

    def _params(self):
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": int(self.max_depth),
            "eta": float(self.learning_rate_),
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 2.0,
            "lambda": 1.0,
            "max_cat_to_onehot": 4,
            "max_bin": 256,
            "nthread": int(self.n_jobs),
            "seed": int(self.random_state),
            "verbosity": 0,
        }

    @staticmethod
    def _dmatrix(X, y=None):
        import xgboost as xgb

        return xgb.DMatrix(X, label=y, enable_categorical=True, nthread=2)

    def _train_matrix(self, X, y, ref=None):
        """Training (or, with ``ref``, evaluation) data for ``hist``: XGBoost's QuantileDMatrix bins
        the features once while reading them (no raw float copy kept), the same bins ``hist``
        would compute from a DMatrix, at a fraction of the memory and time on large tables."""
        import xgboost as xgb

        return xgb.QuantileDMatrix(X, label=y, enable_categorical=True, nthread=2, max_bin=256, ref=ref)

    def _split(self, y, groups, size, seed):
        """Indices (a, b) with b about ``size`` of the rows, stratified, grouped when ids repeat."""
        from sklearn.model_selection import StratifiedGroupKFold, train_test_split

        idx = np.arange(len(y))
        if groups is not None and pd.Series(groups).duplicated().any():
            k = max(2, int(round(1 / size)))
            sgk = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            a, b = next(sgk.split(idx, y, groups))
            return a, b
        a, b = train_test_split(idx, test_size=size, stratify=y, random_state=seed)
        return np.sort(a), np.sort(b)

    def _folds(self, y, groups, k, seed):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        idx = np.arange(len(y))
        if groups is not None:
            return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, y, groups))
        return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, y))

    def _train_es(self, Xa, ya, Xb, yb, params, n_max, report=None):
        """A booster trained on (Xa, ya), early-stopped on (Xb, yb), cut to its best iteration."""
        import xgboost as xgb

        callbacks = []
        if report is not None:
            class _Progress(xgb.callback.TrainingCallback):
                def after_iteration(self_cb, model, epoch, evals_log):
                    if epoch % 10 == 0:
                        report(0.15 + 0.5 * min(epoch / n_max, 1.0), "model.train")
                    return False
            callbacks.append(_Progress())
        dtrain = self._train_matrix(Xa, ya)
        if len(yb) > EARLY_STOPPING_MAX_ROWS:
            keep = self._split(yb, None, EARLY_STOPPING_MAX_ROWS / len(yb), int(self.random_state) + 2)[1]
            Xb, yb = Xb.iloc[keep], yb[keep]
        dvalid = self._train_matrix(Xb, yb, ref=dtrain)
        bst = xgb.train(params, dtrain, num_boost_round=n_max, evals=[(dvalid, "valid")],
                        early_stopping_rounds=int(self.early_stopping_rounds), verbose_eval=False,
                        callbacks=callbacks)
        best = int(getattr(bst, "best_iteration", n_max - 1)) + 1
        return bst[:best]

    # ------------------------------------------------------------ fit
    def fit(self, df, roles=None, progress=None):
        """Check the table, train, calibrate and evaluate.

        Parameters
        ----------
        df : pandas.DataFrame
        roles : churn_core.data.roles.Roles, optional
        progress : callable, optional
            Overrides the ``progress`` setting for this call.

        Returns
        -------
        self
        """
        import xgboost as xgb

        self._validate_settings()
        report = progress or self.progress or _noop
        t0 = time.perf_counter()
        report(0.02, "model.gate")
        cfg = PrepConfig(min_churners=int(self.min_churners), max_categories=int(self.max_categories),
                         random_state=int(self.random_state))
        gate = compute_gate(df, label=self.label, positive=self.positive, roles=roles, config=cfg)
        self.gate_ = gate
        self.label_ = gate.label
        self.positive_ = gate.positive
        self.features_ = list(gate.features)
        self.excluded_ = dict(gate.excluded)
        self.flagged_ = dict(gate.flagged)
        self.id_column_ = gate.id_column
        self.snapshot_column_ = gate.snapshot_column

        y_all = label_to_binary(df[self.label_], self.positive_)
        keep = y_all.notna().to_numpy()
        data = df.loc[keep]
        y = y_all[keep].to_numpy(dtype=float)
        report(0.08, "model.prepare")
        self.prep_ = Preprocessor(self.features_, gate.kinds, self.max_categories, gate.snapshot_column)
        groups = data[self.id_column_].astype("string").to_numpy() if self.id_column_ else None
        grouped = bool(groups is not None and pd.Series(groups).duplicated().any())
        seed = int(self.random_state)
        rest, test = self._split(y, groups if grouped else None, float(self.test_size), seed)
        self.learning_rate_ = self._resolve_learning_rate(len(rest))
        self.prep_.fit(data.iloc[rest])
        X = self.prep_.transform(data)
        self.feature_names_ = list(self.prep_.feature_names_)
        self.display_names_ = dict(self.prep_.display_names_)
        self.feature_map_ = dict(zip(self.feature_names_, self.features_))
        params = self._params()
        if len(data) < 50_000:
            # small tables: thread start-up costs more than it saves, and a busy server (several
            # sessions training at once) makes OpenMP threads spin; one thread is faster here
            params["nthread"] = 1
        n_max = int(self.n_estimators)
        k = int(self.cv_folds)

        if k >= 2 and len(rest) <= int(self.cv_max_rows):
            # cross-fitting: k boosters, each early-stopped on its own held-out fold; their
            # out-of-fold margins calibrate the probabilities and give the cross-validated AUC;
            # the final booster learns on all non-test rows with the folds' mean tree count.
            oof = np.empty(len(rest))
            bests, aucs = [], []
            for i, (a, b) in enumerate(self._folds(y[rest], groups[rest] if grouped else None, k, seed)):
                report(0.12 + 0.5 * i / k, "model.cv")
                bst = self._train_es(X.iloc[rest[a]], y[rest[a]], X.iloc[rest[b]], y[rest[b]], params, n_max)
                bests.append(bst.num_boosted_rounds())
                oof[b] = bst.predict(self._dmatrix(X.iloc[rest[b]]), output_margin=True)
                aucs.append(M.roc_auc(y[rest[b]], oof[b]))
            best = max(1, int(round(float(np.mean(bests)))))
            report(0.62, "model.train")
            self.booster_ = xgb.train(params, self._train_matrix(X.iloc[rest], y[rest]), num_boost_round=best)
            cal_margin, cal_y = oof, y[rest]
            fitted_on = f"out-of-fold margins of {k}-fold cross-fitting"
            train_idx, n_valid = rest, 0
            cv = {"folds": k, "rows": int(len(rest)), "roc_auc_mean": float(np.mean(aucs)),
                  "roc_auc_sd": float(np.std(aucs, ddof=1)), "fold_roc_auc": [float(v) for v in aucs],
                  "fold_trees": [int(v) for v in bests], "early_stopping": "on each held-out fold"}
        else:
            # large data: one validation split for early stopping and calibration
            tr_rel, va_rel = self._split(y[rest], groups[rest] if grouped else None,
                                         float(self.valid_size), seed + 1)
            train_idx, valid = rest[tr_rel], rest[va_rel]
            report(0.15, "model.train")
            bst = self._train_es(X.iloc[train_idx], y[train_idx], X.iloc[valid], y[valid], params, n_max,
                                 report=report)
            best = bst.num_boosted_rounds()
            self.booster_ = bst
            cal_margin = bst.predict(self._dmatrix(X.iloc[valid]), output_margin=True)
            cal_y = y[valid]
            fitted_on = "validation split"
            n_valid = len(valid)
            cv = None
        self.n_trees_ = int(best)
        # training may have used one thread; scoring and SHAP of many customers use n_jobs
        self.booster_.set_param({"nthread": int(self.n_jobs)})

        report(0.68, "model.calibrate")
        self._fit_calibrator(cal_margin, cal_y)
        cal_ece_before = float(M.expected_calibration_error(cal_y, _sigmoid(cal_margin)))
        train = train_idx
        valid_count = n_valid
        report(0.72, "model.evaluate")
        dtest = self._dmatrix(X.iloc[test])
        m_test = self.booster_.predict(dtest, output_margin=True)
        p_test = self._calibrate(m_test)
        y_test = y[test]
        self.test_y_ = y_test
        self.test_proba_ = p_test
        summary = M.compute_summary(y_test, p_test)
        raw_ece = M.expected_calibration_error(y_test, _sigmoid(m_test))

        report(0.76, "model.baseline")
        base_auc, base_pr = self._baseline(X, y, train, test)
        grade = M.compute_grade(summary["roc_auc"], base_auc)

        report(0.92, "model.backtest")
        backtest = self._backtest(data, X, y, params, best)

        self.metrics_ = {
            "roc_auc": summary["roc_auc"], "pr_auc": summary["pr_auc"], "brier": summary["brier"],
            "ece": summary["ece"], "ece_bins": "10 equal-width bins",
            "top_decile_lift": summary["top_decile_lift"],
            "baseline_roc_auc": base_auc, "baseline_pr_auc": base_pr,
            "grade": grade["grade"], "grade_code": grade["code"], "auc_gain_vs_baseline": grade["gain"],
            "n_rows": int(gate.n_rows), "n_missing_label": int(gate.n_missing_label),
            "n_train": int(len(train)), "n_valid": int(valid_count), "n_test": int(len(test)),
            "churn_rate": float(y.mean()), "test_churn_rate": float(y_test.mean()),
            "grouped_split": grouped,
            "n_trees": int(best), "max_depth": int(self.max_depth),
            "learning_rate": float(self.learning_rate_),
            "calibration": {"method": self.calibration, "fitted_on": fitted_on,
                            "params": self.calibrator_, "test_ece_uncalibrated": float(raw_ece),
                            "test_ece": summary["ece"], "fit_ece_uncalibrated": cal_ece_before},
            "cv": cv, "backtest": backtest,
            "training_seconds": round(time.perf_counter() - t0, 2),
        }
        self.trained_at_ = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.fingerprint_ = self._fingerprint()
        report(1.0, "model.done")
        return self

    def _fit_calibrator(self, margin, y):
        if self.calibration == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6, max_iter=1000)
            lr.fit(margin.reshape(-1, 1), y)
            self.calibrator_ = {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        elif self.calibration == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(margin, y)
            self.calibrator_ = {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                                "y": iso.y_thresholds_.tolist()}
        else:
            self.calibrator_ = {"method": "none"}

    def proba_from_margin(self, margin):
        """Calibrated probability for booster margins (used by explanations and the simulator)."""
        return self._calibrate(margin)

    def _calibrate(self, margin):
        c = self.calibrator_
        margin = np.asarray(margin, dtype=float)
        if c["method"] == "platt":
            return _sigmoid(c["a"] * margin + c["b"])
        if c["method"] == "isotonic":
            return np.interp(margin, np.asarray(c["x"]), np.asarray(c["y"]))
        return _sigmoid(margin)

    def _baseline(self, X, y, train, test):
        """Logistic regression on one-hot + scaled features: (test ROC AUC, test PR AUC)."""
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        cat = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        num = [c for c in X.columns if c not in cat]
        empty = [c for c in num if X[c].isna().all()]
        tr = train
        if len(tr) > BASELINE_MAX_ROWS:
            tr = np.random.default_rng(self.random_state).choice(tr, BASELINE_MAX_ROWS, replace=False)

        def frame(rows):
            # only the rows the baseline uses are converted; categories enter the one-hot encoder as
            # their integer codes (-1 = missing): the same sorted columns as their text, without
            # the encoder's slow pass over Python strings (1.5 s of 3.1 s at 200,000 rows)
            Xb = X.iloc[rows].copy()
            for c in cat:
                Xb[c] = Xb[c].cat.codes.astype(np.int64)
            for c in empty:
                Xb[c] = 0.0
            return Xb

        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), num),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), cat),
        ])
        pipe = make_pipeline(pre, LogisticRegression(max_iter=2000, C=1.0))
        pipe.fit(frame(tr), y[tr])
        p = pipe.predict_proba(frame(test))[:, 1]
        return M.roc_auc(y[test], p), M.pr_auc(y[test], p)

    def _backtest(self, data, X, y, params, n_trees):
        """Train on earlier snapshots, test on the latest one (None without a snapshot column)."""
        import xgboost as xgb

        col = self.snapshot_column_
        if col is None:
            return None
        from churn_core.modeling.prep import _to_datetime_if_mostly

        snaps = _to_datetime_if_mostly(data[col])
        if snaps is None or snaps.nunique() < 2:
            return None
        latest = snaps.max()
        te = (snaps == latest).to_numpy()
        tr = (snaps < latest).to_numpy()
        if len(np.unique(y[te])) < 2 or len(np.unique(y[tr])) < 2:
            return None
        n_available = int(tr.sum())
        rows = np.flatnonzero(tr)
        if len(rows) > BACKTEST_MAX_ROWS:
            rows = np.sort(np.random.default_rng(self.random_state).choice(rows, BACKTEST_MAX_ROWS, replace=False))
        bst = xgb.train(params, self._train_matrix(X.iloc[rows], y[rows]), num_boost_round=n_trees)
        p = bst.predict(self._dmatrix(X.loc[te]))
        return {"snapshot_column": str(col), "test_snapshot": pd.Timestamp(latest).date().isoformat(),
                "train_snapshots": int(snaps[tr].nunique()), "n_train": int(len(rows)),
                "n_train_available": n_available,
                "n_test": int(te.sum()), "roc_auc": M.roc_auc(y[te], p), "pr_auc": M.pr_auc(y[te], p),
                "top_decile_lift": M.top_decile_lift(y[te], p)}

    # ------------------------------------------------------------ predict
    def _fingerprint(self):
        import hashlib

        raw = bytes(self.booster_.save_raw(raw_format="ubj"))
        return hashlib.sha256(raw + json.dumps(self.calibrator_).encode()).hexdigest()[:16]

    def _check_fitted(self):
        if not hasattr(self, "booster_"):
            raise ChurnCoreError("model.not_fitted", "Train the model first (Model page).")

    def transform(self, df):
        """Feature matrix for ``df``: safe names, float/category columns, unseen categories and
        ``±inf`` as missing."""
        self._check_fitted()
        return self.prep_.transform(df)

    def predict_margin(self, df):
        """Raw log-odds of the booster (before calibration), one per row."""
        return self.margin_of_matrix(self.transform(df))

    def margin_of_matrix(self, X):
        """Raw log-odds of the booster for a feature matrix made by :meth:`transform` (explanations
        call it on the matrix they already have, so their risks are the same numbers as
        :meth:`predict_proba`'s)."""
        self._check_fitted()
        return self.booster_.predict(self._dmatrix(X), output_margin=True)

    def predict_proba(self, df):
        """Calibrated probability of churn, one per row (a 1-D array)."""
        return self._calibrate(self.predict_margin(df))

    # ------------------------------------------------------------ card / persistence
    def model_card(self):
        """What a reviewer needs: data, features, excluded columns and why, metrics, settings."""
        self._check_fitted()
        g = self.gate_
        return {
            "trained_at": self.trained_at_,
            "data": {"rows": g.n_rows, "rows_used": g.n_used, "rows_missing_label": g.n_missing_label,
                     "label": self.label_, "positive": self.positive_, "label_values": g.label_values,
                     "churners": g.n_churners, "churn_rate": g.churn_rate,
                     "id_column": self.id_column_, "snapshot_column": self.snapshot_column_},
            "features": [{"column": c, "model_name": s, "kind": g.kinds[c],
                          "alone_auc": round(float(g.leak_auc.get(c, float("nan"))), 4),
                          "flag": self.flagged_.get(c)}
                         for c, s in zip(self.features_, self.feature_names_)],
            "excluded": [{"column": c, "reason": r,
                          "alone_auc": (round(float(g.leak_auc[c]), 4) if c in g.leak_auc else None)}
                         for c, r in self.excluded_.items()],
            "flagged": dict(self.flagged_),
            "metrics": self.metrics_,
            "settings": {"algorithm": "xgboost", "tree_method": "hist", "max_depth": int(self.max_depth),
                         "learning_rate": float(self.learning_rate_), "max_trees": int(self.n_estimators),
                         "trees": int(self.n_trees_), "early_stopping_rounds": int(self.early_stopping_rounds),
                         "test_size": float(self.test_size), "valid_size": float(self.valid_size),
                         "calibration": self.calibration, "random_state": int(self.random_state)},
        }

    def _settings(self):
        return {k: getattr(self, k) for k in (
            "label", "positive", "max_depth", "learning_rate", "n_estimators", "early_stopping_rounds",
            "test_size", "valid_size", "cv_folds", "cv_max_rows", "calibration", "min_churners",
            "max_categories", "random_state", "n_jobs")}

    def save(self, directory):
        """Write ``model.json``, ``booster.ubj`` and ``evaluation.npz`` into ``directory``."""
        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(d / "booster.ubj"))
        state = {
            "format_version": FORMAT_VERSION,
            "settings": to_jsonable(self._settings()),
            "gate": to_jsonable(self.gate_.to_dict()),
            "prep": self.prep_.to_dict(),
            "calibrator": self.calibrator_,
            "metrics": to_jsonable(self.metrics_),
            "n_trees": int(self.n_trees_),
            "trained_at": self.trained_at_,
        }
        (d / "model.json").write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        np.savez(d / "evaluation.npz", y=np.asarray(self.test_y_, dtype=float),
                 p=np.asarray(self.test_proba_, dtype=float))
        return d

    @classmethod
    def load(cls, directory):
        """Read a model written by :meth:`save`."""
        import xgboost as xgb

        from churn_core.modeling.prep import GateReport

        d = Path(directory)
        path = d / "model.json"
        if not path.exists() or not (d / "booster.ubj").exists():
            raise ChurnCoreError("model.not_found", f"No saved model in '{d}': train one with "
                                 "`python -m churn_core train FILE --out DIR` first.", path=str(d))
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("format_version") != FORMAT_VERSION:
            raise ChurnCoreError("model.bad_version", "This model was saved by another version; train it again.")
        self = cls(**state["settings"])
        g = state["gate"]
        self.gate_ = GateReport(**g)
        self.label_ = g["label"]
        self.positive_ = g["positive"]
        self.features_ = list(g["features"])
        self.excluded_ = dict(g["excluded"])
        self.flagged_ = dict(g["flagged"])
        self.id_column_ = g["id_column"]
        self.snapshot_column_ = g["snapshot_column"]
        self.prep_ = Preprocessor.from_dict(state["prep"])
        self.feature_names_ = list(self.prep_.feature_names_)
        self.display_names_ = dict(self.prep_.display_names_)
        self.feature_map_ = dict(zip(self.feature_names_, self.features_))
        self.calibrator_ = state["calibrator"]
        self.metrics_ = state["metrics"]
        self.n_trees_ = int(state["n_trees"])
        self.learning_rate_ = float(state["metrics"].get("learning_rate", self._resolve_learning_rate(0)))
        self.trained_at_ = state["trained_at"]
        booster = xgb.Booster()
        booster.load_model(str(d / "booster.ubj"))
        booster.set_param({"nthread": int(self.n_jobs)})
        self.booster_ = booster
        self.fingerprint_ = self._fingerprint()
        ev_path = d / "evaluation.npz"
        if ev_path.exists():
            with np.load(ev_path, allow_pickle=False) as ev:
                self.test_y_, self.test_proba_ = ev["y"], ev["p"]
        return self
