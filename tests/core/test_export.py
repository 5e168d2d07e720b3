"""Safe exports: formula injection neutralised in text, numbers untouched, Chinese readable."""

import io

import openpyxl
import pandas as pd

from churn_core.sharing.export import to_safe_csv_bytes, to_safe_excel_bytes


def _frame():
    return pd.DataFrame({
        "name": ['=HYPERLINK("http://x","click")', "-3", "+1", "@SUM(A1)", "\tx", "\rx", "王伟", "ok"],
        "amount": [-3, 1, 2, 3, 4, 5, 6, 7],
        "rate": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    })


def test_csv_has_bom_and_neutralised_text():
    data = to_safe_csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "name,amount,rate"
    assert lines[1] == '"\'=HYPERLINK(""http://x"",""click"")",-3,-0.5'
    assert lines[2] == "'-3,1,0.1"
    assert lines[3] == "'+1,2,0.2"
    assert lines[4] == "'@SUM(A1),3,0.3"
    assert lines[7] == "王伟,6,0.6"


def test_csv_round_trip_keeps_numbers():
    back = pd.read_csv(io.BytesIO(to_safe_csv_bytes(_frame())))
    assert back["amount"].tolist() == [-3, 1, 2, 3, 4, 5, 6, 7]
    assert back["name"].iloc[1] == "'-3"


def test_headers_neutralised():
    df = pd.DataFrame({"=cmd": ["a"], "-x": [1]})
    assert to_safe_csv_bytes(df).decode("utf-8-sig").split("\r\n")[0] == "'=cmd,'-x"


def test_excel_text_is_text_numbers_are_numbers():
    wb = openpyxl.load_workbook(io.BytesIO(to_safe_excel_bytes(_frame())))
    ws = wb.active
    assert ws["A2"].value == '\'=HYPERLINK("http://x","click")'
    assert ws["A2"].data_type == "s"
    assert ws["A3"].value == "'-3"
    assert ws["B2"].value == -3
    assert ws["B2"].data_type == "n"
    assert ws["C2"].value == -0.5
    assert ws["A8"].value == "王伟"


def test_category_and_missing_values():
    df = pd.DataFrame({"tier": pd.Categorical(["High", "=1", None])})
    lines = to_safe_csv_bytes(df).decode("utf-8-sig").split("\r\n")
    # a lone empty field is quoted so the row is not read as a blank line
    assert lines[1:4] == ["High", "'=1", '""']
