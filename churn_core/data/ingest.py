"""Any customer file into a typed pandas frame, with nothing lost.

``load_file(source)`` reads CSV/TSV/TXT (any common delimiter, quoting, CRLF, thousands separators
and decimal commas) in UTF-8, UTF-8 with BOM, UTF-16, GB18030/GBK or Big5, detected in Python from a
short candidate list, and ``.xlsx`` workbooks parsed in a child process with a memory cap and a
timeout (see ``churn_core.data.excel_worker``), so a hostile workbook cannot take the server down.

Row accounting is exact: every record after the header is either loaded or rejected with its line
number, a reason code and the raw text, so ``rows_in_file == rows_loaded + rows_rejected`` holds
for every file (``LoadResult.__post_init__`` checks it).
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
        sha256 of the file's bytes (hex).
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
        }


# --------------------------------------------------------------------------------------------
# entry point


def load_file(source, filename=None, *, max_bytes=DEFAULT_MAX_BYTES, progress=None,
              encoding=None, delimiter=None, sheet=None):
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
        Override detection (e.g. ``encoding="gb18030"``, ``delimiter=";"``).
    sheet : str, optional
        Excel sheet name (default: the first sheet).

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
    data, name = _read_source(source, filename, max_bytes)
    fingerprint = hashlib.sha256(data).hexdigest()
    report(0.05, "ingest.reading")
    if not data.strip(b" \t\r\n\x00") or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                                   codecs.BOM_UTF16_BE):
        raise ChurnCoreError("ingest.empty_file", f"The file {name} is empty.", name=name)

    kind = _file_kind(data, name)
    if kind == "xls":
        raise ChurnCoreError(
            "ingest.xls_unsupported",
            "Old Excel .xls workbooks are not supported: save the sheet as .xlsx or CSV and upload it again.",
            name=name,
        )
    if kind == "xlsx":
        rows, info = _read_xlsx_rows(data, sheet)
        report(0.5, "ingest.parsing")
        parsed = _columns_from_excel(rows)
        enc, delim = None, None
        warnings = []
        if not sheet and info.get("sheets") and info.get("sheet") != info["sheets"][0]:
            warnings.append({"code": "ingest.sheet_chosen",
                             "params": {"sheet": info["sheet"], "first": info["sheets"][0]}})
        fmt = "xlsx"
    else:
        text, enc, warnings = detect_encoding(data, encoding)
        report(0.2, "ingest.parsing")
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                      or delimiter in '"\r\n'):
            raise ChurnCoreError("ingest.bad_delimiter",
                                 f"The delimiter must be one character, got {delimiter!r}.",
                                 delimiter=str(delimiter))
        delim = delimiter or detect_delimiter(text)
        parsed = _columns_from_text(text, delim)
        info = {}
        fmt = "csv"

    report(0.6, "ingest.typing")
    header, columns, n_rows, rejects, blank_lines, extra_warnings = parsed
    warnings = warnings + extra_warnings
    names, renamed = _unique_names(header)
    df, column_types, decimal, type_warnings = _build_frame(names, columns, n_rows, delim)
    warnings += type_warnings
    if renamed:
        warnings.append({"code": "ingest.renamed_columns", "params": {"columns": renamed}})
    if len(df) == 0:
        warnings.append({"code": "ingest.no_rows", "params": {}})
    rejects_df = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    for column in ("line", "fields", "expected"):
        rejects_df[column] = rejects_df[column].astype("int64")
    result = LoadResult(
        df=df,
        encoding=enc,
        delimiter=delim,
        rows_in_file=n_rows + len(rejects),
        rows_loaded=len(df),
        rows_rejected=len(rejects_df),
        rejects=rejects_df,
        source_name=name,
        fingerprint=fingerprint,
        format=fmt,
        decimal=decimal,
        sheet=info.get("sheet"),
        sheets=info.get("sheets", []),
        n_bytes=len(data),
        blank_lines=blank_lines,
        renamed_columns=renamed,
        column_types=column_types,
        warnings=warnings,
    )
    report(1.0, "ingest.done")
    return result


def _read_source(source, filename, max_bytes):
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
    name = os.path.basename(str(name)) or "upload"
    if len(data) > max_bytes:
        raise ChurnCoreError(
            "ingest.too_large",
            f"The file is larger than the limit of {max_bytes / 1e6:.0f} MB.",
            size_mb=round(len(data) / 1e6, 1), limit_mb=round(max_bytes / 1e6),
        )
    return data, name


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


def detect_encoding(data, encoding=None):
    """Decode ``data`` with the right encoding.

    Returns
    -------
    (text, encoding, warnings)
        ``encoding`` is the name reported to the user.
    """
    if encoding:
        codec = {"gbk": "gb18030", "gb2312": "gb18030", "big5": "cp950"}.get(encoding.lower(), encoding)
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ChurnCoreError(
                "ingest.bad_encoding",
                f"The file cannot be read as {encoding}: {exc.__class__.__name__}.",
                encoding=encoding,
            ) from None
        return _check_text(text.lstrip("\ufeff")), encoding.lower(), []

    for bom, codec, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _check_text(data.decode(codec)), label, []
            except UnicodeDecodeError:
                raise ChurnCoreError(
                    "ingest.bad_encoding",
                    f"The file starts with a {label} byte-order mark but is not valid {label}.",
                    encoding=label,
                ) from None

    utf16 = _bomless_utf16(data)
    if utf16:
        try:
            return _check_text(data.decode(utf16)), utf16, []
        except UnicodeDecodeError:
            pass

    if b"\x00" in data:
        raise ChurnCoreError(
            "ingest.not_text",
            "This file is not a text table (it contains binary data). Upload a CSV or .xlsx file.",
        )
    try:
        return _check_text(data.decode("utf-8")), "utf-8", []
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes (a file cut mid-character, one pasted cp1252 byte): keep UTF-8,
    # mark the bad bytes with U+FFFD and say how many, rather than misreading the whole file.
    high = len(data.translate(None, bytes(range(128))))  # bytes >= 0x80
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    if bad and high - bad >= 20 * bad:
        return _check_text(lenient), "utf-8", [
            {"code": "ingest.invalid_bytes", "params": {"count": bad}}
        ]

    scored = []
    for label, codec in (("gb18030", "gb18030"), ("big5", "cp950")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        scored.append((_han_score(text), label, text))
    western = None
    try:
        text = data.decode("cp1252")
        if _western_plausible(text):
            western = text
    except UnicodeDecodeError:
        pass

    if scored:
        # best score first; on a tie prefer gb18030 (listed first)
        scored.sort(key=lambda item: -item[0])
        score, label, text = scored[0]
        if score >= 0.3 or western is None:
            warnings = []
            if score < 0.3:
                warnings.append({"code": "ingest.encoding_uncertain", "params": {"encoding": label}})
            return _check_text(text), label, warnings
    if western is not None:
        return _check_text(western), "cp1252", [
            {"code": "ingest.encoding_western", "params": {"encoding": "cp1252"}}
        ]
    raise ChurnCoreError(
        "ingest.unknown_encoding",
        "The file's text encoding was not recognised (tried UTF-8, UTF-16, GB18030/GBK, Big5). "
        "Save it as CSV UTF-8 and upload it again.",
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


def _han_score(text):
    """Share of non-ASCII characters that are common Chinese characters or punctuation."""
    sample = text[:200_000]
    nonascii = [ch for ch in sample if ord(ch) > 127]
    if not nonascii:
        return 1.0
    good = sum(1 for ch in nonascii if ch in _COMMON_HAN or ch in _CJK_PUNCT)
    return good / len(nonascii)


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
    return header, columns, accepted, rejects, blank_lines, warnings


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
            if first is None:
                first = rec
            last = rec
        elif n > ncols and not "".join(rec[ncols:]).strip():
            accepted += 1
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
            "data_rows": data_rows, "plus_one": plus_one}


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
# types

_DOT_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DOT_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_COMMA_NUM = r"[+-]?(?:\d+(?:,\d*)?|,\d+)"
_COMMA_THOUSANDS = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"
_DOT_RE = f"(?:{_DOT_NUM}|{_DOT_THOUSANDS})"
_COMMA_RE = f"(?:{_COMMA_NUM}|{_COMMA_THOUSANDS})"
_LEADING_ZERO_RE = r"[+-]?0[0-9]"
_UNIT_RE = r"[+-]?\s*[$€£¥￥]\s*[0-9.,]+|[+-]?[0-9.,]+\s*(?:%|€)"
_UNIT_STRIP_RE = r"^([+-]?)\s*[$€£¥￥]\s*|\s*(?:%|€)$"
_DATE_HINT_RE = r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_FORMATS_ISO = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
]
_DATE_FORMATS_DMY = ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
_DATE_FORMATS_MDY = ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"]


def _build_frame(names, columns, n_rows, delimiter):
    """Turn string columns (pyarrow) into a typed frame; returns (df, column_types, decimal, warnings)."""
    stripped = {name: pc.utf8_trim_whitespace(col) for name, col in zip(names, columns)}

    # number format: per column which conventions fit, then a file-level decimal mark for the
    # ambiguous ones ("1,234" is 1234 in a dot file and 1.234 in a decimal-comma file).
    fits, present, units = {}, {}, {}
    dot_votes = comma_votes = 0
    for name, s in stripped.items():
        blank = pc.equal(s, "")
        tokens = pc.is_in(s, value_set=_NA_SET)
        mask = pc.invert(pc.or_(blank, tokens))
        values = pc.filter(s, mask)
        fit = _number_fit(values)
        if not (fit["dot"] or fit["comma"]) and len(values) and _all_match(values.slice(0, 1000), _UNIT_RE):
            # amounts written with a currency sign or a percent sign: "$1,234.50", "¥800", "12.5%"
            bare = pc.replace_substring_regex(values, _UNIT_STRIP_RE, r"\1")
            bare_fit = _number_fit(bare)
            if bare_fit["dot"] or bare_fit["comma"]:
                s = stripped[name] = pc.replace_substring_regex(s, _UNIT_STRIP_RE, r"\1")
                values, fit = bare, bare_fit
                units[name] = True
        present[name] = (blank, tokens, mask, values)
        fits[name] = fit
        if fit["dot"] and not fit["comma"]:
            dot_votes += 1
        elif fit["comma"] and not fit["dot"]:
            comma_votes += 1
    if comma_votes > dot_votes or (comma_votes == dot_votes and delimiter == ";" and comma_votes):
        decimal = ","
    elif dot_votes or delimiter != ";":
        decimal = "."
    else:
        decimal = ","

    out, types, warnings = {}, {}, []
    for name, s in stripped.items():
        series, kind, note = _type_column(s, present[name], fits[name], decimal)
        series.name = name
        out[name] = series
        types[name] = kind
        if units.get(name) and kind in ("integer", "float"):
            warnings.append({"code": "ingest.units_removed", "params": {"column": name}})
        if note:
            note["params"]["column"] = name
            warnings.append(note)
    df = pd.DataFrame(out, columns=names, index=pd.RangeIndex(n_rows)) if names else pd.DataFrame()
    if not df.columns.is_unique:
        raise AssertionError("column names must be unique")
    return df, types, decimal, warnings


def _number_fit(values):
    """Which number conventions fit every value: ``dot`` (1,234.5), ``comma`` (1.234,5).

    Cheap first: a float cast succeeds on plain numbers; regexes run on a sample before the
    whole column, so text columns cost little.
    """
    fit = {"dot": False, "comma": False, "floats": None, "fraction": False}
    if len(values) == 0 or _any_match(values, _LEADING_ZERO_RE, anchored_end=False):
        return fit
    sample = values.slice(0, 1000)
    floats = None
    if _castable(sample):
        try:
            floats = pc.cast(values, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            floats = None
    if floats is not None and pc.all(pc.is_finite(floats)).as_py() is not False:
        fraction = bool(pc.any(pc.match_substring_regex(values, "[.eE]")).as_py())
        fit.update(dot=True, floats=floats, fraction=fraction)
        fit["comma"] = (not fraction) or (_all_match(sample, _COMMA_RE) and _all_match(values, _COMMA_RE))
        return fit
    if not (_all_match(sample, _DOT_RE) or _all_match(sample, _COMMA_RE)):
        return fit
    fit["dot"] = _all_match(values, _DOT_RE)
    fit["comma"] = _all_match(values, _COMMA_RE)
    return fit


def _castable(values):
    try:
        pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _all_match(values, pattern):
    return bool(pc.all(pc.match_substring_regex(values, f"^(?:{pattern})$")).as_py())


def _any_match(values, pattern, anchored_end=True):
    end = "$" if anchored_end else ""
    return bool(pc.any(pc.match_substring_regex(values, f"^(?:{pattern}){end}")).as_py())


def _type_column(s, present, fit, decimal):
    blank, tokens, mask, values = present
    n = len(s)
    if pc.all(blank).as_py() or n == 0:
        kind = "empty" if n else "text"
        if n == 0:
            return pd.Series(pd.array([], dtype="str")), "text", None
        return pd.Series(np.full(n, np.nan)), kind, None
    missing_tokens = int(pc.sum(tokens).as_py() or 0)
    note = _token_note(missing_tokens) if missing_tokens else None
    if len(values) == 0:
        return _as_text(s, blank), "text", None
    kept = pc.if_else(mask, s, pa.scalar(None, pa.string()))

    dot, comma = fit["dot"], fit["comma"]
    if dot or comma:
        use_comma = comma and (not dot or decimal == ",")
        numbers = None
        if not use_comma and fit["floats"] is not None:
            numbers, has_fraction = fit["floats"], fit["fraction"]
        else:
            if use_comma:
                cleaned = pc.replace_substring(pc.replace_substring(values, ".", ""), ",", ".")
                has_fraction = bool(pc.any(pc.match_substring(values, ",")).as_py())
            else:
                cleaned = pc.replace_substring(values, ",", "")
                has_fraction = bool(pc.any(pc.match_substring_regex(values, "[.eE]")).as_py())
            try:
                numbers = pc.cast(cleaned, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                numbers = None
            if numbers is not None and pc.all(pc.is_finite(numbers)).as_py() is False:
                numbers = None
        if numbers is not None:
            arr = numbers.to_numpy(zero_copy_only=False)
            complete = len(arr) == n
            if not has_fraction:
                if len(arr) and np.abs(arr).max() > 2**53:
                    return _as_text(s, blank), "text", None
                if complete:
                    return pd.Series(arr.astype("int64")), "integer", note
            full = np.full(n, np.nan)
            full[mask.to_numpy(zero_copy_only=False)] = arr
            return pd.Series(full), ("float" if has_fraction else "integer"), note

    sample_lower = pc.utf8_lower(values.slice(0, 1000))
    if set(pc.unique(sample_lower).to_pylist()) <= {"true", "false"}:
        lower = pc.utf8_lower(values)
        if set(pc.unique(lower).to_pylist()) <= {"true", "false"}:
            flags = pc.equal(pc.utf8_lower(kept), "true")
            return pd.Series(flags.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)), \
                "boolean", note

    first = values[0].as_py()
    if re.fullmatch(_DATE_HINT_RE, first) and _all_match(values, _DATE_HINT_RE):
        parsed, fmt_note = _parse_dates(values.to_pandas(), decimal)
        if parsed is not None:
            result = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype=parsed.dtype)
            positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            result.iloc[positions] = parsed.to_numpy()
            return result, "date", fmt_note or note

    return _as_text(s, blank), "text", None


def _token_note(count):
    return {"code": "ingest.missing_tokens", "params": {"count": int(count)}}


def _as_text(s, blank):
    """Text column (pandas ``str``): blank -> missing; NA-like tokens stay (``None`` may be a category)."""
    text = pc.if_else(blank, pa.scalar(None, pa.string()), s)
    return pd.Series(text.to_pandas())


def _parse_dates(values, decimal):
    def attempt(formats):
        for fmt in formats:
            parsed = pd.to_datetime(values, format=fmt, errors="coerce")
            if not parsed.isna().any():
                return parsed
        return None

    parsed = attempt(_DATE_FORMATS_ISO)
    if parsed is not None:
        return parsed, None
    dmy = attempt(_DATE_FORMATS_DMY)
    mdy = attempt(_DATE_FORMATS_MDY)
    if dmy is not None and mdy is not None:
        chosen = dmy if decimal == "," else mdy
        return chosen, {"code": "ingest.ambiguous_dates",
                        "params": {"order": "day-first" if decimal == "," else "month-first"}}
    if dmy is not None:
        return dmy, None
    if mdy is not None:
        return mdy, None
    return None, None


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
    return rows, {"sheet": payload.get("sheet"), "sheets": payload.get("sheets", [])}


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
    return header, columns, len(body), [], blank, []
