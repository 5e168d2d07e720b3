"""SQL page (AppTest): run, cap rows and bytes, refuse clearly, translate errors, never Markdown."""

import pandas as pd
import pytest

from tests.app.conftest import make_app
from tests.app.datasets import churn_modelling, credit_card

PAGE = "pages/4_sql.py"


def run_query(at, sql):
    at.text_area(key="sql_text").set_value(sql)
    at.button(key="sql_run").click().run()
    assert not at.exception
    return at


def result(at):
    return next(d.value for d in at.dataframe if "Table" not in d.value.columns and "表" not in d.value.columns)


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
    df = sample_dataset.df
    got = result(at)
    want = df.groupby("region")["churned"].agg(["size", "sum"])
    assert got["region"].tolist() == want.index.tolist()
    assert got["n"].tolist() == want["size"].tolist()
    assert got["churned"].tolist() == want["sum"].tolist()
    assert at.caption[-1].value.startswith(f"{len(want)} rows in ")


def test_tables_and_columns_are_a_dataframe_not_markdown(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    tables = next(d.value for d in at.dataframe if "Table" in d.value.columns)
    assert tables["Column"].tolist() == list(sample_dataset.df.columns)
    assert set(tables["Table"]) == {"customers"}
    assert not any("`" in m.value for m in at.markdown)


def test_large_result_is_capped_with_a_warning(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    run_query(at, "SELECT customer_id, age FROM customers")
    assert len(result(at)) == 10_000
    assert at.warning[0].value == (
        "Only the first 10,000 rows are shown and downloadable; add filters or aggregates to see everything.")


def test_row_cap_message_in_chinese(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    run_query(at, "SELECT customer_id FROM customers")
    assert at.warning[0].value == "仅显示和下载前 10,000 行；请加筛选或汇总以查看全部。"


@pytest.mark.parametrize("lang, start", [("en", "Only the first "), ("zh", "仅显示和下载前 ")])
def test_byte_cap_message_is_translated(sample_dataset, lang, start):
    at = make_app(PAGE, dataset=sample_dataset, lang=lang)
    at.run()
    run_query(at, "SELECT customer_id, repeat('x', 4000) AS pad FROM customers")
    rows = len(result(at))
    assert 0 < rows < 10_000
    message = at.warning[0].value
    assert message.startswith(f"{start}{rows:,} ")
    assert "16 MB" in message


def test_refusals_are_clear(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    run_query(at, "SELECT * FROM read_csv('/etc/passwd')")
    assert at.error[0].value == "The function read\\_csv() is not allowed here: queries may only read the loaded tables."
    run_query(at, "COPY customers TO '/tmp/leak.csv'")
    assert at.error[0].value == "Only SELECT queries are allowed here, not COPY."
    assert len([d for d in at.dataframe if "Table" not in d.value.columns]) == 0


@pytest.mark.parametrize("lang, message", [
    ("en", "The query names a column or table that does not exist, or uses a column in the wrong place; "
           "check the names under “Tables and columns”."),
    ("zh", "查询引用了不存在的字段或表，或字段用错了位置；请核对“表和字段”中的名称。"),
])
def test_database_errors_are_translated_and_the_raw_text_is_a_code_box(sample_dataset, lang, message):
    at = make_app(PAGE, dataset=sample_dataset, lang=lang)
    at.run()
    run_query(at, "SELECT nope FROM customers")
    assert [e.value for e in at.error] == [message]
    assert at.code[0].value.startswith('Binder Error: Referenced column "nope" not found')


def test_syntax_error_is_translated_in_chinese(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    run_query(at, "SELECT FROM WHERE")
    assert at.error[0].value == "无法解析查询：请检查 SQL 语法（逗号、括号、引号）。"


def test_markdown_in_a_query_stays_text(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset)
    at.run()
    run_query(at, "SELECT '![x](http://evil.example/a.png)' AS \"[link](http://evil.example)\"")
    got = result(at)
    assert got.columns.tolist() == ["[link](http://evil.example)"]
    assert got.iloc[0, 0] == "![x](http://evil.example/a.png)"
    assert not any("evil" in m.value for m in list(at.markdown) + list(at.caption) + list(at.error))


def test_chinese_refusal_and_example(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    assert at.title[0].value == "SQL 查询"
    at.selectbox(key="sql_example").set_value("各组流失率").run()
    assert not at.exception
    assert at.text_area(key="sql_text").value.startswith('SELECT "region", COUNT(*) AS customers')
    at.button(key="sql_run").click().run()
    rates = result(at)
    assert rates["churn_rate"].round(6).tolist() == sorted(
        sample_dataset.df.groupby("region")["churned"].mean().round(6).tolist(), reverse=True)
    run_query(at, "ATTACH 'x.db'")
    assert at.error[0].value == "这里只允许 SELECT 查询，不允许 ATTACH。"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("which", ["sample", "churn_modelling", "credit_card"])
def test_every_example_runs_on_every_table(sample_dataset, lang, which):
    ds = {"sample": sample_dataset, "churn_modelling": churn_modelling(), "credit_card": credit_card()}[which]
    at = make_app(PAGE, dataset=ds, lang=lang)
    at.run()
    assert not at.exception
    for label in at.selectbox(key="sql_example").options[1:]:
        at.selectbox(key="sql_example").set_value(label).run()
        at.button(key="sql_run").click().run()
        assert not at.exception, label
        assert not at.error, (label, [e.value for e in at.error])
        assert isinstance(result(at), pd.DataFrame)


def test_deeply_nested_query_is_refused_in_words(sample_dataset):
    at = make_app(PAGE, dataset=sample_dataset, lang="zh")
    at.run()
    run_query(at, "SELECT " + "(" * 600 + "1" + ")" * 600)
    assert at.error[0].value.startswith("查询嵌套过深")
