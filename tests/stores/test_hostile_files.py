"""FileStore and SqliteStore given files damaged or written by someone else (issue 11)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.stores import PersistentTokenCache, SqliteStore


def _sqlite_cache(path: Path) -> PersistentTokenCache:
    return PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)


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
