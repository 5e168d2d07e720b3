"""Data: upload a customer file or use the sample; how it was read, rejects, roles, quick profile."""

from pathlib import Path

import pandas as pd
import streamlit as st

from churn_core.errors import ChurnCoreError
from churn_core.data.ingest import load_file
from churn_core.data.profile import (
    build_category_churn_chart,
    compute_category_churn,
    compute_churn_spread,
    compute_profile,
)
from churn_core.data.roles import ROLES, detect_positive, detect_roles, label_to_binary
from studio import state, ui
from studio.i18n import current_lang, t

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    "en": ROOT / "sample_data" / "customers.csv",
    "zh": ROOT / "sample_data" / "customers_zh_gbk.csv",
}
UPLOAD_KEY = "data_upload"
LOADED_KEY = "_data_loaded_from"  # what the current dataset was parsed from (upload id / sample)
ERROR_KEY = "_data_error"  # (source key, error) of the last failed parse
SEEN_KEY = "_data_seen_upload"  # the upload (file id + options) already handled
ENCODINGS = ["auto", "utf-8", "gb18030", "big5", "utf-16", "cp1252"]
DELIMITERS = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
PREVIEW_ROWS = 100
NO_LABEL = "\u2060(no label)"  # sentinel option; never a real column name


def read_and_keep(source, filename, source_key, **options):
    """Parse once, detect roles, keep the dataset in session state (errors kept for display)."""
    bar = st.progress(0.0, text=t("data.reading", name=filename))

    def progress(fraction, code):
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=t("data.reading", name=filename))

    try:
        load = load_file(source, filename, progress=progress, **options)
        roles = detect_roles(load.df)
    except ChurnCoreError as exc:
        st.session_state[ERROR_KEY] = (source_key, exc)
        return None
    except MemoryError:
        st.session_state[ERROR_KEY] = (source_key, ChurnCoreError("ingest.out_of_memory",
                                                                  "The file is too large to read in memory."))
        return None
    finally:
        bar.empty()
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[LOADED_KEY] = source_key
    state.set_dataset(load, roles)
    st.rerun()  # so the sidebar (drawn before this page) shows the new dataset


def options_from_widgets():
    with st.expander(t("data.options")):
        a, b, c = st.columns(3)
        # format_func must not call t(): AppTest (and reruns) call it outside the script run
        enc_names = {v: (t("data.options.auto") if v == "auto" else v) for v in ENCODINGS}
        delim_names = {v: t(f"data.delim.{v}") for v in DELIMITERS}
        lang = current_lang()
        encoding = a.selectbox(t("data.options.encoding"), ENCODINGS, key=f"data_opt_encoding_{lang}",
                               format_func=enc_names.get)
        delimiter = b.selectbox(t("data.options.delimiter"), list(DELIMITERS),
                                key=f"data_opt_delimiter_{lang}", format_func=delim_names.get)
        sheet = c.text_input(t("data.options.sheet"), key="data_opt_sheet",
                             help=t("data.options.sheet_help"))
    options = {}
    if encoding != "auto":
        options["encoding"] = encoding
    if DELIMITERS[delimiter]:
        options["delimiter"] = DELIMITERS[delimiter]
    if sheet.strip():
        options["sheet"] = sheet.strip()
    return options


def source_panel():
    left, right = st.columns([1, 2])
    with left:
        st.markdown(f"**{t('data.sample.title')}**")
        st.caption(t("data.sample.help"))
        use_en = st.button(t("data.sample.use"), key="data_use_sample",
                           icon=":material/account_balance:", type="primary")
        use_zh = st.button(t("data.sample.use_zh"), key="data_use_sample_zh", icon=":material/translate:")
    with right:
        upload = st.file_uploader(t("data.upload"), type=["csv", "txt", "tsv", "xlsx", "xls"],
                                  key=UPLOAD_KEY, help=t("data.upload_help"))
    options = options_from_widgets()
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
    for lang, clicked in (("en", use_en), ("zh", use_zh)):
        if clicked:
            path = SAMPLES[lang]
            read_and_keep(path, path.name, ("sample", lang, option_key), **options)
            return
    if new_upload:
        read_and_keep(upload.getvalue(), upload.name, upload_key, **options)


def delimiter_name(delimiter):
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    if delimiter is None:
        return "–"
    return t(f"data.delim_short.{names[delimiter]}") if delimiter in names else repr(delimiter)


def reading_facts(load):
    st.subheader(t("data.facts.title", name=load.source_name))
    cols = st.columns(5)
    if load.format == "xlsx":
        cols[0].metric(t("data.facts.format"), "Excel (.xlsx)")
        cols[1].metric(t("data.facts.sheet"), load.sheet or "–")
    else:
        cols[0].metric(t("data.facts.encoding"), load.encoding or "–")
        cols[1].metric(t("data.facts.delimiter"), delimiter_name(load.delimiter))
    cols[2].metric(t("data.facts.rows_in_file"), f"{load.rows_in_file:,}")
    cols[3].metric(t("data.facts.rows_loaded"), f"{load.rows_loaded:,}")
    cols[4].metric(t("data.facts.rows_rejected"), f"{load.rows_rejected:,}")
    st.caption(t("data.facts.accounting", file=f"{load.rows_in_file:,}", loaded=f"{load.rows_loaded:,}",
                 rejected=f"{load.rows_rejected:,}", columns=load.df.shape[1]))
    for warning in load.warnings:
        params = {k: (", ".join(f"{v}" for v in val.values()) if isinstance(val, dict) else val)
                  for k, val in warning.get("params", {}).items()}
        if "order" in params:
            params["order"] = t(f"data.order.{params['order']}")
        st.warning(t(f"data.warn.{warning['code']}", **params), icon=":material/info:")
    if load.rows_rejected:
        with st.expander(t("data.rejects.title", count=f"{load.rows_rejected:,}"), expanded=True):
            st.caption(t("data.rejects.help"))
            shown = load.rejects.copy()
            shown["detail"] = [t("data.detail.fields", fields=f, expected=e)
                               for f, e in zip(shown["fields"], shown["expected"])]
            shown["reason"] = shown["reason"].map(lambda r: t(f"data.reason.{r}"))
            shown = shown[["line", "reason", "detail", "raw"]]
            shown = shown.rename(columns={c: t(f"data.rejects.{c}") for c in shown.columns})
            st.dataframe(shown.head(1000), hide_index=True, width="stretch")
            ui.download_buttons(shown, "rejected_rows", key="data_rejects")


def preview(load):
    st.subheader(t("data.preview.title"))
    st.caption(t("data.preview.caption", rows=min(PREVIEW_ROWS, load.rows_loaded),
                 total=f"{load.rows_loaded:,}"))
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


def examples(series):
    values = series.dropna().unique()[:3]
    if series.dtype.kind == "M":
        return ", ".join(pd.Timestamp(v).strftime("%Y-%m-%d") for v in values)
    return ", ".join(str(v) for v in values)


def type_label(kind):
    return t(f"data.type.{kind}") if kind else ""


def role_label(role):
    return t(f"data.role.{role}")


def role_editor(ds):
    st.subheader(t("data.roles.title"))
    st.caption(t("data.roles.help"))
    roles = ds.roles
    df = ds.df
    table = pd.DataFrame({
        t("data.roles.column"): list(roles.roles),
        t("data.roles.role"): [role_label(r) for r in roles.roles.values()],
        t("data.roles.type"): [type_label(ds.load.column_types.get(c)) for c in roles.roles],
        t("data.roles.example"): [examples(df[c].head(2000)) for c in roles.roles],
    })
    st.dataframe(table, hide_index=True, width="stretch")

    label_col, change_col = st.columns(2)
    with label_col:
        st.markdown(f"**{t('data.label.title')}**")
        if roles.label is None:
            st.warning(t("data.label.none"), icon=":material/warning:")
        options = [NO_LABEL] + [str(c) for c in df.columns]
        names = {c: c for c in options}
        names[NO_LABEL] = t("data.label.no_label")
        current = options.index(roles.label) if roles.label in options else 0
        label = st.selectbox(t("data.label.column"), options, index=current, key=f"data_label_{ds.key}_{current_lang()}",
                             format_func=names.get)
        label = None if label == NO_LABEL else label
        positive = None
        if label is not None:
            values = list(pd.Series(df[label].dropna().unique()).head(50))
            default = roles.positive if label == roles.label else detect_positive(df[label])
            keys = [str(v) for v in values]
            index = keys.index(str(default)) if default is not None and str(default) in keys else 0
            positive = st.selectbox(t("data.label.positive"), values, index=index,
                                    key=f"data_positive_{ds.key}_{label}", format_func=str)
        if st.button(t("data.label.apply"), key="data_label_apply"):
            if positive is not None and hasattr(positive, "item"):
                positive = positive.item()
            state.set_roles(roles.with_label(label, positive))
            st.rerun()
        if roles.label is not None:
            y = label_to_binary(df[roles.label], roles.positive).dropna()
            if len(y):
                st.success(t("data.label.summary", column=roles.label, positive=roles.positive,
                             churned=f"{int(y.sum()):,}", rate=f"{float(y.mean()):.1%}"))

    with change_col:
        st.markdown(f"**{t('data.roles.change')}**")
        column = st.selectbox(t("data.roles.column"), list(df.columns), key="data_role_column")
        choices = [r for r in ROLES if r != "label"]
        current = roles.roles.get(column)
        role_names = {r: role_label(r) for r in choices}
        role = st.selectbox(t("data.roles.new_role"), choices,
                            index=choices.index(current) if current in choices else 0,
                            key=f"data_role_value_{column}_{current_lang()}", format_func=role_names.get)
        if st.button(t("data.roles.apply"), key="data_role_apply"):
            state.set_roles(roles.with_role(column, role))
            st.rerun()


def telling_column(ds, candidates):
    """Default column for churn by category: the one where churn differs most (cached per dataset)."""
    cached = st.session_state.get("_data_telling")
    if not cached or cached[0] != ds.key:
        spread = compute_churn_spread(ds.df, ds.roles)
        best = spread["column"].iloc[0] if len(spread) else None
        cached = (ds.key, best)
        st.session_state["_data_telling"] = cached
    return cached[1] if cached[1] in candidates else candidates[0]


def profile_section(ds):
    st.subheader(t("data.profile.title"))
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
                              (f"{v:,.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)))
    prof["top"] = prof["top"].fillna("")
    shown = prof.rename(columns={c: t(f"data.profile.{c}") for c in prof.columns})
    st.dataframe(shown, hide_index=True, width="stretch")
    ui.download_buttons(shown, "column_profile", key="data_profile")

    roles = ds.roles
    if roles.label is None or roles.positive is None:
        st.info(t("data.profile.need_label"))
        return
    candidates = roles.columns_with("categorical", "boolean", "numeric", "date")
    if not candidates:
        return
    st.markdown(f"**{t('data.churn_by.title')}**")
    default = telling_column(ds, candidates)
    column = st.selectbox(t("data.churn_by.column"), candidates, index=candidates.index(default),
                          key="data_churn_by")
    frame = compute_category_churn(ds.df, roles, column)
    y = label_to_binary(ds.df[roles.label], roles.positive).dropna()
    overall = float(y.mean()) if len(y) else None
    names = {"(other)": t("data.churn_by.other"), "(missing)": t("data.churn_by.missing")}
    chart = build_category_churn_chart(
        frame, x_title=t("data.churn_by.rate"), y_title=str(column),
        customers_title=t("data.churn_by.customers"), overall_rate=overall, label_map=names)
    st.altair_chart(chart, width="stretch")
    if overall is not None:
        st.caption(t("data.churn_by.overall", rate=f"{overall:.1%}"))
    table = frame.assign(value=frame["value"].map(lambda v: names.get(v, v)),
                         churn_rate=(frame["churn_rate"] * 100).round(1))
    table = table[["value", "customers", "churned", "churn_rate"]].rename(columns={
        "value": str(column), "customers": t("data.churn_by.customers"),
        "churned": t("data.churn_by.churned"), "churn_rate": t("data.churn_by.rate_pct")})
    st.dataframe(table, hide_index=True, width="stretch")


st.title(t("data.title"))
st.caption(t("data.intro"))
source_panel()

error = st.session_state.get(ERROR_KEY)
if error is not None:
    ui.show_error(error[1])

dataset = state.get_dataset()
if dataset is None:
    st.info(t("data.empty_state"))
    st.stop()

reading_facts(dataset.load)
preview(dataset.load)
role_editor(dataset)
profile_section(dataset)
