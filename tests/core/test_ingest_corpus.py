"""A corpus of bad files, generated at run time into tmp_path: each one either loads with exact
row accounting (rows in file, loaded, rejected asserted) or fails with one clear line.

Cases are (id, builder, expected): the builder returns (file name, bytes); expected is either
``(rows_in_file, rows_loaded, rows_rejected)`` or an error code.
"""

import codecs
import io
import zipfile

import pytest

from churn_core.data.ingest import MAX_COLUMNS, load_file
from churn_core.errors import ChurnCoreError
from tests.core.test_ingest_excel import (
    CONTENT_TYPES, HEADER_ROW, NS, ROOT_RELS, SMALL_SHARED, WORKBOOK, WORKBOOK_RELS, _sheet, _xlsx,
)

EN = "id,name,balance,churn\n1,Ann,10.5,Yes\n2,Bob,20,No\n3,Cy,,No\n"
ZH = "客户编号,性别,地区,余额,是否流失\nC001,男,北京,1200.5,是\nC002,女,上海,300,否\nC003,男,广东,0,否\n"
TW = "客戶編號,性別,地區,餘額,是否流失\nC001,男,臺北,1200.5,是\nC002,女,高雄,300,否\nC003,男,新竹,0,否\n"
JA = "顧客番号,氏名,支店,残高,解約\nC001,山田太郎,東京,1200,はい\nC002,佐藤花子,大阪,300,いいえ\nC003,鈴木一郎,名古屋,0,いいえ\n"
KO = "고객번호,이름,지역,잔액,해지\nC001,김민수,서울,1200,예\nC002,이영희,부산,300,아니오\nC003,박지훈,대구,0,아니오\n"
DE = "Kunde;Stadt;Saldo;Gekündigt\n1;Zürich;1.234,50;nein\n2;Málaga;20,00;ja\n3;Besançon;0,5;nein\n"


def _text(name, text, encoding="utf-8"):
    return lambda: (name, text.encode(encoding))


def _raw(name, data):
    return lambda: (name, data)


def _rows(n, fmt="{i},{v}\n", header="id,v\n", value=lambda i: i):
    return header + "".join(fmt.format(i=i, v=value(i)) for i in range(n))


def _zip_bomb():
    buf = io.BytesIO()
    block = b"<si><t>aaaaaaaaaaaaaaaa</t></si>" * 32768
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", _sheet(HEADER_ROW, "A1:B1"))
        with zf.open("xl/sharedStrings.xml", "w") as member:
            member.write(f'<?xml version="1.0"?><sst {NS}>'.encode())
            for _ in range(60):
                member.write(block)
            member.write(b"</sst>")
    return buf.getvalue()


def _entity_bomb():
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + f']><sst {NS} count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    return _xlsx(_sheet(HEADER_ROW, "A1:B1"), lol)


def _not_a_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    return buf.getvalue()


def _formula_sheet():
    rows = HEADER_ROW + "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><f>A{i}*2</f></c></row>'
                                for i in range(2, 5))
    return _xlsx(_sheet(rows, "A1:B4"), SMALL_SHARED)


def _hostile_header(name):
    quoted = '"' + name.replace('"', '""') + '"'
    return f"id,{quoted}\n1,a\n2,b\n3,c\n"


CASES = [
    # ---- encodings -------------------------------------------------------------------------
    ("utf8", _text("t.csv", EN), (3, 3, 0)),
    ("utf8-bom", _text("t.csv", EN, "utf-8-sig"), (3, 3, 0)),
    ("utf16-bom", _text("t.csv", ZH, "utf-16"), (3, 3, 0)),
    ("utf16-be-bom", _raw("t.csv", codecs.BOM_UTF16_BE + ZH.encode("utf-16-be")), (3, 3, 0)),
    ("utf16-le-no-bom", _text("t.csv", EN, "utf-16-le"), (3, 3, 0)),
    ("utf32-bom", _text("t.csv", ZH, "utf-32"), (3, 3, 0)),
    ("gbk", _text("t.csv", ZH, "gbk"), (3, 3, 0)),
    ("gb18030", _text("t.csv", ZH, "gb18030"), (3, 3, 0)),
    ("big5", _text("t.csv", TW, "big5"), (3, 3, 0)),
    ("shift-jis", _text("t.csv", JA, "shift_jis"), (3, 3, 0)),
    ("cp932", _text("t.csv", JA, "cp932"), (3, 3, 0)),
    ("euc-kr", _text("t.csv", KO, "euc_kr"), (3, 3, 0)),
    ("cp949", _text("t.csv", KO, "cp949"), (3, 3, 0)),
    ("cp1252-semicolon", _text("t.csv", DE, "cp1252"), (3, 3, 0)),
    ("utf8-one-broken-byte", _raw("t.csv", ZH.encode() * 1 + "C004,男,北京,1,否\n".encode()[:-4] + b"\xe5\n"),
     (4, 4, 0)),
    ("bom-but-not-utf8", _raw("t.csv", codecs.BOM_UTF8 + b"a,b\n\xff\xfe,1\n"), "ingest.bad_encoding"),
    ("binary-garbage", _raw("t.csv", bytes(range(256)) * 16), "ingest.not_text"),
    ("binary-with-many-nuls", _raw("t.csv", bytes(range(256)) * 16 + b"\x00" * 100), "ingest.not_text"),
    # ---- delimiters and dialects -----------------------------------------------------------
    ("semicolon", _text("t.csv", EN.replace(",", ";")), (3, 3, 0)),
    ("tab", _text("t.tsv", EN.replace(",", "\t")), (3, 3, 0)),
    ("pipe", _text("t.txt", EN.replace(",", "|")), (3, 3, 0)),
    ("quoted-delimiters", _text("t.csv", 'id,name\n1,"Smith, John"\n2,"a,b,c"\n3,plain\n'), (3, 3, 0)),
    ("dialect-change-midway", _text("t.csv", "a,b,c\n1,2,3\n4,5,6\n7;8;9\n10;11;12\n13,14,15\n"),
     (5, 3, 2)),
    ("crlf-and-lf-mixed", _text("t.csv", "a,b\r\n1,2\n3,4\r\n5,6\n"), (3, 3, 0)),
    ("cr-only-old-mac", _text("t.csv", "a,b\r1,2\r3,4\r"), (2, 2, 0)),
    ("single-quotes-are-text", _text("t.csv", "a,b\n'x',1\n'y,z',2\n"), (2, 1, 1)),
    ("backslash-escaped-quote", _text("t.csv", 'a,b\n"x\\"y",1\n2,3\n'), (2, 2, 0)),
    # ---- ragged rows -----------------------------------------------------------------------
    ("too-few-fields", _text("t.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"), (3, 2, 1)),
    ("too-many-fields", _text("t.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n"), (3, 2, 1)),
    ("ragged-both-ways", _text("t.csv", "a,b,c\n1\n2,3,4\n5,6,7,8,9\n10,11,12\n"), (4, 2, 2)),
    ("trailing-delimiters", _text("t.csv", "a,b\n1,2,,\n3,4,\n5,6\n"), (3, 3, 0)),
    ("empty-delimiter-rows", _text("t.csv", "a,b,c\n1,2,3\n,,\n4,5,6\n"), (3, 2, 1)),
    ("blank-lines", _text("t.csv", "\n\na,b\n1,2\n\n\n3,4\n\n"), (2, 2, 0)),
    ("whitespace-only-line", _text("t.csv", "a,b\n1,2\n   \n3,4\n"), (3, 2, 1)),
    ("many-ragged-rows", _text("t.csv", _rows(3000, value=lambda i: f"{i},x" if i % 2 else i)),
     (3000, 1500, 1500)),
    ("row-names-without-header", _text("t.csv", '"x","y"\n"1",2,3\n"2",4,5\n'), (2, 2, 0)),
    ("no-final-newline", _text("t.csv", "a,b\n1,2\n3,4"), (2, 2, 0)),
    # ---- NUL bytes -------------------------------------------------------------------------
    ("few-nul-bytes", _raw("t.csv", b"id,name\n1,A\x00nn\n2,Bob\x00\n3,Cy\n"), (3, 3, 0)),
    ("nul-in-big-file", _raw("t.csv", _rows(5000).encode().replace(b"\n4999,", b"\n4999\x00,")),
     (5000, 5000, 0)),
    ("mostly-nul", _raw("t.csv", b"a,b\n" + b"\x00" * 400 + b"1,2\n"), "ingest.not_text"),
    # ---- quoted newlines -------------------------------------------------------------------
    ("quoted-newline", _text("t.csv", 'id,note\n1,"line one\nline two"\n2,plain\n'), (2, 2, 0)),
    ("quoted-crlf", _text("t.csv", 'id,note\r\n1,"a\r\nb"\r\n2,c\r\n'), (2, 2, 0)),
    ("quoted-newline-then-ragged", _text("t.csv", 'a,b\n1,"x\ny"\n2\n3,4\n'), (3, 2, 1)),
    ("unclosed-quote", _text("t.csv", 'a,b,c\n1,2,3\n4,"open,5\n6,7,8\n'), (2, 1, 1)),
    ("unclosed-quote-fits", _text("t.csv", 'a,b\n1,2\n3,"open\n4,5\n'), (2, 2, 0)),
    # ---- huge and wide ---------------------------------------------------------------------
    ("huge-field-1mb", _text("t.csv", "id,note\n1," + "x" * 1_000_000 + "\n2,y\n"), (2, 2, 0)),
    ("huge-quoted-field-8mb", _text("t.csv", 'id,note\n1,"' + "ab,\n" * 2_000_000 + '"\n2,y\n'),
     (2, 2, 0)),
    ("wide-1000-columns", _text("t.csv", ",".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\n"
                                + "\n".join(",".join(str(r * i) for i in range(MAX_COLUMNS)) for r in range(3))
                                + "\n"), (3, 3, 0)),
    ("too-wide", _text("t.csv", ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n1\n"),
     "ingest.too_many_columns"),
    ("long-with-bad-value", _text("t.csv", _rows(60_000, value=lambda i: "n/a?" if i == 55_555 else i)),
     (60_000, 60_000, 0)),
    # ---- bombs and broken workbooks --------------------------------------------------------
    ("xlsx-zip-bomb", _raw("bomb.xlsx", _zip_bomb()), "ingest.excel_unsafe"),
    ("xlsx-entity-bomb", _raw("lol.xlsx", _entity_bomb()), "ingest.excel_unsafe"),
    ("xlsx-not-a-workbook", _raw("x.xlsx", _not_a_workbook()), "ingest.excel_unreadable"),
    ("xlsx-extension-on-text", _text("x.xlsx", EN), "ingest.excel_unreadable"),
    ("xls-old-format", _raw("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
     "ingest.xls_unsupported"),
    ("xlsx-formulas-without-values", _raw("f.xlsx", _formula_sheet()), (3, 3, 0)),
    # ---- hostile column names --------------------------------------------------------------
    ("name-markdown-image", _text("t.csv", _hostile_header("![x](http://evil.example/p.png)")), (3, 3, 0)),
    ("name-markdown-link", _text("t.csv", _hostile_header("[click](http://evil.example)")), (3, 3, 0)),
    ("name-html-script", _text("t.csv", _hostile_header("<script>alert(1)</script>")), (3, 3, 0)),
    ("name-formula", _text("t.csv", _hostile_header('=HYPERLINK("http://evil.example","x")')), (3, 3, 0)),
    ("name-dde", _text("t.csv", _hostile_header("+cmd|' /C calc'!A0")), (3, 3, 0)),
    ("name-at-formula", _text("t.csv", _hostile_header("@SUM(1+1)")), (3, 3, 0)),
    ("name-xgboost-brackets", _text("t.csv", _hostile_header("a[0]<b>")), (3, 3, 0)),
    ("name-with-newline", _text("t.csv", _hostile_header("two\nlines")), (3, 3, 0)),
    ("name-zero-width-rtl", _text("t.csv", _hostile_header("a\u200b\u202eb")), (3, 3, 0)),
    ("name-10k-chars", _text("t.csv", _hostile_header("n" * 10_000)), (3, 3, 0)),
    ("names-duplicate-and-blank", _text("t.csv", "a,a,,a\n1,2,3,4\n"), (1, 1, 0)),
    # ---- values ----------------------------------------------------------------------------
    ("cells-formula-like", _text("t.csv", "id,v\n1,=1+1\n2,@x\n3,-2\n"), (3, 3, 0)),
    ("money-mixed", _text("t.csv", 'id,fee\n1,"$1,200.50"\n2,300\n3,"(45.10)"\n4,inf\n'), (4, 4, 0)),
    # ---- empty and odd ---------------------------------------------------------------------
    ("empty", _raw("t.csv", b""), "ingest.empty_file"),
    ("only-bom", _raw("t.csv", codecs.BOM_UTF8), "ingest.empty_file"),
    ("only-whitespace", _raw("t.csv", b" \n\r\n\t\n"), "ingest.empty_file"),
    ("header-only", _text("t.csv", "a,b,c\n"), (0, 0, 0)),
    ("single-column", _text("t.csv", "name\nA\nB\n"), (2, 2, 0)),
]


@pytest.mark.parametrize("case,build,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_file_corpus(tmp_path, case, build, expected):
    name, data = build()
    path = tmp_path / name
    path.write_bytes(data)
    if isinstance(expected, str):
        with pytest.raises(ChurnCoreError) as info:
            load_file(path)
        assert info.value.code == expected
        message = str(info.value)
        assert message and "\n" not in message and "Traceback" not in message
        return
    result = load_file(path)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == expected
    assert result.rows_in_file == result.rows_loaded + result.rows_rejected
    assert len(result.df) == result.rows_loaded and len(result.rejects) == result.rows_rejected
    assert result.df.columns.is_unique


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


def test_hostile_names_are_kept_verbatim_as_plain_strings(tmp_path):
    name = "![x](http://evil.example/p.png)"
    result = load_file(_hostile_header(name).encode(), "t.csv")
    assert list(result.df.columns) == ["id", name]


def test_formula_cells_without_values_are_named():
    result = load_file(_formula_sheet(), "f.xlsx")
    assert [w for w in result.warnings if w["code"] == "ingest.formulas_without_values"][0]["params"] == {
        "count": 3, "cells": "B2, B3, B4"}


def test_dialect_change_rejects_are_the_semicolon_lines():
    result = load_file(b"a,b,c\n1,2,3\n4,5,6\n7;8;9\n10;11;12\n13,14,15\n", "t.csv")
    assert result.rejects["line"].tolist() == [4, 5]
    assert result.rejects["raw"].tolist() == ["7;8;9", "10;11;12"]


def test_long_file_bad_value_is_found_and_listed():
    result = load_file(_rows(60_000, value=lambda i: "n/a?" if i == 55_555 else i).encode(), "t.csv")
    assert result.column_types["v"] == "integer"
    assert result.bad_values[["line", "value"]].to_dict("records") == [{"line": 55_557, "value": "n/a?"}]


def test_unknown_encoding_override_and_too_large_are_one_line_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(EN.encode())
    for kwargs, code in (({"encoding": "no-such-codec"}, "ingest.unknown_encoding_name"),
                         ({"max_bytes": 10}, "ingest.too_large"),
                         ({"delimiter": "ab"}, "ingest.bad_delimiter")):
        with pytest.raises(ChurnCoreError) as info:
            load_file(path, **kwargs)
        assert info.value.code == code
        assert "\n" not in str(info.value)
