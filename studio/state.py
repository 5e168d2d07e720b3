"""Per-session state: the session's DuckDB store, the loaded dataset, the model, segments, results.

Everything derived from a user's data lives in ``st.session_state`` (or a session-scoped resource),
never in a global cache. Keys: ``dataset``, ``model``, ``segments``, ``results``.
"""

import hashlib
import json
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException

from churn_core.data.store import SessionStore
from studio.i18n import t

DATA_PAGE = "pages/1_data.py"
MODEL_PAGE = "pages/5_model.py"


def _close_store(store):
    store.close()


@st.cache_resource(scope="session", show_spinner=False, on_release=_close_store)
def _session_store():
    return SessionStore(memory_limit="1GB", threads=1, max_temp="1GB", timeout_s=20.0)


def get_store():
    """This browser session's private, locked-down DuckDB (closed when the session ends).

    The current dataset is in it as table ``customers`` (loaded again if the store is new).
    """
    store = _session_store()
    dataset = st.session_state.get("dataset")
    if dataset is not None and getattr(store, "loaded_fingerprint", None) != dataset.load.fingerprint:
        store.load_frame("customers", dataset.load.df)
        store.loaded_fingerprint = dataset.load.fingerprint
    return store


@dataclass(frozen=True)
class Dataset:
    """The loaded customer table: the ingestion result and the (user-corrected) column roles."""

    load: object
    roles: object

    @property
    def df(self):
        return self.load.df

    @property
    def key(self):
        """Fingerprint of the data plus its roles: key caches on this, never on the frame."""
        roles = json.dumps(
            {
                "roles": self.roles.roles,
                "label": self.roles.label,
                "positive": str(self.roles.positive),
                "ids": list(self.roles.id_columns),
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
    """The session's dataset, or None."""
    return st.session_state.get("dataset")


def set_dataset(load, roles):
    """Keep a new dataset, load it into the session store as ``customers``, forget old results."""
    previous = get_dataset()
    dataset = Dataset(load=load, roles=roles)
    st.session_state["dataset"] = dataset
    get_store()
    if previous is None or previous.load.fingerprint != load.fingerprint:
        st.session_state["model"] = None
        st.session_state["results"] = {}
        st.session_state["segments"] = {}
    return dataset


def get_column_map(dataset):
    """Business columns of the dataset found by role and name (balance, products...), once per data."""
    from churn_core.analysis.segments import detect_columns

    cached = st.session_state.get("_colmap")
    if not cached or cached[0] != dataset.key:
        cached = (dataset.key, detect_columns(dataset.df, dataset.roles))
        st.session_state["_colmap"] = cached
    return cached[1]


def set_roles(roles):
    """Replace the roles of the current dataset (the model trained on old roles is kept)."""
    dataset = get_dataset()
    if dataset is None:
        return None
    dataset = Dataset(load=dataset.load, roles=roles)
    st.session_state["dataset"] = dataset
    return dataset


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
    return st.session_state.get("model")


def set_model(model):
    st.session_state["model"] = model
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
