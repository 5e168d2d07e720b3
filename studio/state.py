"""Per-session state: the session's :class:`~churn_core.workspace.Workspace` and its DuckDB store.

The workspace (``st.session_state["workspace"]``) owns the data, roles, column meanings, model,
settings and derived results; the accessors below are thin views of it so every page sees the same
label, meanings, model and settings. Saved segments and page results a later page reuses stay in
``segments`` / ``results``. Nothing derived from a user's data is in a global cache.
"""

import hashlib
import json
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException

from churn_core.data.store import SessionStore, start_memory_janitor
from studio.i18n import t

DATA_PAGE = "pages/1_data.py"
MODEL_PAGE = "pages/5_model.py"


def _close_store(store):
    store.close()


@st.cache_resource(scope="session", show_spinner=False, on_release=_close_store)
def _session_store():
    return SessionStore(memory_limit="1GB", threads=1, max_temp="1GB", timeout_s=20.0)


def end_expired_sessions(runtime=None):
    """Shut down the sessions whose ``disconnectedSessionTTL`` has passed; returns how many.

    Streamlit 1.67 keeps a closed tab's session in a TTL cache that drops expired entries only when
    another session is stored: after the last tab of a busy hour closes, every session (its data,
    model, results, uploaded bytes) stayed in memory until someone connected again (the load test:
    6 of 6 workspaces alive 90 s after a 30 s TTL). The memory janitor calls this every pass. It
    reads Streamlit internals (``Runtime._session_mgr._session_storage._cache``) and does nothing
    when they are not there.
    """
    try:
        if runtime is None:
            from streamlit.runtime import Runtime

            if not Runtime.exists():
                return 0
            runtime = Runtime.instance()
        manager = getattr(runtime, "_session_mgr", None)
        cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
        lock = getattr(manager, "_storage_lock", None)
        if cache is None or lock is None or not hasattr(cache, "expire"):
            return 0
        with lock:  # the same lock Streamlit holds when it stores or resumes a session
            expired = cache.expire()
        for _, info in expired:
            info.session.shutdown()  # uploaded files, media, session caches (our store) released
        return len(expired)
    except Exception:  # noqa: BLE001 - housekeeping never breaks the server
        return 0


def get_workspace():
    """This session's Workspace (created on first use, with the session's private store)."""
    from churn_core.workspace import Workspace

    start_memory_janitor(before=end_expired_sessions)  # expired sessions end, memory goes back to the OS
    ws = st.session_state.get("workspace")
    if ws is None:
        ws = Workspace()
        st.session_state["workspace"] = ws
    store = _session_store()
    if ws.store is not store:
        ws.store = store
        store.loaded_fingerprint = None
    return ws


def get_store():
    """This browser session's private, locked-down DuckDB (closed when the session ends).

    The current dataset is in it as table ``customers`` (loaded again if the store is new).
    """
    ws = get_workspace()
    store = ws.store
    if ws.has_data and getattr(store, "loaded_fingerprint", None) != ws.load_.fingerprint:
        store.load_frame("customers", ws.df)
        store.loaded_fingerprint = ws.load_.fingerprint
    return store


@dataclass(frozen=True)
class Dataset:
    """The loaded customer table: the ingestion result and the (user-corrected) column roles.

    A read-only view of the workspace's history for pages (``load``, ``roles``, ``meanings``).
    """

    load: object
    roles: object
    meanings: object = None

    @property
    def df(self):
        return self.load.df

    @property
    def key(self):
        """Fingerprint of the data plus its roles and meanings: key caches on this, never on the frame."""
        roles = json.dumps(
            {
                "roles": self.roles.roles,
                "label": self.roles.label,
                "positive": str(self.roles.positive),
                "ids": list(self.roles.id_columns),
                "meanings": self.meanings.fingerprint() if self.meanings is not None else None,
            },
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        digest = hashlib.sha256(roles.encode("utf-8")).hexdigest()[:12]
        return f"{self.load.fingerprint[:16]}-{digest}"


def page_link(page, label, icon=None):
    """A link to another page; plain text when the page is not routed (a page run on its own)."""
    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(label)


def get_dataset():
    """The session's dataset (a view of the workspace's history), or None."""
    ws = get_workspace()
    if not ws.has_data:
        return None
    return Dataset(load=ws.load_, roles=ws.roles_, meanings=ws.meanings_)


def set_dataset(load, roles):
    """Make ``load`` the workspace's history (loaded into the session store as ``customers``).

    A new table forgets the model, results and saved segments of the old one.
    """
    ws = get_workspace()
    new = not ws.has_data or ws.load_.fingerprint != load.fingerprint
    ws.set_history(load, roles=roles)
    ws.store.loaded_fingerprint = load.fingerprint
    if new:
        st.session_state["results"] = {}
        st.session_state["segments"] = {}
    return get_dataset()


def get_column_map(dataset):
    """Business columns of the dataset (balance, products, money...) from the workspace's meanings."""
    from churn_core.analysis.segments import ColumnMap

    cached = st.session_state.get("_colmap")
    if not cached or cached[0] != dataset.key:
        cached = (dataset.key, ColumnMap.from_meanings(dataset.meanings, dataset.roles, dataset.df))
        st.session_state["_colmap"] = cached
    return cached[1]


def set_roles(roles):
    """Replace the roles of the current dataset (one label for every page; a model of another
    label is dropped)."""
    ws = get_workspace()
    if not ws.has_data:
        return None
    ws.set_roles(roles)
    return get_dataset()


def set_meanings(meanings):
    """Replace the column meanings of the current dataset (every page follows)."""
    ws = get_workspace()
    if not ws.has_data:
        return None
    ws.set_meanings(meanings)
    return get_dataset()


def require_dataset():
    """The dataset, or an info box pointing to the Data page and a stop."""
    dataset = get_dataset()
    if dataset is None:
        st.info(t("app.need_data"))
        page_link(DATA_PAGE, t("app.go_data"), ":material/upload_file:")
        st.stop()
    return dataset


KEPT_ACROSS_MODELS = ("uplift", "scenarios")


def get_model():
    """The session's fitted churn model, or None."""
    return get_workspace().model_


def set_model(model):
    get_workspace().set_model(model)
    # explanations and simulations of an older model are stale now; measured campaign effects
    # and saved scenarios (which record their own figures) are not
    results = st.session_state.setdefault("results", {})
    for key in [k for k in results if not k.startswith(KEPT_ACROSS_MODELS)]:
        results.pop(key, None)
    return model


def require_model():
    """The model, or an info box pointing to the Model page and a stop."""
    model = get_model()
    if model is None:
        st.info(t("app.need_model"))
        page_link(MODEL_PAGE, t("app.go_model"), ":material/model_training:")
        st.stop()
    return model


def get_segments():
    """Saved segments of this session: ``{name: segment}``."""
    return st.session_state.setdefault("segments", {})


def save_segment(name, segment):
    get_segments()[name] = segment
    return segment


def delete_segment(name):
    get_segments().pop(name, None)


def get_result(key, default=None):
    """A result another page reuses (explanation, uplift, scenarios...)."""
    return st.session_state.setdefault("results", {}).get(key, default)


def set_result(key, value):
    st.session_state.setdefault("results", {})[key] = value
    return value
