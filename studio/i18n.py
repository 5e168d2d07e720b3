"""Translations: ``t(key, **kw)`` over the English and Simplified Chinese catalogues.

Catalogues are flat JSON objects in ``locales/<lang>/<area>.json``; every area file exists in both
languages with the same keys (``tests/core/test_i18n.py`` checks it). The current language lives in
``st.session_state["lang"]``; it defaults to the browser's language.
"""

import functools
import json
from pathlib import Path

import streamlit as st

LANGUAGES = {"en": "English", "zh": "简体中文"}
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANG_KEY = "lang"
_CHOICE_KEY = "_lang_choice"


@functools.lru_cache(maxsize=None)
def load_catalogue(lang):
    """Merge every ``locales/<lang>/*.json`` into one dict (static files, safe to share)."""
    merged = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def browser_lang():
    """``"zh"`` when the browser asks for Chinese, else ``"en"``."""
    try:
        locale = st.context.locale or ""
    except Exception:  # noqa: BLE001 - no browser context (bare mode, tests)
        locale = ""
    return "zh" if str(locale).lower().startswith("zh") else "en"


def current_lang():
    """The language of this session: ``"en"`` or ``"zh"``."""
    lang = st.session_state.get(LANG_KEY)
    if lang not in LANGUAGES:
        lang = browser_lang()
        st.session_state[LANG_KEY] = lang
    return lang


def t(key, **kw):
    """Text for ``key`` in the current language, formatted with ``kw``.

    Falls back to English, then to the key itself, so a missing entry is visible but harmless.
    """
    lang = current_lang()
    text = load_catalogue(lang).get(key)
    if text is None:
        text = load_catalogue("en").get(key, key)
    if kw:
        try:
            return text.format(**kw)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def t_error(exc):
    """Message for an engine error: its translated code, else its English message."""
    from studio.ui import escape_md

    code = getattr(exc, "code", None)
    params = {k: escape_md(v) for k, v in (getattr(exc, "params", {}) or {}).items()}
    if code:
        key = "error." + code
        if key in load_catalogue(current_lang()) or key in load_catalogue("en"):
            return t(key, **params)
    return escape_md(str(exc) or exc.__class__.__name__)


def _on_language_change():
    label = st.session_state.get(_CHOICE_KEY)
    for code, name in LANGUAGES.items():
        if name == label:
            st.session_state[LANG_KEY] = code


def language_switch():
    """Sidebar radio that switches the UI language for this session."""
    st.session_state[_CHOICE_KEY] = LANGUAGES[current_lang()]
    st.sidebar.radio(
        ":material/translate: Language / 语言",
        options=list(LANGUAGES.values()),
        key=_CHOICE_KEY,
        horizontal=True,
        on_change=_on_language_change,
    )
