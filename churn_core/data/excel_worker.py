"""Child process that parses an .xlsx workbook under an OS memory cap.

Run by ``churn_core.data.ingest`` as ``python -m churn_core.data.excel_worker MEMORY_BYTES MAX_COLUMNS [SHEET]``
with the workbook's bytes on stdin. It caps its own address space (``RLIMIT_AS``) and CPU time
before importing openpyxl, reads the sheet in read-only streaming mode (defusedxml guards against
entity bombs when installed), and writes one JSON object on stdout::

    {"sheet": name, "sheets": [...], "rows": [[excel_row, [cell text, ...]], ...],
     "formulas": {"count": n, "cells": ["B2", ...]}}   # formulas without cached values, if any

or ``{"error": code, "message": text, "params": {...}}``. A workbook that exhausts memory or time
kills only this process; the parent turns that into a clear error.
"""

import datetime as _dt
import io
import json
import math
import resource
import sys


def _cap(memory_bytes, cpu_seconds=900):
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ValueError, OSError):
        pass
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    except (ValueError, OSError):
        pass


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _emit(obj, code=0):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False))
    sys.stdout.flush()
    return code


def _error(code, message, **params):
    return _emit({"error": code, "message": message, "params": params}, 3)


def _declared_rows(ws):
    try:
        return int(ws.max_row or 0)
    except Exception:  # noqa: BLE001 - no usable <dimension>
        return 0


def _main_sheet(wb):
    """The first sheet, unless another one is far larger (a 'data dictionary' sheet comes first)."""
    sheets = [ws for ws in wb.worksheets if hasattr(ws, "iter_rows")]
    if not sheets:
        return wb.worksheets[0]
    first = sheets[0]
    if len(sheets) == 1:
        return first
    sizes = [_declared_rows(ws) for ws in sheets]
    best = max(range(len(sheets)), key=lambda i: sizes[i])
    return first if sizes[0] * 2 >= sizes[best] else sheets[best]


def parse(data, max_columns, sheet=None):
    """Rows of one sheet as ``(excel_row, [cell text])``, skipping nothing but fully empty rows."""
    import openpyxl  # imported after the memory cap

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    names = list(wb.sheetnames)
    if sheet:
        if sheet not in names:
            return {"error": "ingest.excel_no_sheet",
                    "message": f"The workbook has no sheet named {sheet!r}.",
                    "params": {"sheet": sheet, "sheets": ", ".join(names)}}
        ws = wb[sheet]
    else:
        ws = _main_sheet(wb)
    if not hasattr(ws, "iter_rows"):
        return {"error": "ingest.excel_no_sheet", "message": "The first sheet holds no table.",
                "params": {"sheet": str(ws.title), "sheets": ", ".join(names)}}
    declared = getattr(ws, "max_column", None)
    if declared and declared > max_columns:
        return {"error": "ingest.excel_too_wide",
                "message": f"The sheet spans {declared} columns (at most {max_columns}); it looks like a "
                           "stray cell far away from the table. Delete it or save the sheet as CSV.",
                "params": {"columns": int(declared), "limit": max_columns}}
    ws.reset_dimensions()  # do not trust <dimension>: stream what is really there
    rows = []
    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [_text(v) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        if len(cells) > max_columns:
            return {"error": "ingest.excel_too_wide",
                    "message": f"Row {number} reaches column {len(cells)} (at most {max_columns}); it looks "
                               "like a stray cell far away from the table. Delete it or save the sheet as CSV.",
                    "params": {"columns": len(cells), "limit": max_columns}}
        if cells:
            rows.append([number, cells])
    formulas = _formulas_without_values(ws)
    wb.close()
    out = {"sheet": ws.title, "sheets": names, "rows": rows}
    if formulas["count"]:
        out["formulas"] = formulas
    return out


FORMULA_CELLS_LISTED = 100
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _formulas_without_values(ws):
    """Cells holding a formula but no cached value (a workbook saved by a program that does not
    calculate): read with ``data_only`` they are empty, so they are counted and named here.

    Returns ``{"count": n, "cells": [first 100 cell references]}``.
    """
    result = {"count": 0, "cells": []}
    opener = getattr(ws, "_get_source", None)
    if opener is None:
        return result
    # cheap pre-check on the raw XML: most sheets have no formulas at all
    found, tail = False, b""
    with opener() as raw:
        while True:
            chunk = raw.read(1 << 20)
            if not chunk:
                break
            if b"<f>" in tail + chunk or b"<f " in tail + chunk or b":f>" in tail + chunk \
                    or b":f " in tail + chunk:
                found = True
                break
            tail = chunk[-4:]
    if not found:
        return result
    from xml.etree.ElementTree import iterparse

    with opener() as raw:
        for _, elem in iterparse(raw, events=("end",)):
            if elem.tag != _MAIN_NS + "c":
                continue
            formula = elem.find(_MAIN_NS + "f")
            if formula is not None:
                value = elem.find(_MAIN_NS + "v")
                inline = elem.find(_MAIN_NS + "is")
                if (value is None or not (value.text or "").strip()) and inline is None:
                    result["count"] += 1
                    if len(result["cells"]) < FORMULA_CELLS_LISTED:
                        result["cells"].append(elem.get("r") or "?")
            elem.clear()
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    memory_bytes = int(argv[0])
    max_columns = int(argv[1])
    sheet = argv[2] if len(argv) > 2 and argv[2] else None
    _cap(memory_bytes)
    data = sys.stdin.buffer.read()
    try:
        result = parse(data, max_columns, sheet)
    except MemoryError:
        return _error("ingest.excel_failed",
                      "The workbook needs more memory than allowed to read (it may be hostile); "
                      "save the sheet as CSV.")
    except Exception as exc:  # noqa: BLE001 - report any parser failure as one code
        name = exc.__class__.__name__
        chain, cause = [], exc
        while cause is not None and len(chain) < 10:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        unsafe = {"EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden"}
        if any(c.__class__.__name__ in unsafe or "entity" in str(c).lower() for c in chain):
            return _error("ingest.excel_unsafe",
                          "The workbook contains unsafe XML (entity declarations); it was not opened.")
        return _error("ingest.excel_unreadable",
                      f"The workbook could not be read ({name}); open it in Excel and save it again, "
                      "or save the sheet as CSV.", reason=name)
    if "error" in result:
        return _emit(result, 3)
    return _emit(result)


if __name__ == "__main__":
    sys.exit(main())
