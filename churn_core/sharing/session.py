"""Save and restore a session: one file with the column map, the model, the settings, the saved
segments and scenarios, and the data's fingerprint (so restoring asks for the same file).

The file is a zip (``.rsession``): ``session.json`` (format version, data fingerprint and name,
mapping, roles' label/positive, settings, segments, scenarios, extra page settings) and
``model/`` (the saved model, when there is one). The customer data itself is never in the file:
a bank's data stays where it was, the user uploads the same file again.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from churn_core.errors import ChurnCoreError
from churn_core.jsonutil import to_jsonable

FORMAT = "retention-studio-session"
VERSION = 1
MAX_BYTES = 200 * 2**20


@dataclass
class SessionFile:
    """What a session file holds (see the module docstring)."""

    fingerprint: str
    source_name: str
    mapping: dict
    settings: dict
    segments: dict = field(default_factory=dict)
    scenarios: object = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    model: object = None


def save_session(ws, segments=None, scenarios=None, extra=None):
    """The session of workspace ``ws`` as the bytes of one ``.rsession`` file.

    Parameters
    ----------
    segments : dict, optional
        ``{name: Segment}`` saved segments.
    scenarios : dict or list, optional
        Saved simulator scenarios (JSON-ready).
    extra : dict, optional
        Page settings to restore (budget, language...), JSON-ready.
    """
    if not ws.has_data:
        raise ChurnCoreError("session.no_data", "Load a customer file first: there is nothing to save yet.")
    doc = {
        "format": FORMAT, "version": VERSION,
        "fingerprint": ws.load_.fingerprint, "source_name": ws.load_.source_name,
        "mapping": ws.mapping(), "settings": ws.settings.to_dict(),
        "segments": {name: seg.to_dict() for name, seg in (segments or {}).items()},
        "scenarios": to_jsonable(scenarios if scenarios is not None else []), "extra": to_jsonable(dict(extra or {})),
        "has_model": ws.model_ is not None,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("session.json", json.dumps(to_jsonable(doc), ensure_ascii=False, indent=1))
        if ws.model_ is not None:
            with tempfile.TemporaryDirectory(prefix="rs_session_") as tmp:
                ws.model_.save(tmp)
                for path in sorted(Path(tmp).iterdir()):
                    zf.write(path, f"model/{path.name}")
    return buf.getvalue()


def read_session(data):
    """Parse the bytes of a session file into a :class:`SessionFile` (model loaded)."""
    from churn_core.analysis.segments import Segment
    from churn_core.modeling.model import ChurnModel

    if len(data) > MAX_BYTES:
        raise ChurnCoreError("session.too_big", "This session file is too large.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if "session.json" not in names:
            raise KeyError("session.json")
        if sum(i.file_size for i in zf.infolist()) > 4 * MAX_BYTES:
            raise ChurnCoreError("session.too_big", "This session file is too large.")
        doc = json.loads(zf.read("session.json").decode("utf-8"))
    except ChurnCoreError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError):
        raise ChurnCoreError("session.bad_file", "This is not a Retention Studio session file "
                             "(save one with “Save session”).") from None
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ChurnCoreError("session.bad_file", "This is not a Retention Studio session file "
                             "(save one with “Save session”).")
    model = None
    if doc.get("has_model"):
        with tempfile.TemporaryDirectory(prefix="rs_session_") as tmp:
            for name in names:
                if name.startswith("model/") and "/" not in name[6:] and name[6:] and ".." not in name:
                    (Path(tmp) / name[6:]).write_bytes(zf.read(name))
            model = ChurnModel.load(tmp)
    segments = {name: Segment.from_dict(seg) for name, seg in doc.get("segments", {}).items()}
    return SessionFile(fingerprint=doc["fingerprint"], source_name=doc.get("source_name", ""),
                       mapping=doc.get("mapping", {}), settings=doc.get("settings", {}), segments=segments,
                       scenarios=doc.get("scenarios", []), extra=doc.get("extra", {}), model=model)


def restore_session(ws, session):
    """Apply a :class:`SessionFile` to a workspace holding the SAME data (checked by fingerprint).

    Returns the workspace. Raises ``session.other_data`` when the loaded file is not the one the
    session was saved with (the message names it).
    """
    from churn_core.workspace import Settings

    if not ws.has_data:
        raise ChurnCoreError("session.need_data", f"Load the file this session was saved with first: "
                             f"{session.source_name}.", name=session.source_name)
    if ws.load_.fingerprint != session.fingerprint:
        raise ChurnCoreError("session.other_data", "This session was saved with another file "
                             f"({session.source_name}); load that file, then restore.", name=session.source_name)
    ws.apply_mapping(session.mapping)
    ws.settings = Settings.from_dict(session.settings)
    ws._cache.clear()
    if session.model is not None:
        ws.set_model(session.model)
    return ws
