"""The cache-first path's re-check (tokensmith.engine.cache_first, step 3), shown by
stepping two flows by hand: the leader of a single flight looks the cache up again,
so a caller that lost the race to another one sends no second request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.application.fake_entra import HOST, TENANT, FakeEntra

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.drivers.sync import run_flow
from tokensmith.engine import client_credentials, silent
from tokensmith.protocol.effects import Flow, Shared
from tokensmith.protocol.http import HttpRequest
from tokensmith.transport.base import Transport

AUTHORITY = f"https://{HOST}/{TENANT}"
GRAPH = ["https://graph.microsoft.com/.default"]
USER_SCOPES = ["User.Read"]


def until_shared(flow: Flow[Any], transport: Transport) -> Shared[Any]:
    """Step ``flow``, answering its requests (discovery...), up to its Shared effect."""
    effect = next(flow)
    while not isinstance(effect, Shared):
        assert isinstance(effect, HttpRequest), effect
        effect = flow.send(transport.send(effect))
    return effect


def finish(flow: Flow[Any], reply: Any) -> Any:
    """Send the last answer into ``flow`` and return what it returns."""
    with pytest.raises(StopIteration) as stopped:
        flow.send(reply)
    return stopped.value.value


def _client_credentials(entra: FakeEntra, clock: FakeClock) -> tuple[Callable[[], Any], str]:
    app = tokensmith.ConfidentialClientApplication(
        "cca-client", "s3cret", authority=AUTHORITY, transport=entra.transport, clock=clock
    )
    return (
        lambda: client_credentials.acquire_token_for_client(app._ctx, GRAPH, None, {}),
        "client_credentials",
    )


def _silent(entra: FakeEntra, clock: FakeClock) -> tuple[Callable[[], Any], str]:
    app = tokensmith.PublicClientApplication(
        "pca-client", authority=AUTHORITY, transport=entra.transport, clock=clock
    )
    assert "access_token" in app.acquire_token_by_refresh_token("rt-0", USER_SCOPES)
    [account] = app.get_accounts()
    clock.advance(2 * entra.expires_in)  # the access token expired: a refresh is due
    return (
        lambda: silent.acquire_token_silent(app._ctx, USER_SCOPES, account, None, False, None, {}),
        "refresh_token",
    )


@pytest.mark.parametrize("make", [_client_credentials, _silent], ids=["client", "silent"])
def test_the_flight_leader_serves_a_token_cached_since_the_flow_began(
    make: Callable[[FakeEntra, FakeClock], tuple[Callable[[], Any], str]],
) -> None:
    clock = FakeClock()
    entra = FakeEntra(clock)
    flow_of, grant = make(entra, clock)
    before = entra.tokens_posted(grant)
    late = flow_of()  # looked the cache up: nothing usable
    shared = until_shared(late, entra.transport)

    early = run_flow(flow_of(), entra.transport)  # another caller obtains and caches it
    assert early["token_source"] == "identity_provider"
    assert entra.tokens_posted(grant) == before + 1

    led = run_flow(shared.flow(), entra.transport)  # the late caller now leads a flight
    result = finish(late, led)

    assert entra.tokens_posted(grant) == before + 1, "the leader did not look again"
    assert result["token_source"] == "cache"
    assert result["access_token"] == early["access_token"]
