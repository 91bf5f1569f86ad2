"""RetryPolicy decisions and Retry-After parsing, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith._clock import FakeClock
from tokensmith.errors import (
    ConfigurationError,
    MsalServiceError,
    ProtocolError,
    TransportError,
    TransportTimeout,
)
from tokensmith.transport.base import HttpResponse
from tokensmith.transport.retry import RetryPolicy, parse_retry_after, retry_after_of

NOW = 1_445_412_400.0  # Wed, 21 Oct 2015 07:26:40 GMT


def policy(**kwargs: Any) -> RetryPolicy:
    """A policy whose jitter is fixed at its top (delay == the exponential ceiling)."""
    kwargs.setdefault("jitter", lambda: 1.0)
    kwargs.setdefault("clock", FakeClock(NOW))
    return RetryPolicy(**kwargs)


def resp(status: int, retry_after: str | None = None) -> HttpResponse:
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return HttpResponse(status, "body", headers)


@pytest.mark.parametrize(
    ("attempt", "response", "error", "expected"),
    [
        # outcomes that are final
        (1, resp(200), None, None),
        (1, resp(400), None, None),
        (1, resp(401), None, None),
        (1, resp(404), None, None),
        (1, resp(200, "5"), None, None),  # Retry-After on a success does not retry
        (1, resp(400, "5"), None, None),
        (1, None, ValueError("x"), None),
        (1, None, ProtocolError("x"), None),
        (1, None, MsalServiceError("x", status_code=503), None),
        (1, None, KeyboardInterrupt(), None),
        # retryable outcomes: exponential backoff 0.5, 1.0, 2.0 ...
        (1, resp(500), None, 0.5),
        (2, resp(502), None, 1.0),
        (1, resp(503), None, 0.5),
        (1, resp(599), None, 0.5),
        (1, resp(429), None, 0.5),
        (1, None, TransportError("refused"), 0.5),
        (2, None, TransportTimeout("slow"), 1.0),
        # Retry-After wins over backoff, when not above max_retry_after
        (1, resp(429, "2"), None, 2.0),
        (1, resp(503, "0"), None, 0.0),
        (1, resp(503, "60"), None, 60.0),
        (1, resp(429, "61"), None, None),
        (1, resp(429, "3600"), None, None),
        (1, resp(429, "Wed, 21 Oct 2015 07:27:30 GMT"), None, 50.0),
        (1, resp(429, "Wed, 21 Oct 2015 07:28:00 GMT"), None, None),  # 80 s > 60 s
        (1, resp(429, "Wed, 21 Oct 2015 07:00:00 GMT"), None, 0.0),  # in the past
        (1, resp(429, "soon"), None, 0.5),  # garbage: fall back to backoff
        # attempts exhausted (max_attempts=3)
        (3, resp(503), None, None),
        (3, None, TransportError("refused"), None),
        (4, resp(503, "1"), None, None),
    ],
)
def test_decisions(
    attempt: int, response: HttpResponse | None, error: BaseException | None, expected: Any
) -> None:
    assert policy().delay_for(attempt, response, error) == expected


def test_backoff_is_capped_and_jittered() -> None:
    capped = policy(max_attempts=50, backoff=1.0, max_backoff=8.0)
    assert [capped.delay_for(n, resp(503), None) for n in range(1, 7)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]
    assert capped.delay_for(49, resp(503), None) == 8.0  # no overflow for large attempts
    low = policy(max_attempts=5, backoff=1.0, jitter=lambda: 0.0)
    assert [low.delay_for(n, resp(503), None) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    mid = policy(max_attempts=5, backoff=1.0, jitter=lambda: 0.5)
    assert mid.delay_for(3, resp(503), None) == 3.0


def test_default_jitter_stays_within_bounds() -> None:
    real = RetryPolicy(max_attempts=10, backoff=2.0, clock=FakeClock(NOW))
    delays = [real.delay_for(2, resp(503), None) for _ in range(200)]
    assert all(d is not None and 2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1


def test_single_attempt_never_retries() -> None:
    assert policy(max_attempts=1).delay_for(1, resp(503), None) is None


def test_max_retry_after_is_configurable() -> None:
    assert policy(max_retry_after=3600).delay_for(1, resp(429, "3600"), None) == 3600.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"backoff": -1},
        {"max_backoff": float("inf")},
        {"max_retry_after": float("nan")},
        {"backoff": "1"},
    ],
)
def test_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 80.0),
        ("Wed, 21 Oct 2015 07:26:40 GMT", 0.0),
        ("Tue, 20 Oct 2015 07:28:00 GMT", 0.0),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 80.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:00 2015", 80.0),  # obsolete asctime form (GMT)
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("٣", None),  # a non-ASCII digit is not delta-seconds
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 25:28:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_of_tolerates_mixed_case_header_names() -> None:
    assert retry_after_of(HttpResponse(429, "", {"Retry-After": "9"}), NOW) == 9.0
    assert retry_after_of(HttpResponse(429, "", {}), NOW) is None
