"""Ingestion: encodings x delimiters, quoting, ragged rows, numbers, dates, names; nothing lost."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.ingest import detect_delimiter, detect_encoding, load_file

ZH_TABLE = (
    "客户编号,性别,地区,年龄,账户余额,是否流失\n"
    "C001,男,北京,35,1200.5,是\n"
    "C002,女,上海,41,300,否\n"
    "C003,男,广东,29,0,否\n"
)
TW_TABLE = (
    "客戶編號,性別,地區,年齡,帳戶餘額,是否流失\n"
    "C001,男,臺北,35,1200.5,是\n"
    "C002,女,高雄,41,300,否\n"
    "C003,男,新竹,29,0,否\n"
)
EN_TABLE = "id,name,balance,churn\n1,Ann,10.5,Yes\n2,Bob,20,No\n3,Cy,,No\n"


def _with_delim(text, delim):
    return text.replace(",", delim)


# (case id, bytes, expected encoding, expected delimiter, rows, first header)
ENCODING_CASES = [
    ("utf8-comma", EN_TABLE.encode("utf-8"), "utf-8", ",", 3, "id"),
    ("utf8-semicolon", _with_delim(EN_TABLE, ";").encode("utf-8"), "utf-8", ";", 3, "id"),
    ("utf8-tab", _with_delim(EN_TABLE, "\t").encode("utf-8"), "utf-8", "\t", 3, "id"),
    ("utf8-pipe", _with_delim(EN_TABLE, "|").encode("utf-8"), "utf-8", "|", 3, "id"),
    ("utf8-zh", ZH_TABLE.encode("utf-8"), "utf-8", ",", 3, "客户编号"),
    ("utf8-bom-zh", ZH_TABLE.encode("utf-8-sig"), "utf-8-sig", ",", 3, "客户编号"),
    ("utf8-bom-semicolon", _with_delim(ZH_TABLE, ";").encode("utf-8-sig"), "utf-8-sig", ";", 3, "客户编号"),
    ("gbk-comma", ZH_TABLE.encode("gbk"), "gb18030", ",", 3, "客户编号"),
    ("gbk-tab", _with_delim(ZH_TABLE, "\t").encode("gbk"), "gb18030", "\t", 3, "客户编号"),
    ("gb18030-pipe", _with_delim(ZH_TABLE, "|").encode("gb18030"), "gb18030", "|", 3, "客户编号"),
    ("gbk-semicolon-crlf", _with_delim(ZH_TABLE, ";").replace("\n", "\r\n").encode("gbk"),
     "gb18030", ";", 3, "客户编号"),
    ("utf16-bom-comma", ZH_TABLE.encode("utf-16"), "utf-16", ",", 3, "客户编号"),
    ("utf16-bom-tab", _with_delim(ZH_TABLE, "\t").encode("utf-16"), "utf-16", "\t", 3, "客户编号"),
    ("utf16le-nobom", EN_TABLE.encode("utf-16-le"), "utf-16-le", ",", 3, "id"),
    ("big5-comma", TW_TABLE.encode("big5"), "big5", ",", 3, "客戶編號"),
    ("big5-semicolon", _with_delim(TW_TABLE, ";").encode("big5"), "big5", ";", 3, "客戶編號"),
    ("ascii-crlf", EN_TABLE.replace("\n", "\r\n").encode("ascii"), "utf-8", ",", 3, "id"),
]


@pytest.mark.parametrize("case,data,encoding,delimiter,rows,first", ENCODING_CASES,
                         ids=[c[0] for c in ENCODING_CASES])
def test_encodings_and_delimiters(case, data, encoding, delimiter, rows, first):
    result = load_file(data, "table.csv")
    assert result.encoding == encoding
    assert result.delimiter == delimiter
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (rows, rows, 0)
    assert result.df.columns[0] == first
    assert result.df.shape[1] == 6 if first != "id" else result.df.shape[1] == 4


def test_gbk_values_are_real_chinese_not_garbage():
    result = load_file(ZH_TABLE.encode("gbk"), "zh.csv")
    assert list(result.df.columns) == ["客户编号", "性别", "地区", "年龄", "账户余额", "是否流失"]
    assert result.df["地区"].tolist() == ["北京", "上海", "广东"]
    assert result.df["是否流失"].tolist() == ["是", "否", "否"]


def test_big5_values_are_traditional_chinese():
    result = load_file(TW_TABLE.encode("big5"), "tw.csv")
    assert result.df["地區"].tolist() == ["臺北", "高雄", "新竹"]


def test_gbk_detected_on_a_short_file_with_only_a_chinese_header():
    data = "客户号,余额,流失\n1,100,1\n2,200,0\n".encode("gbk")
    result = load_file(data, "short.csv")
    assert result.encoding == "gb18030"
    assert list(result.df.columns) == ["客户号", "余额", "流失"]


@pytest.mark.parametrize("encoding,expected,values", [
    ("gbk", "gb18030", ["是", "否", "否"]),
    ("big5", "big5", ["是", "否", "否"]),
    ("gbk", "gb18030", ["流失", "未流失", "未流失"]),
    ("big5", "big5", ["流失", "未流失", "未流失"]),
])
def test_two_chinese_words_are_enough_to_tell_gbk_from_big5(encoding, expected, values):
    text = "id,churn\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    result = load_file(text.encode(encoding), "c.csv")
    assert result.encoding == expected
    assert result.df["churn"].tolist() == values


def test_western_latin1_file_is_read_as_cp1252_with_a_warning():
    data = "name,city,churn\nMüller,Zürich,1\nNuñez,Málaga,0\nDupont,Besançon,0\n".encode("latin-1")
    result = load_file(data, "w.csv")
    assert result.encoding == "cp1252"
    assert result.df["city"].tolist() == ["Zürich", "Málaga", "Besançon"]
    assert [w["code"] for w in result.warnings] == ["ingest.encoding_western"]


def test_utf8_with_one_broken_byte_stays_utf8_with_a_warning():
    good = ("客户编号,地区,是否流失\n" + "".join(f"C{i},北京,否\n" for i in range(30))).encode("utf-8")
    data = good + b"C99,\xe5\x8c,\xe5\x90\xa6\n"  # a character cut in half
    result = load_file(data, "cut.csv")
    assert result.encoding == "utf-8"
    assert result.df["地区"].iloc[0] == "北京"
    assert result.df["地区"].iloc[-1] == "\ufffd"
    assert result.warnings == [{"code": "ingest.invalid_bytes", "params": {"count": 1}}]


def test_western_file_with_mostly_ascii_is_not_taken_for_broken_utf8():
    # every non-ASCII byte is invalid UTF-8, however much ASCII surrounds it
    rows = "".join(f"{i};Smith;{'España' if i % 4 == 0 else 'France'};1234,5;nein\n" for i in range(400))
    data = ("Id;Name;Land;Saldo;Gekündigt\n" + rows).encode("cp1252")
    result = load_file(data, "de.csv")
    assert result.encoding == "cp1252"
    assert list(result.df.columns)[-1] == "Gekündigt"
    assert (result.df["Land"] == "España").sum() == 100
    assert result.df["Saldo"].iloc[0] == 1234.5


def test_gbk_file_is_not_taken_for_broken_utf8():
    result = load_file(("客户编号,地区\n" + "C1,北京\n" * 5).encode("gbk"), "g.csv")
    assert result.encoding == "gb18030"


def test_forced_encoding_overrides_detection():
    data = ZH_TABLE.encode("gbk")
    result = load_file(data, "zh.csv", encoding="GBK")
    assert result.encoding == "gbk"
    assert result.df["性别"].tolist() == ["男", "女", "男"]


def test_wrong_forced_encoding_is_a_clear_error():
    with pytest.raises(ChurnCoreError, match="cannot be read as utf-8") as info:
        load_file(ZH_TABLE.encode("gbk"), "zh.csv", encoding="utf-8")
    assert info.value.code == "ingest.bad_encoding"


# ---- row accounting --------------------------------------------------------------------------


def test_quoted_newlines_and_quotes_are_one_record():
    text = 'id,comment,churn\n1,"first line\nsecond line",1\n2,"say ""hi""",0\n3,plain,0\n'
    result = load_file(text.encode(), "q.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert result.df["comment"].tolist() == ["first line\nsecond line", 'say "hi"', "plain"]


def test_ragged_rows_are_rejected_with_line_numbers_and_raw_text():
    text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    result = load_file(text.encode(), "r.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert result.df["a"].tolist() == [1, 10]
    assert result.rejects[["line", "reason", "raw"]].values.tolist() == [
        [3, "too_few_fields", "4,5"],
        [4, "too_many_fields", "6,7,8,9"],
    ]
    assert result.rejects["detail"].tolist() == ["2 fields, expected 3", "4 fields, expected 3"]
    assert result.rejects[["fields", "expected"]].values.tolist() == [[2, 3], [4, 3]]


def test_ragged_line_numbers_count_physical_lines_after_a_quoted_newline():
    text = 'a,b\n1,"x\ny"\n2\n3,z\r\n'
    result = load_file(text.encode(), "r.csv")
    assert result.rejects["line"].tolist() == [4]
    assert (result.rows_in_file, result.rows_loaded) == (3, 2)


def test_duckdb_style_ragged_file_keeps_every_row_accounted():
    # the small ragged file on which DuckDB's sniffer returned 1 of 3 rows without error
    text = "id,x\n1,a\n2,b,extra\n3,c\n"
    result = load_file(text.encode(), "d.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 2, 1)


def test_unclosed_quote_swallows_the_rest_into_one_shown_reject():
    text = 'id,comment,churn\n1,ok,0\n2,"never closed,1\n' + "".join(f"{i},x,0\n" for i in range(3, 1203))
    result = load_file(text.encode(), "u.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert result.rejects["line"].tolist() == [3]
    assert len(result.rejects["raw"].iloc[0]) == 2001  # truncated for display
    assert {"code": "ingest.unclosed_quote", "params": {"line": 3}} in result.warnings


def test_unclosed_quote_in_the_last_field_is_warned_even_when_the_row_fits():
    text = 'id,comment\n1,ok\n2,"never closed\n' + "".join(f"{i},x\n" for i in range(3, 1203))
    result = load_file(text.encode(), "u.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert result.warnings == [{"code": "ingest.unclosed_quote", "params": {"line": 3}}]


def test_row_names_without_a_header_name_are_a_column_not_rejects():
    # R's write.table(row.names=TRUE): the header lacks the row-name column
    text = '"age","churn"\n"1",30,"Yes"\n"2",41,"No"\n"3",25,"No"\n'
    result = load_file(text.encode(), "r.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert list(result.df.columns) == ["column_1", "age", "churn"]
    assert result.df["age"].tolist() == [30, 41, 25]
    assert {"code": "ingest.header_shifted", "params": {"column": "column_1"}} in result.warnings


def test_a_few_long_rows_are_still_rejected_not_shifted():
    text = "a,b\n1,2\n3,4,5\n"
    result = load_file(text.encode(), "r.csv")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)


def test_trailing_delimiters_with_empty_fields_are_not_rejected():
    text = "a,b\n1,2,\n3,4,,\n"
    result = load_file(text.encode(), "t.csv")
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert result.warnings == [{"code": "ingest.trailing_delimiters", "params": {"rows": 2}}]


def test_blank_lines_are_not_rows_but_empty_delimiter_rows_are_rejected():
    text = "a,b\n\n1,2\n\n,\n3,4\n\n"
    result = load_file(text.encode(), "b.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.blank_lines == 3
    assert result.rejects["reason"].tolist() == ["empty_row"]


def test_header_only_file_loads_zero_rows():
    result = load_file(b"customer_id,balance,churn\r\n", "h.csv")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (0, 0, 0)
    assert list(result.df.columns) == ["customer_id", "balance", "churn"]
    assert {"code": "ingest.no_rows", "params": {}} in result.warnings


@pytest.mark.parametrize("data", [b"", b"   \r\n\n", "\ufeff".encode("utf-8"), b"\xff\xfe"],
                         ids=["empty", "whitespace", "bom-only", "utf16-bom-only"])
def test_empty_file_is_an_error(data):
    with pytest.raises(ChurnCoreError, match="empty") as info:
        load_file(data, "e.csv")
    assert info.value.code == "ingest.empty_file"


def test_binary_garbage_is_an_error():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(ChurnCoreError) as info:
        load_file(data, "g.csv")
    assert info.value.code in ("ingest.not_text", "ingest.unknown_encoding")


def test_missing_file_and_size_limit(tmp_path):
    with pytest.raises(ChurnCoreError, match="not found") as info:
        load_file(tmp_path / "nope.csv")
    assert info.value.code == "ingest.not_found"
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(ChurnCoreError) as info:
        load_file(path, max_bytes=1000)
    assert info.value.code == "ingest.too_large"


def test_fingerprint_is_sha256_of_bytes_and_progress_is_reported():
    import hashlib

    seen = []
    data = EN_TABLE.encode()
    result = load_file(data, "p.csv", progress=lambda f, code: seen.append((f, code)))
    assert result.fingerprint == hashlib.sha256(data).hexdigest()
    assert seen[0][1] == "ingest.reading" and seen[-1] == (1.0, "ingest.done")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_the_same_bytes_read_another_way_are_another_table():
    import hashlib

    data = "name,balance\nJosé,100\n".encode("utf-8")
    default = load_file(data, "u.csv")
    forced = load_file(data, "u.csv", encoding="cp1252")
    assert default.fingerprint == hashlib.sha256(data).hexdigest()
    assert forced.fingerprint != default.fingerprint
    assert load_file(data, "u.csv", encoding="cp1252").fingerprint == forced.fingerprint
    assert load_file(data, "u.csv", reject_bad_values=True).fingerprint != default.fingerprint
    assert default.df["name"].tolist() == ["José"] and forced.df["name"].tolist() == ["JosÃ©"]


# ---- types -----------------------------------------------------------------------------------


def test_types_ints_floats_booleans_dates_text():
    text = (
        "id,age,balance,active,opened,city,code\n"
        "1,30,10.5,TRUE,2024-01-31,Paris,007\n"
        "2,40,,false,2024-02-29,Lyon,010\n"
        "3, 50 ,3e2,True,,Nice,123\n"
    )
    result = load_file(text.encode(), "t.csv")
    df = result.df
    assert str(df["id"].dtype) == "int64"
    assert df["age"].tolist() == [30, 40, 50]
    assert df["balance"].isna().tolist() == [False, True, False]
    assert df["balance"].iloc[2] == 300.0
    assert str(df["active"].dtype) == "boolean"
    assert df["active"].tolist() == [True, False, True]
    assert df["opened"].dtype.kind == "M"
    assert df["opened"].iloc[1] == pd.Timestamp("2024-02-29")
    assert pd.isna(df["opened"].iloc[2])
    # leading zeros are codes, not numbers
    assert df["code"].tolist() == ["007", "010", "123"]
    assert result.column_types == {
        "id": "integer", "age": "integer", "balance": "float", "active": "boolean",
        "opened": "date", "city": "text", "code": "text",
    }


def test_thousands_separators_in_quotes():
    text = 'id,balance\n1,"1,234.56"\n2,"12,000"\n3,7.5\n'
    df = load_file(text.encode(), "t.csv").df
    assert df["balance"].tolist() == [1234.56, 12000.0, 7.5]


def test_decimal_comma_with_semicolon_delimiter():
    text = "id;balance;rate;count\n1;1.234,56;0,5;1.000\n2;12,5;1,25;2.500\n3;-3,1;0;7\n"
    result = load_file(text.encode(), "eu.csv")
    assert result.delimiter == ";"
    assert result.decimal == ","
    df = result.df
    assert df["balance"].tolist() == [1234.56, 12.5, -3.1]
    assert df["rate"].tolist() == [0.5, 1.25, 0.0]
    # "1.000" is one thousand in a decimal-comma file
    assert df["count"].tolist() == [1000, 2500, 7]


def test_currency_and_percent_signs_are_numbers_with_a_warning():
    text = "id;fee;rate;price;code\n1;$1,234.50;12.5%;1.234,50 €;$A\n2;$80;7%;3,00 €;$B\n3;-$5.25;;10 €;$C\n"
    result = load_file(text.encode(), "u.csv")
    df = result.df
    assert df["fee"].tolist() == [1234.5, 80.0, -5.25]
    assert df["rate"].tolist()[:2] == [12.5, 7.0] and pd.isna(df["rate"].iloc[2])
    assert df["price"].tolist() == [1234.5, 3.0, 10.0]
    assert df["code"].tolist() == ["$A", "$B", "$C"]
    assert [w["params"]["column"] for w in result.warnings if w["code"] == "ingest.units_removed"] == [
        "fee", "rate", "price"]


def test_blank_and_space_values_are_missing_numbers():
    text = "id,total\n1,10\n2, \n3,\n4,NA\n5,2.5\n"
    result = load_file(text.encode(), "t.csv")
    assert result.df["total"].isna().tolist() == [False, True, True, True, False]
    assert result.df["total"].dtype == "float64"
    assert {"code": "ingest.missing_tokens", "params": {"count": 1, "column": "total"}} in result.warnings


def test_text_column_keeps_none_as_a_category():
    text = "id,plan\n1,None\n2,Gold\n3,\n"
    df = load_file(text.encode(), "t.csv").df
    assert df["plan"].tolist()[:2] == ["None", "Gold"]
    assert pd.isna(df["plan"].iloc[2])


def test_day_first_dates_are_recognised_when_unambiguous():
    text = "id,opened\n1,31/01/2024\n2,01/02/2024\n"
    df = load_file(text.encode(), "d.csv").df
    assert df["opened"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]


def test_chinese_dates():
    text = "编号,开户日期\n1,2024年1月31日\n2,2023年12月1日\n"
    df = load_file(text.encode("gbk"), "d.csv").df
    assert df["开户日期"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2023-12-01")]


def test_duplicate_and_blank_column_names_are_made_unique():
    text = "id,balance,,balance, balance \n1,2,3,4,5\n"
    result = load_file(text.encode(), "n.csv")
    assert list(result.df.columns) == ["id", "balance", "column_3", "balance_2", "balance_3"]
    assert result.renamed_columns == {"3": "column_3", "4": "balance_2", "5": "balance_3"}


def test_huge_integers_stay_text():
    text = "account,x\n12345678901234567890,1\n12345678901234567891,2\n"
    df = load_file(text.encode(), "n.csv").df
    assert df["account"].tolist() == ["12345678901234567890", "12345678901234567891"]


def test_forced_delimiter_and_a_bad_one():
    result = load_file(b"a;b|c\n1;2|3\n", "f.csv", delimiter="|")
    assert list(result.df.columns) == ["a;b", "c"]
    with pytest.raises(ChurnCoreError) as info:
        load_file(b"a,b\n1,2\n", "f.csv", delimiter=";;")
    assert info.value.code == "ingest.bad_delimiter"


def test_single_column_file():
    result = load_file(b"customer\nA\nB\n", "one.csv")
    assert result.delimiter == ","
    assert result.df["customer"].tolist() == ["A", "B"]


def test_detect_delimiter_prefers_the_split_consistent_with_the_header():
    assert detect_delimiter("a;b;c\n1,5;2;3\n4;5,5;6\n") == ";"
    assert detect_delimiter('a,b\n"x;y",1\n"z;w",2\n') == ","
    assert detect_delimiter("a\tb\n1\t2\n") == "\t"


def test_detect_encoding_reports_names():
    assert detect_encoding("a".encode("utf-8"))[1] == "utf-8"
    assert detect_encoding("是否流失\n是".encode("gb18030"))[1] == "gb18030"
    assert detect_encoding("是否流失,客戶\n是".encode("big5"))[1] == "big5"


def test_row_accounting_invariant_on_a_messy_file():
    text = (
        '\ufeffid;name;amount\r\n'
        '1;"Smith; John";1.000,50\r\n'
        '2;Lee\r\n'
        '\r\n'
        '3;"multi\r\nline";2,5\r\n'
        '4;x;5;6\r\n'
        ';;\r\n'
        '5;y;7\r\n'
    )
    result = load_file(text.encode("utf-8"), "m.csv")
    assert result.encoding == "utf-8-sig"
    assert result.delimiter == ";"
    assert result.rows_in_file == result.rows_loaded + result.rows_rejected == 6
    assert result.rows_loaded == 3
    assert result.df["amount"].tolist() == [1000.5, 2.5, 7.0]
    assert result.rejects["line"].tolist() == [3, 7, 8]
    assert result.rejects["reason"].tolist() == ["too_few_fields", "too_many_fields", "empty_row"]
    assert math.isclose(result.df["amount"].sum(), 1010.0)


# ---- committed tiny fixtures (also handy for manual and browser checks) ------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


def test_fixture_gbk_semicolon_ragged():
    result = load_file(FIXTURES / "bank_gbk_semicolon_ragged.csv")
    assert (result.encoding, result.delimiter, result.decimal) == ("gb18030", ";", ",")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (8, 6, 2)
    assert result.rejects["line"].tolist() == [6, 8]
    assert result.df["余额"].tolist() == [1234.5, 20.0, 0.0, 98765.43, 5000.0, 300.1]
    assert result.df["客户号"].tolist() == [10001, 10002, 10003, 10004, 10006, 10008]


def test_fixture_tiny_bankchurners_xlsx():
    result = load_file(FIXTURES / "bankchurners_tiny.xlsx")
    assert (result.format, result.sheet, result.rows_loaded) == ("xlsx", "BankChurners", 5)
    assert result.df["Credit_Limit"].tolist() == [12691.0, 8256.0, 3418.0, 3313.0, 4716.0]
