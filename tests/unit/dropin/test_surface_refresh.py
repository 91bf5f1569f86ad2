"""Item 7 of issue 9: a silent refresh updates the refresh token it redeemed, as MSAL
does, instead of adding one RefreshToken entry per scope set."""

from __future__ import annotations

from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_oracle import (
    AUTHORITY,
    USERNAME,
    FakeEntraHttp,
    cache_sections,
)

import tokensmith

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")

CLIENT = "surface-pca"


def _signed_in(module: Any, server: FakeEntraHttp) -> tuple[Any, Any]:
    cache = module.SerializableTokenCache()
    app = module.PublicClientApplication(
        CLIENT, authority=AUTHORITY, http_client=server, token_cache=cache
    )
    result = app.acquire_token_by_username_password(USERNAME, "pw", ["scope-0"])
    assert "access_token" in result, result
    return app, cache


def _refresh_many(module: Any, foci: str | None, rounds: int) -> tuple[FakeEntraHttp, Any]:
    server = FakeEntraHttp(foci=foci)
    app, cache = _signed_in(module, server)
    (account,) = app.get_accounts()
    for i in range(1, rounds + 1):
        scopes = [f"api://res-{i % 7}/scope-{i}", f"extra-{i % 3}"]
        result = app.acquire_token_silent(scopes, account)
        assert result is not None and result["access_token"] == f"at-{i + 1}"
    return server, cache


@pytest.mark.parametrize("foci", [None, "1"])
def test_hundred_refreshes_leave_one_refresh_token_as_msal_does(foci: str | None) -> None:
    rounds = 100
    their_server, theirs = _refresh_many(msal, foci, rounds)
    our_server, ours = _refresh_many(tokensmith, foci, rounds)

    rts = list(ours.search(tokensmith.TokenCache.CredentialType.REFRESH_TOKEN))
    assert len(rts) == 1
    assert rts[0]["secret"] == f"rt-{rounds + 1}"  # the redeemed entry carries the newest
    assert rts[0].get("family_id") == foci
    assert cache_sections(ours.serialize()) == cache_sections(theirs.serialize())
    their_forms = [s.data for s in their_server.token_posts()]
    our_forms = [s.data for s in our_server.token_posts()]
    assert [f["refresh_token"] for f in our_forms[1:]] == [
        f["refresh_token"] for f in their_forms[1:]
    ]
