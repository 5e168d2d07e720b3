"""One session's understanding of the customer table, and every result derived from it.

Like explainerdashboard's explainer, a :class:`Workspace` owns the data, the roles (one label, one
positive value), the column meanings, the model and the settings, and computes each derived result
lazily, once, cached on an explicit key (data fingerprint + roles + meanings + model + settings).
A page reads its widgets, calls one method and renders; the CLI calls the same methods. A setting
changed on one page is then the one every page and the CLI use.

Two tables:

- the **history**: the labelled customers the model learns from (the first upload);
- the **book**: the customers to act on. A second upload ("current customers", label absent or
  ignored) when there is one; otherwise the customers of the history that have not churned, at the
  latest snapshot when the table has a snapshot date.

Watch-list, tiers, signals, value at risk and the simulator act on the book only; the win-back list
on the churned customers of the history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from churn_core.analysis.value import ValueAssumptions
from churn_core.data.meanings import ColumnMeanings, apply_mapping, detect_meanings, roles_with_mapping
from churn_core.data.roles import detect_roles, label_to_binary
from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_scalar
from churn_core.modeling.warning import SignalThresholds, TierConfig

OBJECTIVES = ("saved_value", "net_value")
#: The one default objective of the simulator, for the page and the CLI alike.
DEFAULT_OBJECTIVE = "saved_value"

BOOK_CURRENT, BOOK_ACTIVE, BOOK_LATEST = "current_upload", "active_customers", "latest_snapshot_active"


@dataclass(frozen=True)
class Settings:
    """Settings every page shares (frozen; change them with :meth:`Workspace.update_settings`).

    Parameters
    ----------
    tiers : TierConfig
        How the book is cut into High / Medium / Low risk.
    signals : SignalThresholds
        Thresholds of the warning rules.
    value : ValueAssumptions
        Value model (per-column money margins live in the column meanings).
    objective : {"saved_value", "net_value"}
        What the simulator's optimiser maximises.
    currency : str
        Currency symbol shown with money ("" = none).
    """

    tiers: TierConfig = field(default_factory=TierConfig)
    signals: SignalThresholds = field(default_factory=SignalThresholds)
    value: ValueAssumptions = field(default_factory=ValueAssumptions)
    objective: str = DEFAULT_OBJECTIVE
    currency: str = ""

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ChurnCoreError("workspace.bad_objective", f"The objective must be one of {OBJECTIVES}.")
        if not isinstance(self.currency, str) or len(self.currency) > 8:
            raise ChurnCoreError("workspace.bad_currency", "The currency must be a short symbol such as ¥, $ or €.")

    def to_dict(self):
        return {"tiers": asdict(self.tiers), "signals": asdict(self.signals), "value": asdict(self.value),
                "objective": self.objective, "currency": self.currency}

    @classmethod
    def from_dict(cls, data):
        data = dict(data or {})
        return cls(tiers=TierConfig(**data.get("tiers", {})), signals=SignalThresholds(**data.get("signals", {})),
                   value=ValueAssumptions(**data.get("value", {})),
                   objective=data.get("objective", DEFAULT_OBJECTIVE), currency=data.get("currency", ""))

    def key(self):
        return _digest(self.to_dict())


def _digest(obj):
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Book:
    """The customers to act on: their rows and where they come from.

    Attributes
    ----------
    frame : pandas.DataFrame
        The customers (index: positions in the source table).
    source : str
        :data:`BOOK_CURRENT`, :data:`BOOK_ACTIVE` or :data:`BOOK_LATEST`.
    table : str
        ``"current"`` (second upload) or ``"history"``.
    snapshot : object
        The snapshot date used (``BOOK_LATEST``), else None.
    """

    frame: pd.DataFrame
    source: str
    table: str
    snapshot: object = None

    def __len__(self):
        return len(self.frame)


class Workspace:
    """The session's data, roles, meanings, model, settings and cached results.

    Parameters
    ----------
    store : churn_core.data.store.SessionStore, optional
        The session's DuckDB; the history is loaded into it as table ``customers``.
    settings : Settings, optional

    Attributes
    ----------
    load_ : LoadResult or None
        The history's ingestion result (``load_.df`` the table).
    roles_ : Roles or None
    meanings_ : ColumnMeanings or None
    current_ : LoadResult or None
        The second upload ("current customers"), or None.
    model_ : ChurnModel or None
    settings : Settings
    label_confirmed : bool
        The user confirmed (or named) the churn label: the app never trains on a guessed label.
        A new table or another label resets it.
    """

    def __init__(self, store=None, settings=None):
        self.store = store
        self.settings = settings or Settings()
        self.load_ = None
        self.roles_ = None
        self.meanings_ = None
        self.current_ = None
        self.model_ = None
        self.label_confirmed = False
        self._cache = {}

    # ------------------------------------------------------------------ data
    @classmethod
    def from_file(cls, path, mapping=None, label=None, positive=None, store=None, settings=None, **load_kwargs):
        """A workspace on one customer file (the CLI's entry point).

        Parameters
        ----------
        path : str or Path
        mapping : dict or str or Path, optional
            A column mapping (see :mod:`churn_core.data.meanings`) or the path of its JSON file.
        label, positive : optional
            Override the detected (or mapped) churn label and its churned value.
        """
        from churn_core.data.ingest import load_file
        from churn_core.data.meanings import load_mapping

        ws = cls(store=store, settings=settings)
        load = load_file(path, **load_kwargs)
        if mapping is not None and not isinstance(mapping, dict):
            mapping = load_mapping(mapping)
        ws.set_history(load, mapping=mapping)
        if label is None and positive is not None and ws.roles_.label is None:
            raise ChurnCoreError("model.no_label", "No churn label was detected: name it with --label.")
        if label is not None or positive is not None:
            ws.set_label(label if label is not None else ws.roles_.label, positive)
            ws.label_confirmed = True
        return ws

    def set_history(self, load, roles=None, meanings=None, mapping=None):
        """Use ``load`` (a LoadResult) as the labelled history; detect what is not given.

        A new table forgets the model, the current upload and every result; the same table
        (same fingerprint) with new roles or meanings keeps the model.
        """
        df = load.df
        roles = roles if roles is not None else detect_roles(df)
        if mapping:
            roles = roles_with_mapping(roles, df, mapping)
        if meanings is None:
            meanings = detect_meanings(df, roles)
            if mapping:
                meanings = apply_mapping(meanings, mapping, columns=df.columns)
        same = self.load_ is not None and self.load_.fingerprint == load.fingerprint
        self.load_ = load
        self.roles_ = roles
        self.meanings_ = self._sync_meanings(meanings)
        if not same:
            self.model_ = None
            self.current_ = None
            self.label_confirmed = bool(mapping and mapping.get("label"))
            self._cache.clear()
        if self.store is not None:
            self.store.load_frame("customers", df)
        return self

    def _sync_meanings(self, meanings):
        """Keep the map's label/id in step with the roles (one label, one id, one owner: the roles)."""
        r = self.roles_
        from churn_core.data.roles import preferred_id_column

        return replace(meanings, label=r.label, positive=to_scalar(r.positive) if r.label else None,
                       id_column=preferred_id_column(r.id_columns))

    def set_current(self, load):
        """Use ``load`` as the current customers (same columns as the history; its label is ignored)."""
        self._require_data()
        missing = [c for c in self.feature_columns() if c not in load.df.columns]
        if missing:
            raise ChurnCoreError("workspace.current_missing_columns",
                                 "The current customers file lacks columns of the history: "
                                 + ", ".join(map(str, missing[:10])) + ".", columns=", ".join(map(str, missing[:10])))
        self.current_ = load
        self._forget("book")
        return self

    def clear_current(self):
        self.current_ = None
        self._forget("book")
        return self

    @property
    def has_data(self):
        return self.load_ is not None

    @property
    def df(self):
        """The history table."""
        self._require_data()
        return self.load_.df

    def _require_data(self):
        if self.load_ is None:
            raise ChurnCoreError("workspace.no_data", "Load a customer file first (Data page, or a FILE argument).")

    def feature_columns(self):
        """Columns the model uses (or, before training, the roles' feature columns)."""
        if self.model_ is not None:
            return list(self.model_.features_)
        return list(self.roles_.features) if self.roles_ is not None else []

    # ------------------------------------------------------------------ roles, meanings, settings
    def set_label(self, column, positive=None):
        """Make ``column`` the one churn label (``None`` removes it); forgets a model of another label."""
        from churn_core.data.roles import coerce_positive, detect_positive, validate_label

        self._require_data()
        if column is not None:
            if column not in self.df.columns:
                raise ChurnCoreError("roles.unknown_column", f"There is no column {column!r} in the file.",
                                     column=str(column))
            series = self.df[column]
            validate_label(series, column)
            positive = coerce_positive(series, positive) if positive is not None else detect_positive(series)
        roles = self.roles_.with_label(column, positive)
        self.set_roles(roles)
        return self

    def set_roles(self, roles):
        """Replace the roles (label, ids...); meanings follow; a model of another label is dropped."""
        self._require_data()
        changed_label = (roles.label, to_scalar(roles.positive)) != (self.roles_.label, to_scalar(self.roles_.positive))
        if changed_label:
            self.label_confirmed = False
        self.roles_ = roles
        self.meanings_ = self._sync_meanings(self.meanings_)
        if changed_label and self.model_ is not None and (
                self.model_.label_ != roles.label or to_scalar(self.model_.positive_) != to_scalar(roles.positive)):
            self.model_ = None
        self._cache.clear()
        return self

    def set_meanings(self, meanings):
        """Replace the column meanings (a corrected :class:`ColumnMeanings`)."""
        self._require_data()
        if not isinstance(meanings, ColumnMeanings):
            raise ChurnCoreError("workspace.bad_meanings", "Meanings must be a ColumnMeanings.")
        self.meanings_ = self._sync_meanings(meanings)
        self._cache.clear()
        return self

    def confirm_label(self):
        """Record that the user confirmed the churn label and its churned value."""
        self._require_data()
        if self.roles_.label is None:
            raise ChurnCoreError("model.no_label", "Choose the churn column first (Data page or --label): "
                                 "the app never guesses it silently.")
        self.label_confirmed = True
        return self

    def apply_mapping(self, mapping):
        """Apply a mapping dict (or JSON text / path) to roles and meanings, all or nothing.

        A mapping that names the label confirms it.
        """
        from churn_core.data.meanings import load_mapping

        self._require_data()
        data = mapping if isinstance(mapping, dict) else load_mapping(mapping)
        roles = roles_with_mapping(self.roles_, self.df, data)  # both computed before anything changes
        meanings = apply_mapping(self.meanings_, data, columns=self.df.columns)
        self.set_roles(roles)
        self.set_meanings(meanings)
        if data.get("label"):
            self.label_confirmed = True
        return self

    def mapping(self):
        """The column mapping to save (JSON-ready dict; the README documents the format)."""
        self._require_data()
        return self.meanings_.to_dict()

    def update_settings(self, **changes):
        """Change shared settings: ``tiers=TierConfig(...)``, ``value=...``, ``objective=...``..."""
        new = replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self._cache.clear()
        return self.settings

    # ------------------------------------------------------------------ model
    def train(self, progress=None, require_confirmed=False, **model_kwargs):
        """Fit a churn model on the history with the workspace's label; keep and return it.

        ``require_confirmed=True`` (the app) refuses a label the user has not confirmed; the CLI
        names the label it used in its output instead.
        """
        from churn_core.modeling.model import ChurnModel

        self._require_data()
        if self.roles_.label is None:
            raise ChurnCoreError("model.no_label", "Choose the churn column first (Data page or --label): "
                                 "the app never guesses it silently.")
        if require_confirmed and not self.label_confirmed:
            raise ChurnCoreError("model.label_not_confirmed", "Confirm the churn column on the Data page first: "
                                 f"is {self.roles_.label!r} = {self.roles_.positive!r} the customers who left?",
                                 column=str(self.roles_.label), value=str(self.roles_.positive))
        model = ChurnModel(**model_kwargs).fit(self.df, self.roles_, progress=progress)
        return self.set_model(model)

    def set_model(self, model):
        self.model_ = model
        self._cache.clear()
        return model

    def _require_model(self):
        if self.model_ is None:
            raise ChurnCoreError("workspace.no_model", "Train the churn model first (Model page, or `train`).")
        return self.model_

    # ------------------------------------------------------------------ keys and cache
    @property
    def data_key(self):
        self._require_data()
        roles = {"label": self.roles_.label, "positive": str(self.roles_.positive),
                 "ids": list(self.roles_.id_columns), "roles": self.roles_.roles}
        return f"{self.load_.fingerprint[:16]}-{_digest(roles)}-{self.meanings_.fingerprint()}"

    @property
    def model_key(self):
        return getattr(self.model_, "fingerprint_", None) or ("none" if self.model_ is None else str(id(self.model_)))

    def key(self, *parts):
        """The cache key of a result: data + roles + meanings + model + settings + ``parts``."""
        current = self.current_.fingerprint[:16] if self.current_ is not None else "-"
        return "|".join([self.data_key, current, self.model_key, self.settings.key(), *map(str, parts)])

    def cached(self, name, compute, *parts):
        """``compute()`` once per key; later calls with the same state return the kept result."""
        k = (name, self.key(*parts))
        if k not in self._cache:
            self._cache[k] = compute()
        return self._cache[k]

    def _forget(self, *names):
        for k in [k for k in self._cache if k[0] in names or k[0].startswith(tuple(n + ":" for n in names))]:
            self._cache.pop(k, None)

    # ------------------------------------------------------------------ labels and the book
    def churned(self, frame=None):
        """0/1 churn per row of the history (or ``frame``), NaN where the label is missing."""
        self._require_data()
        frame = self.df if frame is None else frame
        if self.roles_.label is None or self.roles_.label not in frame.columns:
            return pd.Series(np.nan, index=frame.index)
        try:
            y = label_to_binary(frame[self.roles_.label], self.roles_.positive)
        except ChurnCoreError:  # the churned value does not occur in this frame
            y = np.where(frame[self.roles_.label].isna(), np.nan, 0.0)
        return pd.Series(y, index=frame.index, dtype=float)

    def book(self):
        """The customers to act on (see the module docstring)."""
        return self.cached("book", self._compute_book)

    def _compute_book(self):
        if self.current_ is not None:
            cur = self.current_.df
            keep = self.churned(cur).fillna(0).to_numpy() != 1  # customers the file marks as gone are not acted on
            return Book(cur[keep], BOOK_CURRENT, "current")
        df = self.df
        keep = self.churned().fillna(0).to_numpy() != 1
        snap_col = self.meanings_.column("snapshot_date")
        snapshot = None
        source = BOOK_ACTIVE
        if snap_col is not None:
            dates = pd.to_datetime(df[snap_col], errors="coerce")
            if dates.notna().any() and dates.nunique() > 1:
                snapshot = dates.max()
                keep &= (dates == snapshot).to_numpy()
                source = BOOK_LATEST
        return Book(df[keep], source, "history", snapshot)

    def lost(self):
        """The churned customers of the history (at their last snapshot when there are several)."""
        return self.cached("lost", self._compute_lost)

    def _compute_lost(self):
        df = self.df
        lost = df[self.churned().fillna(0).to_numpy() == 1]
        snap_col = self.meanings_.column("snapshot_date")
        id_col = self.id_column
        if snap_col is not None and id_col is not None and len(lost):
            order = pd.to_datetime(lost[snap_col], errors="coerce")
            lost = lost.assign(_order=order).sort_values("_order", kind="mergesort")
            lost = lost[~lost[id_col].duplicated(keep="last")].drop(columns="_order")
            lost = lost.sort_index()
        return lost

    @property
    def id_column(self):
        self._require_data()
        if self.model_ is not None and self.model_.id_column_:
            return self.model_.id_column_
        from churn_core.data.roles import preferred_id_column

        return preferred_id_column(self.roles_.id_columns)

    def describe_book(self):
        """``{"source": code, "customers": n, "snapshot": iso date or None}`` for a page's caption."""
        b = self.book()
        return {"source": b.source, "customers": int(len(b)),
                "snapshot": None if b.snapshot is None else pd.Timestamp(b.snapshot).date().isoformat()}

    # ------------------------------------------------------------------ scores
    def _frame(self, which):
        if which == "book":
            return self.book().frame
        if which == "history":
            return self.df
        if which == "lost":
            return self.lost()
        raise ChurnCoreError("workspace.bad_table", "Table must be 'book', 'history' or 'lost'.")

    def proba(self, which="book"):
        """Calibrated churn probabilities of a table (index aligned with it)."""
        model = self._require_model()

        def compute():
            frame = self._frame(which)
            expl = self._explanation_if_cheap(which)
            if expl is not None and expl.index.equals(frame.index):
                return pd.Series(expl.proba, index=frame.index)  # the same numbers, already there
            return pd.Series(model.predict_proba(frame), index=frame.index)

        return self.cached(f"proba:{which}", compute, which)

    def base_risk(self):
        """The model's base risk (probability at the SHAP base value)."""
        model = self._require_model()
        expl = self.explanation("book")
        base = getattr(expl, "base_risk", None)
        if base is None:
            base = float(model.proba_from_margin(np.array([expl.base_value]))[0])
        return float(base)

    def explanation(self, which="book"):
        """SHAP explanation of a table (computed once; the book and the lost customers are cut from
        the history's explanation when that one is already computed: a big table is explained once)."""
        from churn_core.explain import compute_explanation

        model = self._require_model()

        def compute():
            frame = self._frame(which)
            whole = self._peek("explanation:history", "history")
            if which != "history" and whole is not None and (which == "lost" or self.book().table == "history"):
                positions = self.df.index.get_indexer(frame.index)
                if (positions >= 0).all():
                    return whole.subset(positions)
            return compute_explanation(model, frame)

        return self.cached(f"explanation:{which}", compute, which)

    def _explanation_if_cheap(self, which):
        """The explanation of a table when it is cached or can be cut from the history's, else None."""
        own = self._peek(f"explanation:{which}", which)
        if own is not None or which == "history":
            return own
        if self._peek("explanation:history", "history") is not None and (
                which == "lost" or self.book().table == "history"):
            return self.explanation(which)
        return None

    def _peek(self, name, *parts):
        """A cached result if it is there (never computes)."""
        return self._cache.get((name, self.key(*parts)))

    def tiers(self):
        """Risk tier of every book customer (High / Medium / Low) under the shared tier settings."""
        from churn_core.modeling.warning import compute_tiers

        def compute():
            p = self.proba("book")
            if not len(p):
                return pd.Series([], dtype="category", name="risk_tier")
            values = self.customer_value("book") if self.settings.tiers.method == "profit" else None
            t = compute_tiers(p.to_numpy(), self.settings.tiers, values=values)
            t.index = p.index
            return t

        return self.cached("tiers", compute)

    def signals(self, which="book"):
        """Warning signals of a table under the shared thresholds (one bool column per signal + ``signals``)."""
        from churn_core.modeling.warning import compute_signals

        return self.cached(f"signals:{which}", lambda: compute_signals(
            self._frame(which), self.settings.signals, columns=self.signal_columns()), which)

    def signal_columns(self):
        """``{signal: column or (now, before)}`` from the column meanings."""
        from churn_core.modeling.warning import signal_columns_from_meanings

        return signal_columns_from_meanings(self.meanings_)

    def reasons(self, which="book", lang="en", rows=None, k=3):
        """Top reasons with points for a table's customers (``rows``: index labels, default all).

        Returns ``reason_1..k`` (sentences), ``driver_1..k`` and ``points_1..k`` (percentage points of
        risk; all drivers' points of a customer sum to risk - base risk). A whole table is computed
        once (the book and the lost customers are cut from the history's when it exists); a few rows
        (a page's watch-list) are computed per row, once.
        """
        from churn_core.explain import compute_top_reasons

        model = self._require_model()
        frame = self._frame(which)
        whole = self._whole_reasons(which, lang, k)
        if whole is not None:
            return whole if rows is None else whole.loc[list(rows)]
        if rows is None:
            return self.cached(f"reasons_all:{which}:{lang}:{k}", lambda: compute_top_reasons(
                model, frame, k=k, lang=lang, with_details=True, explanation=self.explanation(which),
                meanings=self.meanings_), which, lang, k)
        store = self.cached(f"reasons:{which}:{lang}:{k}", dict, which, lang, k)
        idx = list(rows)
        todo = [i for i in idx if i not in store]
        if todo:
            got = compute_top_reasons(model, frame.loc[todo], k=k, lang=lang, with_details=True,
                                      meanings=self.meanings_)
            for i, row in zip(got.index, got.to_dict("records")):
                store[i] = row
        return pd.DataFrame([store[i] for i in idx], index=idx)

    def _whole_reasons(self, which, lang, k):
        """Reasons of a whole table already computed: its own, or cut from the history's."""
        own = self._peek(f"reasons_all:{which}:{lang}:{k}", which, lang, k)
        if own is not None or which == "history":
            return own
        hist = self._peek(f"reasons_all:history:{lang}:{k}", "history", lang, k)
        if hist is None or (which == "book" and self.book().table != "history"):
            return None
        index = self._frame(which).index
        return hist.loc[index] if index.isin(hist.index).all() else None

    # ------------------------------------------------------------------ value
    def customer_value(self, which="book"):
        """Yearly value of each customer of a table (money, from the mapped money columns x margins)."""
        from churn_core.analysis.value import compute_customer_value

        return self.cached(f"value:{which}", lambda: compute_customer_value(
            self._frame(which), self.meanings_, self.settings.value), which)

    def value_source(self):
        """``"contribution"`` when customers are valued in money (a money column or products), else
        ``"count"`` (1 per customer: value then counts customers)."""
        from churn_core.analysis.segments import ColumnMap
        from churn_core.analysis.value import has_money

        self._require_data()
        cols = ColumnMap.from_meanings(self.meanings_, self.roles_, self.df)
        return "contribution" if has_money(cols) else "count"

    # ------------------------------------------------------------------ lists
    def scores(self, which="book", lang="en"):
        """The scores table of the CLI (id, probability, status, tier, reasons with points, signals)."""
        from churn_core.modeling.scoring import assign_tiers, score_rows

        model = self._require_model()

        def compute():
            frame = self._frame(which)
            rows = score_rows(model, frame, lang=lang, explanation=self.explanation(which),
                              signal_columns=self.signal_columns(), thresholds=self.settings.signals,
                              meanings=self.meanings_, reasons=self.reasons(which, lang=lang))
            if which == "book":
                rows["status"] = "active"
            return assign_tiers(rows, self.settings.tiers)

        return self.cached(f"scores:{which}:{lang}", compute, which, lang)

    def watchlist(self, lang="en", tier_filter=None, signal_filter=None, mask=None):
        """The book's customers riskiest first: id, probability, tier, value, reasons, signals."""
        from churn_core.modeling.warning import compute_watch_list

        book = self.book().frame
        p = self.proba("book")
        watch = compute_watch_list(book, p.to_numpy(), self.tiers().to_numpy(), self.signals("book"),
                                   id_column=self.id_column, mask=mask, tier_filter=tier_filter,
                                   signal_filter=signal_filter, lang=lang)
        value = pd.Series(self.customer_value("book"), index=book.index)
        watch.insert(3, "value", value.loc[watch.index].to_numpy())
        return watch


    # ------------------------------------------------------------------ win-back and the plan
    def winback(self, lang="en", catalogue=None):
        """Every churned customer, value lost first, with why they left and the win-back offer."""
        from churn_core.retention.winback import compute_winback

        def compute():
            lost = self.lost()
            value = self.customer_value("lost")
            reasons = self.reasons("lost", lang=lang) if len(lost) else None
            return compute_winback(lost, value, reasons, self.meanings_, catalogue=catalogue,
                                   id_column=self.id_column, lang=lang)

        return self.cached(f"winback:{lang}", compute, lang, id(catalogue) if catalogue is not None else "-")

    def compare(self, other=None, old=None, new=None):
        """Compare two snapshots: the history with ``other`` (a frame of the same bank, later), or
        two snapshot dates of the history (``old``/``new``; default the two latest)."""
        from churn_core.analysis.compare import compute_comparison, split_snapshots

        self._require_data()
        if other is not None:
            a, b = self.df, other
        else:
            a, b = split_snapshots(self.df, self.meanings_.column("snapshot_date"), old, new)
        return compute_comparison(a, b, self.id_column, meanings=self.meanings_, label=self.roles_.label,
                                  positive=self.roles_.positive if self.roles_.label else None,
                                  assumptions=self.settings.value, model=self.model_,
                                  tier_config=self.settings.tiers)

    def lever_columns(self):
        """``{lever: column(s)}`` the offers act on, from the column meanings (numeric columns of the book)."""
        from churn_core.retention.offers import lever_columns_from_meanings

        exclude = [c for c in (self.roles_.label, self.id_column) if c]
        return lever_columns_from_meanings(self.meanings_, self.book().frame, exclude=exclude)

    def simulator_inputs(self, catalogue, effects="assumed", measured=None, seed=0, segments=None):
        """Per-customer inputs of the simulator for the book (computed once per catalogue/effects).

        Parameters
        ----------
        catalogue : OfferCatalogue
        effects : {"assumed", "model", "measured"}
        measured : EffectMatrix, optional
            Measured effects (``effects="measured"``), already aligned with the book.
        segments : dict, optional
            Saved segments ``{name: Segment}`` that offer rules (``segment:NAME``) may name.
        """
        from churn_core.retention.offers import catalogue_to_json
        from churn_core.retention.simulate import (compute_assumed_effects, compute_model_effects,
                                                   prepare_inputs_from_frame)

        model = self._require_model()
        if effects not in ("assumed", "model", "measured"):
            raise ChurnCoreError("workspace.bad_effects", "Effects must be 'assumed', 'model' or 'measured'.")

        def compute():
            book = self.book().frame
            p = self.proba("book").to_numpy()
            if effects == "model":
                eff = compute_model_effects(model, book, catalogue, churn_probability=p,
                                            lever_columns=self.lever_columns(), meanings=self.meanings_)
            elif effects == "measured" and measured is not None:
                eff = measured
            else:
                eff = compute_assumed_effects(p, catalogue)
            return prepare_inputs_from_frame(book, catalogue, p, eff, roles=self.roles_, id_column=self.id_column,
                                             value=self.customer_value("book"), seed=seed, meanings=self.meanings_,
                                             assumptions=self.settings.value, value_source=self.value_source(),
                                             segments=segments)

        seg_key = _digest({k: v.to_dict() for k, v in (segments or {}).items()})
        return self.cached("simulator_inputs", compute, _digest(catalogue_to_json(catalogue)), effects,
                           id(measured) if measured is not None else "-", seed, seg_key)

    def plan(self, budget, catalogue=None, effects="assumed", measured=None, target_mask=None, segments=None,
             **settings):
        """The retention plan for the book under ``budget`` with the shared objective.

        ``settings`` go to :class:`~churn_core.retention.simulate.SimulationSettings` (multipliers,
        targeting, n_draws, seed...); the objective is the workspace's unless given.
        """
        from churn_core.retention.offers import default_catalogue
        from churn_core.retention.simulate import SimulationSettings, compute_simulation

        catalogue = catalogue or default_catalogue()
        settings.setdefault("objective", self.settings.objective)
        sim = SimulationSettings(budget=budget, **settings)
        inputs = self.simulator_inputs(catalogue, effects=effects, measured=measured, seed=sim.seed,
                                       segments=segments)
        return compute_simulation(inputs, catalogue, sim, target_mask=target_mask)
