"""The SQL guard's parser layer: what is allowed and what is refused, with which code."""

import pytest

from churn_core.errors import ChurnCoreError
from churn_core.analysis.sqlguard import check_sql, example_queries

TABLES = ["customers", "scores"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM customers",
        "select count(*) from customers;",
        "WITH x AS (SELECT * FROM customers) SELECT * FROM x",
        "SELECT c.* FROM customers c JOIN scores s ON c.id = s.id",
        "SELECT * FROM main.customers",
        "SELECT region, AVG(churned) FROM customers GROUP BY ALL ORDER BY 2 DESC",
        "SELECT * FROM range(10)",
        "SELECT * FROM customers WHERE id IN (SELECT id FROM scores)",
        "DESCRIBE customers",
        "SUMMARIZE customers",
        "FROM customers LIMIT 5",
        "SELECT 1 UNION ALL SELECT 2",
        "VALUES (1, 2)",
        "SELECT length(repeat('x', 2000000000))",  # allowed by the parser; the worker's caps stop it
    ],
)
def test_allowed(sql):
    assert check_sql(sql, TABLES) == sql.rstrip(";")


@pytest.mark.parametrize(
    "sql,code,param",
    [
        ("", "sql.empty", None),
        ("  ;  ", "sql.empty", None),
        ("SELEC * FROM customers", "sql.syntax", None),
        ("SELECT 1; SELECT 2", "sql.multiple_statements", None),
        ("SELECT 1; DROP TABLE customers", "sql.multiple_statements", None),
        ("COPY customers TO '/tmp/out.csv'", "sql.not_select", ("kind", "COPY")),
        ("COPY (SELECT 1) TO 'x.parquet' (FORMAT parquet)", "sql.not_select", ("kind", "COPY")),
        ("EXPORT DATABASE '/tmp/dump'", "sql.not_select", ("kind", "EXPORT")),
        ("ATTACH '/tmp/other.duckdb' AS other", "sql.not_select", ("kind", "ATTACH")),
        ("DETACH other", "sql.not_select", ("kind", "DETACH")),
        ("INSTALL httpfs", "sql.not_select", ("kind", "LOAD")),
        ("LOAD httpfs", "sql.not_select", ("kind", "LOAD")),
        ("SET enable_external_access = true", "sql.not_select", ("kind", "SET")),
        ("RESET memory_limit", "sql.not_select", ("kind", "SET")),
        ("PRAGMA database_list", "sql.not_select", ("kind", "PRAGMA")),
        ("CALL pragma_version()", "sql.not_select", ("kind", "CALL")),
        ("CREATE TABLE t AS SELECT 1", "sql.not_select", ("kind", "CREATE")),
        ("DROP TABLE customers", "sql.not_select", ("kind", "DROP")),
        ("UPDATE customers SET age = 1", "sql.not_select", ("kind", "UPDATE")),
        ("EXPLAIN SELECT 1", "sql.not_select", ("kind", "EXPLAIN")),
        ("SELECT * FROM read_csv('/etc/passwd')", "sql.forbidden_function", ("name", "read_csv")),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", "sql.forbidden_function", ("name", "read_csv_auto")),
        ("SELECT * FROM read_parquet('/tmp/*.parquet')", "sql.forbidden_function", ("name", "read_parquet")),
        ("SELECT * FROM read_text('/etc/hostname')", "sql.forbidden_function", ("name", "read_text")),
        ("SELECT * FROM glob('/*')", "sql.forbidden_function", ("name", "glob")),
        ("SELECT * FROM duckdb_settings()", "sql.forbidden_function", ("name", "duckdb_settings")),
        ("SELECT * FROM query('SELECT 1')", "sql.forbidden_function", ("name", "query")),
        ("SELECT * FROM customers WHERE id IN (SELECT 1 FROM read_json('/x.json'))", "sql.forbidden_function", ("name", "read_json")),
        ("SELECT getenv('HOME')", "sql.forbidden_function", ("name", "getenv")),
        ("SELECT current_setting('temp_directory')", "sql.forbidden_function", ("name", "current_setting")),
        ("FROM '/etc/passwd'", "sql.unknown_table", ("name", "/etc/passwd")),
        ("SELECT * FROM 'data.csv'", "sql.unknown_table", ("name", "data.csv")),
        ("SELECT * FROM df", "sql.unknown_table", ("name", "df")),  # a Python variable (replacement scan)
        ("SELECT * FROM other.main.customers", "sql.unknown_table", ("name", "other.main.customers")),
        ("SELECT * FROM information_schema.tables", "sql.unknown_table", ("name", "information_schema.tables")),
    ],
)
def test_refused(sql, code, param):
    with pytest.raises(ChurnCoreError) as info:
        check_sql(sql, TABLES)
    assert info.value.code == code
    if param:
        assert info.value.params[param[0]] == param[1]


def test_refusal_messages_are_clear():
    with pytest.raises(ChurnCoreError, match=r"^Only SELECT queries are allowed here, not COPY\.$"):
        check_sql("COPY customers TO 'x.csv'", TABLES)
    with pytest.raises(ChurnCoreError, match=r"^The function read_csv\(\) is not allowed here"):
        check_sql("SELECT * FROM read_csv('/etc/passwd')", TABLES)
    with pytest.raises(ChurnCoreError, match=r"^Unknown table 'df': you can query customers, scores\.$"):
        check_sql("SELECT * FROM df", TABLES)


def test_cte_names_are_not_tables_elsewhere():
    with pytest.raises(ChurnCoreError) as info:
        check_sql("WITH x AS (SELECT 1) SELECT * FROM y", TABLES)
    assert info.value.params["name"] == "y"


def test_example_queries_pass_the_guard():
    examples = example_queries(["region", "churned", "balance"], label="churned", positive=1, group="region",
                               balance="balance")
    assert sorted(examples) == ["churn_by_group", "describe", "first_rows", "summary", "top_balances"]
    for sql in examples.values():
        check_sql(sql, ["customers"])
    assert "= 1 THEN" in examples["churn_by_group"]
    zh = example_queries(["地区", "是否流失"], label="是否流失", positive="是", group="地区")
    assert "\"是否流失\" = '是'" in zh["churn_by_group"]
