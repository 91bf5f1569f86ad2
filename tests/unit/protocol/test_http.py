"""The one reading of Retry-After: GMT dates whatever the local zone, ASCII digits only,
finite whatever the server wrote."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tokensmith.protocol.http import HttpResponse, parse_retry_after, retry_after_of
from tokensmith.protocol.token_endpoint import parse_token_response

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "value",
    [
        "Tue, 14 Nov 2023 22:14:40 GMT",  # RFC 9110 IMF-fixdate
        "Tuesday, 14-Nov-23 22:14:40 GMT",  # obsolete RFC 850 form
        "Tue Nov 14 22:14:40 2023",  # asctime form, no zone: GMT by definition
    ],
)
def test_http_dates_are_gmt_in_any_local_zone(new_york: None, value: str) -> None:
    assert parse_retry_after(value, NOW) == 80.0


def test_token_endpoint_reads_the_same_retry_after(new_york: None) -> None:
    response = HttpResponse(429, "busy", {"retry-after": "Tue Nov 14 22:14:40 2023"})
    assert parse_token_response(response, now=NOW)["retry_after"] == 80


@pytest.mark.parametrize("value", ["\u0661\u0662\u0660", "\uff11\uff12", "12a", "-5", "1.5"])
def test_only_ascii_delta_seconds(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["9" * 400, "Fri, 31 Dec 99999 23:59:59 GMT"])
def test_absurd_values_stay_finite(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or seconds <= 10**9


def test_mixed_case_header_names() -> None:
    assert retry_after_of(HttpResponse(429, "", {"Retry-After": "9"}), NOW) == 9.0
