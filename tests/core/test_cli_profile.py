"""``python -m churn_core profile`` on real public churn files in other namings, encodings, delimiters."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xlsxwriter

from churn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"
BANK = DATASETS / "Churn_Modelling.csv"
TELCO = DATASETS / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
SAMPLE = ROOT / "sample_data" / "customers.csv"
SAMPLE_ZH = ROOT / "sample_data" / "customers_zh_gbk.csv"

needs_datasets = pytest.mark.skipif(not BANK.exists(), reason="../shared/datasets not available")

BANK_ZH = {
    "RowNumber": "行号", "CustomerId": "客户号", "Surname": "姓氏", "CreditScore": "信用分",
    "Geography": "国家", "Gender": "性别", "Age": "年龄", "Tenure": "开户年数", "Balance": "余额",
    "NumOfProducts": "产品数", "HasCrCard": "有信用卡", "IsActiveMember": "活跃会员",
    "EstimatedSalary": "预估年薪", "Exited": "是否流失",
}
BANK_TW = {
    "RowNumber": "序號", "CustomerId": "客戶號", "Surname": "姓氏", "CreditScore": "信用分數",
    "Geography": "國家", "Gender": "性別", "Age": "年齡", "Tenure": "開戶年數", "Balance": "餘額",
    "NumOfProducts": "產品數", "HasCrCard": "有信用卡", "IsActiveMember": "活躍會員",
    "EstimatedSalary": "預估年薪", "Exited": "是否流失",
}


def run_profile(capsys, *args):
    rc = main(["profile", *map(str, args)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def _read_rows(path, encoding="utf-8"):
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def bank_rows():
    return _read_rows(BANK)


@pytest.fixture(scope="module")
def variants(tmp_path_factory, bank_rows):
    """Copies of the public files in other encodings, delimiters, namings and formats."""
    out = tmp_path_factory.mktemp("variants")
    paths = {}

    # ';' delimiter + decimal comma (European Excel export), CRLF
    lines = [";".join(bank_rows[0].keys())]
    for row in bank_rows:
        vals = []
        for key, value in row.items():
            if key in ("Balance", "EstimatedSalary") and "." in value:
                whole, frac = value.split(".")
                whole = f"{int(whole):,}".replace(",", ".")
                value = f"{whole},{frac}"
            elif key in ("Balance", "EstimatedSalary"):
                value = f"{int(value):,}".replace(",", ".")
            vals.append(value)
        lines.append(";".join(vals))
    paths["semicolon"] = out / "bank_semicolon.csv"
    paths["semicolon"].write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))

    # GBK with Chinese headers and values
    geo = {"France": "法国", "Spain": "西班牙", "Germany": "德国"}
    sex = {"Male": "男", "Female": "女"}

    def chinese(row, names, yes="是", no="否"):
        new = {}
        for key, value in row.items():
            if key == "Geography":
                value = geo[value]
            elif key == "Gender":
                value = sex[value]
            elif key == "Exited":
                value = yes if value == "1" else no
            new[names[key]] = value
        return new

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(BANK_ZH.values()), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(chinese(r, BANK_ZH) for r in bank_rows)
    paths["gbk"] = out / "bank_gbk.csv"
    paths["gbk"].write_bytes(buf.getvalue().encode("gbk"))

    # UTF-16 tab-separated ("Unicode text" from Excel)
    paths["utf16"] = out / "bank_utf16.txt"
    paths["utf16"].write_bytes(buf.getvalue().replace(",", "\t").encode("utf-16"))

    # Big5 with traditional headers
    geo_tw = {"France": "法國", "Spain": "西班牙", "Germany": "德國"}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(BANK_TW.values()), lineterminator="\n")
    writer.writeheader()
    for r in bank_rows:
        row = chinese(r, BANK_TW)
        row["國家"] = geo_tw[r["Geography"]]
        writer.writerow(row)
    paths["big5"] = out / "bank_big5.csv"
    paths["big5"].write_bytes(buf.getvalue().encode("big5"))

    # Telco as .xlsx (TotalCharges blanks become empty cells)
    telco = pd.read_csv(TELCO, dtype=str, keep_default_na=False)
    paths["xlsx"] = out / "telco.xlsx"
    workbook = xlsxwriter.Workbook(str(paths["xlsx"]), {"constant_memory": True})
    sheet = workbook.add_worksheet("Telco")
    sheet.write_row(0, 0, list(telco.columns))
    numeric = {"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"}
    for i, row in enumerate(telco.itertuples(index=False), start=1):
        for j, (name, value) in enumerate(zip(telco.columns, row)):
            if name in numeric and value.strip():
                sheet.write_number(i, j, float(value))
            elif value.strip():
                sheet.write_string(i, j, value)
    workbook.close()

    # BankChurners-shaped credit-card file
    paths["bankchurners"] = out / "BankChurners.csv"
    bankchurners_frame().to_csv(paths["bankchurners"], index=False)
    return paths


BANKCHURNERS_ROWS = 2000
BANKCHURNERS_ATTRITED = 325


def bankchurners_frame():
    """A file shaped like Kaggle's BankChurners.csv (credit-card attrition), 325 of 2,000 attrited."""
    rng = np.random.default_rng(7)
    n = BANKCHURNERS_ROWS
    flag = np.array(["Attrited Customer"] * BANKCHURNERS_ATTRITED
                    + ["Existing Customer"] * (n - BANKCHURNERS_ATTRITED))
    rng.shuffle(flag)
    limit = rng.uniform(1438.3, 34516.0, n).round(1)
    revolving = rng.integers(0, 2517, n)
    return pd.DataFrame({
        "CLIENTNUM": 708_082_083 + rng.choice(120_261_000, n, replace=False),
        "Attrition_Flag": flag,
        "Customer_Age": rng.integers(26, 73, n),
        "Gender": rng.choice(["M", "F"], n),
        "Dependent_count": rng.integers(0, 6, n),
        "Education_Level": rng.choice(["High School", "Graduate", "Uneducated", "Unknown", "College",
                                       "Post-Graduate", "Doctorate"], n),
        "Marital_Status": rng.choice(["Married", "Single", "Unknown", "Divorced"], n),
        "Income_Category": rng.choice(["$60K - $80K", "Less than $40K", "$80K - $120K",
                                       "$40K - $60K", "$120K +", "Unknown"], n),
        "Card_Category": rng.choice(["Blue", "Silver", "Gold", "Platinum"], n, p=[.9, .06, .03, .01]),
        "Months_on_book": rng.integers(13, 57, n),
        "Total_Relationship_Count": rng.integers(1, 7, n),
        "Months_Inactive_12_mon": rng.integers(0, 7, n),
        "Contacts_Count_12_mon": rng.integers(0, 7, n),
        "Credit_Limit": limit,
        "Total_Revolving_Bal": revolving,
        "Avg_Open_To_Buy": (limit - revolving).round(1),
        "Total_Amt_Chng_Q4_Q1": rng.uniform(0, 3.4, n).round(3),
        "Total_Trans_Amt": rng.integers(510, 18484, n),
        "Total_Trans_Ct": rng.integers(10, 139, n),
        "Total_Ct_Chng_Q4_Q1": rng.uniform(0, 3.7, n).round(3),
        "Avg_Utilization_Ratio": rng.uniform(0, 1, n).round(3),
        "Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_"
        "Education_Level_Months_Inactive_12_mon_1": rng.uniform(0, 1, n),
        "Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_"
        "Education_Level_Months_Inactive_12_mon_2": rng.uniform(0, 1, n),
    })


# ---- public files -----------------------------------------------------------------------------


@needs_datasets
def test_bank_churn_modelling(capsys):
    out = run_profile(capsys, BANK)
    assert out["rows"] == out["rows_in_file"] == 10000
    assert out["columns"] == 14
    assert (out["encoding"], out["delimiter"], out["rows_rejected"]) == ("utf-8", ",", 0)
    assert out["label"] == {"column": "Exited", "positive": 1}
    assert out["churned"] == 2037
    assert out["churn_rate"] == 0.2037
    assert out["id_columns"] == ["RowNumber", "CustomerId"]
    assert out["roles"]["Surname"] == "text"
    assert out["roles"]["EstimatedSalary"] == "numeric"
    assert out["roles"]["Geography"] == "categorical"
    assert out["roles"]["HasCrCard"] == "boolean"


@needs_datasets
def test_telco(capsys):
    out = run_profile(capsys, TELCO)
    assert (out["rows"], out["columns"], out["rows_rejected"]) == (7043, 21, 0)
    assert out["label"] == {"column": "Churn", "positive": "Yes"}
    assert out["churned"] == 1869
    assert out["id_columns"] == ["customerID"]
    total = next(c for c in out["column_profile"] if c["column"] == "TotalCharges")
    assert (total["role"], total["dtype"], total["missing"]) == ("numeric", "float", 11)
    assert out["roles"]["SeniorCitizen"] == "boolean"
    assert out["roles"]["Contract"] == "categorical"


@needs_datasets
def test_semicolon_decimal_comma_copy(capsys, variants, bank_rows):
    out = run_profile(capsys, variants["semicolon"])
    assert (out["rows"], out["delimiter"], out["decimal"], out["rows_rejected"]) == (10000, ";", ",", 0)
    assert out["label"] == {"column": "Exited", "positive": 1}
    balance = next(c for c in out["column_profile"] if c["column"] == "Balance")
    expected = sum(float(r["Balance"]) for r in bank_rows)
    assert balance["mean"] * 10000 == pytest.approx(expected, rel=1e-12)
    assert balance["max"] == 250898.09


@needs_datasets
def test_gbk_chinese_headers_copy(capsys, variants):
    out = run_profile(capsys, variants["gbk"])
    assert (out["rows"], out["encoding"], out["delimiter"]) == (10000, "gb18030", ",")
    assert out["label"] == {"column": "是否流失", "positive": "是"}
    assert out["churned"] == 2037
    assert out["id_columns"] == ["行号", "客户号"]
    assert out["roles"]["国家"] == "categorical"


@needs_datasets
def test_utf16_tab_copy(capsys, variants):
    out = run_profile(capsys, variants["utf16"])
    assert (out["rows"], out["encoding"], out["delimiter"]) == (10000, "utf-16", "\t")
    assert out["label"] == {"column": "是否流失", "positive": "是"}
    assert out["churned"] == 2037


@needs_datasets
def test_big5_copy(capsys, variants):
    out = run_profile(capsys, variants["big5"])
    assert (out["rows"], out["encoding"]) == (10000, "big5")
    assert out["label"] == {"column": "是否流失", "positive": "是"}
    assert out["id_columns"] == ["序號", "客戶號"]
    assert out["churned"] == 2037


@needs_datasets
def test_xlsx_copy_of_telco(capsys, variants):
    out = run_profile(capsys, variants["xlsx"])
    assert (out["rows"], out["columns"], out["format"], out["sheet"]) == (7043, 21, "xlsx", "Telco")
    assert (out["encoding"], out["delimiter"]) == (None, None)
    assert out["label"] == {"column": "Churn", "positive": "Yes"}
    assert out["churned"] == 1869
    assert out["id_columns"] == ["customerID"]
    total = next(c for c in out["column_profile"] if c["column"] == "TotalCharges")
    assert total["missing"] == 11


@needs_datasets
def test_bankchurners_credit_card_file(capsys, variants):
    out = run_profile(capsys, variants["bankchurners"])
    assert (out["rows"], out["columns"]) == (BANKCHURNERS_ROWS, 23)
    assert out["label"] == {"column": "Attrition_Flag", "positive": "Attrited Customer"}
    assert out["churned"] == BANKCHURNERS_ATTRITED
    assert out["id_columns"] == ["CLIENTNUM"]
    assert out["roles"]["Credit_Limit"] == "numeric"
    assert out["roles"]["Income_Category"] == "categorical"


@needs_datasets
def test_label_and_positive_override(capsys):
    out = run_profile(capsys, TELCO, "--label", "Partner", "--positive", "yes", "--no-columns")
    assert out["label"] == {"column": "Partner", "positive": "Yes"}
    assert out["roles"]["Churn"] == "boolean"
    assert "column_profile" not in out
    out = run_profile(capsys, BANK, "--positive", "0", "--no-columns")
    assert out["label"] == {"column": "Exited", "positive": 0}
    assert out["churned"] == 7963


# ---- bundled sample ---------------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample_data not generated yet")
def test_bundled_sample(capsys):
    rows = _read_rows(SAMPLE)
    out = run_profile(capsys, SAMPLE, "--no-columns")
    assert out["rows"] == len(rows) == 20000
    assert out["label"] == {"column": "churned", "positive": 1}
    assert out["churned"] == sum(r["churned"] == "1" for r in rows)
    assert out["id_columns"] == ["customer_id"]
    assert out["roles"]["snapshot_date"] == "date"
    assert out["roles"]["region"] == "categorical"


@pytest.mark.skipif(not SAMPLE_ZH.exists(), reason="sample_data not generated yet")
def test_bundled_chinese_gbk_sample(capsys):
    rows = _read_rows(SAMPLE_ZH, encoding="gbk")
    out = run_profile(capsys, SAMPLE_ZH, "--no-columns")
    assert (out["rows"], out["encoding"]) == (len(rows), "gb18030")
    assert out["label"] == {"column": "是否流失", "positive": "是"}
    assert out["churned"] == sum(r["是否流失"] == "是" for r in rows)
    assert out["id_columns"] == ["客户编号"]


# ---- bad input: exit 2, one line, no traceback -------------------------------------------------


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "churn_core", "profile", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def _assert_clean_failure(proc, needle):
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0]


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _assert_clean_failure(_cli(tmp_path / "missing.csv"), "not found")
    _assert_clean_failure(_cli(empty), "empty")
    _assert_clean_failure(_cli(garbage), "not a text table")


def test_cli_hostile_xlsx_exit_2(tmp_path):
    from tests.core.test_ingest_excel import HEADER_ROW, SMALL_SHARED, _sheet, _xlsx

    far = tmp_path / "far.xlsx"
    far.write_bytes(_xlsx(_sheet(HEADER_ROW + '<row r="200000"><c r="BXX200000"><v>1</v></c></row>',
                                 "A1:BXX200000"), SMALL_SHARED))
    _assert_clean_failure(_cli(far), "stray cell")


def test_cli_unknown_label_column_exit_2(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("id,churn\n1,0\n2,1\n")
    rc = main(["profile", str(path), "--label", "nope"])
    assert rc == 2
    assert "no column 'nope'" in capsys.readouterr().err
