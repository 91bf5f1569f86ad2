"""Throttle: MSAL Python's throttling semantics, driven by a FakeClock."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith._clock import FakeClock
from tokensmith.errors import ConfigurationError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.throttle import Throttle

TOKEN_URL = "https://login.example/tenant/oauth2/v2.0/token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def post(**data: str) -> HttpRequest:
    fields = {"client_id": "app", "scope": "openid User.Read", **data}
    return HttpRequest("POST", TOKEN_URL, data=fields)


def refresh(rt: str = "rt-1", **extra: str) -> HttpRequest:
    return post(grant_type="refresh_token", refresh_token=rt, **extra)


def response(status: int, retry_after: str | None = None, text: str = "{}") -> HttpResponse:
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return HttpResponse(status, text, headers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> Throttle:
    return Throttle(clock, default_retry_after=60)


def test_429_with_retry_after_blocks_identical_request_until_expiry(
    throttle: Throttle, clock: FakeClock
) -> None:
    answer = response(429, "30", "Too Many Requests")
    throttle.record(refresh(), answer)
    assert throttle.check(refresh()) is answer
    clock.advance(29.9)
    assert throttle.check(refresh()) is answer
    clock.advance(0.1)
    assert throttle.check(refresh()) is None
    assert len(throttle) == 0  # the expired entry was dropped


def test_block_ignores_fields_outside_the_key(throttle: Throttle) -> None:
    # Same URL, client_id, scope and refresh token: a new client-request-id or a new
    # assertion timestamp in other fields does not get past the block.
    throttle.record(refresh(client_assertion="a1"), response(503, "10"))
    assert throttle.check(refresh(client_assertion="a2", claims="{}")) is not None


@pytest.mark.parametrize(
    "other",
    [
        refresh("rt-2"),
        post(grant_type="refresh_token", refresh_token="rt-1", client_id="other-app"),
        post(grant_type="refresh_token", refresh_token="rt-1", scope="Mail.Read"),
        HttpRequest("POST", TOKEN_URL.replace("tenant", "other"), data=dict(refresh().data or {})),
        HttpRequest("GET", TOKEN_URL, data=dict(refresh().data or {})),
    ],
    ids=["other-rt", "other-client", "other-scope", "other-url", "get"],
)
def test_different_request_is_not_blocked(throttle: Throttle, other: HttpRequest) -> None:
    throttle.record(refresh(), response(429, "30"))
    assert throttle.check(other) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "c1"),
        ("username", "u1"),
        ("user_id", "oid"),
        ("device_code", "d1"),
        ("assertion", "jwt1"),
    ],
)
def test_account_field_is_part_of_the_key(throttle: Throttle, field: str, value: str) -> None:
    throttle.record(post(**{field: value}), response(429, "30"))
    assert throttle.check(post(**{field: value})) is not None
    assert throttle.check(post(**{field: value + "-other"})) is None


@pytest.mark.parametrize(
    ("answer", "expected_ttl"),
    [
        (response(503), 60.0),  # 5xx without Retry-After: the default
        (response(500, "soon"), 60.0),  # unusable Retry-After: the default
        (response(429, "99999"), 3600.0),  # capped
        (response(200, "10"), 10.0),  # any Retry-After header throttles
        (response(504, "Sat, 14 Nov 2023 22:13:40 GMT"), 20.0),  # HTTP-date vs FakeClock
    ],
)
def test_block_duration(
    throttle: Throttle, clock: FakeClock, answer: HttpResponse, expected_ttl: float
) -> None:
    assert clock() == 1_700_000_000.0  # = Tue, 14 Nov 2023 22:13:20 GMT
    throttle.record(refresh(), answer)
    clock.advance(expected_ttl - 0.5)
    assert throttle.check(refresh()) is answer
    clock.advance(0.5)
    assert throttle.check(refresh()) is None


def test_confidential_default_is_shorter(clock: FakeClock) -> None:
    throttle = Throttle(clock, default_retry_after=5)
    throttle.record(post(grant_type="client_credentials"), response(503))
    clock.advance(4)
    assert throttle.check(post(grant_type="client_credentials")) is not None
    clock.advance(1)
    assert throttle.check(post(grant_type="client_credentials")) is None


@pytest.mark.parametrize(
    "answer", [response(200), response(401), response(404), response(429, "0")]
)
def test_ordinary_answers_are_not_remembered(throttle: Throttle, answer: HttpResponse) -> None:
    throttle.record(refresh(), answer)
    assert throttle.check(refresh()) is None


def test_400_is_replayed_for_60_seconds_to_identical_requests(
    throttle: Throttle, clock: FakeClock
) -> None:
    answer = response(400, text='{"error": "invalid_grant"}')
    throttle.record(refresh(client_assertion="a1"), answer)
    assert throttle.check(refresh(client_assertion="a1")) is answer
    assert throttle.check(refresh(client_assertion="a2")) is None  # any field differs
    assert throttle.check(refresh("rt-2", client_assertion="a1")) is None
    params_differ = HttpRequest(
        "POST", TOKEN_URL, params={"x": "1"}, data=dict(refresh(client_assertion="a1").data or {})
    )
    assert throttle.check(params_differ) is None
    clock.advance(59.9)
    assert throttle.check(refresh(client_assertion="a1")) is answer
    clock.advance(0.1)
    assert throttle.check(refresh(client_assertion="a1")) is None


@pytest.mark.parametrize("grant_type", [DEVICE_GRANT, "device_code"])
def test_device_code_polls_are_not_replayed(throttle: Throttle, grant_type: str) -> None:
    poll = post(grant_type=grant_type, device_code="dc")
    throttle.record(poll, response(400, text='{"error": "authorization_pending"}'))
    assert throttle.check(poll) is None


def test_400_with_retry_after_follows_the_retry_after_rule(
    throttle: Throttle, clock: FakeClock
) -> None:
    throttle.record(refresh(client_assertion="a1"), response(400, "5"))
    # Remembered under the Retry-After key (so a different assertion is blocked too) ...
    assert throttle.check(refresh(client_assertion="a2")) is not None
    clock.advance(5)
    # ... and not for 60 s under the 400 key.
    assert throttle.check(refresh(client_assertion="a1")) is None


def test_get_is_never_throttled(throttle: Throttle) -> None:
    discovery = HttpRequest("GET", "https://login.example/.well-known/openid-configuration")
    throttle.record(discovery, response(429, "30"))
    throttle.record(discovery, response(400))
    assert throttle.check(discovery) is None
    assert len(throttle) == 0


def test_capacity_evicts_soonest_expiry_first(clock: FakeClock) -> None:
    throttle = Throttle(clock, default_retry_after=60, capacity=3)
    throttle.record(refresh("long"), response(429, "300"))
    throttle.record(refresh("short"), response(429, "10"))
    throttle.record(refresh("mid"), response(429, "100"))
    throttle.record(refresh("new"), response(429, "50"))
    assert len(throttle) == 3
    assert throttle.check(refresh("short")) is None  # evicted: it expired soonest
    for kept in ("long", "mid", "new"):
        assert throttle.check(refresh(kept)) is not None


def test_capacity_prefers_dropping_expired_entries(clock: FakeClock) -> None:
    throttle = Throttle(clock, default_retry_after=60, capacity=2)
    throttle.record(refresh("a"), response(429, "5"))
    throttle.record(refresh("b"), response(429, "500"))
    clock.advance(10)
    throttle.record(refresh("c"), response(429, "100"))
    assert len(throttle) == 2
    assert throttle.check(refresh("b")) is not None
    assert throttle.check(refresh("c")) is not None


def test_memory_stays_bounded_under_churn(clock: FakeClock) -> None:
    throttle = Throttle(clock, default_retry_after=60, capacity=8)
    for n in range(500):
        throttle.record(refresh(f"rt-{n % 20}"), response(429, str(10 + n % 7)))
        clock.advance(0.01)
    assert len(throttle) <= 8
    assert len(throttle._heap) <= 2 * 8 + 16 + 1


def test_updating_an_entry_replaces_its_expiry(throttle: Throttle, clock: FakeClock) -> None:
    throttle.record(refresh(), response(429, "100"))
    throttle.record(refresh(), response(429, "10"))
    clock.advance(10)
    assert throttle.check(refresh()) is None


def test_no_key_material_is_stored_in_clear(throttle: Throttle) -> None:
    secret = "0.AAA-very-secret-refresh-token"
    throttle.record(refresh(secret, client_secret="s3cr3t-value"), response(400))
    throttle.record(refresh(secret), response(429, "30"))
    assert len(throttle) == 2
    stored = repr(throttle._entries) + repr(throttle._heap) + repr(throttle)
    assert secret not in stored
    assert "s3cr3t-value" not in stored
    assert "app" not in "".join(throttle._entries)  # keys are digests, not text
    assert all(len(key) == 64 for key in throttle._entries)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"default_retry_after": -1},
        {"default_retry_after": float("nan")},
        {"default_retry_after": "60"},
        {"default_retry_after": 60, "capacity": 0},
        {"default_retry_after": 60, "capacity": 1.5},
    ],
)
def test_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Throttle(FakeClock(), **kwargs)
