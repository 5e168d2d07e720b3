"""One peer run, executed INSIDE the peers' own venv by ``bench_peers.py`` (never imports churn_core).

``python peers_worker.py DATA.parquet META.json {explainerdashboard|explainerdashboard_nointer|shapash}``

Reads the shared numeric table written by ``bench_peers.py`` (the same rows and features our model
uses; categories as integer codes), fits an XGBoost classifier with our model's settings (hist,
depth, learning rate, tree count of our fitted model, subsample/colsample 0.8) and builds the
peer's explained model over EVERY row. Prints one JSON line: fit seconds, explain seconds, total.
The timer starts after the table is in memory, as ours does.
"""

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main(data_path, meta_path, peer):
    import pandas as pd
    import xgboost as xgb

    meta = json.load(open(meta_path, encoding="utf-8"))
    df = pd.read_parquet(data_path)
    y = df.pop("__label__").astype(int)
    X = df
    t0 = time.perf_counter()
    model = xgb.XGBClassifier(
        tree_method="hist", max_depth=meta["max_depth"], learning_rate=meta["learning_rate"],
        n_estimators=meta["n_trees"], subsample=0.8, colsample_bytree=0.8, min_child_weight=2.0,
        # the same thread policy as ChurnModel: one thread under 50,000 rows (a busy 2-core machine
        # makes two OpenMP threads spin), two above
        n_jobs=1 if len(X) < 50_000 else 2, random_state=0,
    )
    model.fit(X, y)
    t_fit = time.perf_counter() - t0
    t1 = time.perf_counter()
    if peer.startswith("explainerdashboard"):
        from explainerdashboard import ClassifierExplainer, ExplainerDashboard

        explainer = ClassifierExplainer(model, X, y)
        # construction computes everything the tabs show (shap values, and interaction values
        # when shap_interaction=True) before the server could start
        ExplainerDashboard(explainer, shap_interaction=(peer == "explainerdashboard"))
    elif peer == "shapash":
        from shapash import SmartExplainer

        xpl = SmartExplainer(model=model)
        xpl.compile(x=X, y_target=y)
        xpl.init_app()
    else:
        raise SystemExit(f"unknown peer {peer!r}")
    t_explain = time.perf_counter() - t1
    versions = {}
    for name in ("explainerdashboard", "shapash", "shap", "xgboost"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            pass
    print(json.dumps({"peer": peer, "rows": int(len(X)), "fit_s": round(t_fit, 2),
                      "explain_s": round(t_explain, 2), "total_s": round(t_fit + t_explain, 2),
                      "versions": versions}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
