"""Data page: sample flow, upload flow (through the real uploader), error flow, role correction."""

import io

import pandas as pd
import pytest

from tests.app.conftest import SAMPLE, chart_frames, chart_specs, dataset_of, make_app

PAGE = "pages/1_data.py"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_data not generated yet")


def metrics(at):
    return {m.label: m.value for m in at.metric}


def texts(elements):
    return [e.value for e in elements]


def upload(at, name, data, mime="text/csv"):
    at.file_uploader(key="data_upload").set_value((name, data, mime))
    return at.run()


@needs_sample
def test_sample_flow_loads_20000_rows_and_detects_the_label():
    at = make_app(PAGE)
    at.run()
    assert not at.exception
    assert "No data yet: upload a file or use the sample." in texts(at.info)
    at.button(key="data_use_sample").click().run()
    assert not at.exception
    assert not at.error
    m = metrics(at)
    assert m["Encoding"] == "utf-8"
    assert m["Delimiter"] == "Comma"
    assert (m["Rows in file"], m["Rows loaded"], m["Rows rejected"]) == ("20,000", "20,000", "0")
    ds = dataset_of(at)
    assert ds.load.rows_loaded == 20000
    assert (ds.roles.label, ds.roles.positive) == ("churned", 1)
    assert at.selectbox(key=f"data_label_{ds.key}_en").value == "churned"
    summary = [s for s in texts(at.success) if s.startswith("Label churned = 1")]
    assert summary and "churned customers" in summary[0]
    # quick profile + churn by category chart built from aggregated rows, not customers
    specs = chart_specs(at)
    assert len(specs) == 1
    assert specs[0]["layer"][0]["encoding"]["x"]["field"] == "churn_rate"
    bars = chart_frames(at)[0]
    from churn_core.data.profile import compute_category_churn

    expected = compute_category_churn(ds.df, ds.roles, at.selectbox(key="data_churn_by").value)
    assert bars["value"].tolist() == expected["value"].tolist()
    assert bars["customers"].tolist() == expected["customers"].tolist()
    assert bars["customers"].sum() == 20000
    assert len(bars) <= 32


@needs_sample
def test_chinese_sample_in_chinese():
    at = make_app(PAGE, lang="zh")
    at.run()
    at.button(key="data_use_sample_zh").click().run()
    assert not at.exception
    m = metrics(at)
    assert m["编码"] == "gb18030"
    assert m["已加载行数"] == "20,000"
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("是否流失", "是")
    assert at.title[0].value == "客户数据"


def test_upload_flow_with_rejects_shown_and_downloadable():
    text = "客户号;余额;是否流失\n1;1.234,50;是\n2;20,00;否\n3;7\n4;5,5;否;多余\n5;0,00;否\n"
    at = make_app(PAGE)
    at.run()
    upload(at, "kunden.csv", text.encode("gbk"))
    assert not at.exception
    m = metrics(at)
    assert (m["Encoding"], m["Delimiter"]) == ("gb18030", "Semicolon")
    assert (m["Rows in file"], m["Rows loaded"], m["Rows rejected"]) == ("5", "3", "2")
    ds = dataset_of(at)
    assert ds.df["余额"].tolist() == [1234.5, 20.0, 0.0]
    assert (ds.roles.label, ds.roles.positive) == ("是否流失", "是")
    rejects = [e for e in at.expander if e.label == "2 rejected rows"]
    assert rejects
    shown = rejects[0].dataframe[0].value
    assert shown["Line"].tolist() == [4, 5]
    assert shown["Reason"].tolist() == ["Too few fields", "Too many fields"]
    assert shown["Detail"].tolist() == ["2 fields, expected 3", "4 fields, expected 3"]
    assert shown["Row as in the file"].tolist() == ["3;7", "4;5,5;否;多余"]
    assert len(at.get("download_button")) >= 2


def test_upload_is_parsed_once_not_on_every_rerun(monkeypatch):
    at = make_app(PAGE)
    at.run()
    upload(at, "a.csv", b"id,churn\n1,0\n2,1\n3,0\n")
    first = dataset_of(at)
    at.run()  # a rerun (any widget) must not parse again
    assert dataset_of(at).load is first.load


@needs_sample
def test_sample_after_an_upload_stays_loaded_on_reruns():
    at = make_app(PAGE)
    at.run()
    upload(at, "a.csv", b"id,churn\n1,0\n2,1\n3,0\n")
    assert dataset_of(at).load.rows_loaded == 3
    at.button(key="data_use_sample").click().run()
    assert dataset_of(at).load.source_name == "customers.csv"
    at.run()
    assert dataset_of(at).load.source_name == "customers.csv"
    # a new file in the uploader is read again
    upload(at, "b.csv", b"id,churn\n1,0\n2,1\n")
    assert dataset_of(at).load.rows_loaded == 2


def test_xlsx_upload():
    frame = pd.DataFrame({"CLIENTNUM": [7001, 7002, 7003, 7004],
                          "Attrition_Flag": ["Existing Customer", "Attrited Customer",
                                             "Existing Customer", "Existing Customer"],
                          "Credit_Limit": [1000.5, 2000.0, 300.25, 4000.0]})
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    at = make_app(PAGE)
    at.run()
    upload(at, "cards.xlsx", buf.getvalue(),
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert not at.exception
    m = metrics(at)
    assert m["Format"] == "Excel (.xlsx)"
    assert m["Rows loaded"] == "4"
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("Attrition_Flag", "Attrited Customer")


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "The file is empty: there is no header and no data."),
    ("garbage.csv", bytes(range(256)) * 20,
     "This file is not a text table (it contains binary data). Upload a CSV or .xlsx file."),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
     "Old Excel .xls workbooks are not supported: save the sheet as .xlsx or CSV and upload it again."),
])
def test_error_flow_shows_a_message_not_a_traceback(name, data, message):
    at = make_app(PAGE)
    at.run()
    upload(at, name, data)
    assert not at.exception
    assert texts(at.error) == [message]
    assert dataset_of(at) is None if "dataset" in at.session_state else True


def test_error_goes_away_when_the_bad_file_is_removed():
    at = make_app(PAGE)
    at.run()
    upload(at, "empty.csv", b"")
    assert len(at.error) == 1
    at.file_uploader(key="data_upload").set_value(None).run()
    assert not at.exception
    assert len(at.error) == 0


def test_error_message_is_translated():
    at = make_app(PAGE, lang="zh")
    at.run()
    upload(at, "empty.csv", b"")
    assert not at.exception
    assert texts(at.error) == ["文件是空的:没有表头也没有数据。"]


def test_hostile_xlsx_upload_is_refused_cleanly():
    from tests.core.test_ingest_excel import HEADER_ROW, SMALL_SHARED, _sheet, _xlsx

    data = _xlsx(_sheet(HEADER_ROW + '<row r="200000"><c r="BXX200000"><v>1</v></c></row>',
                        "A1:BXX200000"), SMALL_SHARED)
    at = make_app(PAGE)
    at.run()
    upload(at, "far.xlsx", data)
    assert not at.exception
    assert len(at.error) == 1
    assert "stray cell" in at.error[0].value


def test_role_correction_flow():
    text = "ref,age,segment,status\n" + "".join(
        f"R{i:03d},{20 + i % 50},{'abc'[i % 3]},{'closed' if i % 5 == 0 else 'active'}\n" for i in range(60))
    at = make_app(PAGE)
    at.run()
    upload(at, "c.csv", text.encode())
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("status", "closed")
    assert ds.roles.roles["ref"] == "id"
    # correct one column's role
    at.selectbox(key="data_role_column").set_value("age").run()
    at.selectbox(key="data_role_value_age_en").set_value("categorical").run()
    at.button(key="data_role_apply").click().run()
    assert not at.exception
    assert dataset_of(at).roles.roles["age"] == "categorical"
    # change the label's positive value
    ds = dataset_of(at)
    at.selectbox(key=f"data_positive_{ds.key}_status").set_value("active").run()
    at.button(key="data_label_apply").click().run()
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("status", "active")
    summary = [s for s in texts(at.success) if s.startswith("Label status = active")]
    assert summary == ["Label status = active: 48 churned customers (80.0%)."]
    # remove the label: the page asks for one
    at.selectbox(key=f"data_label_{ds.key}_en").set_value("\u2060(no label)").run()  # the page's NO_LABEL
    at.button(key="data_label_apply").click().run()
    assert dataset_of(at).roles.label is None
    assert "No churn label was found. Choose the column that says whether a customer left." in texts(at.warning)
