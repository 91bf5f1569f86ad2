"""Silent refresh with family (FOCI) refresh tokens (tokensmith.engine.silent): an app
not known to be in the family (no AppMetadata) tries the family's refresh tokens,
stops at the first ``client_mismatch``, then redeems its own."""

from __future__ import annotations

from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, UTID, user_event

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.cache import TokenCache
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

SCOPES = ["User.Read"]
NEWER_FAMILY_RT = "rt-family-b"
OLDER_FAMILY_RT = "rt-family-a"
OWN_RT = "rt-own"


def _cache() -> TokenCache:
    """Two family refresh tokens of other clients and this app's own, no AppMetadata
    for this app."""
    cache = TokenCache()
    for client_id, secret, at in (
        ("family-a", OLDER_FAMILY_RT, NOW),
        ("family-b", NEWER_FAMILY_RT, NOW + 5),
    ):
        event = user_event(client_id=client_id, foci="1", refresh_token=secret)
        cache.add(event, now=at)
    cache.add(user_event(refresh_token=OWN_RT), now=NOW + 10)
    [own_metadata] = cache.search(cache.CredentialType.APP_METADATA, query={"client_id": CLIENT_ID})
    cache.modify(cache.CredentialType.APP_METADATA, own_metadata)  # removed
    assert cache.get_app_metadata(environment=ENV, client_id=CLIENT_ID) is None
    return cache


def test_family_refresh_stops_at_the_first_client_mismatch_then_uses_its_own() -> None:
    clock = FakeClock(NOW + 20)
    entra = FakeEntra(clock)

    def answer(form: dict[str, str]) -> HttpResponse:
        if form["refresh_token"] == OWN_RT:
            return entra.issue(form)
        return json_response(
            {
                "error": "invalid_grant",
                "error_description": "AADSTS70000: the grant is not for this client",
                "error_codes": [70000],
                "error_additional_info": ["client_mismatch"],
            },
            400,
        )

    entra.token_handler = answer
    cache = _cache()
    app = tokensmith.PublicClientApplication(
        CLIENT_ID,
        authority=f"https://{ENV}/{UTID}",
        token_cache=cache,
        transport=entra.transport,
        clock=clock,
        sleep=clock.sleep,
    )
    [account] = app.get_accounts()
    assert account["home_account_id"] == HOME

    result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)

    assert result is not None and "error" not in result, result
    assert result["token_source"] == "identity_provider"
    sent = [form["refresh_token"] for form in entra.token_requests]
    assert sent == [NEWER_FAMILY_RT, OWN_RT]
    assert all(form["client_id"] == CLIENT_ID for form in entra.token_requests)
