"""Small shared widgets: safe downloads and error boxes."""

import streamlit as st

from studio.i18n import t, t_error

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_buttons(df, basename, key=None):
    """CSV (UTF-8 with BOM) and Excel downloads of ``df``, both safe against formula injection."""
    from churn_core.sharing.export import to_safe_csv_bytes, to_safe_excel_bytes

    key = key or basename
    left, right = st.columns(2)
    left.download_button(
        t("app.download_csv"),
        data=to_safe_csv_bytes(df),
        file_name=f"{basename}.csv",
        mime="text/csv",
        key=f"dl_csv_{key}",
        icon=":material/download:",
    )
    right.download_button(
        t("app.download_excel"),
        data=to_safe_excel_bytes(df),
        file_name=f"{basename}.xlsx",
        mime=XLSX_MIME,
        key=f"dl_xlsx_{key}",
        icon=":material/table:",
    )


def show_error(exc):
    """A translated error box for an engine error (never a traceback)."""
    st.error(t_error(exc), icon="⚠️")


def choose(widget, label, codes, labeler, key, **kw):
    """A selectbox/radio whose options are the translated labels, returning the chosen code.

    Options are display labels (not codes with a ``format_func``) so AppTest can drive the widget
    in either language.
    """
    labels = [labeler(c) for c in codes]
    picked = widget(label, labels, key=key, **kw)
    return codes[labels.index(picked)] if picked in labels else (codes[0] if codes else None)
