"""Data: load the customer history (and the current customers), say what each column means,
confirm the churn label, and take a first look.

Every user-supplied string (file and column names, cell values, the label and its value) is shown
as text: through ``ui.md`` (escaped inside a translated template), ``st.text`` or a dataframe.
"""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.data.ingest import load_file
from churn_core.data.meanings import MEANINGS, MONEY, apply_mapping, load_mapping, roles_with_mapping
from churn_core.data.profile import (
    build_category_churn_chart,
    compute_category_churn,
    compute_churn_spread,
    compute_profile,
)
from churn_core.data.roles import ROLES, detect_positive, label_to_binary, validate_label
from churn_core.errors import ChurnCoreError
from churn_core.sharing.formatting import number, pct
from studio import state, ui
from studio.i18n import current_lang, load_catalogue, t

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    "en": ROOT / "sample_data" / "customers.csv",
    "zh": ROOT / "sample_data" / "customers_zh_gbk.csv",
}
SAMPLE_KEYS = {"en": "data_use_sample", "zh": "data_use_sample_zh"}
TABLE_TYPES = ["csv", "txt", "tsv", "xlsx", "xls"]
UPLOAD_KEY = "data_upload"
CURRENT_KEY = "data_current_upload"
MAPPING_KEY = "data_mapping_upload"
LOADED_KEY = "_data_loaded_from"  # what the current dataset was parsed from (upload id / sample)
ERROR_KEY = "_data_error"  # (source key, error) of the last failed parse
SEEN_KEY = "_data_seen_upload"  # the upload (file id + options) already handled
CURRENT_SEEN_KEY = "_data_seen_current"
CURRENT_ERROR_KEY = "_data_current_error"
MAPPING_SEEN_KEY = "_data_seen_mapping"
MAPPING_MESSAGE_KEY = "_data_mapping_message"  # ("ok", n columns) or ("error", exc)
READING_KEY = "_data_reading"  # file name while a file is being read; still set = the read was cut off
PAGE_PREFIXES = ("data_", "_data_")
ENCODINGS = ["auto", "utf-8", "gb18030", "big5", "shift_jis", "euc-kr", "utf-16", "cp1252"]
DELIMITERS = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
PREVIEW_ROWS = 100
NO_LABEL = "\u2060(no label)"  # sentinel option; never a real column name
LEAK_REASONS = ("leakage", "post_outcome", "strong_predictor")


# ----------------------------------------------------------------------------- helpers

def show_error(exc):
    """A translated error box; the error's parameters (column names, values) are escaped."""
    code = getattr(exc, "code", None)
    params = getattr(exc, "params", {}) or {}
    key = f"error.{code}" if code else None
    if key and (key in load_catalogue(current_lang()) or key in load_catalogue("en")):
        st.error(ui.md(key, **params), icon=":material/error:")
    else:
        st.error(ui.escape_md(str(exc) or exc.__class__.__name__), icon=":material/error:")


def say(key, user=None, **plain):
    """``t(key)`` with the user-supplied values in ``user`` escaped and the app's own (``plain``) as is."""
    return t(key, **{k: ui.escape_md(v) for k, v in (user or {}).items()}, **plain)


def label_confirmed(ws):
    """True once the user confirmed the churn label (the Model page trains only then)."""
    return ws.roles_ is not None and ws.roles_.label is not None and bool(getattr(ws, "label_confirmed", False))


def set_label_confirmed(ws, confirmed):
    """Record the user's confirmation in the workspace (``Workspace.confirm_label`` when it exists)."""
    confirm = getattr(ws, "confirm_label", None)
    if confirmed and callable(confirm):
        confirm()
        return
    try:
        ws.label_confirmed = bool(confirmed)
    except AttributeError:  # a read-only property kept by the workspace itself
        pass


def meaning_name(code):
    if code is None:
        return t("data.meanings.none")
    m = MEANINGS[code]
    return m.zh_name if current_lang() == "zh" else m.en


# ----------------------------------------------------------------------------- 1. load

def read_and_keep(source, filename, source_key, **options):
    """Parse once, keep the dataset in the workspace (errors kept for display)."""
    text = ui.md("data.reading", name=filename)  # progress texts are Markdown: the name is escaped
    bar = st.progress(0.0, text=text)
    # set until the file is read (or refused): leaving the page mid-read interrupts this run and
    # leaves it behind, so the next visit says so (see interrupted_notice)
    st.session_state[READING_KEY] = filename

    def progress(fraction, code):
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    try:
        load = load_file(source, filename, progress=progress, **options)
    except ChurnCoreError as exc:
        st.session_state[ERROR_KEY] = (source_key, exc)
        st.session_state.pop(READING_KEY, None)
        return
    except MemoryError:
        st.session_state[ERROR_KEY] = (source_key, ChurnCoreError(
            "ingest.out_of_memory", "The file is too large to read in memory."))
        st.session_state.pop(READING_KEY, None)
        return
    finally:
        bar.empty()
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[LOADED_KEY] = source_key
    ws = state.get_workspace()
    same_table = ws.has_data and ws.load_.fingerprint == load.fingerprint and \
        list(ws.df.columns) == list(load.df.columns)
    if same_table:
        # the same file read again (other reading options): keep the user's label and meanings
        roles, meanings = ws.roles_, ws.meanings_
        state.set_dataset(load, roles)
        state.set_meanings(meanings)
    else:
        state.set_dataset(load, None)
        set_label_confirmed(ws, False)  # a detected label is a guess until the user confirms it
        # a current-customers file still in its uploader applies to the new history too
        st.session_state.pop(CURRENT_SEEN_KEY, None)
        st.session_state.pop(CURRENT_ERROR_KEY, None)
        st.session_state.pop(MAPPING_MESSAGE_KEY, None)
    st.session_state.pop(READING_KEY, None)
    st.rerun()  # so the sidebar (drawn before this page) shows the new dataset


def reading_options():
    with st.expander(t("data.options")):
        a, b, c = st.columns(3)
        lang = current_lang()
        encoding = ui.choose(a.selectbox, t("data.options.encoding"), ENCODINGS,
                             lambda v: t("data.options.auto") if v == "auto" else v,
                             key=f"data_opt_encoding_{lang}")
        delimiter = ui.choose(b.selectbox, t("data.options.delimiter"), list(DELIMITERS),
                              lambda v: t(f"data.delim.{v}"), key=f"data_opt_delimiter_{lang}")
        sheet = c.text_input(t("data.options.sheet"), key="data_opt_sheet", help=t("data.options.sheet_help"))
        reject = st.checkbox(t("data.options.reject_bad"), key="data_opt_reject_bad",
                             help=t("data.options.reject_bad_help"))
    options = {}
    if encoding != "auto":
        options["encoding"] = encoding
    if DELIMITERS[delimiter]:
        options["delimiter"] = DELIMITERS[delimiter]
    if sheet.strip():
        options["sheet"] = sheet.strip()
    if reject:
        options["reject_bad_values"] = True
    return options


def source_panel():
    """The sample (the Chinese one first in 中文) or an upload; each source is parsed once."""
    order = ["zh", "en"] if current_lang() == "zh" else ["en", "zh"]
    left, right = st.columns([1, 2])
    with left:
        st.markdown(f"**{t('data.sample.title')}**")
        st.caption(t("data.sample.help"))
        labels = {"en": (t("data.sample.use"), ":material/account_balance:"),
                  "zh": (t("data.sample.use_zh"), ":material/translate:")}
        clicked = {}
        for i, lang in enumerate(order):
            label, icon = labels[lang]
            clicked[lang] = st.button(label, key=SAMPLE_KEYS[lang], icon=icon,
                                      type="primary" if i == 0 else "secondary")
    with right:
        st.caption(t("data.upload_hint"))
        upload = st.file_uploader(t("data.upload"), type=TABLE_TYPES, key=UPLOAD_KEY, help=t("data.upload_help"))
    options = reading_options()
    option_key = tuple(sorted(options.items()))
    # an upload is parsed once (per file and reading options), even if it failed or the user
    # switched to the sample afterwards: reruns never parse it again
    upload_key = ("upload", upload.file_id, option_key) if upload is not None else None
    new_upload = upload_key is not None and st.session_state.get(SEEN_KEY) != upload_key
    if upload_key is not None:
        st.session_state[SEEN_KEY] = upload_key
    else:
        error = st.session_state.get(ERROR_KEY)
        if error is not None and error[0][0] == "upload":
            st.session_state.pop(ERROR_KEY)  # the bad file was removed from the uploader
    for lang in order:
        if clicked[lang]:
            path = SAMPLES[lang]
            read_and_keep(path, path.name, ("sample", lang, option_key), **options)
            return
    if new_upload:
        read_and_keep(upload.getvalue(), upload.name, upload_key, **options)


def interrupted_notice():
    """A read cut off in an earlier run (the user left the page mid-upload): say so, ask again."""
    name = st.session_state.get(READING_KEY)
    if name is not None:
        st.warning(ui.md("data.upload_interrupted", name=name), icon=":material/warning:")


def load_error():
    error = st.session_state.get(ERROR_KEY)
    if error is not None:
        show_error(error[1])


def delimiter_name(delimiter):
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    if delimiter is None:
        return "–"
    return t(f"data.delim_short.{names[delimiter]}") if delimiter in names else repr(delimiter)


def warning_text(warning):
    """One ingestion warning as a translated sentence; its values escaped (never live Markdown)."""
    code = warning.get("code", "")
    user, plain = {}, {}
    for k, val in (warning.get("params") or {}).items():
        if isinstance(val, dict):
            user[k] = ", ".join(f"{v}" for v in val.values())
        elif isinstance(val, (list, tuple)):
            user[k] = ", ".join(f"{v}" for v in val)
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            plain[k] = number(val)
        else:
            user[k] = val
    if "order" in user:
        plain["order"] = t(f"data.order.{user.pop('order')}")
    if "expected" in user:
        plain["expected"] = t(f"data.expected.{user.pop('expected')}")
    key = f"data.warn.{code}"
    if key in load_catalogue("en"):
        return say(key, user, **plain)
    detail = "; ".join(f"{k} = {v}" for k, v in {**user, **plain}.items())
    return say("data.warn.other", {"code": code, "detail": detail})


def reading_facts(load):
    st.subheader(ui.md("data.facts.title", name=load.source_name))
    cols = st.columns(5)
    if load.format == "xlsx":
        cols[0].metric(t("data.facts.format"), "Excel (.xlsx)")
        cols[1].metric(t("data.facts.sheet"), load.sheet or "–")
    else:
        cols[0].metric(t("data.facts.encoding"), load.encoding or "–")
        cols[1].metric(t("data.facts.delimiter"), delimiter_name(load.delimiter))
    cols[2].metric(t("data.facts.rows_in_file"), number(load.rows_in_file))
    cols[3].metric(t("data.facts.rows_loaded"), number(load.rows_loaded))
    cols[4].metric(t("data.facts.rows_rejected"), number(load.rows_rejected))
    st.caption(t("data.facts.accounting", file=number(load.rows_in_file), loaded=number(load.rows_loaded),
                 rejected=number(load.rows_rejected), columns=number(load.df.shape[1])))
    for warning in load.warnings:
        st.warning(warning_text(warning), icon=":material/info:")
    bad = getattr(load, "bad_values", None)
    if bad is not None and len(bad):
        with st.expander(t("data.bad_values.title", count=number(len(bad)))):
            st.caption(t("data.bad_values.help"))
            shown = bad.assign(expected=bad["expected"].map(lambda e: t(f"data.expected.{e}")))
            shown = shown.rename(columns={c: t(f"data.bad_values.{c}") for c in shown.columns})
            st.dataframe(shown.head(1000), hide_index=True, width="stretch")
            ui.download_buttons(shown, "values_that_do_not_fit", key="data_bad_values")
    if load.rows_rejected:
        with st.expander(t("data.rejects.title", count=number(load.rows_rejected)), expanded=True):
            st.caption(t("data.rejects.help"))
            shown = load.rejects.copy()
            engine_detail = shown["detail"] if "detail" in shown else pd.Series("", index=shown.index)
            shown["detail"] = [str(d) if r == "bad_value" else t("data.detail.fields", fields=f, expected=e)
                               for r, d, f, e in zip(shown["reason"], engine_detail, shown["fields"], shown["expected"])]
            shown["reason"] = shown["reason"].map(lambda r: t(f"data.reason.{r}"))
            shown = shown[["line", "reason", "detail", "raw"]]
            shown = shown.rename(columns={c: t(f"data.rejects.{c}") for c in shown.columns})
            st.dataframe(shown.head(1000), hide_index=True, width="stretch")
            ui.download_buttons(shown, "rejected_rows", key="data_rejects")


def preview(load):
    st.subheader(t("data.preview.title"))
    st.caption(t("data.preview.caption", rows=number(min(PREVIEW_ROWS, load.rows_loaded)),
                 total=number(load.rows_loaded)))
    head = load.df.head(PREVIEW_ROWS)
    st.dataframe(head, width="stretch", column_config=date_columns(head))


def date_columns(frame):
    """Show date-only columns without a 00:00:00 time."""
    config = {}
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind == "M":
            values = series.dropna()
            if len(values) == 0 or (values == values.dt.normalize()).all():
                config[column] = st.column_config.DateColumn(format="YYYY-MM-DD")
    return config


# ----------------------------------------------------------------------------- 2. the label

def label_problem(df, label):
    """The engine's objection to ``label`` as the churn column (a ChurnCoreError), or None."""
    try:
        validate_label(df[label], label)
    except ChurnCoreError as exc:
        return exc
    return None


def churn_summary(df, label, positive):
    try:
        y = label_to_binary(df[label], positive).dropna()
    except ChurnCoreError:  # the churned value does not occur in the column
        return None
    if not len(y):
        return None
    return {"churned": number(int(y.sum())), "rate": pct(float(y.mean()))}


def label_section(ws):
    """Never a silent guess: show the detected label, ask to confirm it or choose another."""
    st.subheader(t("data.label.title"))
    df, roles = ws.df, ws.roles_
    confirmed = label_confirmed(ws)
    if roles.label is None:
        st.warning(t("data.label.none"), icon=":material/warning:")
    elif confirmed:
        summary = churn_summary(df, roles.label, roles.positive)
        if summary:
            st.success(say("data.label.summary", {"column": roles.label, "positive": roles.positive}, **summary),
                       icon=":material/check_circle:")
    else:
        summary = churn_summary(df, roles.label, roles.positive) or {"churned": "0", "rate": pct(0)}
        st.warning(say("data.label.detected", {"column": roles.label, "positive": roles.positive}, **summary),
                   icon=":material/help:")

    key = state.get_dataset().key
    options = [NO_LABEL] + [str(c) for c in df.columns]
    names = {c: c for c in options}
    names[NO_LABEL] = t("data.label.no_label")
    current = options.index(roles.label) if roles.label in options else 0
    left, right = st.columns(2)
    label = left.selectbox(t("data.label.column"), options, index=current,
                           key=f"data_label_{key}_{current_lang()}", format_func=names.get)
    label = None if label == NO_LABEL else label
    positive, problem = None, None
    if label is not None:
        problem = label_problem(df, label)
        if problem is None:
            values = list(pd.Series(df[label].dropna().unique()))
            default = roles.positive if label == roles.label else detect_positive(df[label])
            keys = [str(v) for v in values]
            index = keys.index(str(default)) if default is not None and str(default) in keys else 0
            positive = right.selectbox(t("data.label.positive"), values, index=index,
                                       key=f"data_positive_{key}_{label}", format_func=str)
        else:
            show_error(problem)  # one class (named with its value), empty, or more than 20 values
    button = t("data.label.confirm") if label is not None and label == roles.label and not confirmed \
        else t("data.label.apply")
    if st.button(button, key="data_label_apply", type="primary" if not confirmed else "secondary",
                 disabled=problem is not None):
        if positive is not None and hasattr(positive, "item"):
            positive = positive.item()
        state.set_roles(roles.with_label(label, positive))
        set_label_confirmed(ws, label is not None)
        st.rerun()
    if roles.label is not None:
        suspected_leaks(ws)


def compute_leaks(ws):
    """The training gate of the current label, cached per data key (shared with the Model page)."""
    from churn_core.modeling.prep import compute_gate

    ds = state.get_dataset()
    roles = ds.roles
    key = f"model_gate:{ds.key}:{roles.label}:{roles.positive}"
    gate = state.get_result(key)
    if gate is None:
        with st.spinner(t("data.leaks.running")):
            gate = compute_gate(ds.df, label=roles.label, positive=roles.positive, roles=roles)
        state.set_result(key, gate)
    return gate


def leak_columns(gate):
    """``{column: reason}`` of columns that nearly determine the label (or are recorded after it)."""
    out = {c: r for c, r in gate.excluded.items() if r in LEAK_REASONS}
    out.update({c: r for c, r in gate.flagged.items() if r in LEAK_REASONS})
    return out


def suspected_leaks(ws):
    """Mark columns that nearly give the answer away, before anyone trains."""
    try:
        validate_label(ws.df[ws.roles_.label], ws.roles_.label)
        gate = compute_leaks(ws)
    except ChurnCoreError as exc:
        show_error(exc)
        return
    leaks = leak_columns(gate)
    if not leaks:
        st.caption(t("data.leaks.none"))
        return
    st.warning(say("data.leaks.found", {"columns": ", ".join(map(str, leaks))}, count=number(len(leaks))),
               icon=":material/warning:")
    table = pd.DataFrame({
        t("data.leaks.column"): [str(c) for c in leaks],
        t("data.leaks.alone"): [f"{gate.leak_auc[c]:.2f}" if c in gate.leak_auc else "–" for c in leaks],
        t("data.leaks.reason"): [t(f"data.leaks.reason.{r}") for r in leaks.values()],
        t("data.leaks.action"): [t("data.leaks.excluded") if c in gate.excluded else t("data.leaks.kept")
                                 for c in leaks],
    })
    st.dataframe(table, hide_index=True, width="stretch")


# ----------------------------------------------------------------------------- 3. column meanings

def meanings_table(ws):
    """One row per column (label and ids aside): its meaning, how sure, actionable, protected."""
    cm = ws.meanings_
    skip = {ws.roles_.label, *ws.roles_.id_columns}
    rows = []
    for info in cm.infos:
        if info.column in skip:
            continue
        sure = "" if info.meaning is None else t("data.meanings.high" if info.confidence >= 0.95
                                                 else "data.meanings.medium")
        rows.append({"column": info.column, "meaning": meaning_name(info.meaning), "sure": sure,
                     "actionable": bool(info.actionable), "protected": bool(info.protected)})
    return pd.DataFrame(rows, columns=["column", "meaning", "sure", "actionable", "protected"])


def margins_table(ws):
    """One row per money column: its meaning and yearly margin in percent."""
    cm = ws.meanings_
    rows = [{"column": column, "meaning": meaning_name(cm.meaning_of(column)), "margin": round(margin * 100, 4)}
            for column, margin in cm.money().items()]
    return pd.DataFrame(rows, columns=["column", "meaning", "margin"])


def meanings_from_tables(cm, before, after, margins_before, margins_after):
    """The corrected ColumnMeanings from the edited tables (meanings first, then flags, then margins)."""
    codes = {meaning_name(None): None}
    codes.update({meaning_name(code): code for code in MEANINGS})
    out = cm
    rows = list(zip(before.to_dict("records"), after.to_dict("records")))
    for old, new in rows:
        code = codes.get(new["meaning"], cm.meaning_of(old["column"]))
        if code != out.meaning_of(old["column"]):
            out = out.with_meaning(old["column"], code)
    for old, new in rows:
        column = old["column"]
        changed = (bool(new["actionable"]) != old["actionable"], bool(new["protected"]) != old["protected"])
        if any(changed):
            out = out.with_flags(column, actionable=bool(new["actionable"]) if changed[0] else None,
                                 protected=bool(new["protected"]) if changed[1] else None)
    for old, new in zip(margins_before.to_dict("records"), margins_after.to_dict("records")):
        margin = new["margin"]
        if out.meaning_of(old["column"]) in MONEY and pd.notna(margin) and float(margin) != float(old["margin"]):
            out = out.with_margin(old["column"], float(margin) / 100)
    return out


def meanings_section(ws):
    st.subheader(t("data.meanings.title"))
    st.caption(t("data.meanings.help"))
    before = meanings_table(ws)
    choices = [meaning_name(None)] + sorted({meaning_name(code) for code in MEANINGS})
    state_key = f"{ws.load_.fingerprint[:12]}_{ws.meanings_.fingerprint()}_{current_lang()}"
    after = st.data_editor(
        before, key=f"data_meanings_{state_key}", hide_index=True, width="stretch", num_rows="fixed",
        column_config={
            "column": st.column_config.TextColumn(t("data.meanings.column"), disabled=True),
            "meaning": st.column_config.SelectboxColumn(t("data.meanings.meaning"), options=choices,
                                                        required=True, help=t("data.meanings.meaning_help")),
            "sure": st.column_config.TextColumn(t("data.meanings.sure"), disabled=True),
            "actionable": st.column_config.CheckboxColumn(t("data.meanings.actionable"),
                                                          help=t("data.meanings.actionable_help")),
            "protected": st.column_config.CheckboxColumn(t("data.meanings.protected"),
                                                         help=t("data.meanings.protected_help")),
        })
    margins_before = margins_table(ws)
    margins_after = margins_before
    if len(margins_before):
        st.markdown(f"**{t('data.margins.title')}**")
        st.caption(t("data.meanings.margin_help"))
        margins_after = st.data_editor(
            margins_before, key=f"data_margins_{state_key}", hide_index=True, width="stretch", num_rows="fixed",
            column_config={
                "column": st.column_config.TextColumn(t("data.meanings.column"), disabled=True),
                "meaning": st.column_config.TextColumn(t("data.meanings.meaning"), disabled=True),
                "margin": st.column_config.NumberColumn(t("data.meanings.margin"), min_value=0.0, max_value=10000.0,
                                                        format="%.2f%%", required=True,
                                                        help=t("data.meanings.margin_help")),
            })
    if st.button(t("data.meanings.apply"), key="data_meanings_apply", icon=":material/check:"):
        corrected = meanings_from_tables(ws.meanings_, before, after, margins_before, margins_after)
        if corrected != ws.meanings_:
            state.set_meanings(corrected)
            st.session_state[MAPPING_MESSAGE_KEY] = ("applied", None)
            st.rerun()
    mapping_files(ws)


def mapping_files(ws):
    """Save the map as JSON (a bank maps its export once) and apply a saved one."""
    left, right = st.columns(2)
    with left:
        st.download_button(t("data.mapping.download"), data=mapping_bytes(ws), file_name="column_mapping.json",
                           mime="application/json", key="data_mapping_download", icon=":material/download:")
        st.caption(t("data.mapping.download_help"))
    with right:
        upload = st.file_uploader(t("data.mapping.upload"), type=["json"], key=MAPPING_KEY,
                                  help=t("data.mapping.upload_help"))
    if upload is not None and st.session_state.get(MAPPING_SEEN_KEY) != upload.file_id:
        st.session_state[MAPPING_SEEN_KEY] = upload.file_id
        try:
            data = load_mapping(upload.getvalue())
            # check everything before changing anything: a bad mapping leaves the workspace as it was
            apply_mapping(ws.meanings_, json.loads(json.dumps(data)), columns=ws.df.columns)
            roles_with_mapping(ws.roles_, ws.df, data)
            ws.apply_mapping(data)
            if data.get("label"):
                set_label_confirmed(ws, True)  # a mapping that names the label is the user's choice
            st.session_state[MAPPING_MESSAGE_KEY] = ("ok", len(data.get("columns", {})))
        except ChurnCoreError as exc:
            st.session_state[MAPPING_MESSAGE_KEY] = ("error", exc)
        except UnicodeDecodeError:
            st.session_state[MAPPING_MESSAGE_KEY] = ("error", ChurnCoreError(
                "meanings.bad_mapping", "The column mapping is not UTF-8 JSON."))
        st.rerun()
    message = st.session_state.get(MAPPING_MESSAGE_KEY)
    if message is not None:
        kind, value = message
        if kind == "error":
            show_error(value)
        elif kind == "ok":
            st.success(t("data.mapping.applied", count=number(value)), icon=":material/check_circle:")
        else:
            st.success(t("data.meanings.applied"), icon=":material/check_circle:")


def mapping_bytes(ws):
    """The mapping file the download gives (UTF-8 JSON of ``ws.mapping()``)."""
    return json.dumps(ws.mapping(), ensure_ascii=False, indent=1).encode("utf-8")


# ----------------------------------------------------------------------------- 4. roles

def examples(series):
    values = series.dropna().unique()[:3]
    if series.dtype.kind == "M":
        return ", ".join(pd.Timestamp(v).strftime("%Y-%m-%d") for v in values)
    return ", ".join(str(v) for v in values)


def type_label(kind):
    return t(f"data.type.{kind}") if kind else ""


def role_label(role):
    return t(f"data.role.{role}")


def roles_section(ds):
    with st.expander(t("data.roles.title")):
        st.caption(t("data.roles.help"))
        roles, df = ds.roles, ds.df
        table = pd.DataFrame({
            t("data.roles.column"): [str(c) for c in roles.roles],
            t("data.roles.role"): [role_label(r) for r in roles.roles.values()],
            t("data.roles.type"): [type_label(ds.load.column_types.get(c)) for c in roles.roles],
            t("data.roles.example"): [examples(df[c].head(2000)) for c in roles.roles],
        })
        st.dataframe(table, hide_index=True, width="stretch")
        st.markdown(f"**{t('data.roles.change')}**")
        left, right = st.columns(2)
        column = left.selectbox(t("data.roles.column"), list(df.columns), key="data_role_column")
        choices = [r for r in ROLES if r != "label"]
        current = roles.roles.get(column)
        role_names = {r: role_label(r) for r in choices}
        role = right.selectbox(t("data.roles.new_role"), choices,
                               index=choices.index(current) if current in choices else 0,
                               key=f"data_role_value_{column}_{current_lang()}", format_func=role_names.get)
        if st.button(t("data.roles.apply"), key="data_role_apply"):
            state.set_roles(roles.with_role(column, role))
            st.rerun()


# ----------------------------------------------------------------------------- 5. current customers

def current_section(ws):
    """An optional second upload: the customers to act on this month (the label is ignored)."""
    st.subheader(t("data.current.title"))
    st.caption(t("data.current.help"))
    upload = st.file_uploader(t("data.current.upload"), type=TABLE_TYPES, key=CURRENT_KEY,
                              help=t("data.current.upload_help"))
    if upload is not None and st.session_state.get(CURRENT_SEEN_KEY) != upload.file_id:
        st.session_state[CURRENT_SEEN_KEY] = upload.file_id
        st.session_state.pop(CURRENT_ERROR_KEY, None)
        try:
            with st.spinner(ui.md("data.reading", name=upload.name)):
                ws.set_current(load_file(upload.getvalue(), upload.name))
        except ChurnCoreError as exc:
            st.session_state[CURRENT_ERROR_KEY] = exc
        except MemoryError:
            st.session_state[CURRENT_ERROR_KEY] = ChurnCoreError("ingest.out_of_memory", "Too large.")
        st.rerun()  # the sidebar shows the current customers
    error = st.session_state.get(CURRENT_ERROR_KEY)
    if error is not None:
        show_error(error)
    if ws.current_ is not None:
        st.markdown(say("data.current.loaded", {"name": ws.current_.source_name},
                        rows=number(ws.current_.rows_loaded)))
        if st.button(t("data.current.remove"), key="data_current_remove", icon=":material/delete:"):
            ws.clear_current()
            st.session_state.pop(CURRENT_ERROR_KEY, None)
            st.rerun()
    book = ws.describe_book()
    st.info(t(f"data.book.{book['source']}", customers=number(book["customers"]),
              snapshot=book["snapshot"] or "–"), icon=":material/groups:")


# ----------------------------------------------------------------------------- 6. profile

def telling_column(ds, candidates, leaks):
    """Default column for churn by category: where churn differs most, leak columns aside."""
    cached = st.session_state.get("_data_telling")
    if not cached or cached[0] != ds.key:
        spread = compute_churn_spread(ds.df, ds.roles)
        cached = (ds.key, [c for c in spread["column"] if c not in leaks])
        st.session_state["_data_telling"] = cached
    best = [c for c in cached[1] if c in candidates]
    safe = [c for c in candidates if c not in leaks]
    return best[0] if best else (safe or candidates)[0]


def profile_table(ds):
    cached = st.session_state.get("_data_profile")
    if not cached or cached[0] != ds.key:
        cached = (ds.key, compute_profile(ds.df, ds.roles))
        st.session_state["_data_profile"] = cached
    prof = cached[1].copy()
    prof["role"] = prof["role"].map(role_label)
    prof["dtype"] = prof["dtype"].map(type_label)
    for c in ("min", "mean", "max"):
        prof[c] = prof[c].round(2)
    prof["min"] = prof["min"].astype(object).where(prof["min"].notna(), prof["min_date"].str[:10])
    prof["max"] = prof["max"].astype(object).where(prof["max"].notna(), prof["max_date"].str[:10])
    prof = prof.drop(columns=["min_date", "max_date"])
    for c in ("min", "mean", "max"):
        prof[c] = prof[c].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else
                              (number(v, 2) if isinstance(v, float) else str(v)))
    prof["top"] = prof["top"].fillna("")
    prof["missing_pct"] = prof["missing_pct"] / 100  # shown as a percentage
    return prof.rename(columns={c: t(f"data.profile.{c}") for c in prof.columns})


def counts_config(*keys, percent=()):
    """Thousands separators for counts, percentages for rates (the browser's locale)."""
    config = {t(k): st.column_config.NumberColumn(format="localized") for k in keys}
    config.update({t(k): st.column_config.NumberColumn(format="percent") for k in percent})
    return config


def profile_section(ds):
    st.subheader(t("data.profile.title"))
    shown = profile_table(ds)
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config=counts_config("data.profile.missing", "data.profile.distinct",
                                             "data.profile.top_count", percent=("data.profile.missing_pct",)))
    ui.download_buttons(shown, "column_profile", key="data_profile")

    roles = ds.roles
    if roles.label is None or roles.positive is None:
        st.info(t("data.profile.need_label"))
        return
    candidates = roles.columns_with("categorical", "boolean", "numeric", "date")
    if not candidates:
        return
    gate = state.get_result(f"model_gate:{ds.key}:{roles.label}:{roles.positive}")
    leaks = leak_columns(gate) if gate is not None else {}
    st.markdown(f"**{t('data.churn_by.title')}**")
    default = telling_column(ds, candidates, leaks)
    column = st.selectbox(t("data.churn_by.column"), candidates, index=candidates.index(default),
                          key="data_churn_by")
    if column in leaks:
        st.warning(ui.md("data.churn_by.leak", column=column), icon=":material/warning:")
    frame = compute_category_churn(ds.df, roles, column)
    y = label_to_binary(ds.df[roles.label], roles.positive).dropna()
    overall = float(y.mean()) if len(y) else None
    names = {"(other)": t("data.churn_by.other"), "(missing)": t("data.churn_by.missing")}
    chart = build_category_churn_chart(
        frame, x_title=t("data.churn_by.rate"), y_title=str(column),
        customers_title=t("data.churn_by.customers"), overall_rate=overall, label_map=names)
    st.altair_chart(chart, width="stretch")
    if overall is not None:
        st.caption(t("data.churn_by.overall", rate=pct(overall)))
    table = frame.assign(value=frame["value"].map(lambda v: names.get(v, v)))
    table = table[["value", "customers", "churned", "churn_rate"]].rename(columns={
        "value": str(column), "customers": t("data.churn_by.customers"),
        "churned": t("data.churn_by.churned"), "churn_rate": t("data.churn_by.rate")})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config=counts_config("data.churn_by.customers", "data.churn_by.churned",
                                             percent=("data.churn_by.rate",)))


# ----------------------------------------------------------------------------- the page

st.title(t("data.title"))
st.caption(t("data.intro"))
with ui.error_boundary("data", prefixes=PAGE_PREFIXES):
    interrupted_notice()
    source_panel()
    load_error()
    workspace = state.get_workspace()
    if not workspace.has_data:
        st.info(t("data.empty_state"))
        st.stop()
    reading_facts(workspace.load_)
    preview(workspace.load_)
    label_section(workspace)
    meanings_section(workspace)
    roles_section(state.get_dataset())
    current_section(workspace)
    profile_section(state.get_dataset())
