"""Any customer file into a typed pandas frame, with nothing lost and nothing silently wrong.

``load_file(source)`` reads CSV/TSV/TXT (any common delimiter, quoting, CRLF, thousands separators
and decimal commas) in UTF-8, UTF-8 with BOM, UTF-16/32, GB18030/GBK, Big5, Shift-JIS or EUC-KR,
detected in Python from a short candidate list (or named with ``encoding=``), and ``.xlsx``
workbooks parsed in a child process with a memory cap and a timeout (see
``churn_core.data.excel_worker``), so a hostile workbook cannot take the server down. A few stray
NUL bytes are removed (warned); a file full of them is refused as binary.

Row accounting is exact: every record after the header is either loaded or rejected with its line
number, a reason code and the raw text, so ``rows_in_file == rows_loaded + rows_rejected`` holds
for every file (``LoadResult.__post_init__`` checks it). Records are split by pyarrow when a
record cannot span lines (checked on the bytes: no lone CR, an even number of quotes on every
line) and the count of non-blank lines agrees with pyarrow's; otherwise by Python's csv module.

Typing is decided over whole columns, never a sample: a numeric or date column with a few values
that do not fit (at most 2%) keeps its type and lists them (``LoadResult.bad_values`` and a
warning with line and value), or rejects their rows with ``reject_bad_values=True``. Currency and
percent signs, accounting negatives ``(1,234.56)``, ``inf``, thousands separators and decimal
commas are numbers; day-first vs month-first is decided per column on the evidence of the values
(the counts are in the warning). On a big file the CSV reader converts the columns whose first
2 MB are plain numbers itself (one value anywhere that does not convert sends that column back to
the whole-column rules), so a million rows load in a small multiple of DuckDB's own ``read_csv``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core.errors import ChurnCoreError

__all__ = [
    "LoadResult",
    "load_file",
    "detect_encoding",
    "detect_delimiter",
    "DEFAULT_MAX_BYTES",
    "DELIMITERS",
]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DELIMITERS = [",", ";", "\t", "|"]
MAX_COLUMNS = 1000
RAW_LIMIT = 2000  # characters of a rejected row's raw text kept for display

# Excel safety limits (checked in the parent before the child process parses anything)
EXCEL_MAX_MEMBERS = 2000
EXCEL_MAX_UNZIPPED = 2 * 1024**3
EXCEL_BOMB_RATIO = 100
EXCEL_BOMB_MIN_SIZE = 50 * 1024**2
EXCEL_TIMEOUT_S = 60.0
EXCEL_TIMEOUT_PER_MB_S = 60.0
EXCEL_TIMEOUT_MAX_S = 900.0
EXCEL_MEMORY_BYTES = 2 * 1024**3

REJECT_COLUMNS = ["line", "reason", "detail", "raw", "fields", "expected"]

# Tokens that mean "missing" in a column that is otherwise numeric or a date (never applied to
# text columns, where "None" may be a real category).
NA_TOKENS = frozenset(
    ["NA", "N/A", "n/a", "na", "NaN", "nan", "NAN", "NULL", "null", "Null", "None", "none",
     "#N/A", "#NA", "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "-", "--", "?",
     "."]
)

_NA_SET = pa.array(sorted(NA_TOKENS), type=pa.string())

# ~600 very common Chinese characters in simplified and traditional forms (plus words frequent in
# bank/telecom customer files). Used only to tell GB18030 from Big5: the right decoding of real
# Chinese text has most of its characters in this set, the wrong one a small fraction.
_COMMON_HAN = set(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过"
    "发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前"
    "开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重"
    "并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常"
    "先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报"
    "才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼"
    "书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术"
    "领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失"
    "转夫令准布始怎存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际"
    "约示复病息究线似官火断精满支视消越器容照须九增研写称企八功包片史委乎查轻易早曾除农找装广显阿李"
    "标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑"
    "维划致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依"
    "批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐限船职速"
    "刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿预谁益阳若微尼继送急血惊伤素药适波夜省"
    "初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈"
    "策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读超免压银买皇养伊"
    "怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠"
    "评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾"
    "吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸"
    "均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅"
    "泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙"
    "束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典"
    "欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套"
    "贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣"
    "客户编号快照日期年龄性别地区职业月收入开户数持有存款理财贷款信用卡通手机银行产品总资产账余额近变"
    "化本季交易笔上线登录次投诉满意度利敏感续费等级配备经理是否流失男女大众富裕私人低中高企职员个体退"
    "休学生自由公务员北京上海广东江苏浙山东河南四川湖福建安徽辽宁陕西重庆天津云南贵州黑龙吉林甘肃内"
    "蒙古广西海南宁夏青新疆西藏香港澳门深圳杭州南京成都武汉长沙苏州郑州沈阳大连青岛厦门合肥昆明万千"
    "這個們來為國說時會對過發後裡與實現點動當經從開還進關頭問體麼應機長樣學見無種們將給車親東門號電費"
    "話區戶編齡別業額銀資產總務帳餘變動購買賣價貸款錢網線務帳單戶號碼狀態否是流失離員於優惠報灣臺氣營"
    "業額類級數據計劃認證協議設備屬顯響爾達麗華鄉縣鎮區場廳標準條規則續約終止開戶銷戶註冊會員積點卡號"
    "，。、：；！？（）《》【】“”‘’…—·"
)
_CJK_PUNCT = set("，。、：；！？（）《》【】“”‘’…—·％＋－．／")
_WESTERN_SYMBOLS = set("€£¥°±²³µ·º«»¿¡§©®™–—‘’“”•…½¼¾×÷\u00a0ªƒ†‡ˆ‰‹›˜")


@dataclass
class LoadResult:
    """A loaded customer table and the exact account of how it was read.

    Attributes
    ----------
    df : pandas.DataFrame
        The typed table (ints, floats, booleans, datetimes, text with missing values).
    encoding : str or None
        Detected text encoding (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"gb18030"``,
        ``"big5"``, ``"cp1252"``...); None for Excel.
    delimiter : str or None
        Field delimiter of a text file; None for Excel.
    rows_in_file, rows_loaded, rows_rejected : int
        Records after the header; loaded + rejected always equals rows in file.
    rejects : pandas.DataFrame
        ``line`` (1-based physical line or Excel row), ``reason`` (code), ``detail``, ``raw``.
    source_name : str
        File name shown to the user.
    fingerprint : str
        sha256 of the file's bytes (hex); when the file was read with an option (``encoding``,
        ``delimiter``, ``sheet``, ``reject_bad_values``), sha256 of that hash and the options: the
        same file read another way is another table, so nothing cached on the first one is reused.
    warnings : list of dict
        ``{"code", "params"}`` (plus ``"values"`` for listed cells); shown to the user.
    bad_values : pandas.DataFrame
        Every value that did not fit its column's type: ``line``, ``column``, ``value``,
        ``expected`` (``number`` or ``date``). They are missing in ``df`` (or their rows are in
        ``rejects`` with reason ``bad_value`` when ``load_file(reject_bad_values=True)``).
    """

    df: pd.DataFrame
    encoding: str | None
    delimiter: str | None
    rows_in_file: int
    rows_loaded: int
    rows_rejected: int
    rejects: pd.DataFrame
    source_name: str
    fingerprint: str
    format: str = "csv"
    decimal: str = "."
    sheet: str | None = None
    sheets: list = field(default_factory=list)
    n_bytes: int = 0
    blank_lines: int = 0
    renamed_columns: dict = field(default_factory=dict)
    column_types: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    bad_values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"line": pd.Series(dtype="int64"), "column": pd.Series(dtype="str"),
         "value": pd.Series(dtype="str"), "expected": pd.Series(dtype="str")}))

    def __post_init__(self):
        if self.rows_in_file != self.rows_loaded + self.rows_rejected:
            raise AssertionError(
                f"row accounting broken: {self.rows_in_file} != "
                f"{self.rows_loaded} + {self.rows_rejected}"
            )
        if len(self.df) != self.rows_loaded or len(self.rejects) != self.rows_rejected:
            raise AssertionError("row accounting broken: frame sizes differ from the counts")

    def summary(self):
        """Plain dict of the reading facts (JSON-safe)."""
        return {
            "source_name": self.source_name,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "decimal": self.decimal,
            "sheet": self.sheet,
            "rows_in_file": self.rows_in_file,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "blank_lines": self.blank_lines,
            "columns": int(self.df.shape[1]),
            "fingerprint": self.fingerprint,
            "warnings": list(self.warnings),
            "bad_values": int(len(self.bad_values)),
        }


# --------------------------------------------------------------------------------------------
# entry point


def _table_fingerprint(byte_hash, **options):
    """The bytes' hash alone for a default read, else a hash of it and the options given."""
    given = {k: v for k, v in options.items() if v not in (None, False, "")}
    if not given:
        return byte_hash
    return hashlib.sha256((byte_hash + json.dumps(given, sort_keys=True, default=str)).encode()).hexdigest()


def load_file(source, filename=None, *, max_bytes=DEFAULT_MAX_BYTES, progress=None,
              encoding=None, delimiter=None, sheet=None, reject_bad_values=False):
    """Read a customer file into a :class:`LoadResult`.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path, or the file's bytes (an upload).
    filename : str, optional
        Name used for display and to recognise Excel (``.xlsx``); defaults to the path's name.
    max_bytes : int
        Larger files are refused with ``ingest.too_large``.
    progress : callable, optional
        ``progress(fraction, code)`` called while reading.
    encoding, delimiter : str, optional
        Override detection (e.g. ``encoding="gb18030"``, ``"shift_jis"``, ``"euc-kr"``,
        ``delimiter=";"``). An unknown encoding name is ``ingest.unknown_encoding_name``.
    sheet : str, optional
        Excel sheet name (default: the first sheet).
    reject_bad_values : bool
        A numeric or date column keeps its type when a few values (at most 2%) do not fit. By
        default those cells become missing and are listed in ``warnings`` and ``bad_values``;
        with ``True`` their rows are rejected instead (reason ``bad_value``).

    Returns
    -------
    LoadResult

    Raises
    ------
    ChurnCoreError
        ``ingest.not_found``, ``ingest.too_large``, ``ingest.empty_file``, ``ingest.not_text``,
        ``ingest.unknown_encoding``, ``ingest.xls_unsupported``, ``ingest.excel_*``...
    """
    report = progress or (lambda fraction, code: None)
    data, name, path = _read_source(source, filename, max_bytes)
    fingerprint = hashlib.sha256(data).hexdigest()
    n_bytes = len(data)
    report(0.05, "ingest.reading")
    if _blank_bytes(data) or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise ChurnCoreError("ingest.empty_file", f"The file {name} is empty.", name=name)

    kind = _file_kind(data, name)
    if kind == "xls":
        raise ChurnCoreError(
            "ingest.xls_unsupported",
            "Old Excel .xls workbooks are not supported: save the sheet as .xlsx or CSV and upload it again.",
            name=name,
        )
    if encoding is not None:
        _codec_for(encoding)  # an unknown name is an error even for a workbook
    if kind == "xlsx":
        rows, info = _read_xlsx_rows(data, sheet)
        del data
        report(0.5, "ingest.parsing")
        parsed = _columns_from_excel(rows)
        del rows
        enc, delim = None, None
        warnings = []
        if not sheet and info.get("sheets") and info.get("sheet") != info["sheets"][0]:
            warnings.append({"code": "ingest.sheet_chosen",
                             "params": {"sheet": info["sheet"], "first": info["sheets"][0]}})
        formulas = info.get("formulas") or {}
        if formulas.get("count"):
            warnings.append({"code": "ingest.formulas_without_values",
                             "params": {"count": int(formulas["count"]),
                                        "cells": ", ".join(formulas.get("cells", [])[:BAD_EXAMPLES])},
                             "values": [{"cell": c} for c in formulas.get("cells", [])[:BAD_LISTED]]})
        fmt = "xlsx"
    else:
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                      or delimiter in '"\r\n'):
            raise ChurnCoreError("ingest.bad_delimiter",
                                 f"The delimiter must be one character, got {delimiter!r}.",
                                 delimiter=str(delimiter))
        buf, base, enc, warnings = _decode_to_utf8(data, encoding)
        src = _Text(buf, base, path if buf is data else None, fingerprint)
        del data, buf  # src holds the only reference: the fast path can drop it while pyarrow reads
        report(0.2, "ingest.parsing")
        delim = delimiter or detect_delimiter(_head_text(src.buf, base))
        parsed = _columns_from_utf8(src, delim)
        del src
        info = {}
        fmt = "csv"

    report(0.6, "ingest.typing")
    header, columns, n_rows, rejects, blank_lines, extra_warnings, row_lines = parsed
    del parsed
    _release_memory()
    warnings = warnings + extra_warnings
    names, renamed = _unique_names(header)
    df, column_types, decimal, type_warnings, bad_values, bad_rows = _build_frame(
        names, columns, n_rows, delim, row_lines, reject_bad_values)
    del columns
    warnings += type_warnings
    rejects = list(rejects)
    if reject_bad_values and len(bad_rows):
        df, rejects = _reject_bad_rows(df, rejects, bad_rows, bad_values, row_lines, column_types,
                                       delim or ",")
    if renamed:
        warnings.append({"code": "ingest.renamed_columns", "params": {"columns": renamed}})
    if len(df) == 0:
        warnings.append({"code": "ingest.no_rows", "params": {}})
    rejects.sort(key=lambda r: r[0])
    rejects_df = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    for column in ("line", "fields", "expected"):
        rejects_df[column] = rejects_df[column].astype("int64")
    result = LoadResult(
        df=df,
        encoding=enc,
        delimiter=delim,
        rows_in_file=n_rows + len(rejects) - (len(bad_rows) if reject_bad_values else 0),
        rows_loaded=len(df),
        rows_rejected=len(rejects_df),
        rejects=rejects_df,
        source_name=name,
        fingerprint=_table_fingerprint(fingerprint, encoding=encoding, delimiter=delimiter, sheet=sheet,
                                       reject_bad_values=bool(reject_bad_values)),
        format=fmt,
        decimal=decimal,
        sheet=info.get("sheet"),
        sheets=info.get("sheets", []),
        n_bytes=n_bytes,
        blank_lines=blank_lines,
        renamed_columns=renamed,
        column_types=column_types,
        warnings=warnings,
        bad_values=bad_values,
    )
    report(1.0, "ingest.done")
    return result


def _cell_text(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    return str(value)


def _blank_bytes(data):
    """True when the file holds nothing but spaces, line breaks and NULs (no copy of a big file)."""
    blank = b" \t\r\n\x00"
    if data[:65536].strip(blank):
        return False
    return not data.strip(blank)


def _head_text(buf, base=0, size=65536):
    """The first lines of a UTF-8 buffer as text (for delimiter detection)."""
    head = bytes(buf[base:base + size + 4])
    return head.decode("utf-8", errors="ignore") if len(buf) - base > size else head.decode("utf-8")


def _reject_bad_rows(df, rejects, bad_rows, bad_values, row_lines, column_types, delim):
    """Move rows holding values that do not fit their column's type to the rejects."""
    lines = row_lines(bad_rows) if row_lines is not None else bad_rows + 2
    by_line = {}
    for line, column, value in zip(bad_values["line"], bad_values["column"], bad_values["value"]):
        by_line.setdefault(int(line), []).append((column, value))
    ncols = df.shape[1]
    subset = {column: df[column].iloc[bad_rows].tolist() for column in df.columns}
    for k, line in enumerate(lines):
        cells = {column: value for column, value in by_line.get(int(line), [])}
        raw = delim.join(cells[c] if c in cells else _cell_text(subset[c][k]) for c in df.columns)
        detail = "; ".join(f"{c}: {v}" for c, v in cells.items())
        raw = raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "…"
        rejects.append((int(line), "bad_value", detail[:RAW_LIMIT], raw, ncols, ncols))
    df = df.drop(index=df.index[bad_rows]).reset_index(drop=True)
    for column, kind in column_types.items():
        series = df[column]
        if kind == "integer" and series.dtype.kind == "f" and not series.isna().any():
            finite = series.to_numpy()
            if np.isfinite(finite).all():
                df[column] = series.astype("int64")
    return df, rejects


def _read_source(source, filename, max_bytes):
    path = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "upload"
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        name = filename or getattr(source, "name", "upload")
    else:
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise ChurnCoreError("ingest.not_found", f"File not found: {path}", name=str(path))
        size = path.stat().st_size
        if size > max_bytes:
            raise ChurnCoreError(
                "ingest.too_large",
                f"The file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.",
                size_mb=round(size / 1e6, 1), limit_mb=round(max_bytes / 1e6),
            )
        data = path.read_bytes()
        if len(data) != size:
            path = None  # not a regular file of stable size: never read it a second time
    name = os.path.basename(str(name)) or "upload"
    if len(data) > max_bytes:
        raise ChurnCoreError(
            "ingest.too_large",
            f"The file is larger than the limit of {max_bytes / 1e6:.0f} MB.",
            size_mb=round(len(data) / 1e6, 1), limit_mb=round(max_bytes / 1e6),
        )
    return data, name, (str(path) if path is not None else None)


def _file_kind(data, name):
    lower = name.lower()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if lower.endswith((".xlsx", ".xlsm")):
        raise ChurnCoreError(
            "ingest.excel_unreadable",
            f"{name} is not a valid .xlsx workbook: open it in Excel and save it again.",
            name=name,
        )
    if lower.endswith(".xls"):
        return "xls"
    return "text"


# --------------------------------------------------------------------------------------------
# encodings

# names a user may type -> the codec used (GBK/GB2312 read as their superset GB18030, Big5 as
# cp950, Shift-JIS as cp932 and EUC-KR as cp949: the Windows supersets real exports are written in)
ENCODING_ALIASES = {
    "gbk": "gb18030", "gb2312": "gb18030", "gb-2312": "gb18030", "cp936": "gb18030",
    "big5": "cp950", "big-5": "cp950",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "s-jis": "cp932", "ms932": "cp932",
    "euc-kr": "cp949", "euc_kr": "cp949", "euckr": "cp949", "uhc": "cp949", "ks_c_5601-1987": "cp949",
}
NUL_MAX_SHARE = 0.01  # a file with up to 1% NUL bytes (outside UTF-16/32) is text with stray NULs
NUL_MAX_FEW = 8  # ... and a small file with a few
_UTF8_CHUNK = 4 * 1024 * 1024


def detect_encoding(data, encoding=None):
    """Decode ``data`` with the right encoding.

    Returns
    -------
    (text, encoding, warnings)
        ``encoding`` is the name reported to the user.
    """
    buf, base, label, warnings = _decode_to_utf8(data, encoding)
    return bytes(buf[base:]).decode("utf-8"), label, warnings


def _codec_for(encoding):
    """The Python codec for a user-given encoding name, or a ChurnCoreError for an unknown one."""
    if not isinstance(encoding, str) or not encoding.strip() or len(encoding) > 40:
        raise ChurnCoreError("ingest.unknown_encoding_name",
                             f"Unknown text encoding {str(encoding)[:40]!r}.", encoding=str(encoding)[:40])
    name = encoding.strip().lower()
    codec = ENCODING_ALIASES.get(name, name)
    try:
        info = codecs.lookup(codec)
    except LookupError:
        raise ChurnCoreError("ingest.unknown_encoding_name",
                             f"Unknown text encoding {encoding!r}: use a name such as utf-8, gb18030, "
                             "big5, shift_jis, euc-kr or cp1252.", encoding=encoding) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ChurnCoreError("ingest.unknown_encoding_name",
                             f"{encoding!r} is not a text encoding.", encoding=encoding)
    return codec, name


def _strip_nuls(data):
    """Remove a few stray NUL bytes (warned); a file full of them is binary."""
    count = data.count(b"\x00")
    if count > max(NUL_MAX_FEW, NUL_MAX_SHARE * len(data)) or _binary_controls(data):
        raise ChurnCoreError(
            "ingest.not_text",
            "This file is not a text table (it contains binary data). Upload a CSV or .xlsx file.",
        )
    if not count:
        return data, []
    return data.replace(b"\x00", b""), [{"code": "ingest.nul_removed", "params": {"count": int(count)}}]


_CONTROL_BYTES = bytes([*range(1, 9), *range(14, 32), 127])


def _binary_controls(data):
    """True when the start of the file holds more control bytes than any text would: no candidate
    encoding (UTF-8, GB18030, Big5, Shift-JIS, EUC-KR, cp1252) uses them inside characters."""
    sample = data[:100_000]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > max(2, 0.01 * len(sample))


def _valid_utf8(data):
    """True when ``data`` is valid UTF-8 (checked in chunks: no second copy of a big file)."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _UTF8_CHUNK):
            decoder.decode(view[start:start + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _checked_utf8(data, offset=0):
    """(UTF-8 bytes, offset of the text after any BOM) after the control-character check on a sample."""
    sample = bytes(data[offset:offset + 400_000]).decode("utf-8", errors="ignore")
    _check_text(sample)
    return data, offset


def _decode_to_utf8(data, encoding=None):
    """(utf8_bytes, base, encoding label, warnings): the file as UTF-8, its text from ``base`` on
    (3 after a UTF-8 byte-order mark, else 0). ``utf8_bytes`` is ``data`` itself when it was UTF-8."""
    if encoding is not None:
        codec, name = _codec_for(encoding)
        nul_warn = []
        if codec.replace("_", "-") not in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                           "utf-32-be"):
            data, nul_warn = _strip_nuls(data)
        try:
            if codec in ("utf-8", "utf8", "utf_8") and _valid_utf8(data):
                offset = 3 if data.startswith(codecs.BOM_UTF8) else 0
                return (*_checked_utf8(data, offset), name, nul_warn)
            utf8 = _transcode(data, codec)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ChurnCoreError(
                "ingest.bad_encoding",
                f"The file cannot be read as {encoding}: {exc.__class__.__name__}.",
                encoding=encoding,
            ) from None
        return _checked(utf8), 0, name, nul_warn

    for bom, codec, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
    ):
        if data.startswith(bom):
            if label == "utf-8-sig":
                stripped, nul_warn = _strip_nuls(data)
                if _valid_utf8(stripped):
                    return (*_checked_utf8(stripped, 3), label, nul_warn)
            else:
                try:
                    return _check_text(data.decode(codec)).encode("utf-8"), 0, label, []
                except UnicodeDecodeError:
                    pass
            raise ChurnCoreError(
                "ingest.bad_encoding",
                f"The file starts with a {label} byte-order mark but is not valid {label}.",
                encoding=label,
            )

    utf16 = _bomless_utf16(data)
    if utf16:
        try:
            return _check_text(data.decode(utf16)).encode("utf-8"), 0, utf16, []
        except UnicodeDecodeError:
            pass

    data, warnings = _strip_nuls(data)
    if _valid_utf8(data):
        return (*_checked_utf8(data), "utf-8", warnings)
    # UTF-8 with a few broken bytes (a file cut mid-character, one pasted cp1252 byte): keep UTF-8,
    # mark the bad bytes with U+FFFD and say how many, rather than misreading the whole file.
    high = len(data.translate(None, bytes(range(128))))  # bytes >= 0x80
    bad = _count_replacements(data)
    if bad and high - bad >= 20 * bad:
        return _checked(_transcode(data, "utf-8", errors="replace")), 0, "utf-8", warnings + [
            {"code": "ingest.invalid_bytes", "params": {"count": bad}}
        ]

    label, codec, score = _best_cjk(data)
    western = _western_plausible(_sample_lines(data).decode("cp1252", errors="replace")) \
        if _decodes(data, "cp1252") else False
    if label is not None and (score >= 0.3 or not western):
        try:
            utf8 = _transcode(data, codec)
        except UnicodeDecodeError:  # the sample decoded but the rest does not
            utf8 = None
        if utf8 is not None:
            if score < 0.3:
                warnings.append({"code": "ingest.encoding_uncertain", "params": {"encoding": label}})
            return _checked(utf8), 0, label, warnings
    if western and _western_plausible(data.decode("cp1252")):
        return _checked(_transcode(data, "cp1252")), 0, "cp1252", warnings + [
            {"code": "ingest.encoding_western", "params": {"encoding": "cp1252"}}
        ]
    raise ChurnCoreError(
        "ingest.unknown_encoding",
        "The file's text encoding was not recognised (tried UTF-8, UTF-16, GB18030/GBK, Big5, "
        "Shift-JIS, EUC-KR). Save it as CSV UTF-8 and upload it again.",
    )


def _transcode(data, codec, errors="strict"):
    """``data`` decoded with ``codec`` and encoded as UTF-8, chunk by chunk (no full-size str)."""
    decoder = codecs.getincrementaldecoder(codec)(errors=errors)
    out = bytearray()
    view = memoryview(data)
    for start in range(0, len(view), _UTF8_CHUNK):
        out += decoder.decode(view[start:start + _UTF8_CHUNK]).encode("utf-8")
    out += decoder.decode(b"", final=True).encode("utf-8")
    return bytes(out) if len(out) < (1 << 20) else out


def _checked(utf8):
    """UTF-8 bytes after the control-character check on their start (a BOM dropped)."""
    if utf8[:3] == codecs.BOM_UTF8:
        utf8 = utf8[3:]
    _check_text(bytes(utf8[:400_000]).decode("utf-8", errors="ignore"))
    return utf8


def _count_replacements(data):
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    view = memoryview(data)
    bad = 0
    for start in range(0, len(view), _UTF8_CHUNK):
        bad += decoder.decode(view[start:start + _UTF8_CHUNK]).count("\ufffd")
    return bad + decoder.decode(b"", final=True).count("\ufffd")


def _decodes(data, codec):
    try:
        decoder = codecs.getincrementaldecoder(codec)()
        view = memoryview(data)
        for start in range(0, len(view), _UTF8_CHUNK):
            decoder.decode(view[start:start + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sample_lines(data, size=400_000):
    sample = data[:size]
    cut = sample.rfind(b"\n")
    if len(data) > len(sample) and cut > 0:
        sample = sample[:cut + 1]
    return sample


# East Asian candidates, in order of preference on a tie: (label, codec, scorer)
def _best_cjk(data):
    """(label, codec, score) of the East Asian decoding whose text (a sample) looks most like
    real text; (None, None, -1) when none decodes the sample."""
    sample = _sample_lines(data)
    best = (None, None, -1.0)
    for label, codec, scorer in _CJK_CANDIDATES:
        try:
            decoded = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        score = scorer(decoded)
        if score > best[2]:
            best = (label, codec, score)
    return best


def _nonascii(text):
    return [ch for ch in text[:200_000] if ord(ch) > 127]


def _han_score(text):
    """Share of non-ASCII characters that are common Chinese characters or punctuation."""
    chars = _nonascii(text)
    if not chars:
        return 1.0
    good = sum(1 for ch in chars if ch in _COMMON_HAN or ch in _CJK_PUNCT)
    return good / len(chars)


def _japanese_score(text):
    """Share of non-ASCII characters that are kana, common kanji or Japanese punctuation.

    Needs kana: Chinese read as Shift-JIS gives half-width katakana and rare kanji, never hiragana.
    """
    chars = _nonascii(text)
    if not chars:
        return 1.0
    kana = sum(1 for ch in chars if "\u3041" <= ch <= "\u30ff")
    good = sum(1 for ch in chars if "\u3041" <= ch <= "\u30ff" or ch in _COMMON_HAN or ch in _JA_KANJI
               or ch in _JA_PUNCT)
    if kana < 0.1 * len(chars):
        # kanji only (a header such as 顧客番号,残高): a notch below the Chinese reading on a tie
        return 0.9 * good / len(chars)
    return good / len(chars)


def _korean_score(text):
    """Share of non-ASCII characters that are common Hangul syllables or punctuation.

    Chinese read as EUC-KR also gives Hangul (the byte ranges overlap) but rare syllables and Hanja.
    """
    chars = _nonascii(text)
    if not chars:
        return 1.0
    good = sum(1 for ch in chars if ch in _COMMON_HANGUL or ch in _CJK_PUNCT)
    return good / len(chars)


_CJK_CANDIDATES = (
    ("gb18030", "gb18030", _han_score),
    ("big5", "cp950", _han_score),
    ("shift_jis", "cp932", _japanese_score),
    ("euc-kr", "cp949", _korean_score),
)
_JA_KANJI = set("顧客番号残高年齢支店開設日氏名解約口座預金取引円様株式会社都道府県区町村銀行窓口融資"
                "貸付返済普通当座定期積立振込引落手数料契約更新満期利息為替外貨")
_JA_PUNCT = set("、。「」『』・ー〜！？（）：；％＋－．／　")
# ~500 frequent Hangul syllables (plus those of bank/customer file words): real Korean text has
# most of its syllables here, Chinese bytes read as EUC-KR a small share.
_COMMON_HANGUL = set(
    "이다는의에하고을기가지사한로서리자정대를수도인시아제일있나게해보요구들상부그전적어것주여내만소원"
    "문화성동방개과위세회중신경재라무오우연장관계분마생국명조공용비실법당없람면되말거년때또안및더할"
    "수업진모두실선유발영미통행양설간물학교결현차산점식반등활작품단체계야직교회의미래불위도록히연결"
    "권력민주족통합경제산업발전영향관리운영평가계획추진목표방향기준정보시스템서비스고객번호이름성별"
    "남여나이지역서울부산대구인천광주대전울산세종경기강원충북충남전북전남경북경남제주잔액계좌해지"
    "탈예아니오금액날짜상품가입기간카드출예금신용등급점수월소득직업회원학생주부은행거래횟수최근개월"
    "만족도민감여부자산총보유모바일뱅킹로그인불만건수담당자유형일반우대프리미엄남성여성활동휴면"
    "않것을까지만큼에서으로부터처럼보다같은그리고하지만또는및왜어떻게무엇누구언제어디네예요습니까"
    "었였겠던았는데면서지만려고도록게끔며서야죠군요구나네요세요십시오합니다입니다했습니다됩니다"
    "김박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공"
    "현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부황보제갈"
)


def _bomless_utf16(data):
    sample = data[:4096]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _check_text(text):
    text = text.lstrip("\ufeff")
    sample = text[:100_000]
    if sample:
        controls = sum(
            1 for ch in sample
            if (ord(ch) < 32 and ch not in "\t\r\n\f\v") or 0x7F <= ord(ch) < 0xA0
        )
        if controls > max(2, 0.01 * len(sample)):
            raise ChurnCoreError(
                "ingest.not_text",
                "This file is not a text table (it contains binary data). Upload a CSV or .xlsx file.",
            )
    return text


def _western_plausible(text):
    """True for Latin text with a few accented letters (not CJK bytes read as cp1252)."""
    sample = text[:200_000]
    runs = re.findall(r"[^\x00-\x7f]+", sample)
    if not runs:
        return True
    chars = "".join(runs)
    if len(chars) > 0.3 * len(sample):
        return False
    letters = sum(
        1 for ch in chars if unicodedata.category(ch).startswith("L") or ch in _WESTERN_SYMBOLS
    )
    if letters < 0.95 * len(chars):
        return False
    singles = sum(1 for run in runs if len(run) == 1)
    return singles >= 0.6 * len(runs)


# --------------------------------------------------------------------------------------------
# delimiter and records


def detect_delimiter(text, candidates=DELIMITERS):
    """The delimiter whose split of the first lines is most consistent with the header."""
    sample = text[:65536]
    if len(text) > len(sample):
        cut = sample.rfind("\n")
        if cut > 0:
            sample = sample[:cut + 1]
    best = None
    for order, delim in enumerate(candidates):
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim, quotechar='"',
                            strict=False)
        counts = []
        try:
            for rec in reader:
                if not rec or all(not f.strip() for f in rec):
                    continue
                counts.append(len(rec))
                if len(counts) >= 200:
                    break
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        header_n = counts[0]
        rest = counts[1:]
        consistency = (sum(1 for c in rest if c == header_n) / len(rest)) if rest else 1.0
        key = (consistency, header_n, -order)
        if best is None or key > best[0]:
            best = (key, delim)
    return best[1] if best else ","


def _columns_from_text(text, delimiter):
    """Split text into header + string columns + rejects, with exact physical line numbers.

    Pass 1 (Python's csv module) decides, record by record, what is loaded and what is rejected.
    The loaded records are then read column-wise by pyarrow when its result provably matches
    pass 1 (same count, same first and last record); otherwise by a second csv pass.

    Returns
    -------
    (header, columns, n_rows, rejects, blank_lines, warnings)
    """
    scan = _scan_records(text, delimiter)
    shifted = (scan["accepted"] - scan["trimmed"] == 0 and scan["data_rows"] > 0
               and scan["plus_one"] == scan["data_rows"])
    if shifted:
        # every row has one field more than the header: a row-name column without a header
        # (R's write.table): give it a name instead of rejecting every row
        scan = _scan_records(text, delimiter, extra_leading=True)
    header, ncols, header_end = scan["header"], scan["ncols"], scan["header_end"]
    accepted, spans, blank_lines = scan["accepted"], scan["spans"], scan["blank_lines"]
    trailing_trimmed, first, last = scan["trimmed"], scan["first"], scan["last"]
    prev_line, last_start, last_end = scan["prev_line"], scan["last_start"], scan["last_end"]

    warnings = []
    if shifted:
        warnings.append({"code": "ingest.header_shifted", "params": {"column": "column_1"}})
    if trailing_trimmed:
        warnings.append({"code": "ingest.trailing_delimiters", "params": {"rows": trailing_trimmed}})
    if last_end - last_start >= 100 and last_end == prev_line:
        # the last record runs over 100+ lines to the end of the file: a quote never closed
        warnings.append({"code": "ingest.unclosed_quote", "params": {"line": last_start}})

    columns = None
    if not trailing_trimmed and not any(s[2] == "empty_row" for s in spans):
        columns = _arrow_columns(text, delimiter, ncols, header_end, accepted, first, last)
    if columns is None:
        columns = _python_columns(text, delimiter, ncols, accepted)
    rejects = [(start, reason, detail, raw, fields, ncols) for (start, _, reason, detail, fields), raw
               in zip(spans, _raw_lines(text, spans))]
    return header, columns, accepted, rejects, blank_lines, warnings, _array_mapper(scan["starts"])


def _scan_records(text, delimiter, extra_leading=False):
    """Pass 1: which records are loaded, which rejected (with line spans), nothing else kept."""
    _raise_field_limit()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    header = None
    ncols = 0
    header_end = 0
    accepted = 0
    spans = []  # (start, end, reason, detail)
    blank_lines = trailing_trimmed = 0
    first = last = None
    prev_line = 0
    last_start = last_end = 0
    data_rows = plus_one = 0
    starts = array("q")  # first physical line of each loaded record
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ChurnCoreError(
                "ingest.bad_csv", f"The file could not be split into fields: {exc}.",
                line=reader.line_num,
            ) from None
        start = prev_line + 1
        end = prev_line = reader.line_num
        if not rec:
            blank_lines += 1
            continue
        if header is None:
            if not "".join(rec).strip():
                blank_lines += 1
                continue
            header = [""] + rec if extra_leading else rec
            ncols, header_end = len(header), end
            if ncols > MAX_COLUMNS:
                raise ChurnCoreError(
                    "ingest.too_many_columns",
                    f"The file has {ncols} columns; at most {MAX_COLUMNS} are supported.",
                    columns=ncols, limit=MAX_COLUMNS,
                )
            continue
        n = len(rec)
        last_start, last_end = start, end
        filled = bool("".join(rec).strip())
        if filled:
            data_rows += 1
            plus_one += n == ncols + 1
        if not filled:
            spans.append((start, end, "empty_row", f"{n} empty fields", n))
        elif n == ncols:
            accepted += 1
            starts.append(start)
            if first is None:
                first = rec
            last = rec
        elif n > ncols and not "".join(rec[ncols:]).strip():
            accepted += 1
            starts.append(start)
            trailing_trimmed += 1
        elif n > ncols:
            spans.append((start, end, "too_many_fields", f"{n} fields, expected {ncols}", n))
        else:
            spans.append((start, end, "too_few_fields", f"{n} fields, expected {ncols}", n))
    if header is None:
        raise ChurnCoreError("ingest.empty_file", "The file has no header line and no data.")

    return {"header": header, "ncols": ncols, "header_end": header_end, "accepted": accepted,
            "spans": spans, "blank_lines": blank_lines, "trimmed": trailing_trimmed, "first": first,
            "last": last, "prev_line": prev_line, "last_start": last_start, "last_end": last_end,
            "data_rows": data_rows, "plus_one": plus_one, "starts": starts}


def _arrow_columns(text, delimiter, ncols, header_end, expected_rows, first, last):
    """Columns read by pyarrow (fast), or None when its reading differs from pass 1."""
    import pyarrow.csv as pacsv

    sio = io.StringIO(text, newline="")
    for _ in range(header_end):
        sio.readline()
    body = text[sio.tell():]
    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                newlines_in_values=True, ignore_empty_lines=True,
                invalid_row_handler=lambda row: "skip",
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError, OSError):
        return None
    if table.num_rows != expected_rows:
        return None
    columns = [table.column(i).combine_chunks() for i in range(ncols)]
    if expected_rows:
        if [c[0].as_py() for c in columns] != first or [c[-1].as_py() for c in columns] != last:
            return None
    return columns


def _python_columns(text, delimiter, ncols, expected_rows):
    """Columns from a second csv pass (files with ragged rows, trailing delimiters...)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    records = []
    header_seen = False
    for rec in reader:
        if not rec or not "".join(rec).strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        n = len(rec)
        if n == ncols:
            records.append(rec)
        elif n > ncols and not "".join(rec[ncols:]).strip():
            records.append(rec[:ncols])
    if len(records) != expected_rows:
        raise AssertionError("row accounting broken between passes")
    if not records:
        return [pa.array([], type=pa.string()) for _ in range(ncols)]
    return [pa.array(col, type=pa.string()) for col in zip(*records)]


def _raw_lines(text, spans):
    """Raw text of each (start, end) physical line span, in one pass over the lines."""
    if not spans:
        return []
    out = [[] for _ in spans]
    k = 0
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        while k < len(spans) and number > spans[k][1]:
            k += 1
        if k >= len(spans):
            break
        if spans[k][0] <= number <= spans[k][1]:
            out[k].append(line)
    raws = ["".join(parts).rstrip("\r\n") for parts in out]
    return [raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "…" for raw in raws]


def _raise_field_limit():
    limit = 64 * 1024 * 1024
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def _unique_names(header):
    names, renamed, seen = [], {}, set()
    for i, raw in enumerate(header):
        name = str(raw).replace("\ufeff", "").strip()
        name = " ".join(name.split())
        base = name or f"column_{i + 1}"
        candidate = base
        k = 2
        while candidate in seen:
            candidate = f"{base}_{k}"
            k += 1
        seen.add(candidate)
        names.append(candidate)
        if candidate != str(raw):
            renamed[f"{i + 1}"] = candidate
    # only report real changes (blank or duplicate), not stripped whitespace
    renamed = {
        pos: new for pos, new in renamed.items()
        if str(header[int(pos) - 1]).strip() != new
    }
    return names, renamed


# --------------------------------------------------------------------------------------------
# fast path: pyarrow splits the records, exact accounting checked independently

FAST_MAX_INVALID = 1000  # more invalid rows than this: the exact (slower) csv-module path
PLAN_SAMPLE_BYTES = 2 * 1024 * 1024  # files larger than this let the reader convert number columns
MAX_TYPED_RETRIES = 4
_PARITY_CHUNK = 8 * 1024 * 1024


def _one_record_per_line(buf, cr):
    """True when no record can span lines: no lone CR and an even number of quotes on every line."""
    if cr and cr != buf.count(b"\r\n"):
        return False
    if b'"' not in buf:
        return True
    arr = np.frombuffer(buf, dtype=np.uint8)
    carry = 0
    for start in range(0, len(arr), _PARITY_CHUNK):
        chunk = arr[start:start + _PARITY_CHUNK]
        parity = np.cumsum(chunk == 34, dtype=np.uint8)  # wraps mod 256: parity survives
        parity += np.uint8(carry)
        ends = np.flatnonzero(chunk == 10)
        if ends.size and (parity[ends] & 1).any():
            return False
        carry = int(parity[-1]) & 1 if len(parity) else carry
    return True


def _blank_line_offsets(buf, start, n_lf, n_cr):
    """Byte offsets (>= start) of the line feeds that end an empty line (``\\n`` or ``\\r\\n`` alone).

    ``n_lf``/``n_cr``: counts of line feeds and carriage returns (every CR precedes a LF here).
    """
    patterns = []
    if n_lf > n_cr:
        patterns.append(b"\n\n")
    if n_cr:
        patterns.append(b"\n\r\n")
    out = []
    for pattern in patterns:
        pos = buf.find(pattern, start)
        while pos >= 0:
            out.append(pos + len(pattern) - 1)
            pos = buf.find(pattern, pos + 1)
    return sorted(set(out))


class _Text:
    """The UTF-8 bytes of a text table (``buf[base:]``), droppable while pyarrow reads the file.

    ``path`` is set only when ``buf`` is exactly the file's bytes: the fast path then releases
    ``buf`` before pyarrow reads the file itself (one copy of a big file in memory, not two), and
    reads the bytes again (checked against the fingerprint) only if it needs them afterwards.
    """

    def __init__(self, buf, base=0, path=None, fingerprint=None):
        self.buf, self.base, self.path, self.fingerprint = buf, base, path, fingerprint
        self.stamp = self._stamp() if path is not None else None

    def _stamp(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def check_unchanged(self):
        """After pyarrow read the file itself: it must still be the file that was fingerprinted."""
        if self.path is not None and (self.stamp is None or self._stamp() != self.stamp):
            raise ChurnCoreError("ingest.file_changed",
                                 "The file changed while it was being read; load it again.")

    def get(self):
        if self.buf is None:
            data = Path(self.path).read_bytes()
            if hashlib.sha256(data).hexdigest() != self.fingerprint:
                raise ChurnCoreError("ingest.file_changed",
                                     "The file changed while it was being read; load it again.")
            self.buf = data
        return self.buf

    def release(self):
        if self.path is not None:
            self.buf = None

    def text(self):
        buf = self.get()
        self.buf = None
        return bytes(buf[self.base:]).decode("utf-8")


def _columns_from_utf8(src, delimiter):
    """Header + string columns + rejects of a UTF-8 text table; fast path first, exact fallback.

    Returns
    -------
    (header, columns, n_rows, rejects, blank_lines, warnings, row_lines)
        ``row_lines(indices)`` gives the physical line numbers of loaded rows.
    """
    fast = _fast_columns(src, delimiter)
    if fast is not None:
        return fast
    return _columns_from_text(src.text(), delimiter)


def _fast_columns(src, delimiter):
    """pyarrow's reading, or None when the exact csv-module path must decide (quoted newlines,
    lone CRs, trailing delimiters, empty delimiter rows, many invalid rows, any disagreement)."""
    import pyarrow.csv as pacsv

    buf = src.get()
    n_cr = buf.count(b"\r")
    if len(buf) <= src.base or not _one_record_per_line(buf, n_cr):
        return None
    # header: the first non-blank line
    pos, line = src.base, 1
    while True:
        end = buf.find(b"\n", pos)
        if end < 0:
            end = len(buf)
        raw_header = bytes(buf[pos:end]).decode("utf-8").rstrip("\r")
        if raw_header.strip():
            break
        if raw_header or end >= len(buf):
            return None  # whitespace-only first line, or no header: the exact path says what it is
        pos, line = end + 1, line + 1
    _raise_field_limit()
    header = next(csv.reader([raw_header], delimiter=delimiter, quotechar='"', strict=False), [])
    ncols = len(header)
    if ncols == 0 or ncols > MAX_COLUMNS or not "".join(header).strip():
        return None
    header_line = line
    body_start = min(end + 1, len(buf))

    # exact count, independent of pyarrow: every non-blank line after the header is one record
    tail = len(buf) - body_start
    n_lf = buf.count(b"\n")
    n_lines = n_lf - buf.count(b"\n", 0, body_start) + (1 if tail and not buf.endswith(b"\n") else 0)
    blanks = _blank_line_offsets(buf, max(body_start - 1, 0), n_lf, n_cr)
    if len(blanks) > 100_000:
        return None
    blank_lines_no, prev, line_no = [], body_start, header_line + 1
    for off in blanks:
        line_no += buf.count(b"\n", prev, off)
        prev = off
        blank_lines_no.append(line_no)

    names = [f"c{i}" for i in range(ncols)]
    types = {name: pa.string() for name in names}
    if tail > PLAN_SAMPLE_BYTES:
        # big file: columns whose first 2 MB are plain numbers are converted by the reader itself;
        # one value anywhere that does not convert makes the reader fail, and that column is then
        # read as text and typed by the whole-column rules
        types.update(_plan_numeric(buf, body_start, delimiter, names))

    invalid = []

    def on_invalid(row):
        if len(invalid) <= FAST_MAX_INVALID:
            invalid.append((row.actual_columns, row.text))
        return "skip"

    src.release()
    del buf

    def body():
        if src.buf is not None:
            return pa.py_buffer(src.buf)[body_start:]
        stream = pa.OSFile(str(src.path))
        stream.seek(body_start)
        return stream

    table = None
    for attempt in range(MAX_TYPED_RETRIES + 2):
        invalid.clear()
        try:
            table = _read_body(pacsv, body(), names, types, delimiter, on_invalid)
        except pa.ArrowInvalid as exc:
            failed = re.search(r"In CSV column #(\d+): CSV conversion error", str(exc))
            if attempt == MAX_TYPED_RETRIES:
                types = {name: pa.string() for name in names}  # last try: every column as text
            elif failed and types[names[int(failed.group(1))]] != pa.string():
                types[names[int(failed.group(1))]] = pa.string()
            elif any(t != pa.string() for t in types.values()):
                types = {name: pa.string() for name in names}
            else:
                return None
            continue
        except (pa.ArrowException, ValueError, OSError):
            return None
        break
    if table is None:
        return None
    src.check_unchanged()
    n_rows = table.num_rows
    if len(invalid) > FAST_MAX_INVALID or (invalid and n_rows == 0):
        return None  # e.g. every row one field longer than the header: the exact path decides
    if n_lines - len(blanks) != n_rows + len(invalid):
        return None

    # invalid rows: reason and physical line (found in order in the bytes)
    rejects, reject_lines = [], []
    if invalid:
        buf = src.get()
        cursor, cursor_line = body_start, header_line + 1
        for actual, text in invalid:
            rec = next(csv.reader([text], delimiter=delimiter, quotechar='"', strict=False), [])
            n = len(rec)
            if n != actual and not (n == 0 and actual == 1):
                return None
            filled = bool("".join(rec).strip())
            if filled and n > ncols and not "".join(rec[ncols:]).strip():
                return None  # trailing empty fields: the exact path trims and loads these
            found = _find_line(buf, text.encode("utf-8"), cursor)
            if found is None:
                found = _find_line(buf, text.encode("utf-8"), body_start)
                if found is None:
                    return None
                cursor, cursor_line = body_start, header_line + 1
            cursor_line += buf.count(b"\n", cursor, found)
            cursor = found
            number = cursor_line
            if not filled:
                reason, detail = "empty_row", f"{n} empty fields"
            elif n > ncols:
                reason, detail = "too_many_fields", f"{n} fields, expected {ncols}"
            else:
                reason, detail = "too_few_fields", f"{n} fields, expected {ncols}"
            raw = text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "…"
            rejects.append((number, reason, detail, raw, n, ncols))
            reject_lines.append(number)
        del buf
        if len(set(reject_lines)) != len(reject_lines):
            return None

    columns = [table.column(i) for i in range(ncols)]  # chunked: no second copy of the strings
    del table
    if n_rows and ncols:
        # a row of empty fields (",,,") is rejected by the exact path, not loaded
        first_empty = _blank_mask(columns[0])
        if pc.any(first_empty).as_py():
            idx = pc.indices_nonzero(first_empty)
            all_blank = None
            for col in columns[1:]:
                empty = _blank_mask(pc.take(col, idx))
                all_blank = empty if all_blank is None else pc.and_(all_blank, empty)
            if all_blank is None or pc.any(all_blank).as_py():
                return None

    # physical line numbers of loaded rows: the body lines that are neither blank nor rejected
    skips = np.array(sorted(set(blank_lines_no) | set(reject_lines)), dtype=np.int64)
    rejects.sort(key=lambda r: r[0])
    src.buf = None
    return (header, columns, n_rows, rejects, header_line - 1 + len(blanks), [],
            _line_mapper(header_line + 1, skips))


def _blank_mask(col):
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.equal(pc.utf8_trim_whitespace(col), "")
    return pc.is_null(col)


# the system allocator: buffers freed while the columns are typed go back to malloc, where the
# typed numpy arrays come from (pyarrow's default pool keeps them for itself)
_POOL = pa.system_memory_pool()


def _read_body(pacsv, body, names, types, delimiter, on_invalid):
    return pacsv.read_csv(
        body if isinstance(body, pa.NativeFile) else pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=names, block_size=4 << 20, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
            newlines_in_values=False, ignore_empty_lines=True, invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], true_values=[], false_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
        memory_pool=_POOL,
    )


def _plan_numeric(buf, body_start, delimiter, names):
    """{column: int64/float64} for the columns whose first PLAN_SAMPLE_BYTES are plain numbers."""
    import pyarrow.csv as pacsv

    end = buf.rfind(b"\n", body_start, body_start + PLAN_SAMPLE_BYTES)
    if end <= body_start:
        return {}
    sample = pa.py_buffer(buf)[body_start:end + 1]
    try:
        table = _read_body(pacsv, sample, names, {n: pa.string() for n in names}, delimiter,
                           lambda row: "skip")
    except (pa.ArrowException, ValueError, OSError):
        return {}
    plan = {}
    for name in names:
        col = table.column(name)
        info = _analyse_numbers(col)
        if not info.get("fast"):
            continue
        if info["fraction"]:
            plan[name] = pa.float64()
        elif len(col) and float(np.abs(info["floats"].to_numpy(zero_copy_only=False)).max()) <= 2**53:
            plan[name] = pa.int64()
    return plan


def _find_line(buf, needle, start):
    """Offset of the first whole line equal to ``needle`` at or after ``start`` (or None)."""
    pos = buf.find(needle, start)
    n = len(buf)
    while pos >= 0:
        before_ok = pos == 0 or buf[pos - 1:pos] == b"\n"
        after = pos + len(needle)
        after_ok = after == n or buf[after:after + 1] == b"\n" or bytes(buf[after:after + 2]) == b"\r\n"
        if before_ok and after_ok:
            return pos
        pos = buf.find(needle, pos + 1)
    return None


def _line_mapper(first_line, skips):
    """row_lines(indices): the i-th record's line when records start at ``first_line`` and the
    (sorted) line numbers in ``skips`` are not loaded records."""
    def row_lines(indices):
        idx = np.asarray(indices, dtype=np.int64)
        lines = first_line + idx
        if skips.size == 0:
            return lines
        while True:
            moved = first_line + idx + np.searchsorted(skips, lines, side="right")
            if np.array_equal(moved, lines):
                return lines
            lines = moved
    return row_lines


def _array_mapper(lines):
    arr = np.asarray(lines, dtype=np.int64)

    def row_lines(indices):
        return arr[np.asarray(indices, dtype=np.int64)]
    return row_lines


# --------------------------------------------------------------------------------------------
# types
#
# Every decision below is taken over the WHOLE column (vectorised pyarrow), never a sample: a bad
# value at row 150,000 is found. A numeric or date column with a few values that do not fit keeps
# its type; those values are listed (line, column, value) and become missing, or their rows are
# rejected when the caller asks for it.

_DOT_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DOT_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_COMMA_NUM = r"[+-]?(?:\d+(?:,\d*)?|,\d+)"
_COMMA_THOUSANDS = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"
_INF = r"[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
_DOT_RE = f"(?:{_DOT_NUM}|{_DOT_THOUSANDS}|{_INF})"
_COMMA_RE = f"(?:{_COMMA_NUM}|{_COMMA_THOUSANDS}|{_INF})"
_LEADING_ZERO_RE = r"^[+-]?0[0-9]"
_UNIT_CHARS_RE = r"[$€£¥￥%()]"
_PAREN_RE = r"^\(\s*([^()]*?)\s*\)$"
_UNIT_STRIP_RE = r"^([+-]?)\s*[$€£¥￥]\s*|\s*(?:%|€)$"
# a value that can be a number starts with one of these (exact pre-check before any regex)
_NUMBER_STARTS = pa.array(list("0123456789+-.,($€£¥￥iI"), type=pa.string())
_DIGITS = pa.array(list("0123456789"), type=pa.string())
_NOT_LETTER_STARTS = pa.array(list("0123456789+-.,($€£¥￥iI") + ["", " ", "\t", "\u3000", "\u00a0"],
                              type=pa.string())
_DATE_HINT_RE = r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_FORMATS_ISO = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
]
_DATE_FORMATS_DMY = ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
_DATE_FORMATS_MDY = ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"]
_DMY_SPLIT_RE = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.]\d{4}"

BAD_SHARE = 0.02   # a typed column may hold up to 2% values that do not fit (listed, never hidden)
BAD_MIN_GOOD = 10  # ... and needs at least this many values that do fit
CODE_SHARE = 0.02  # more than 2% values with leading zeros ("007"): codes, kept as text
BAD_EXAMPLES = 5   # values quoted in the warning text; LoadResult.bad_values has them all
BAD_LISTED = 100   # values listed in each warning's "values"


def _allowed_bad(n_values):
    return int(BAD_SHARE * n_values)


def _fits(n_values, bad):
    """A convention fits a column when at most 2% of its values do not fit it (and, if any do
    not, at least BAD_MIN_GOOD do): columns under 50 values must fit entirely."""
    good = n_values - bad
    return good > 0 and bad <= _allowed_bad(n_values) and (bad == 0 or good >= BAD_MIN_GOOD)


class _Col:
    """One column's typing: the typed pandas series, its kind and what did not fit."""

    __slots__ = ("series", "kind", "notes", "bad", "units", "accounting")

    def __init__(self, series, kind, notes=None, bad=None):
        self.series, self.kind = series, kind
        self.notes = notes or []
        self.bad = bad  # numpy bool mask of values that do not fit (None: none)
        self.units = self.accounting = 0


def _has_any_byte(arr, chars):
    """True when any value of a string (chunked) array contains one of the bytes ``chars``."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            continue
        kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offs = np.frombuffer(offsets, dtype=kind)[chunk.offset:chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, dtype=np.uint8)[int(offs[0]):int(offs[-1])].tobytes()
        if any(bytes([ch]) in text for ch in chars):
            return True
    return False


def _all_match(values, pattern):
    return bool(pc.all(pc.match_substring_regex(values, f"^(?:{pattern})$")).as_py())


def _castable(values):
    try:
        pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _missing_masks(s):
    blank = pc.equal(s, "")
    tokens = pc.is_in(s, value_set=_NA_SET)
    return blank, tokens, pc.or_(blank, tokens)


def _count(mask):
    return int(pc.sum(mask).as_py() or 0)


def _analyse_numbers(raw):
    """Per-convention parse of one column over all its values.

    Returns a dict: ``fast`` (plain numbers, no blanks: ``floats``), or the masks and parses
    ``dot_ok``/``comma_ok`` and the counts used for the decimal-mark vote and the type decision.
    """
    n = len(raw)
    info = {"n": n, "fast": False}
    if n == 0:
        info["numeric_possible"] = False
        return info
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        # converted by the CSV reader (every value a plain number or blank)
        fraction = pa.types.is_floating(raw.type)
        info.update(fast=True, preparsed=True, fraction=fraction, numeric_possible=True,
                    dot_fit=True, comma_fit=not fraction, n_values=n - raw.null_count)
        return info
    floats = None
    if _castable(raw.slice(0, 1000)):  # a failing cast costs a full pass: try a slice first
        try:
            floats = pc.cast(raw, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            floats = None
    if floats is not None:
        # every value is a plain number written with a dot (or an integer): no blanks, no units
        codes = _count(pc.match_substring_regex(raw, _LEADING_ZERO_RE))
        if codes <= CODE_SHARE * n:
            fraction = _has_any_byte(raw, b".eEnN")
            # "1.000" is also a decimal-comma number: such columns take the general path, where
            # the file's decimal mark decides (a column whose first 1,000 values are not all
            # comma-compatible is a dot column: no decimal-comma file starts that way)
            ambiguous = fraction and _all_match(raw.slice(0, 1000), _COMMA_RE) and \
                _fits(n, n - _count(pc.match_substring_regex(raw, f"^{_COMMA_RE}$")))
            if not ambiguous:
                info.update(fast=True, floats=floats, fraction=fraction, numeric_possible=True,
                            dot_fit=True, comma_fit=not fraction, n_values=n)
                return info
        del floats

    # values starting with a letter that are not NA tokens can be neither numbers nor dates: when
    # there are more than 2% of them the column is text (or boolean), decided in few passes
    first = pc.utf8_slice_codeunits(raw, 0, 1)
    letterish = pc.invert(pc.is_in(first, value_set=_NOT_LETTER_STARTS))
    if _count(letterish) > _allowed_bad(n) and \
            _count(pc.and_(letterish, pc.invert(pc.is_in(raw, value_set=_NA_SET)))) > _allowed_bad(n):
        info.update(numeric_possible=False, text_only=True)  # trimmed when typed (memory)
        return info
    del first, letterish

    s = pc.utf8_trim_whitespace(raw)
    blank, tokens, missing = _missing_masks(s)
    n_values = n - _count(missing)
    info.update(s=s, blank=blank, tokens=tokens, missing=missing, n_values=n_values)
    if n_values == 0:
        info["numeric_possible"] = False
        return info
    allowed = _allowed_bad(n_values)
    starts = pc.is_in(pc.utf8_slice_codeunits(s, 0, 1), value_set=_NUMBER_STARTS)
    if n_values - _count(starts) > allowed:
        info["numeric_possible"] = False
        return info
    codes = _count(pc.match_substring_regex(s, _LEADING_ZERO_RE))
    if codes > CODE_SHARE * n_values:
        info["numeric_possible"] = False
        info["codes"] = codes
        return info
    info["numeric_possible"] = True

    norm, negate = s, None
    if pc.any(pc.match_substring_regex(s, _UNIT_CHARS_RE)).as_py():
        # "$1,200", "12.5%", "(1,234.56)", "$(12.50)", "($12.50)": signs off, brackets negative
        stripped = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, _UNIT_STRIP_RE, r"\1"))
        negate = pc.match_substring_regex(stripped, _PAREN_RE)
        if pc.any(negate).as_py():
            stripped = pc.replace_substring_regex(stripped, _PAREN_RE, r"\1")
            stripped = pc.utf8_trim_whitespace(
                pc.replace_substring_regex(stripped, _UNIT_STRIP_RE, r"\1"))
            info["accounting"] = _count(negate)
        else:
            negate = None
        info["units"] = _count(pc.match_substring_regex(s, "[$€£¥￥%]"))
        norm = stripped
    info["negate"] = negate
    info["norm"] = norm
    dot_ok = pc.and_(pc.match_substring_regex(norm, f"^{_DOT_RE}$"), pc.invert(missing))
    comma_ok = pc.and_(pc.match_substring_regex(norm, f"^{_COMMA_RE}$"), pc.invert(missing))
    if negate is not None:
        # "(-5)" or "($-5)" is not an accounting negative
        bad_paren = pc.and_(negate, pc.starts_with(norm, "-"))
        dot_ok = pc.and_(dot_ok, pc.invert(bad_paren))
        comma_ok = pc.and_(comma_ok, pc.invert(bad_paren))
    info["dot_ok"], info["comma_ok"] = dot_ok, comma_ok
    dot_bad = n_values - _count(dot_ok)
    comma_bad = n_values - _count(comma_ok)
    info["dot_bad"], info["comma_bad"] = dot_bad, comma_bad
    info["dot_fit"] = _fits(n_values, dot_bad)
    info["comma_fit"] = _fits(n_values, comma_bad)
    return info


def _numbers_from(info, use_comma):
    """(float64 numpy array with NaN for missing/bad, bad mask or None, has_fraction)."""
    norm, missing = info["norm"], info["missing"]
    ok = info["comma_ok"] if use_comma else info["dot_ok"]
    if use_comma:
        cleaned = pc.replace_substring(pc.replace_substring(norm, ".", ""), ",", ".")
        fraction = bool(pc.any(pc.and_(ok, pc.match_substring_regex(norm, ",|[iI][nN][fF]"))).as_py())
    else:
        cleaned = pc.replace_substring(norm, ",", "")
        fraction = bool(pc.any(pc.and_(ok, pc.match_substring_regex(norm, "[.eE]|[iI][nN][fF]"))).as_py())
    kept = pc.if_else(ok, cleaned, pa.scalar(None, pa.string()))
    numbers = pc.cast(kept, pa.float64())
    if info.get("negate") is not None:
        numbers = pc.if_else(info["negate"], pc.negate(numbers), numbers)
    arr = numbers.to_numpy(zero_copy_only=False)
    bad = pc.and_(pc.invert(ok), pc.invert(missing))
    n_bad = _count(bad)
    return arr, (bad.to_numpy(zero_copy_only=False) if n_bad else None), fraction


def _type_column(raw, info, decimal):
    """Typed column of one string column (see the section comment)."""
    n = len(raw)
    if n == 0:
        return _Col(pd.Series(pd.array([], dtype="str")), "text")
    if info.get("preparsed"):
        arr = raw.to_numpy() if raw.null_count == 0 else \
            pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
        if not info["fraction"]:
            if len(arr) and np.nanmax(np.abs(arr)) > 2**53:
                text = pc.cast(raw, pa.string())
                return _Col(_as_text(text, pc.is_null(text)), "text")
            return _Col(pd.Series(arr), "integer")
        return _Col(pd.Series(arr), "float")
    if info["fast"]:
        arr = info["floats"].to_numpy(zero_copy_only=False)
        if not info["fraction"]:
            if np.abs(arr).max() > 2**53:
                return _Col(_as_text(raw, None), "text")
            return _Col(pd.Series(arr.astype("int64")), "integer")
        return _Col(pd.Series(arr), "float")

    if info.get("text_only"):
        trimmed = pc.utf8_trim_whitespace(raw)
        return _text_or_boolean(trimmed, pc.equal(trimmed, ""))
    s, blank, tokens, missing = info["s"], info["blank"], info["tokens"], info["missing"]
    if info["n_values"] == 0:
        if _count(blank) == n:
            return _Col(pd.Series(np.full(n, np.nan)), "empty")
        return _Col(_as_text(s, blank), "text")
    missing_tokens = _count(tokens)
    token_notes = [_token_note(missing_tokens)] if missing_tokens else []

    if info["numeric_possible"] and (info["dot_fit"] or info["comma_fit"]):
        dot, comma = info["dot_fit"], info["comma_fit"]
        if dot and comma:
            use_comma = decimal == "," if info["dot_bad"] == info["comma_bad"] else \
                info["comma_bad"] < info["dot_bad"]
        else:
            use_comma = comma
        arr, bad, fraction = _numbers_from(info, use_comma)
        finite = arr[np.isfinite(arr)]
        integral = not fraction
        if integral and finite.size and np.abs(finite).max() > 2**53:
            return _Col(_as_text(s, blank), "text")
        col = _Col(None, "integer" if integral else "float", token_notes, bad)
        col.units = info.get("units", 0)
        col.accounting = info.get("accounting", 0)
        if integral and bad is None and not _count(missing):
            col.series = pd.Series(arr.astype("int64"))
        else:
            col.series = pd.Series(arr)
        return col

    values = pc.filter(s, pc.invert(missing))
    sample_lower = pc.utf8_lower(values.slice(0, 1000))
    if set(pc.unique(sample_lower).to_pylist()) <= {"true", "false"}:
        lower = pc.utf8_lower(values)
        if set(pc.unique(lower).to_pylist()) <= {"true", "false"}:
            kept = pc.if_else(missing, pa.scalar(None, pa.string()), s)
            flags = pc.equal(pc.utf8_lower(kept), "true")
            return _Col(pd.Series(flags.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)),
                        "boolean", token_notes)

    dated = _date_column(s, missing, info["n_values"], decimal)
    if dated is not None:
        dated.notes = dated.notes + token_notes
        return dated
    return _Col(_as_text(s, blank), "text")


def _text_or_boolean(s, blank):
    """A column of words: booleans when every non-blank value is true/false, else text."""
    sample = pc.utf8_lower(pc.filter(s.slice(0, 2000), pc.invert(blank.slice(0, 2000))))
    if len(sample) and set(pc.unique(sample).to_pylist()) <= {"true", "false"}:
        values = pc.filter(s, pc.invert(blank))
        lower = pc.utf8_lower(values)
        if set(pc.unique(lower).to_pylist()) <= {"true", "false"}:
            kept = pc.if_else(blank, pa.scalar(None, pa.string()), s)
            flags = pc.equal(pc.utf8_lower(kept), "true")
            return _Col(pd.Series(flags.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)),
                        "boolean")
    return _Col(_as_text(s, blank), "text")


def _date_column(s, missing, n_values, decimal):
    """A date column (few bad values allowed), with the day/month order decided on evidence.

    Distinct values are parsed once (a column of a million dates has a few thousand distinct
    ones) and every count is weighted by how often the value occurs: evidence is over all rows.
    """
    allowed = _allowed_bad(n_values)
    starts = pc.is_in(pc.utf8_slice_codeunits(s, 0, 1), value_set=_DIGITS)
    if n_values - _count(starts) > allowed:
        return None
    hinted = pc.and_(pc.match_substring_regex(s, f"^{_DATE_HINT_RE}$"), pc.invert(missing))
    n_hint = _count(hinted)
    if n_values - n_hint > allowed or n_hint < min(BAD_MIN_GOOD, n_values):
        return None
    candidates = pc.if_else(hinted, s, pa.scalar(None, pa.string()))
    counted = pc.value_counts(pc.drop_null(candidates))
    uniques = counted.field("values")
    weights = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    parsed_unique, note = _parse_dates(uniques.to_pandas(), weights, decimal)
    if parsed_unique is None:
        return None
    unique_values = parsed_unique.to_numpy()
    position = pc.index_in(candidates, value_set=uniques).to_numpy(zero_copy_only=False)
    known = ~np.isnan(position) if position.dtype.kind == "f" else np.ones(len(position), bool)
    values = np.full(len(position), np.datetime64("NaT"), dtype=unique_values.dtype)
    values[known] = unique_values[position[known].astype(np.int64)]
    parsed = pd.Series(values)
    good = ~np.isnat(values)
    n_good = int(good.sum())
    n_bad = n_values - n_good
    if n_bad > allowed or (n_bad and n_good < BAD_MIN_GOOD):
        return None
    valid = pc.invert(missing).to_numpy(zero_copy_only=False)
    bad = valid & ~good
    return _Col(parsed, "date", [note] if note else [], bad if bad.any() else None)


def _parse_dates(values, weights, decimal):
    """(datetime series with NaT where a value does not parse, note or None) of distinct values
    occurring ``weights`` times each.

    ISO-like formats first (the format that parses most rows wins); then day-first vs
    month-first decided on the evidence of the whole column: values whose first number is over 12
    can only be day-first, values whose second number is over 12 only month-first.
    """
    n_hint = int(weights.sum())

    def best(formats):
        chosen, count = None, -1
        for fmt in formats:
            parsed = pd.to_datetime(values, format=fmt, errors="coerce")
            k = int(weights[parsed.notna().to_numpy()].sum())
            if k > count:
                chosen, count = parsed, k
            if k == n_hint:
                break
        return chosen, count

    iso, iso_count = best(_DATE_FORMATS_ISO)
    if iso_count == n_hint:
        return iso, None
    parts = pc.extract_regex(pa.array(values, type=pa.string()), _DMY_SPLIT_RE)
    first = pc.cast(pc.struct_field(parts, [0]), pa.int64()).to_numpy(zero_copy_only=False)
    second = pc.cast(pc.struct_field(parts, [1]), pa.int64()).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        day_first = int(weights[(first > 12) & (second <= 12)].sum())
        month_first = int(weights[(second > 12) & (first <= 12)].sum())
    if day_first == 0 and month_first == 0 and iso_count >= n_hint - _allowed_bad(n_hint):
        return iso, None
    dmy, dmy_count = best(_DATE_FORMATS_DMY)
    mdy, mdy_count = best(_DATE_FORMATS_MDY)
    if max(dmy_count, mdy_count) <= 0 and iso_count <= 0:
        return None, None
    if iso_count >= max(dmy_count, mdy_count):
        return iso, None
    evidence = {"day_first": day_first, "month_first": month_first}
    if day_first > month_first:
        order, parsed = "day-first", dmy
    elif month_first > day_first:
        order, parsed = "month-first", mdy
    else:  # no evidence either way: the file's convention (decimal comma files write day-first)
        order = "day-first" if decimal == "," else "month-first"
        parsed = dmy if order == "day-first" else mdy
        return parsed, {"code": "ingest.ambiguous_dates", "params": {"order": order}}
    return parsed, {"code": "ingest.date_order", "params": {"order": order, **evidence}}


def _build_frame(names, columns, n_rows, delimiter, row_lines=None, reject_bad_values=False):
    """Typed frame from string columns.

    Returns
    -------
    (df, column_types, decimal, warnings, bad_values, bad_rows)
        ``bad_values``: DataFrame ``line, column, value, expected``; ``bad_rows``: numpy indices of
        rows to reject (only with ``reject_bad_values``).
    """
    infos = {}
    dot_votes = comma_votes = 0
    for name, col in zip(names, columns):
        info = _analyse_numbers(col)
        infos[name] = info
        if info.get("numeric_possible"):
            if info["dot_fit"] and not info["comma_fit"]:
                dot_votes += 1
            elif info["comma_fit"] and not info["dot_fit"]:
                comma_votes += 1
    if comma_votes > dot_votes or (comma_votes == dot_votes and delimiter == ";" and comma_votes):
        decimal = ","
    elif dot_votes or delimiter != ";":
        decimal = "."
    else:
        decimal = ","

    out, types, warnings, bad_parts = {}, {}, [], []
    for i, (name, col) in enumerate(zip(names, columns)):
        typed = _type_column(col, infos.pop(name), decimal)
        columns[i] = None  # the strings of a typed column are no longer needed
        if n_rows >= 100_000:
            _release_memory()
        typed.series.name = name
        out[name] = typed.series
        types[name] = typed.kind
        if typed.units and typed.kind in ("integer", "float"):
            warnings.append({"code": "ingest.units_removed", "params": {"column": name}})
        if typed.accounting and typed.kind in ("integer", "float"):
            warnings.append({"code": "ingest.accounting_negatives",
                             "params": {"column": name, "count": typed.accounting}})
        for note in typed.notes:
            note["params"]["column"] = name
            warnings.append(note)
        if typed.bad is not None:
            positions = np.flatnonzero(typed.bad)
            raw_values = pc.take(col, pa.array(positions)).to_pylist()
            lines = row_lines(positions) if row_lines is not None else positions + 2
            bad_parts.append((name, typed.kind, positions, lines, raw_values))
    df = pd.DataFrame(out, columns=names, index=pd.RangeIndex(n_rows), copy=False) if names \
        else pd.DataFrame()
    del out
    if not df.columns.is_unique:
        raise AssertionError("column names must be unique")

    records = []
    for name, kind, positions, lines, raw_values in bad_parts:
        expected = "date" if kind == "date" else "number"
        shown = [{"line": int(line), "value": str(value)} for line, value in
                 zip(lines[:BAD_LISTED], raw_values[:BAD_LISTED])]
        examples = ", ".join(f"{item['line']}: {item['value'][:40]}" for item in shown[:BAD_EXAMPLES])
        warnings.append({
            "code": "ingest.bad_values_rejected" if reject_bad_values else "ingest.bad_values",
            "params": {"column": name, "count": int(len(positions)), "expected": expected,
                       "examples": examples},
            "values": shown,
        })
        records.extend((int(p), int(line), name, str(v), expected)
                       for p, line, v in zip(positions, lines, raw_values))
    bad_values = pd.DataFrame([r[1:] for r in records], columns=["line", "column", "value", "expected"])
    bad_values["line"] = bad_values["line"].astype("int64")
    bad_rows = np.unique(np.array([r[0] for r in records], dtype=np.int64))
    return df, types, decimal, warnings, bad_values, bad_rows


def _release_memory():
    """Give memory freed while typing back to the system now (allocators keep it otherwise, and
    the peak of a million-row load would hold the strings and the typed columns at once)."""
    for pool in {id(_POOL): _POOL, id(pa.default_memory_pool()): pa.default_memory_pool()}.values():
        try:
            pool.release_unused()
        except (AttributeError, NotImplementedError):
            pass
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None


def _token_note(count):
    return {"code": "ingest.missing_tokens", "params": {"count": int(count)}}


def _as_text(s, blank):
    """Text column (pandas ``str``): blank -> missing; NA-like tokens stay (``None`` may be a category)."""
    if blank is None:
        return pd.Series(s.to_pandas())
    text = pc.if_else(blank, pa.scalar(None, pa.string()), s)
    return pd.Series(text.to_pandas())


# --------------------------------------------------------------------------------------------
# Excel (child process)


def _check_zip(data):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ChurnCoreError(
            "ingest.excel_unreadable", "The workbook is damaged or not an .xlsx file."
        ) from None
    if len(infos) > EXCEL_MAX_MEMBERS:
        raise ChurnCoreError("ingest.excel_unsafe",
                             "The workbook has too many parts to be a normal sheet; it was not opened.")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > EXCEL_BOMB_MIN_SIZE and (
            info.compress_size == 0 or info.file_size / info.compress_size > EXCEL_BOMB_RATIO
        ):
            raise ChurnCoreError(
                "ingest.excel_unsafe",
                "The workbook expands to an implausible size when unpacked (a zip bomb?); it was not opened.",
            )
    if total > EXCEL_MAX_UNZIPPED:
        raise ChurnCoreError(
            "ingest.excel_too_large",
            f"The workbook unpacks to {total / 1e9:.1f} GB; save the sheet as CSV instead.",
        )
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise ChurnCoreError("ingest.excel_unreadable", "The file is a zip archive but not an .xlsx workbook.")


def _read_xlsx_rows(data, sheet=None, *, timeout_s=None, memory_bytes=None):
    """Parse the workbook in a child process; returns (rows, info).

    rows: list of (excel_row_number, [cell strings]).
    """
    _check_zip(data)
    if timeout_s is None:
        # openpyxl reads some 50-200k cells a second: allow time in proportion to the workbook
        timeout_s = min(EXCEL_TIMEOUT_MAX_S, EXCEL_TIMEOUT_S + EXCEL_TIMEOUT_PER_MB_S * len(data) / 1e6)
    memory_bytes = EXCEL_MEMORY_BYTES if memory_bytes is None else memory_bytes
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    cmd = [sys.executable, "-m", "churn_core.data.excel_worker", str(int(memory_bytes)),
           str(MAX_COLUMNS), sheet or ""]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        raise ChurnCoreError(
            "ingest.excel_timeout",
            f"Reading the workbook took longer than {timeout_s:.0f} s and was stopped; save the sheet as CSV.",
            seconds=int(timeout_s),
        ) from None
    try:
        payload = json.loads(proc.stdout.decode("utf-8")) if proc.stdout else None
    except (UnicodeDecodeError, ValueError):
        payload = None
    if proc.returncode != 0 or not isinstance(payload, dict):
        if payload and payload.get("error"):
            raise ChurnCoreError(payload["error"], payload.get("message", "The workbook could not be read."),
                                 **payload.get("params", {}))
        raise ChurnCoreError(
            "ingest.excel_failed",
            "The workbook could not be read within the memory limit (it may be hostile or far too large); "
            "save the sheet as CSV.",
        )
    if payload.get("error"):
        raise ChurnCoreError(payload["error"], payload.get("message", "The workbook could not be read."),
                             **payload.get("params", {}))
    rows = [(int(r[0]), list(r[1])) for r in payload["rows"]]
    return rows, {"sheet": payload.get("sheet"), "sheets": payload.get("sheets", []),
                  "formulas": payload.get("formulas")}


def _columns_from_excel(rows):
    """Header = first non-empty row; every later non-empty row is a record (Excel has no ragged rows:
    short rows are padded with blanks, the table is as wide as its widest row)."""
    nonempty = [(num, cells) for num, cells in rows if any(str(c).strip() for c in cells)]
    blank = len(rows) - len(nonempty)
    if not nonempty:
        raise ChurnCoreError("ingest.empty_file", "The sheet is empty.")
    width = max(len(cells) for _, cells in nonempty)
    header = list(nonempty[0][1]) + [""] * (width - len(nonempty[0][1]))
    body = [cells for _, cells in nonempty[1:]]
    columns = [pa.array([cells[i] if i < len(cells) else "" for cells in body], type=pa.string())
               for i in range(width)]
    return header, columns, len(body), [], blank, [], _array_mapper([num for num, _ in nonempty[1:]])

