"""Small shared widgets: safe downloads and error boxes."""

import re

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


# ----------------------------------------------------------------------------- user text, safely

_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>~$:"
_WJ = "\u2060"  # word joiner: invisible, zero width
_AUTOLINK_SCHEME = re.compile(r"(?<=[A-Za-z])(?=://)")
_AUTOLINK_WWW = re.compile(r"(?i)(?<=ww)(?=w\.)")
_AUTOLINK_EMAIL = re.compile("@")


def escape_md(text):
    """``text`` with every Markdown/HTML-special character escaped, for user-supplied strings
    (column names, cell values, file names) placed inside a translated Markdown template.
    Escapes do not stop GFM autolinks (``http://…``, ``www.…``, ``a@b.c`` become links after
    unescaping): an invisible word joiner breaks those patterns (measured in Chromium)."""
    text = _AUTOLINK_EMAIL.sub(_WJ + "@", _AUTOLINK_WWW.sub(_WJ, _AUTOLINK_SCHEME.sub(_WJ, str(text))))
    out = []
    for ch in text:
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def md(key, **user_values):
    """Translated Markdown ``t(key)`` with every user-supplied value escaped (never live Markdown)."""
    return t(key, **{k: escape_md(v) for k, v in user_values.items()})


def text(value):
    """Show a user-supplied string as plain text (``st.text``: no Markdown, no HTML, no links)."""
    st.text(str(value))


# ----------------------------------------------------------------------------- error boundary

def reset_page(prefixes):
    """Forget this page's widget and result keys (keys starting with one of ``prefixes``)."""
    for key in [k for k in st.session_state if str(k).startswith(tuple(prefixes))]:
        del st.session_state[key]


def error_boundary(page, prefixes=()):
    """Run a page body with one error boundary: a translated message and a "reset this page"
    button instead of a traceback, raw database text or Streamlit's crash box.

    Usage: ``with ui.error_boundary("warning", prefixes=("warning_",)): body()``. Engine errors
    show their translated message; anything else shows a generic one (details go to the server log).
    """
    return _Boundary(page, prefixes)


class _Boundary:
    def __init__(self, page, prefixes):
        self.page = page
        self.prefixes = tuple(prefixes)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

        if isinstance(exc, (RerunException, StopException)):
            return False  # st.rerun / st.stop are control flow, not errors
        import logging

        from churn_core.errors import ChurnCoreError

        if isinstance(exc, ChurnCoreError):
            st.error(t_error(exc), icon=":material/error:")
        else:
            logging.getLogger("retention_studio").exception("page %s failed", self.page)
            st.error(t("app.error.unexpected"), icon=":material/error:")
        if self.prefixes and st.button(t("app.error.reset"), key=f"_reset_{self.page}",
                                       icon=":material/restart_alt:"):
            reset_page(self.prefixes)
            st.rerun()
        return True
