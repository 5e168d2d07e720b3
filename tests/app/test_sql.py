"""SQL page: run, cap, refuse clearly, examples (AppTest)."""

from tests.app.conftest import make_app

PAGE = "pages/4_sql.py"


def run_query(at, sql):
    at.text_area(key="sql_text").set_value(sql)
    at.button(key="sql_run").click().run()
    return at


def test_needs_data():
    at = make_app(PAGE)
    at.run()
    assert not at.exception
    assert at.info[0].value.startswith("Load a customer table first")


def test_group_by_query_shows_exact_result(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    assert not at.exception
    assert at.text_area(key="sql_text").value == "SELECT *\nFROM customers\nLIMIT 20"
    run_query(at, "SELECT region, COUNT(*) AS n, SUM(churned) AS churned FROM customers GROUP BY 1 ORDER BY 1")
    assert not at.exception
    df = sample_dataset.df
    result = at.dataframe[0].value
    want = df.groupby("region")["churned"].agg(["size", "sum"])
    assert result["region"].tolist() == want.index.tolist()
    assert result["n"].tolist() == want["size"].tolist()
    assert result["churned"].tolist() == want["sum"].tolist()
    assert at.caption[-1].value.startswith(f"{len(want)} rows in ")


def test_large_result_is_capped_with_a_warning(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    run_query(at, "SELECT customer_id, age FROM customers")
    assert not at.exception
    assert len(at.dataframe[0].value) == 10_000
    assert at.warning[0].value == (
        "Only the first 10,000 rows are shown and downloadable; add filters or aggregates to see everything.")


def test_refusals_are_clear(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    run_query(at, "SELECT * FROM read_csv('/etc/passwd')")
    assert not at.exception
    assert at.error[0].value == "The function read_csv() is not allowed here: queries may only read the loaded tables."
    run_query(at, "COPY customers TO '/tmp/leak.csv'")
    assert at.error[0].value == "Only SELECT queries are allowed here, not COPY."
    run_query(at, "SELECT nope FROM customers")
    assert at.error[0].value.startswith('The query failed: Binder Error: Referenced column "nope" not found')
    assert len(at.dataframe) == 0


def test_chinese_refusal_and_example(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    assert at.title[0].value == "SQL 查询"
    at.selectbox(key="sql_example").set_value("各组流失率").run()
    assert not at.exception
    assert at.text_area(key="sql_text").value.startswith('SELECT "region", COUNT(*) AS customers')
    at.button(key="sql_run").click().run()
    rates = at.dataframe[0].value
    assert rates["churn_rate"].round(6).tolist() == sorted(
        sample_dataset.df.groupby("region")["churned"].mean().round(6).tolist(), reverse=True)
    run_query(at, "ATTACH 'x.db'")
    assert at.error[0].value == "这里只允许 SELECT 查询，不允许 ATTACH。"
