"""Property tests (Hypothesis): random frames written in random dialects and encodings load back to
the same values; the fast reader and the exact csv-module reader agree on any small text."""

import csv
import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn_core.data import ingest
from churn_core.data.ingest import load_file

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# words a file in each encoding would hold (the detector needs real text, as real files have)
WORDS = {
    "utf-8": ["Ann", "Bob", "Zoë", "北京", "東京", "서울", "a,b", 'say "hi"', "two\nlines", "x;y|z"],
    "utf-8-sig": ["Ann", "Bob", "Zoë", "上海", "Straße", "a,b", 'q"q'],
    "utf-16": ["Ann", "北京", "東京", "서울", "a,b", "two\nlines"],
    "gb18030": ["北京", "上海", "广东", "客户", "流失", "男", "女", "余额"],
    "big5": ["臺北", "高雄", "新竹", "客戶", "帳戶", "餘額", "是否"],
    "shift_jis": ["東京", "大阪", "さくら", "やまだ", "カード", "はい", "いいえ", "ぎんこう"],
    "euc-kr": ["서울", "부산", "고객", "잔액", "예", "아니오", "은행", "카드"],
    "cp1252": ["Zürich", "Málaga", "Besançon", "Köln", "Ann", "Bob"],
}
HEADERS = {
    "gb18030": ["客户编号", "余额", "年龄", "地区", "开户日期"],
    "big5": ["客戶編號", "餘額", "年齡", "地區", "開戶日期"],
    "shift_jis": ["顧客番号", "残高", "年齢", "支店", "開設日"],
    "euc-kr": ["고객번호", "잔액", "나이", "지역", "개설일"],
}
DEFAULT_HEADER = ["id", "balance", "age", "city", "opened"]
REPORTED = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "gb18030": "gb18030",
            "big5": "big5", "shift_jis": "shift_jis", "euc-kr": "euc-kr", "cp1252": "cp1252"}


@st.composite
def tables(draw):
    encoding = draw(st.sampled_from(sorted(WORDS)))
    n = draw(st.integers(min_value=1, max_value=25))
    balances = draw(st.lists(st.integers(min_value=-10**8, max_value=10**8), min_size=n, max_size=n))
    ages = draw(st.lists(st.integers(min_value=0, max_value=120), min_size=n, max_size=n))
    cities = draw(st.lists(st.sampled_from(WORDS[encoding]), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(min_value=0, max_value=20_000), min_size=n, max_size=n))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal = draw(st.sampled_from([".", ","]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    frame = pd.DataFrame({
        "id": [f"C{i:05d}" for i in range(n)],
        "balance": [b / 100 for b in balances],
        "age": ages,
        "city": cities,
        "opened": [pd.Timestamp("1990-01-01") + pd.Timedelta(days=d) for d in days],
    })
    return frame, encoding, delimiter, decimal, quoting, terminator


def _write(frame, header, encoding, delimiter, decimal, quoting, terminator):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=terminator)
    writer.writerow(header)
    for row in frame.itertuples(index=False):
        balance = f"{row.balance:.2f}"
        if decimal == ",":
            balance = balance.replace(".", ",")
        writer.writerow([row.id, balance, row.age, row.city, row.opened.strftime("%Y-%m-%d")])
    return out.getvalue().encode(encoding)


def _check(result, frame, header):
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (len(frame), len(frame), 0)
    df = result.df
    assert list(df.columns) == header
    assert df[header[0]].tolist() == frame["id"].tolist()
    assert np.allclose(df[header[1]].to_numpy(dtype=float), frame["balance"].to_numpy(), atol=1e-9)
    assert df[header[2]].tolist() == frame["age"].tolist()
    assert df[header[3]].tolist() == frame["city"].tolist()
    assert [pd.Timestamp(v) for v in df[header[4]]] == frame["opened"].tolist()


@PROPERTY
@given(tables())
def test_random_frames_in_random_dialects_and_encodings_load_back(case):
    frame, encoding, delimiter, decimal, quoting, terminator = case
    header = HEADERS.get(encoding, DEFAULT_HEADER)
    data = _write(frame, header, encoding, delimiter, decimal, quoting, terminator)
    forced = load_file(data, "t.csv", encoding=encoding)
    _check(forced, frame, header)
    detected = load_file(data, "t.csv")
    if encoding == "utf-8" and data.isascii():
        assert detected.encoding == "utf-8"
    elif encoding != "cp1252" or not data.isascii():
        assert detected.encoding == REPORTED[encoding]
    _check(detected, frame, header)
    assert detected.delimiter == delimiter


@PROPERTY
@given(tables(), st.integers(min_value=0, max_value=10**6))
def test_a_file_on_disk_reads_like_its_bytes(tmp_path_factory, case, salt):
    frame, encoding, delimiter, decimal, quoting, terminator = case
    header = HEADERS.get(encoding, DEFAULT_HEADER)
    data = _write(frame, header, encoding, delimiter, decimal, quoting, terminator)
    path = tmp_path_factory.mktemp("p") / f"t{salt}.csv"
    path.write_bytes(data)
    from_disk = load_file(path, encoding=encoding)
    from_bytes = load_file(data, "t.csv", encoding=encoding)
    pd.testing.assert_frame_equal(from_disk.df, from_bytes.df)
    assert from_disk.fingerprint == from_bytes.fingerprint


FIELDS = st.sampled_from(["", " ", "1", "22", "abc", '"q"', '"a,b"', '"x""y"', "  ", "z z"])


@st.composite
def texts(draw):
    ncols = draw(st.integers(min_value=1, max_value=4))
    header = ",".join(f"h{i}" for i in range(ncols))
    lines = [header]
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "ragged"]))
        if kind == "blank":
            lines.append("")
            continue
        width = ncols if kind == "row" else draw(st.integers(min_value=1, max_value=ncols + 2))
        lines.append(",".join(draw(FIELDS) for _ in range(width)))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    text = terminator.join(lines) + draw(st.sampled_from(["", terminator]))
    return text


@PROPERTY
@given(texts())
def test_fast_reader_agrees_with_the_exact_reader(text):
    fast = ingest._fast_columns(ingest._Text(text.encode()), ",")
    exact = ingest._columns_from_text(text, ",")
    if fast is None:
        return  # the fast reader stepped aside: the exact reader alone decides
    header, columns, n_rows, rejects, blank_lines, _, row_lines = fast
    assert header == exact[0]
    assert n_rows == exact[2]
    assert rejects == exact[3]
    assert blank_lines == exact[4]
    assert [c.to_pylist() for c in columns] == [c.to_pylist() for c in exact[1]]
    rows = np.arange(n_rows)
    assert row_lines(rows).tolist() == exact[6](rows).tolist()


@PROPERTY
@given(texts())
def test_every_record_is_accounted_for(text):
    result = load_file(text.encode(), "t.csv", delimiter=",")
    assert result.rows_in_file == result.rows_loaded + result.rows_rejected
    assert len(result.df) == result.rows_loaded
    assert result.rejects["line"].is_monotonic_increasing
