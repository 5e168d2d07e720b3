"""Running allowed queries in the worker: exact results, row cap, snapshot refresh, several tables."""

from pathlib import Path

import pandas as pd
import pytest

from churn_core.analysis.sqlguard import SNAPSHOT_DIR, ensure_snapshot, run_user_sql, store_fingerprint
from churn_core.data.store import SessionStore


@pytest.fixture(scope="module")
def store(tmp_path_factory, churn_modelling_path):
    s = SessionStore(root_dir=tmp_path_factory.mktemp("sqlrun"))
    s.load_frame("customers", pd.read_csv(churn_modelling_path))
    yield s
    s.close()


def test_group_by_equals_pandas(store, churn_modelling_path):
    df = pd.read_csv(churn_modelling_path)
    res = run_user_sql(store, "SELECT Geography, COUNT(*) AS n, SUM(Exited) AS churned FROM customers GROUP BY 1 ORDER BY 1")
    assert res.frame.to_dict("records") == [
        {"Geography": "France", "n": 5014, "churned": 810},
        {"Geography": "Germany", "n": 2509, "churned": 814},
        {"Geography": "Spain", "n": 2477, "churned": 413},
    ]
    assert res.frame["n"].tolist() == df.groupby("Geography").size().tolist()
    assert res.truncated is False
    assert res.peak_rss_mb < 1024


def test_rows_are_capped(store):
    res = run_user_sql(store, "SELECT * FROM customers", max_rows=2500)
    assert len(res.frame) == 2500
    assert res.truncated is True
    assert list(res.frame.columns[:3]) == ["RowNumber", "CustomerId", "Surname"]
    small = run_user_sql(store, "SELECT * FROM customers LIMIT 7")
    assert len(small.frame) == 7 and small.truncated is False


def test_default_cap_is_ten_thousand(store):
    res = run_user_sql(store, "SELECT * FROM range(25000) t(x)")
    assert len(res.frame) == 10_000
    assert res.frame["x"].iloc[-1] == 9999
    assert res.truncated is True


def test_sql_error_is_one_clear_line(store):
    from churn_core.errors import ChurnCoreError

    with pytest.raises(ChurnCoreError) as info:
        run_user_sql(store, "SELECT nope FROM customers")
    assert info.value.code == "sql.query_failed"
    assert "nope" in str(info.value)
    assert "\n" not in str(info.value)


def test_snapshot_follows_data_changes(tmp_path):
    s = SessionStore(root_dir=tmp_path / "s")
    try:
        s.load_frame("customers", pd.DataFrame({"x": [1, 2, 3]}))
        fp1 = store_fingerprint(s)
        assert run_user_sql(s, "SELECT SUM(x) AS t FROM customers").frame["t"].tolist() == [6]
        s.load_frame("customers", pd.DataFrame({"x": [1, 2, 30]}))
        assert store_fingerprint(s) != fp1
        assert run_user_sql(s, "SELECT SUM(x) AS t FROM customers").frame["t"].tolist() == [33]
        # only the current snapshot is kept
        folders = [p.name for p in (Path(s.root_dir) / SNAPSHOT_DIR).iterdir()]
        assert folders == [store_fingerprint(s)]
        s.load_frame("scores", pd.DataFrame({"x": [2, 30], "p": [0.5, 0.25]}))
        out = run_user_sql(s, "SELECT c.x, s.p FROM customers c JOIN scores s USING (x) ORDER BY c.x").frame
        assert out.to_dict("records") == [{"x": 2, "p": 0.5}, {"x": 30, "p": 0.25}]
        assert sorted(ensure_snapshot(s)) == ["customers", "scores"]
    finally:
        s.close()


def test_chinese_names_and_values_survive(tmp_path):
    s = SessionStore(root_dir=tmp_path / "zh")
    try:
        s.load_frame("customers", pd.DataFrame({"地区": ["北京", "上海", "北京"], "是否流失": ["是", "否", "否"]}))
        out = run_user_sql(s, "SELECT \"地区\", COUNT(*) AS n FROM customers WHERE \"是否流失\" = '否' GROUP BY 1 ORDER BY 1").frame
        assert out.to_dict("records") == [{"地区": "上海", "n": 1}, {"地区": "北京", "n": 1}]
    finally:
        s.close()
