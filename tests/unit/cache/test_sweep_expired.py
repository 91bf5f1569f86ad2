"""sweep_expired removes every expired AccessToken by the key it is held under, and the
removal reaches the store (an MSAL-style cache may hold an entry under a key other than
the one its fields make; such an entry used to be counted and kept)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from tests.unit.cache._helpers import NOW, app_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.changes import Change, EntryDeleted
from tokensmith.stores import PersistentTokenCache, SqliteStore

ODD_KEY = "an-msal-style-key-its-fields-do-not-make"


def _state() -> str:
    """Two expired AccessTokens, one under an odd key, and a live one."""
    cache = SerializableTokenCache()
    cache.add(app_event("api://old/.default", expires_in=10), now=NOW - 100)
    cache.add(app_event("api://odd/.default", expires_in=10), now=NOW - 100)
    cache.add(app_event("api://live/.default"), now=NOW)
    state = json.loads(cache.serialize())
    tokens = state["AccessToken"]
    (odd,) = [key for key, entry in tokens.items() if entry["target"] == "api://odd/.default"]
    tokens[ODD_KEY] = tokens.pop(odd)
    return json.dumps(state)


class Recorder:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def apply(self, changes: Sequence[Change]) -> None:
        self.changes.extend(changes)


def test_every_expired_token_is_removed_by_its_key_and_reaches_the_sink() -> None:
    cache = SerializableTokenCache()
    cache.deserialize(_state())
    recorder = Recorder()
    cache._set_sink(recorder)
    assert cache.sweep_expired(now=NOW) == 2
    remaining = cache._cache["AccessToken"].values()
    assert [entry["target"] for entry in remaining] == ["api://live/.default"]
    assert cache.expired_access_tokens(now=NOW) == []
    assert all(isinstance(change, EntryDeleted) for change in recorder.changes)
    deleted = {change.key for change in recorder.changes}
    assert len(deleted) == 2 and ODD_KEY in deleted
    assert cache.has_state_changed
    assert cache.sweep_expired(now=NOW) == 0  # nothing left to remove


def test_nothing_expired_changes_nothing() -> None:
    cache = SerializableTokenCache()
    cache.add(app_event(), now=NOW)
    cache.serialize()  # clears has_state_changed
    recorder = Recorder()
    cache._set_sink(recorder)
    assert cache.sweep_expired(now=NOW) == 0
    assert recorder.changes == []
    assert not cache.has_state_changed


def test_a_sqlite_store_drops_the_rows_too(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    cache.deserialize(_state())  # an import: the odd key is a row of the store too
    assert cache.sweep_expired() == 2
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT key FROM entries WHERE credential_type = ?", ("AccessToken",)
        ).fetchall()
    assert len(rows) == 1 and rows[0][0] != ODD_KEY
    cache.close()
    fresh = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    tokens = json.loads(fresh.serialize())["AccessToken"]
    assert [entry["target"] for entry in tokens.values()] == ["api://live/.default"]
    fresh.close()


def test_a_subclass_overriding_modify_sees_each_removal() -> None:
    # msal-extensions' PersistedTokenCache persists in modify(); sweep_expired removed
    # behind it, so the file kept the tokens (and a reload brought them back).
    seen: list[tuple[str, bool]] = []

    class Persisting(SerializableTokenCache):
        def modify(self, credential_type: str, old: dict, new: dict | None = None) -> None:  # type: ignore[type-arg]
            seen.append((credential_type, new is None))
            super().modify(credential_type, old, new)

    cache = Persisting()
    cache.add(app_event("api://old/.default", expires_in=10), now=NOW - 100)
    cache.add(app_event("api://live/.default"), now=NOW)
    seen.clear()
    assert cache.sweep_expired(now=NOW) == 1
    assert seen == [("AccessToken", True)]
    assert sorted(e["target"] for e in cache._cache["AccessToken"].values()) == [
        "api://live/.default"
    ]
