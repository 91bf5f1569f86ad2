"""SqliteStore under PersistentTokenCache: partitions read on demand, import/export."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
from pathlib import Path

import msal
import pytest
from tests.stores._apps import SCOPE, async_cca, cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, app_event, user_event, user_token

from tokensmith._clock import FakeClock
from tokensmith.errors import StoreError
from tokensmith.stores import PersistentTokenCache, SqliteStore


def _cache(path: Path) -> PersistentTokenCache:
    return PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)


def _fill(path: Path, users: int) -> None:
    cache = _cache(path)
    for n in range(users):
        cache.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
    cache.close()


def test_a_fresh_process_reads_only_the_partition_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 50)
    fresh = _cache(path)
    found = user_token(fresh, "u7", ["User.Read"])
    assert isinstance(found, dict) and found["home_account_id"] == "u7.tid"
    assert sorted(fresh._cache) == ["AccessToken", "IdToken", "RefreshToken"]
    assert all(
        entry["home_account_id"] == "u7.tid"
        for section in fresh._cache.values()
        for entry in section.values()
    )
    accounts = fresh.find_accounts(username="ada@contoso.example")
    assert len(accounts) == 50  # every user of _fill has this username
    assert fresh.store.count() == 50 * 4 + 1  # AT, Account, IdToken, RT each; one AppMetadata


def test_a_miss_reads_what_another_process_wrote_since(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    reader, writer = _cache(path), _cache(path)
    assert user_token(reader, "u1", ["Mail.Read"]) is None
    writer.add(user_event(uid="u1", utid="tid", scope=["Mail.Read"]), now=NOW)
    found = user_token(reader, "u1", ["Mail.Read"])
    assert isinstance(found, dict) and found["target"] == "Mail.Read"


def test_a_sign_out_removes_what_other_processes_wrote(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 3)
    other, here = _cache(path), _cache(path)
    other.add(user_event(uid="u1", utid="tid", scope=["Mail.Read"]), now=NOW)
    here.forget_account(home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID)
    left = _cache(path)
    assert user_token(left, "u1", ["Mail.Read"]) is None
    assert user_token(left, "u1", ["User.Read"]) is None
    assert left.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) == []
    assert user_token(left, "u2", ["User.Read"]) is not None


def test_msal_json_imports_and_exports_unchanged(tmp_path: Path) -> None:
    source = msal.SerializableTokenCache()
    source.add(user_event(), now=NOW)
    source.add(app_event(), now=NOW)
    document = json.loads(source.serialize())
    document["SomethingNew"] = {"k": {"field": 1}}
    document["Weird"] = [1, 2]
    cache = _cache(tmp_path / "cache.db")
    cache.deserialize(json.dumps(document))
    assert json.loads(_cache(tmp_path / "cache.db").serialize()) == document
    back = msal.SerializableTokenCache()
    back.deserialize(cache.serialize())
    assert json.loads(back.serialize()) == document


def test_a_bad_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    with pytest.raises(ValueError):
        cache.deserialize("{not json")
    assert cache.store.count() == 5


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 1)
    cache = _cache(path)
    user_token(cache, "u0", ["User.Read"])  # WAL and shared-memory files exist while open
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_text("just text, long enough to not be a database header " * 4)
    with pytest.raises(StoreError, match=str(path)):
        SqliteStore(path)


def test_sync_and_async_apps_share_one_database(tmp_path: Path) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    path = tmp_path / "cache.db"
    first = cca(entra, clock, PersistentTokenCache(SqliteStore(path), clock=clock))
    assert first.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    second = async_cca(entra, clock, PersistentTokenCache(SqliteStore(path), clock=clock))
    result = asyncio.run(second.acquire_token_for_client(SCOPE))
    assert result["token_source"] == "cache"
    assert result["access_token"] == "at-1"
    assert entra.tokens_posted() == 1


def test_nothing_is_left_to_save_by_hand(tmp_path: Path) -> None:
    cache = _cache(tmp_path / "cache.db")
    cache.add(user_event(), now=NOW)
    assert cache.has_state_changed is False  # MSAL-style "save if changed" code saves nothing
    assert _cache(tmp_path / "cache.db").find_accounts() != []


def test_a_sign_out_elsewhere_is_seen_before_a_refresh(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _fill(path, 2)
    here, elsewhere = _cache(path), _cache(path)
    assert here.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) != []
    elsewhere.forget_account(home_account_id="u1.tid", environments=[ENV], client_id=CLIENT_ID)
    # the refresh path reads the partition again and drops what the store no longer has,
    # so a signed-out account is never refreshed (and written back) from memory
    assert here.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV]) == []
    assert here.find_refresh_tokens(home_account_id="u0.tid", environments=[ENV]) != []
