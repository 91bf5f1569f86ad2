"""Repeated failing source requests are throttled as MSAL 1.39's ManagedIdentityClient
throttles them: a 429, 5xx or Retry-After answer blocks identical requests for
Retry-After seconds (5 s without one), per identity and resource; nothing else is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msal
import pytest

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport

RES = "https://management.azure.com"
ERROR = {"error": "temporarily_unavailable", "error_description": "IMDS is busy"}
pytestmark = pytest.mark.usefixtures("imds_on_loopback")


def _answer(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    plain = {"content-type": "application/json", **(headers or {})}
    return HttpResponse(status, json.dumps(ERROR), {k.lower(): v for k, v in plain.items()})


def _client(respond: Callable[[HttpRequest], HttpResponse]) -> tuple[Any, MockTransport, FakeClock]:
    clock = FakeClock()
    transport = MockTransport(respond)
    client = tokensmith.ManagedIdentityClient(
        tokensmith.SystemAssignedManagedIdentity(),
        http_client=None,
        transport=transport,
        clock=clock,
        sleep=clock.sleep,
    )
    return client, transport, clock


def test_a_failing_source_is_asked_again_only_after_five_seconds() -> None:
    client, transport, clock = _client(lambda r: _answer(500))
    first = client.acquire_token_for_client(resource=RES)
    sent = len(transport.requests)
    assert first["error"] == "temporarily_unavailable" and sent >= 1
    clock.advance(4)
    assert client.acquire_token_for_client(resource=RES) == first
    assert len(transport.requests) == sent  # answered from the throttle: no traffic
    clock.advance(1.5)
    client.acquire_token_for_client(resource=RES)
    assert len(transport.requests) > sent


def test_retry_after_sets_the_block_and_other_resources_are_not_blocked() -> None:
    client, transport, clock = _client(lambda r: _answer(429, {"Retry-After": "120"}))
    client.acquire_token_for_client(resource=RES)
    sent = len(transport.requests)
    clock.advance(100)
    client.acquire_token_for_client(resource=RES)
    assert len(transport.requests) == sent
    client.acquire_token_for_client(resource="https://vault.azure.net")
    assert len(transport.requests) > sent
    sent = len(transport.requests)
    clock.advance(21)
    client.acquire_token_for_client(resource=RES)
    assert len(transport.requests) > sent


def test_a_user_assigned_identity_is_throttled_apart_from_the_system_one() -> None:
    clock = FakeClock()
    transport = MockTransport(lambda r: _answer(503))
    system, user = (
        tokensmith.ManagedIdentityClient(
            identity, http_client=None, transport=transport, clock=clock, sleep=clock.sleep
        )
        for identity in (
            tokensmith.SystemAssignedManagedIdentity(),
            tokensmith.UserAssignedManagedIdentity(client_id="cid-1"),
        )
    )
    system.acquire_token_for_client(resource=RES)
    sent = len(transport.requests)
    user.acquire_token_for_client(resource=RES)
    assert len(transport.requests) > sent


def test_answers_other_than_429_and_5xx_are_not_throttled() -> None:
    client, transport, _ = _client(lambda r: _answer(400))
    client.acquire_token_for_client(resource=RES)
    client.acquire_token_for_client(resource=RES)
    assert len(transport.requests) == 2


class _CountingHttpClient:
    """An MSAL-style http_client answering every GET with 500 and counting them."""

    def __init__(self) -> None:
        self.gets = 0

    def get(self, url: str, **kwargs: Any) -> Any:
        self.gets += 1
        return _MsalResponse(500, json.dumps(ERROR))

    def post(self, url: str, **kwargs: Any) -> Any:
        raise AssertionError("no POST is expected from the IMDS source")

    def close(self) -> None:
        pass


class _MsalResponse:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text
        self.headers = {"content-type": "application/json"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


@pytest.mark.parametrize("library", [msal, tokensmith], ids=["msal", "tokensmith"])
def test_the_second_immediate_call_sends_nothing_in_both_libraries(library: Any) -> None:
    http = _CountingHttpClient()
    client = library.ManagedIdentityClient(
        library.SystemAssignedManagedIdentity(), http_client=http
    )
    if library is tokensmith:  # tokensmith also retries a 5xx itself: no real sleeps here
        client = tokensmith.ManagedIdentityClient(
            tokensmith.SystemAssignedManagedIdentity(), http_client=http, sleep=lambda s: None
        )
    first = client.acquire_token_for_client(resource=RES)
    sent = http.gets
    second = client.acquire_token_for_client(resource=RES)
    assert http.gets == sent
    assert second == first and first["error"] == ERROR["error"]
