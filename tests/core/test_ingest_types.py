"""Typing that never hides a problem: numeric and date columns keep their type when a few values do
not fit, and those values are listed (line, column, value) or their rows rejected; money written
every way a core system writes it is a number; day-first vs month-first decided on evidence;
Shift-JIS, EUC-KR, NUL bytes and the encoding override."""

import numpy as np
import pandas as pd
import pytest

from churn_core.data import ingest
from churn_core.data.ingest import load_file
from churn_core.errors import ChurnCoreError


def _codes(result):
    return [w["code"] for w in result.warnings]


def _warning(result, code, column=None):
    found = [w for w in result.warnings if w["code"] == code
             and (column is None or w["params"].get("column") == column)]
    assert len(found) == 1, result.warnings
    return found[0]


def _numbers_file(n, bad_at=None, bad_value="abc"):
    lines = ["id,balance,churn"]
    for i in range(n):
        value = bad_value if i == bad_at else f"{i}.5"
        lines.append(f"{i},{value},{i % 2}")
    return ("\n".join(lines) + "\n").encode()


# ---- a few bad values anywhere in a column ---------------------------------------------------


def test_one_bad_value_at_row_150000_keeps_the_column_numeric_and_is_listed():
    data = _numbers_file(200_000, bad_at=150_000)
    result = load_file(data, "big.csv")
    assert result.column_types["balance"] == "float"
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (200_000, 200_000, 0)
    assert np.isnan(result.df["balance"].iloc[150_000])
    assert result.df["balance"].iloc[149_999] == 149_999.5
    assert result.df["balance"].notna().sum() == 199_999
    warning = _warning(result, "ingest.bad_values", "balance")
    assert warning["params"] == {"column": "balance", "count": 1, "expected": "number",
                                 "examples": "150002: abc"}
    assert warning["values"] == [{"line": 150_002, "value": "abc"}]
    assert result.bad_values.to_dict("records") == [
        {"line": 150_002, "column": "balance", "value": "abc", "expected": "number"}]


def test_reject_bad_values_moves_those_rows_to_the_rejects():
    data = _numbers_file(200_000, bad_at=150_000)
    result = load_file(data, "big.csv", reject_bad_values=True)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (200_000, 199_999, 1)
    assert result.rejects[["line", "reason"]].to_dict("records") == [
        {"line": 150_002, "reason": "bad_value"}]
    assert result.rejects["detail"].iloc[0] == "balance: abc"
    assert result.rejects["raw"].iloc[0] == "150000,abc,0"
    assert 150_000 not in set(result.df["id"])
    assert str(result.df["id"].dtype) == "int64"
    assert _warning(result, "ingest.bad_values_rejected", "balance")["params"]["count"] == 1


def test_bad_value_in_a_small_file_is_listed_with_its_line():
    rows = "".join(f"C{i},{i * 10}\n" for i in range(60))
    data = ("id,amount\n" + rows.replace("C7,70", "C7,seventy")).encode()
    result = load_file(data, "s.csv")
    assert result.column_types["amount"] == "integer"
    assert result.df["amount"].isna().tolist().count(True) == 1
    assert result.bad_values[["line", "value"]].to_dict("records") == [{"line": 9, "value": "seventy"}]


def test_more_than_two_percent_bad_values_is_text_not_a_number_column():
    rows = "".join(f"{i},{'x' if i % 10 == 0 else i}\n" for i in range(100))
    result = load_file(("id,code\n" + rows).encode(), "t.csv")
    assert result.column_types["code"] == "text"
    assert len(result.bad_values) == 0


def test_bad_line_numbers_count_blank_lines_and_rejected_rows_before_them():
    body = [f"{i},{i}" for i in range(100)]
    body[3] = "3,3,extra"          # rejected: too many fields
    body.insert(10, "")            # a blank line
    body[60] = "59,oops"           # the bad value
    result = load_file(("id,n\n" + "\n".join(body) + "\n").encode(), "t.csv")
    assert result.rejects["line"].tolist() == [5]
    line = result.bad_values["line"].tolist()
    assert line == [62]
    assert result.rows_in_file == result.rows_loaded + result.rows_rejected == 100


# ---- money and special numbers ---------------------------------------------------------------


def test_currency_symbols_mixed_with_plain_numbers():
    values = ["$1,200.50", "300", "¥50", "£7.25", "1,000"] * 3
    text = "id,fee\n" + "".join(f"{i},\"{v}\"\n" for i, v in enumerate(values))
    result = load_file(text.encode(), "m.csv")
    assert result.df["fee"].tolist()[:5] == [1200.5, 300.0, 50.0, 7.25, 1000.0]
    assert "ingest.units_removed" in _codes(result)


def test_accounting_negatives_in_brackets():
    text = 'id,pnl\n1,"(1,234.56)"\n2,"1,000.00"\n3,(5)\n4,"$(12.50)"\n'
    result = load_file(text.encode(), "a.csv")
    assert result.df["pnl"].tolist() == [-1234.56, 1000.0, -5.0, -12.5]
    assert _warning(result, "ingest.accounting_negatives", "pnl")["params"]["count"] == 3


@pytest.mark.parametrize("token,expected", [
    ("inf", np.inf), ("-Infinity", -np.inf), ("INF", np.inf), ("+infinity", np.inf),
])
def test_infinity_is_a_number_not_text(token, expected):
    text = f"id,ratio\n1,0.5\n2,{token}\n3,2\n"
    result = load_file(text.encode(), "i.csv")
    assert result.column_types["ratio"] == "float"
    assert result.df["ratio"].tolist() == [0.5, expected, 2.0]


def test_infinity_in_a_big_file_keeps_the_column_numeric():
    lines = "".join(f"{i},{'-Infinity' if i == 120_000 else i / 4}\n" for i in range(150_000))
    result = load_file(("id,ratio\n" + lines).encode(), "i.csv")
    assert result.column_types["ratio"] == "float"
    assert result.df["ratio"].iloc[120_000] == -np.inf
    assert len(result.bad_values) == 0


def test_thousands_and_decimal_comma_per_file():
    text = "id;amount\n1;1.234,5\n2;2.000\n3;0,75\n"
    result = load_file(text.encode(), "eu.csv")
    assert result.decimal == ","
    assert result.df["amount"].tolist() == [1234.5, 2000.0, 0.75]


# ---- dates -----------------------------------------------------------------------------------


def test_day_first_dates_decided_on_evidence_with_the_counts_in_the_warning():
    dates = ["31/01/2024", "01/02/2024", "15/03/2024", "02/04/2024"]
    text = "id,opened\n" + "".join(f"{i},{d}\n" for i, d in enumerate(dates))
    result = load_file(text.encode(), "d.csv")
    assert result.df["opened"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01"),
                                            pd.Timestamp("2024-03-15"), pd.Timestamp("2024-04-02")]
    assert _warning(result, "ingest.date_order", "opened")["params"] == {
        "order": "day-first", "day_first": 2, "month_first": 0, "column": "opened"}


def test_month_first_dates_decided_per_column_even_in_a_day_first_file():
    text = ("id;opened;closed\n"
            "1;31/01/2024;01/31/2024\n2;01/02/2024;02/01/2024\n3;13/05/2024;05/13/2024\n")
    result = load_file(text.encode(), "d.csv")
    assert result.df["opened"].iloc[0] == pd.Timestamp("2024-01-31")
    assert result.df["closed"].iloc[0] == pd.Timestamp("2024-01-31")
    assert result.df["closed"].iloc[1] == pd.Timestamp("2024-02-01")
    assert _warning(result, "ingest.date_order", "closed")["params"]["order"] == "month-first"


def test_a_column_mixing_day_and_month_first_lists_the_minority_as_bad_values():
    days = [f"{d:02d}/03/2024" for d in range(13, 29)] * 4  # 64 day-first values
    dates = days + ["03/20/2024"]                            # one month-first value
    text = "id,opened\n" + "".join(f"{i},{d}\n" for i, d in enumerate(dates))
    result = load_file(text.encode(), "d.csv")
    assert result.column_types["opened"] == "date"
    params = _warning(result, "ingest.date_order", "opened")["params"]
    assert (params["order"], params["day_first"], params["month_first"]) == ("day-first", 64, 1)
    assert result.bad_values[["line", "value", "expected"]].to_dict("records") == [
        {"line": 66, "value": "03/20/2024", "expected": "date"}]
    assert pd.isna(result.df["opened"].iloc[64])


def test_ambiguous_dates_only_are_warned_with_the_order_used():
    text = "id,opened\n1,01/02/2024\n2,03/04/2024\n"
    result = load_file(text.encode(), "d.csv")
    assert _warning(result, "ingest.ambiguous_dates", "opened")["params"]["order"] == "month-first"
    assert result.df["opened"].iloc[0] == pd.Timestamp("2024-01-02")


def test_a_date_column_with_one_bad_value_far_down_stays_a_date():
    rows = "".join(f"{i},2024-01-{(i % 28) + 1:02d}\n" for i in range(120_000))
    rows = rows.replace("110000,2024-", "110000,unknown-", 1)
    result = load_file(("id,opened\n" + rows).encode(), "d.csv")
    assert result.column_types["opened"] == "date"
    assert result.bad_values.to_dict("records") == [
        {"line": 110_002, "column": "opened", "value": "unknown-01-17", "expected": "date"}]


# ---- encodings and bytes ---------------------------------------------------------------------

JA_TABLE = "顧客番号,氏名,支店,残高,解約\nC001,山田太郎,東京,1200,はい\nC002,佐藤花子,大阪,300,いいえ\n"
KO_TABLE = "고객번호,이름,지역,잔액,해지\nC001,김민수,서울,1200,예\nC002,이영희,부산,300,아니오\n"


@pytest.mark.parametrize("table,codec,label", [
    (JA_TABLE, "shift_jis", "shift_jis"),
    (JA_TABLE, "cp932", "shift_jis"),
    (KO_TABLE, "euc_kr", "euc-kr"),
    (KO_TABLE, "cp949", "euc-kr"),
])
def test_shift_jis_and_euc_kr_are_detected(table, codec, label):
    result = load_file(table.encode(codec), "t.csv")
    assert result.encoding == label
    assert list(result.df.columns) == table.split("\n")[0].split(",")
    assert result.df.iloc[:, 1].tolist() == [table.split("\n")[1].split(",")[1],
                                             table.split("\n")[2].split(",")[1]]


@pytest.mark.parametrize("name", ["shift_jis", "Shift-JIS", "sjis", "cp932"])
def test_shift_jis_override(name):
    result = load_file(JA_TABLE.encode("shift_jis"), "t.csv", encoding=name)
    assert result.df["支店"].tolist() == ["東京", "大阪"]


@pytest.mark.parametrize("name", ["euc-kr", "EUC_KR", "cp949"])
def test_euc_kr_override(name):
    result = load_file(KO_TABLE.encode("euc_kr"), "t.csv", encoding=name)
    assert result.df["지역"].tolist() == ["서울", "부산"]


@pytest.mark.parametrize("name", ["klingon", "", "base64", "x" * 100])
def test_unknown_encoding_name_is_a_clear_error(name):
    with pytest.raises(ChurnCoreError) as info:
        load_file(b"a,b\n1,2\n", "t.csv", encoding=name)
    assert info.value.code == "ingest.unknown_encoding_name"
    assert "\n" not in str(info.value)


def test_a_few_nul_bytes_are_removed_with_a_warning():
    data = b"id,name\n1,Ann\x00\n2,B\x00ob\n3,Cy\n"
    result = load_file(data, "n.csv")
    assert result.df["name"].tolist() == ["Ann", "Bob", "Cy"]
    assert _warning(result, "ingest.nul_removed")["params"] == {"count": 2}


def test_a_file_that_is_mostly_nul_bytes_is_refused():
    with pytest.raises(ChurnCoreError) as info:
        load_file(b"id,name\n" + b"\x00" * 500 + b"1,a\n", "n.csv")
    assert info.value.code == "ingest.not_text"


# ---- fast path and exact path agree ----------------------------------------------------------


def test_a_file_on_disk_gives_the_same_result_as_its_bytes(tmp_path):
    rows = [f"{i},{'x' if i == 170_000 else i},{i % 3}" for i in range(180_000)]
    rows[5] = "5,5"
    text = "id,n,k\n" + "\n".join(rows) + "\n"
    path = tmp_path / "f.csv"
    path.write_text(text)
    from_disk = load_file(path)
    from_bytes = load_file(text.encode(), "f.csv")
    for result in (from_disk, from_bytes):
        assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (180_000, 179_999, 1)
        assert result.rejects["line"].tolist() == [7]
        assert result.bad_values["line"].tolist() == [170_002]
    pd.testing.assert_frame_equal(from_disk.df, from_bytes.df)


def test_file_changed_after_it_was_read_is_a_clear_error(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n")
    src = ingest._Text(None, 0, str(path), "0" * 64)
    with pytest.raises(ChurnCoreError) as info:
        src.get()
    assert info.value.code == "ingest.file_changed"


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n\n3,4\n",
    "a,b\r\n1,2\r\n\r\n3,4\r\n5\r\n",
    "\n\na,b\n1,2\n3,4,5\n6,7",
    'a,b\n"x,y",1\n"q""r",2\n',
    "a;b\n1;2\n ;3\n4\n",
])
def test_fast_path_agrees_with_the_exact_path(text):
    fast = ingest._fast_columns(ingest._Text(text.encode()), text[1] if text[1] in ",;" else ",")
    delim = ";" if ";" in text else ","
    fast = ingest._fast_columns(ingest._Text(text.encode()), delim)
    exact = ingest._columns_from_text(text, delim)
    assert fast is not None
    assert fast[0] == exact[0]
    assert fast[2] == exact[2]
    assert fast[3] == exact[3]
    assert fast[4] == exact[4]
    assert [c.to_pylist() for c in fast[1]] == [c.to_pylist() for c in exact[1]]
    rows = np.arange(fast[2])
    assert fast[6](rows).tolist() == exact[6](rows).tolist()


def test_many_number_columns_each_failing_far_down_are_all_typed_and_listed():
    rows = []
    for i in range(150_000):
        rows.append(",".join([str(i)] + [("bad" if i == 140_000 + k else str(i % 97)) for k in range(6)]))
    result = load_file(("id,a,b,c,d,e,f\n" + "\n".join(rows) + "\n").encode(), "t.csv")
    assert set(result.column_types.values()) == {"integer"}
    assert result.bad_values[["line", "column"]].to_dict("records") == [
        {"line": 140_002 + k, "column": c} for k, c in enumerate("abcdef")]
    assert result.rows_loaded == 150_000
