"""Excel ingestion: real workbooks, row accounting, and hostile workbooks that must not hurt the server."""

import io
import os
import zipfile

import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.ingest import load_file

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _sheet(rows_xml, dimension="A1:B3"):
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {NS}>'
        f'<dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>'
    )


def _shared(strings):
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<sst {NS} count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')


def _xlsx(sheet_xml, shared_xml):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        zf.writestr("xl/sharedStrings.xml", shared_xml)
    return buf.getvalue()


HEADER_ROW = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
SMALL_SHARED = _shared(["id", "churn"])


@pytest.fixture(scope="module")
def workbook_bytes():
    frame = pd.DataFrame({
        "客户编号": ["C1", "C2", "C3", "C4"],
        "年龄": [30, 41, 52, 23],
        "余额": [1234.5, 0.0, 88.25, None],
        "开户日期": pd.to_datetime(["2024-01-31", "2023-06-30", "2022-12-31", "2024-03-31"]),
        "是否流失": ["是", "否", "否", "是"],
    })
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
        frame.to_excel(writer, sheet_name="客户", index=False)
        pd.DataFrame({"x": [1, 2]}).to_excel(writer, sheet_name="second", index=False)
    return buf.getvalue()


def test_xlsx_first_sheet_typed_and_accounted(workbook_bytes):
    result = load_file(workbook_bytes, "customers.xlsx")
    assert result.format == "xlsx"
    assert (result.encoding, result.delimiter) == (None, None)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 4, 0)
    assert result.sheet == "客户"
    assert result.sheets == ["客户", "second"]
    df = result.df
    assert list(df.columns) == ["客户编号", "年龄", "余额", "开户日期", "是否流失"]
    assert df["年龄"].tolist() == [30, 41, 52, 23]
    assert df["余额"].iloc[:3].tolist() == [1234.5, 0.0, 88.25]
    assert pd.isna(df["余额"].iloc[3])
    assert df["开户日期"].iloc[0] == pd.Timestamp("2024-01-31")
    assert df["是否流失"].tolist() == ["是", "否", "否", "是"]


def test_xlsx_named_sheet(workbook_bytes):
    result = load_file(workbook_bytes, "customers.xlsx", sheet="second")
    assert result.df["x"].tolist() == [1, 2]


def test_xlsx_data_sheet_after_a_small_data_dictionary_sheet_is_chosen():
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
        pd.DataFrame({"Variable": ["CustomerID", "Churn"], "Description": ["id", "churn flag"]}).to_excel(
            writer, sheet_name="Data Dict", index=False)
        pd.DataFrame({"CustomerID": range(50001, 50041), "Churn": [1, 0, 0, 0] * 10}).to_excel(
            writer, sheet_name="E Comm", index=False)
    result = load_file(buf.getvalue(), "ecommerce.xlsx")
    assert (result.sheet, result.rows_loaded) == ("E Comm", 40)
    assert result.warnings == [{"code": "ingest.sheet_chosen",
                                "params": {"sheet": "E Comm", "first": "Data Dict"}}]
    assert load_file(buf.getvalue(), "ecommerce.xlsx", sheet="Data Dict").rows_loaded == 2


def test_xlsx_unknown_sheet_is_a_clear_error(workbook_bytes):
    with pytest.raises(ChurnCoreError, match="no sheet named") as info:
        load_file(workbook_bytes, "customers.xlsx", sheet="nope")
    assert info.value.code == "ingest.excel_no_sheet"


def test_xlsx_blank_rows_are_skipped_and_short_rows_padded():
    rows = (HEADER_ROW
            + '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>1</v></c></row>'
            + '<row r="5"><c r="A5"><v>2</v></c></row>'
            + '<row r="6"><c r="A6"><v>3</v></c><c r="B6"><v>0</v></c></row>')
    result = load_file(_xlsx(_sheet(rows, "A1:B6"), SMALL_SHARED), "b.xlsx")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert result.df["id"].tolist() == [1, 2, 3]
    assert result.df["churn"].isna().tolist() == [False, True, False]


def test_hostile_far_away_cell_is_refused_and_process_survives():
    rows = HEADER_ROW + '<row r="200000"><c r="BXX200000"><v>1</v></c></row>'
    data = _xlsx(_sheet(rows, "A1:BXX200000"), SMALL_SHARED)
    assert len(data) < 5000
    with pytest.raises(ChurnCoreError, match="stray cell") as info:
        load_file(data, "far.xlsx")
    assert info.value.code == "ingest.excel_too_wide"
    assert os.getpid()  # still here


def test_hostile_far_away_cell_with_a_lying_dimension_is_refused():
    rows = HEADER_ROW + '<row r="200000"><c r="BXX200000"><v>1</v></c></row>'
    data = _xlsx(_sheet(rows, "A1:B2"), SMALL_SHARED)
    with pytest.raises(ChurnCoreError) as info:
        load_file(data, "far.xlsx")
    assert info.value.code == "ingest.excel_too_wide"


def test_hostile_zip_bomb_is_refused_before_parsing():
    buf = io.BytesIO()
    block = b"<si><t>aaaaaaaaaaaaaaaa</t></si>" * 32768  # 1 MiB
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", _sheet(HEADER_ROW, "A1:B1"))
        with zf.open("xl/sharedStrings.xml", "w") as member:
            member.write(f'<?xml version="1.0"?><sst {NS}>'.encode())
            for _ in range(80):
                member.write(block)
            member.write(b"</sst>")
    data = buf.getvalue()
    assert len(data) < 2_000_000
    with pytest.raises(ChurnCoreError, match="zip bomb") as info:
        load_file(data, "bomb.xlsx")
    assert info.value.code == "ingest.excel_unsafe"


def test_hostile_xml_entity_bomb_is_refused():
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + f']><sst {NS} count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    data = _xlsx(_sheet(HEADER_ROW, "A1:B1"), lol)
    with pytest.raises(ChurnCoreError, match="unsafe XML") as info:
        load_file(data, "lol.xlsx")
    assert info.value.code == "ingest.excel_unsafe"


def test_child_process_memory_cap_turns_into_a_clear_error(workbook_bytes):
    from churn_core.data import ingest

    with pytest.raises(ChurnCoreError) as info:
        ingest._read_xlsx_rows(workbook_bytes, memory_bytes=12 * 1024**2)
    assert info.value.code == "ingest.excel_failed"


def test_child_process_timeout_is_a_clear_error(workbook_bytes):
    from churn_core.data import ingest

    with pytest.raises(ChurnCoreError, match="longer than") as info:
        ingest._read_xlsx_rows(workbook_bytes, timeout_s=0.01)
    assert info.value.code == "ingest.excel_timeout"


def test_zip_that_is_not_a_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ChurnCoreError, match="not an .xlsx") as info:
        load_file(buf.getvalue(), "x.xlsx")
    assert info.value.code == "ingest.excel_unreadable"


def test_old_xls_gets_a_clear_message():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    with pytest.raises(ChurnCoreError, match="save the sheet as .xlsx") as info:
        load_file(data, "old.xls")
    assert info.value.code == "ingest.xls_unsupported"


def test_truncated_xlsx_is_a_clear_error(workbook_bytes):
    with pytest.raises(ChurnCoreError) as info:
        load_file(workbook_bytes[:300], "cut.xlsx")
    assert info.value.code == "ingest.excel_unreadable"
