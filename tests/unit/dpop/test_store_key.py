"""The key of ``dpop=True`` lives with the token cache, also in the persistent stores:
a new process over the same SQLite database or file gets the same key, and with it
the use of the refresh tokens bound to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.unit.application.fake_entra import TENANT, FakeEntra
from tests.unit.dpop.fake_as import DPoPServer

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.stores import FileStore, PersistentTokenCache, SqliteStore

AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
READ = ["User.Read"]


@pytest.mark.parametrize(
    "make_store",
    [lambda p: SqliteStore(p / "cache.db"), lambda p: FileStore(p / "cache.json")],
    ids=["sqlite", "file"],
)
def test_the_key_survives_in_the_store(tmp_path: Path, make_store: Callable[[Path], Any]) -> None:
    clock = FakeClock()
    server = DPoPServer(FakeEntra(clock))
    server.entra.extra = {"scope": "User.Read openid profile offline_access"}

    def app(store: Any) -> Any:
        return tokensmith.PublicClientApplication(
            "pca-client",
            authority=AUTHORITY,
            transport=server.transport,
            clock=clock,
            sleep=clock.sleep,
            token_cache=PersistentTokenCache(store, clock=clock),
            dpop=True,
        )

    first_store = make_store(tmp_path)
    first = app(first_store)
    first.acquire_token_by_device_flow(first.initiate_device_flow(READ))
    jkt = first.dpop_key.jkt
    first.close()
    first.token_cache.close()

    clock.advance(4000)  # the access token expired: only the bound refresh token helps
    later_store = make_store(tmp_path)
    later = app(later_store)
    (account,) = later.get_accounts()
    result = later.acquire_token_silent(READ, account)
    assert result is not None and result["token_type"] == "DPoP", result
    assert later.dpop_key.jkt == jkt
    assert [p.jkt for p in server.proofs] == [jkt, jkt]
    later.close()
    later.token_cache.close()
