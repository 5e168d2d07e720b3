"""Data page: load (sample, upload, errors), the label guard, column meanings and mapping files,
current customers, leak marks and user text shown as text — in English and Chinese."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import SAMPLE, chart_frames, chart_specs, dataset_of, make_app, workspace_of

PAGE = "pages/1_data.py"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="sample_data not generated yet")
UNEXPECTED = ("Something went wrong on this page", "页面出错")


def metrics(at):
    return {m.label: m.value for m in at.metric}


def texts(elements):
    return [e.value for e in elements]


def upload(at, name, data, mime="text/csv", key="data_upload"):
    at.file_uploader(key=key).set_value((name, data, mime))
    return at.run()


def sidebar_captions(at):
    """The sidebar captions app.py draws for this session (AppTest drops the entry point's sidebar
    when it is opened on a page, so the session's workspace is shown through the home page)."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    home = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    home.session_state["lang"] = at.session_state["lang"]
    home.session_state["workspace"] = workspace_of(at)
    home.run()
    assert not home.exception
    return texts(home.sidebar.caption)


def assert_clean(at):
    """No exception and no generic error box anywhere on the page."""
    assert not at.exception
    assert not [e for e in texts(at.error) if e.startswith(UNEXPECTED)]


def small_bank(n=200, **extra):
    """A small bank table: id, protected attributes, money, products, complaints and a 0/1 label."""
    i = np.arange(n)
    churn = (i % 4 == 0).astype(int)
    frame = pd.DataFrame({"customer_id": [f"C{k:04d}" for k in i], "age": 20 + i % 50,
                          "gender": np.where(i % 2, "F", "M"), "balance": (i * 37 % 1000) * 10.5,
                          "num_of_products": 1 + i % 3, "complaints": i % 5 // 4, "churned": churn})
    for name, values in extra.items():
        frame[name] = values(frame) if callable(values) else values
    return frame


def csv_bytes(frame):
    return frame.to_csv(index=False).encode("utf-8")


def loaded_small_bank(lang="en", frame=None, name="bank.csv"):
    at = make_app(PAGE, lang=lang)
    at.run()
    upload(at, name, csv_bytes(small_bank() if frame is None else frame))
    assert_clean(at)
    return at


def editor_key(at, table, lang="en"):
    ws = workspace_of(at)
    return f"data_{table}_{ws.load_.fingerprint[:12]}_{ws.meanings_.fingerprint()}_{lang}"


def edit_meanings(at, edits, lang="en", margins=None):
    """Edit the meanings (and margins) tables like a user (``{row: {field: value}}``) and press Apply."""
    for table, rows in (("meanings", edits), ("margins", margins)):
        if rows:
            at.session_state[editor_key(at, table, lang)] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="data_meanings_apply").click().run()
    assert_clean(at)
    return at


# ----------------------------------------------------------------------------- loading

@needs_sample
def test_sample_flow_loads_20000_rows_and_asks_to_confirm_the_label():
    at = make_app(PAGE)
    at.run()
    assert_clean(at)
    assert "No data yet: upload a file or use the sample." in texts(at.info)
    assert [b.label for b in at.button][:2] == ["Use the sample", "Use the Chinese sample (GBK)"]
    at.button(key="data_use_sample").click().run()
    assert_clean(at)
    assert not at.error
    m = metrics(at)
    assert m["Encoding"] == "utf-8"
    assert m["Delimiter"] == "Comma"
    assert (m["Rows in file"], m["Rows loaded"], m["Rows rejected"]) == ("20,000", "20,000", "0")
    ds = dataset_of(at)
    assert ds.load.rows_loaded == 20000
    assert (ds.roles.label, ds.roles.positive) == ("churned", 1)
    assert at.selectbox(key=f"data_label_{ds.key}_en").value == "churned"
    # the detected label is a guess until the user confirms it
    ws = workspace_of(at)
    assert getattr(ws, "label_confirmed", False) is False
    churners = int(ds.df["churned"].sum())
    rate = f"{ds.df['churned'].mean():.1%}"
    assert (f"The churn column looks like churned, with 1 meaning churned ({churners:,} customers, {rate}). "
            "This is a guess: confirm it or choose another column. The model is trained only after you confirm."
            ) in texts(at.warning)
    assert at.button(key="data_label_apply").label == "Confirm this label"
    at.button(key="data_label_apply").click().run()
    assert_clean(at)
    assert workspace_of(at).label_confirmed is True
    assert f"Label churned = 1: {churners:,} churned customers ({rate})." in texts(at.success)
    assert "No column nearly determines the label on its own." in texts(at.caption)
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
def test_chinese_mode_offers_the_chinese_sample_first_and_loads_it():
    at = make_app(PAGE, lang="zh")
    at.run()
    assert_clean(at)
    assert [b.label for b in at.button][:2] == ["使用中文示例数据（GBK）", "使用示例数据"]
    assert at.button(key="data_use_sample_zh").proto.type == "primary"
    assert "把 CSV 或 Excel（.xlsx）文件拖到下面的框里，或点击“Upload”选择文件。" in texts(at.caption)
    at.button(key="data_use_sample_zh").click().run()
    assert_clean(at)
    m = metrics(at)
    assert m["编码"] == "gb18030"
    assert m["已加载行数"] == "20,000"
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("是否流失", "是")
    assert at.title[0].value == "客户数据"
    warning = [w for w in texts(at.warning) if w.startswith("流失标签看起来是列 是否流失，其中 是 表示已流失（")]
    assert len(warning) == 1
    at.button(key="data_label_apply").click().run()
    assert workspace_of(at).label_confirmed is True
    churners = int((ds.df["是否流失"] == "是").sum())
    assert [s for s in texts(at.success) if s.startswith("标签 是否流失 = 是")] == [
        f"标签 是否流失 = 是：流失客户 {churners:,} 名（{churners / len(ds.df):.1%}）。"]
    # the book: the sample has snapshots, later pages act on the latest one's active customers
    book = workspace_of(at).describe_book()
    assert book["source"] == "latest_snapshot_active"
    assert (f"后续页面针对最近一期快照（{book['snapshot']}）中尚未流失的客户：{book['customers']:,} 位客户。"
            "如需针对其他名单，请在上方上传当前客户。") in texts(at.info)


def test_upload_flow_with_rejects_shown_and_downloadable():
    text = "客户号;余额;是否流失\n1;1.234,50;是\n2;20,00;否\n3;7\n4;5,5;否;多余\n5;0,00;否\n"
    at = make_app(PAGE)
    at.run()
    upload(at, "kunden.csv", text.encode("gbk"))
    assert_clean(at)
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


def test_upload_is_parsed_once_not_on_every_rerun():
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
    assert_clean(at)
    m = metrics(at)
    assert m["Format"] == "Excel (.xlsx)"
    assert m["Rows loaded"] == "4"
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("Attrition_Flag", "Attrited Customer")


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "The file is empty: there is no header and no data."),
    # every byte value: a few NUL bytes are now removed; the rest is binary, or no known text encoding
    # (the ingestion decides which; either is a clear message)
    ("garbage.csv", bytes(range(256)) * 20,
     {"This file is not a text table (it contains binary data). Upload a CSV or .xlsx file.",
      "The file's text encoding was not recognised (tried UTF-8, UTF-16, GB18030/GBK, Big5, Shift-JIS and "
      "EUC-KR). Save it as 'CSV UTF-8' and upload it again, or choose the encoding under Reading options."}),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
     "Old Excel .xls workbooks are not supported: save the sheet as .xlsx or CSV and upload it again."),
])
def test_error_flow_shows_a_message_not_a_traceback(name, data, message):
    at = make_app(PAGE)
    at.run()
    upload(at, name, data)
    assert_clean(at)
    shown = texts(at.error)
    assert len(shown) == 1
    assert shown[0] in message if isinstance(message, set) else shown == [message]
    assert dataset_of(at) is None


def test_error_goes_away_when_the_bad_file_is_removed():
    at = make_app(PAGE)
    at.run()
    upload(at, "empty.csv", b"")
    assert len(at.error) == 1
    at.file_uploader(key="data_upload").set_value(None).run()
    assert_clean(at)
    assert len(at.error) == 0


def test_error_message_is_translated():
    at = make_app(PAGE, lang="zh")
    at.run()
    upload(at, "empty.csv", b"")
    assert_clean(at)
    assert texts(at.error) == ["文件是空的：没有表头也没有数据。"]


def test_hostile_xlsx_upload_is_refused_cleanly():
    from tests.core.test_ingest_excel import HEADER_ROW, SMALL_SHARED, _sheet, _xlsx

    data = _xlsx(_sheet(HEADER_ROW + '<row r="200000"><c r="BXX200000"><v>1</v></c></row>',
                        "A1:BXX200000"), SMALL_SHARED)
    at = make_app(PAGE)
    at.run()
    upload(at, "far.xlsx", data)
    assert_clean(at)
    assert len(at.error) == 1
    assert "stray cell" in at.error[0].value


def test_reading_warnings_are_shown_as_text():
    at = make_app(PAGE)
    at.run()
    upload(at, "w.csv", b'id,amount,churn\n1,"(1,234.50)",0\n2,20,1\n3,5,0\n')
    assert_clean(at)
    assert workspace_of(at).df["amount"].tolist() == [-1234.5, 20.0, 5.0]
    assert ("Column amount: 1 amounts in brackets, such as (1,234.56), were read as negative numbers."
            in texts(at.warning))


def test_values_that_do_not_fit_are_listed_and_their_rows_can_be_rejected():
    rows = "".join(f"{i},{i * 10},{i % 2}\n" for i in range(1, 400))
    data = ("id,amount,churn\n" + rows + "400,abc,1\n").encode()
    at = make_app(PAGE)
    at.run()
    upload(at, "b.csv", data)
    assert_clean(at)
    assert ("Column amount: 1 values are not a number (line: value, e.g. 401\\: abc); they were read as missing."
            in texts(at.warning))
    listed = [e for e in at.expander if e.label == "1 values that do not fit their column"][0].dataframe[0].value
    assert listed.values.tolist() == [[401, "amount", "abc", "a number"]]
    assert workspace_of(at).df["amount"].dtype.kind == "f"
    at.checkbox(key="data_opt_reject_bad").check().run()
    assert_clean(at)
    m = metrics(at)
    assert (m["Rows in file"], m["Rows loaded"], m["Rows rejected"]) == ("400", "399", "1")
    assert ("Column amount: 1 values are not a number (line: value, e.g. 401\\: abc); their rows were rejected."
            in texts(at.warning))
    shown = [e for e in at.expander if e.label == "1 rejected rows"][0].dataframe[0].value
    assert shown.iloc[0].tolist()[:3] == [401, "A value does not fit its column", "amount: abc"]


# ----------------------------------------------------------------------------- roles and the label guard

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
    assert_clean(at)
    assert dataset_of(at).roles.roles["age"] == "categorical"
    # change the label's positive value: choosing it is confirming it
    ds = dataset_of(at)
    at.selectbox(key=f"data_positive_{ds.key}_status").set_value("active").run()
    assert at.button(key="data_label_apply").label == "Confirm this label"
    at.button(key="data_label_apply").click().run()
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == ("status", "active")
    assert workspace_of(at).label_confirmed is True
    summary = [s for s in texts(at.success) if s.startswith("Label status = active")]
    assert summary == ["Label status = active: 48 churned customers (80.0%)."]
    # remove the label: the page asks for one, and nothing is confirmed
    at.selectbox(key=f"data_label_{ds.key}_en").set_value("\u2060(no label)").run()  # the page's NO_LABEL
    at.button(key="data_label_apply").click().run()
    assert dataset_of(at).roles.label is None
    assert workspace_of(at).label_confirmed is False
    assert "No churn label was found. Choose the column that says whether a customer left." in texts(at.warning)


@pytest.mark.parametrize("lang,message", [
    ("en", "The churn column balance has 200 different values; a churn column has two (left / stayed). "
           "Choose another column."),
    ("zh", "流失列 balance 有 200 个不同取值；流失列应只有两个取值（流失/留存）。请选择其他列。"),
])
def test_a_label_with_more_than_20_values_is_refused(lang, message):
    frame = small_bank(balance=lambda f: np.arange(len(f)) * 10.0)
    at = loaded_small_bank(lang, frame)
    ds = dataset_of(at)
    at.selectbox(key=f"data_label_{ds.key}_{lang}").set_value("balance").run()
    assert_clean(at)
    assert message in texts(at.error)
    assert at.button(key="data_label_apply").disabled
    assert dataset_of(at).roles.label == "churned"  # unchanged


@pytest.mark.parametrize("lang,message", [
    ("en", "The churn column stayed has only one value (still here): the model needs customers who left "
           "and customers who stayed."),
    ("zh", "流失列 stayed 只有一个取值（still here）：模型需要既有流失客户也有留存客户。"),
])
def test_a_one_class_label_names_the_column_and_its_only_value(lang, message):
    at = loaded_small_bank(lang, small_bank(stayed="still here"))
    ds = dataset_of(at)
    at.selectbox(key=f"data_label_{ds.key}_{lang}").set_value("stayed").run()
    assert_clean(at)
    assert message in texts(at.error)
    assert at.button(key="data_label_apply").disabled


def test_a_one_class_label_set_by_a_mapping_file_is_named_too():
    at = loaded_small_bank(frame=small_bank(stayed="still here"))
    mapping = {"version": 1, "label": "stayed", "positive": "still here"}
    upload(at, "map.json", json.dumps(mapping).encode(), "application/json", key="data_mapping_upload")
    assert_clean(at)
    assert workspace_of(at).roles_.label == "stayed"
    assert ("The churn column stayed has only one value (still here): the model needs customers who left "
            "and customers who stayed.") in texts(at.error)


@pytest.mark.parametrize("lang,message", [
    ("en", "Suspected leak (1): closing\\_fee. These columns nearly determine the label on their own, which "
           "usually means they were recorded after the customer left. Check them before training."),
    ("zh", "疑似泄露（1 列）：closing\\_fee。这些列单独就几乎决定了标签，通常说明它们是在客户流失之后才记录的。"
           "训练前请检查。"),
])
def test_leak_columns_are_marked_before_training(lang, message):
    frame = small_bank(closing_fee=lambda f: f["churned"] * 50 + np.arange(len(f)) % 3)
    at = loaded_small_bank(lang, frame)
    assert message in texts(at.warning)
    table = [d.value for d in at.dataframe if "closing_fee" in d.value.iloc[:, 0].astype(str).tolist()
             and len(d.value) == 1][0]
    assert table.iloc[0].tolist()[1:] == (["1.00", "Nearly determines the label", "Left out"] if lang == "en"
                                          else ["1.00", "几乎决定了标签", "不使用"])
    # the churn-by-category view does not open on the leak column
    assert at.selectbox(key="data_churn_by").value != "closing_fee"


# ----------------------------------------------------------------------------- column meanings

@pytest.mark.parametrize("lang,gender_none", [("en", "(none)"), ("zh", "（无）")])
def test_the_meanings_editor_changes_a_meaning_and_every_page_follows(lang, gender_none):
    at = loaded_small_bank(lang)
    ws = workspace_of(at)
    table = at.data_editor[0].value
    assert table["column"].tolist() == ["age", "gender", "balance", "num_of_products", "complaints"]
    names = ["Age", "Gender", "Balance", "Products held", "Complaints"] if lang == "en" else \
        ["年龄", "性别", "账户余额", "持有产品数", "投诉次数"]
    assert table["meaning"].tolist() == names
    assert table["protected"].tolist() == [True, True, False, False, False]
    margins = at.data_editor[1].value
    assert margins.values.tolist() == [["balance", names[2], 1.5]]
    # gender means nothing, complaints are no longer actionable, balance earns 2% a year
    edit_meanings(at, {1: {"meaning": gender_none}, 4: {"actionable": False}}, lang, margins={0: {"margin": 2.0}})
    ws = workspace_of(at)
    assert ws.meanings_.meaning_of("gender") is None
    assert ws.meanings_.is_actionable("complaints") is False
    assert ws.meanings_.money() == {"balance": pytest.approx(0.02)}
    assert ws.mapping()["columns"]["gender"]["meaning"] is None
    applied = "The column meanings were updated; every page now uses them." if lang == "en" else \
        "列的含义已更新，所有页面都将使用新的含义。"
    assert applied in texts(at.success)


def test_a_meaning_can_be_given_to_an_unrecognised_column():
    at = loaded_small_bank(frame=small_bank(zzz=lambda f: np.arange(len(f)) % 7))
    table = at.data_editor[0].value
    row = table["column"].tolist().index("zzz")
    assert table["meaning"].iloc[row] == "(none)"
    assert table["sure"].iloc[row] == ""
    edit_meanings(at, {row: {"meaning": "Inactive months"}})
    ws = workspace_of(at)
    assert ws.meanings_.column("inactive_months") == "zzz"
    assert ws.meanings_.is_actionable("zzz") is True  # the meaning's default
    assert at.data_editor[0].value["sure"].iloc[row] == "high"


def test_meaning_names_are_unique_in_both_languages():
    """The meanings editor offers names, not codes: a name must point back to one meaning."""
    from churn_core.data.meanings import VOCABULARY

    assert len({m.en for m in VOCABULARY}) == len({m.zh_name for m in VOCABULARY}) == len(VOCABULARY)
    assert "" not in {m.en for m in VOCABULARY} | {m.zh_name for m in VOCABULARY}


def test_a_current_file_follows_a_new_history():
    at = loaded_small_bank()
    upload(at, "march.csv", csv_bytes(small_bank(37).drop(columns="churned")), key="data_current_upload")
    assert workspace_of(at).describe_book()["customers"] == 37
    # another history with the same columns: the file still in the uploader is the current book again
    upload(at, "bank2.csv", csv_bytes(small_bank(120)))
    assert_clean(at)
    ws = workspace_of(at)
    assert ws.load_.rows_loaded == 120
    assert ws.describe_book() == {"source": "current_upload", "customers": 37, "snapshot": None}


@pytest.fixture
def captured_downloads(monkeypatch):
    """The bytes of every download button, by file name (AppTest keeps media in memory only)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None and isinstance(path_or_data, (bytes, bytearray)):
            files[filename] = bytes(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mapping_json_round_trip(lang, captured_downloads):
    at = loaded_small_bank(lang)
    edit_meanings(at, {0: {"protected": False}}, lang, margins={0: {"margin": 3.0}})
    saved = workspace_of(at).mapping()
    data = captured_downloads["column_mapping.json"]
    assert json.loads(data.decode("utf-8")) == json.loads(json.dumps(saved))
    assert saved["label"] == "churned" and saved["id"] == "customer_id"
    # change things, then apply the saved file: the map is back
    none = "(none)" if lang == "en" else "（无）"
    edit_meanings(at, {0: {"protected": True}, 4: {"meaning": none}}, lang)
    assert workspace_of(at).mapping() != saved
    upload(at, "column_mapping.json", data, "application/json", key="data_mapping_upload")
    assert_clean(at)
    assert workspace_of(at).mapping() == saved
    assert workspace_of(at).label_confirmed is True  # the file names the label: the user's choice
    done = "The mapping was applied (7 columns)." if lang == "en" else "映射已套用（7 列）。"
    assert done in texts(at.success)


def test_the_saved_mapping_gives_the_cli_the_same_map(tmp_path, captured_downloads):
    """Page -> file -> CLI: the command line's workspace (``--columns MAP.json``) reads the same map."""
    from churn_core.workspace import Workspace

    at = loaded_small_bank()
    edit_meanings(at, {1: {"meaning": "(none)"}, 0: {"protected": False}}, margins={0: {"margin": 0.5}})
    saved = workspace_of(at).mapping()
    (tmp_path / "bank.csv").write_bytes(csv_bytes(small_bank()))
    (tmp_path / "map.json").write_bytes(captured_downloads["column_mapping.json"])
    cli = Workspace.from_file(tmp_path / "bank.csv", mapping=tmp_path / "map.json")
    assert cli.mapping() == saved
    assert cli.meanings_.money() == {"balance": pytest.approx(0.005)}
    assert cli.meanings_.meaning_of("gender") is None


@pytest.mark.parametrize("lang,message", [
    ("en", "The mapping names column Nope\\_Column, which is not in this file. Check the mapping or load "
           "the file it was made for."),
    ("zh", "映射中提到的列 Nope\\_Column 不在此文件中。请检查映射，或载入与之对应的文件。"),
])
def test_a_mapping_naming_a_missing_column_is_refused_and_changes_nothing(lang, message):
    at = loaded_small_bank(lang)
    before = workspace_of(at).mapping()
    bad = {"version": 1, "columns": {"age": {"protected": False}, "Nope_Column": {"meaning": "balance"}}}
    upload(at, "map.json", json.dumps(bad).encode(), "application/json", key="data_mapping_upload")
    assert_clean(at)
    assert message in texts(at.error)
    assert workspace_of(at).mapping() == before


def test_a_mapping_that_is_not_json_says_so():
    at = loaded_small_bank()
    upload(at, "map.json", b"{not json", "application/json", key="data_mapping_upload")
    assert_clean(at)
    assert texts(at.error) == [
        "This is not a valid column mapping: it must be a JSON object with \"columns\" (column → meaning) and "
        "optionally \"label\", \"positive\", \"id\" and \"margins\"."]


# ----------------------------------------------------------------------------- current customers

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_current_customers_upload_sets_the_book(lang):
    at = loaded_small_bank(lang)
    assert workspace_of(at).describe_book() == {"source": "active_customers", "customers": 150, "snapshot": None}
    current = small_bank(37).drop(columns="churned")
    upload(at, "march.csv", csv_bytes(current), key="data_current_upload")
    assert_clean(at)
    ws = workspace_of(at)
    assert ws.describe_book() == {"source": "current_upload", "customers": 37, "snapshot": None}
    says = ("Later pages act on the current customers you uploaded: 37 customers." if lang == "en"
            else "后续页面针对您上传的当前客户：37 位客户。")
    assert says in texts(at.info)
    side = "Acting on: march\\.csv (37 current customers)" if lang == "en" else "挽留对象：march\\.csv（37 位当前客户）"
    assert sidebar_captions(at)[1] == side
    remove = at.button(key="data_current_remove")
    remove.click().run()
    assert_clean(at)
    assert workspace_of(at).describe_book()["source"] == "active_customers"
    assert sidebar_captions(at)[1] == ("Acting on: 150 active customers" if lang == "en" else "挽留对象：150 位未流失客户")


def test_current_customers_missing_columns_are_refused():
    at = loaded_small_bank()
    current = small_bank(10).drop(columns=["churned", "balance"])
    upload(at, "march.csv", csv_bytes(current), key="data_current_upload")
    assert_clean(at)
    assert ("The current customers file lacks columns of the history: balance. Upload a file with the same "
            "columns.") in texts(at.error)
    assert workspace_of(at).current_ is None


# ----------------------------------------------------------------------------- user text is text

LIVE_LINK = re.compile(r"(?<!\\)\]\((?!\\)|(?<!\\)!\[|<img|<a ")


def rendered(at):
    """Every Markdown-rendered string on the page and in the sidebar."""
    out = []
    for kind in ("markdown", "caption", "subheader", "warning", "success", "info", "error"):
        out += texts(getattr(at, kind))
    return out + sidebar_captions(at)


@pytest.mark.parametrize("name", ["[click](javascript:alert(1)).csv", "![x](data:image.png).csv"])
def test_a_hostile_file_name_is_escaped_in_the_sidebar(name):
    at = make_app(PAGE)
    at.run()
    upload(at, name, b"id,churn\n1,0\n2,1\n3,0\n")
    assert_clean(at)
    from studio.ui import escape_md

    assert workspace_of(at).load_.source_name == name
    assert sidebar_captions(at)[0] == f"Loaded: {escape_md(name)} (3 customers)"
    assert [s for s in rendered(at) if LIVE_LINK.search(s)] == []


def test_hostile_column_names_and_values_are_shown_as_text():
    label = "![x](http://evil/x.png)"
    frame = small_bank().rename(columns={"churned": label, "gender": "[g](http://evil)"})
    frame[label] = np.where(frame[label] == 1, "[yes](http://evil)", "no")
    at = make_app(PAGE)
    at.run()
    upload(at, "x.csv", csv_bytes(frame))
    assert_clean(at)
    ds = dataset_of(at)
    assert [s for s in rendered(at) if LIVE_LINK.search(s)] == []
    at.selectbox(key=f"data_label_{ds.key}_en").set_value(label).run()
    at.selectbox(key=f"data_positive_{ds.key}_{label}").set_value("[yes](http://evil)").run()
    at.button(key="data_label_apply").click().run()
    ds = dataset_of(at)
    assert (ds.roles.label, ds.roles.positive) == (label, "[yes](http://evil)")
    assert_clean(at)
    assert [s for s in rendered(at) if LIVE_LINK.search(s)] == []
    assert any(s.startswith("Label \\!\\[x\\]\\(http\u2060\\://evil/x\\.png\\) = \\[yes\\]\\(http\u2060\\://evil\\)")
               for s in texts(at.success))


# ----------------------------------------------------------------------------- every widget

@needs_sample
@pytest.mark.slow
@pytest.mark.parametrize("lang,sample", [("en", "data_use_sample"), ("zh", "data_use_sample_zh")])
def test_every_widget_on_the_shared_samples(lang, sample):
    """Drive each widget of the page on the bundled samples (every fifth column for the column
    pickers, to stay quick): no exception, no error box."""
    at = make_app(PAGE, lang=lang)
    at.run()
    at.button(key=sample).click().run()
    assert_clean(at)
    assert not at.error
    for column in at.selectbox(key="data_churn_by").options[::5]:
        at.selectbox(key="data_churn_by").set_value(column).run()
        assert_clean(at)
        assert len(chart_specs(at)) == 1
    ds = dataset_of(at)
    label_box = at.selectbox(key=f"data_label_{ds.key}_{lang}")
    for column in label_box.options[1::5]:  # columns tried as the label: a message or a choice
        at.selectbox(key=f"data_label_{ds.key}_{lang}").set_value(column).run()
        assert_clean(at)
    for encoding in at.selectbox(key=f"data_opt_encoding_{lang}").options:
        at.selectbox(key=f"data_opt_encoding_{lang}").set_value(encoding).run()
        assert_clean(at)
    at.checkbox(key="data_opt_reject_bad").check().run()
    at.text_input(key="data_opt_sheet").input("Sheet1").run()
    at.button(key="data_meanings_apply").click().run()  # nothing changed: nothing happens
    at.button(key="data_role_apply").click().run()
    assert_clean(at)
    assert dataset_of(at).load.rows_loaded == 20000


# ----------------------------------------------------------------------------- interrupted reads

def _cut_off(*args, **kwargs):
    """load_file as it ends when the user leaves the page mid-read: the run is stopped."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    raise StopException()


@pytest.mark.parametrize("lang, message", [
    # the Markdown source: the file name is escaped (shown as text: bank.csv)
    ("en", r"Reading bank\.csv was interrupted: the page was left before the file was read, so it was "
           "not loaded. Please upload it again."),
    ("zh", r"bank\.csv 的读取被中断：文件读完之前离开了本页，因此没有载入。请重新上传。"),
])
def test_an_interrupted_upload_says_so_on_the_next_run_and_a_new_upload_clears_it(monkeypatch, lang, message):
    import churn_core.data.ingest as ingest

    at = make_app(PAGE, lang=lang)
    at.run()
    assert not texts(at.warning)
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "load_file", _cut_off)
        upload(at, "bank.csv", csv_bytes(small_bank()))
    assert at.session_state["_data_reading"] == "bank.csv"  # started, never finished
    assert dataset_of(at) is None
    at.run()  # the next run (the user is back on the page)
    assert_clean(at)
    assert message in texts(at.warning)
    assert dataset_of(at) is None
    upload(at, "bank2.csv", csv_bytes(small_bank(n=120)))  # uploaded again: read, and the note goes
    assert_clean(at)
    assert "_data_reading" not in at.session_state
    assert not [w for w in texts(at.warning) if "bank" in w]
    assert dataset_of(at).load.rows_loaded == 120


def test_a_finished_or_refused_read_leaves_no_interrupted_note():
    at = make_app(PAGE)
    at.run()
    upload(at, "a.csv", b"id,churn\n1,0\n2,1\n3,0\n")
    assert "_data_reading" not in at.session_state
    at.file_uploader(key="data_upload").set_value(("bad.xlsx", b"not a workbook", "application/octet-stream"))
    at.run()
    assert texts(at.error)  # refused with its message ...
    assert "_data_reading" not in at.session_state  # ... which is not an interruption
    assert not [w for w in texts(at.warning) if "interrupted" in w]
