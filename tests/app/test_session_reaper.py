"""Expired sessions are ended by the memory janitor (Streamlit keeps them until another session is stored)."""

import threading
from types import SimpleNamespace

from streamlit.runtime.caching.ttl_cache import TTLCache

from studio.state import end_expired_sessions


class _Session:
    def __init__(self, sid):
        self.id = sid
        self.shut = False

    def shutdown(self):
        self.shut = True


def _runtime(clock, ttl=30):
    cache = TTLCache(maxsize=128, ttl=ttl, timer=lambda: clock[0])
    manager = SimpleNamespace(_session_storage=SimpleNamespace(_cache=cache), _storage_lock=threading.Lock())
    return SimpleNamespace(_session_mgr=manager), cache


def test_only_sessions_past_their_ttl_are_shut_down():
    clock = [0.0]
    runtime, cache = _runtime(clock)
    old, new = _Session("old"), _Session("new")
    cache["old"] = SimpleNamespace(session=old)
    clock[0] = 20.0
    cache["new"] = SimpleNamespace(session=new)
    clock[0] = 31.0
    assert end_expired_sessions(runtime) == 1
    assert old.shut and not new.shut
    assert list(cache) == ["new"]
    clock[0] = 51.0
    assert end_expired_sessions(runtime) == 1
    assert new.shut and len(cache) == 0


def test_without_streamlit_internals_nothing_happens():
    assert end_expired_sessions(SimpleNamespace()) == 0
    assert end_expired_sessions(SimpleNamespace(_session_mgr=SimpleNamespace())) == 0
