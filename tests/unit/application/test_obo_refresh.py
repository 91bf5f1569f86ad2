"""On-behalf-of served per user assertion (a documented difference from MSAL 1.39,
which always goes to the network): a new scope set for the same assertion redeems
that assertion's refresh token and updates that entry, so refresh tokens do not pile
up, one per scope set, in a long-running middle tier."""

from __future__ import annotations

import pytest
from tests.unit.dropin.surface_oracle import AUTHORITY, FakeEntraHttp

import tokensmith

CLIENT = "obo-middle-tier"
ASSERTION = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ."  # the incoming user token
RT = tokensmith.TokenCache.CredentialType.REFRESH_TOKEN


def _app(server: FakeEntraHttp) -> tokensmith.ConfidentialClientApplication:
    return tokensmith.ConfidentialClientApplication(
        CLIENT, client_credential="s3cret", authority=AUTHORITY, http_client=server
    )


@pytest.mark.parametrize("rounds", [2, 30])
def test_each_refresh_updates_the_refresh_token_it_redeemed(rounds: int) -> None:
    server = FakeEntraHttp()
    app = _app(server)
    for i in range(rounds):
        result = app.acquire_token_on_behalf_of(ASSERTION, [f"api://downstream-{i}/.default"])
        assert result.get("access_token") == f"at-{i + 1}", result
    rts = list(app.token_cache.search(RT))
    assert len(rts) == 1 and rts[0]["secret"] == f"rt-{rounds}"
    grants = [s.data["grant_type"] for s in server.token_posts()]
    assert grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"] + ["refresh_token"] * (
        rounds - 1
    )
    sent_rts = [s.data["refresh_token"] for s in server.token_posts()[1:]]
    assert sent_rts == [f"rt-{i}" for i in range(1, rounds)]  # always the newest one
    hit = app.acquire_token_on_behalf_of(ASSERTION, ["api://downstream-0/.default"])
    assert hit["token_source"] == "cache"
