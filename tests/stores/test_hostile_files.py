"""FileStore and SqliteStore given files damaged or written by someone else (issue 11)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import StoreError
from tokensmith.stores import FileStore, PersistentTokenCache, SqliteStore


def _sqlite_cache(path: Path) -> PersistentTokenCache:
    return PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)


def _file_cache(path: Path) -> PersistentTokenCache:
    return PersistentTokenCache(FileStore(path), clock=lambda: NOW)


def _refresh_tokens(cache: PersistentTokenCache) -> list[str]:
    return sorted(e["secret"] for e in json.loads(cache.serialize())["RefreshToken"].values())


@pytest.mark.parametrize("body", ["[1]", '"junk"', '{"k": {"secret": "rt-phantom"}}'])
def test_a_stray_verbatim_row_named_like_a_known_section_hides_none_of_its_entries(
    tmp_path: Path, body: str
) -> None:
    # tokensmith files every RefreshToken as a row; a verbatim_sections row of that
    # name is damage from outside. It replaced the section in the export: the real
    # refresh tokens were missing, and an export/import round trip lost them.
    path = tmp_path / "cache.db"
    cache = _sqlite_cache(path)
    cache.add(user_event(uid="u0", utid="tid"), now=NOW)
    cache.close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO verbatim_sections (name, body) VALUES ('RefreshToken', ?)", (body,))
    db.commit()
    db.close()
    fresh = _sqlite_cache(path)
    assert _refresh_tokens(fresh) == ["rt-u0"]
    fresh.deserialize(fresh.serialize())
    assert _refresh_tokens(_sqlite_cache(path)) == ["rt-u0"]


def test_an_entry_json_cannot_hold_is_a_store_error_and_the_file_is_kept(tmp_path: Path) -> None:
    # SqliteStore said so with a StoreError; FileStore let json's TypeError out.
    path = tmp_path / "cache.json"
    cache = _file_cache(path)
    cache.add(user_event(uid="u0", utid="tid"), now=NOW)
    before = path.read_bytes()
    event = user_event(uid="u1", utid="tid")
    event["response"]["refresh_token"] = {"not", "json"}
    with pytest.raises(StoreError, match="JSON cannot hold"):
        cache.add(event, now=NOW)
    assert path.read_bytes() == before
    cache.add(user_event(uid="u2", utid="tid"), now=NOW)  # the store goes on
    assert len(json.loads(path.read_text())["RefreshToken"]) == 2


def test_a_damaged_file_that_cannot_be_kept_aside_is_not_overwritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Its ``.corrupt-<stamp>`` name is longer than a file name may be (its own is not):
    # the rename failed, a warning said "not kept", and the write replaced the damaged
    # file (half an MSAL cache, its refresh tokens recoverable by hand) for good.
    path = tmp_path / ("c" * 225 + ".json")
    damaged = '{"RefreshToken": {"k": {"secret": "rt-damaged-secret"'
    path.write_text(damaged)
    cache = _file_cache(path)
    with pytest.raises(StoreError, match="cannot be kept aside") as raised:
        cache.add(user_event(uid="u0", utid="tid"), now=NOW)
    assert path.read_text() == damaged
    assert "rt-damaged-secret" not in str(raised.value) + caplog.text
    with pytest.raises(StoreError, match="cannot be kept aside"):
        cache.deserialize("{}")
    assert path.read_text() == damaged
