from __future__ import annotations

from typing import Any

import pytest

from tokensmith._clock import FakeClock
from tokensmith.drivers.sync import run_flow
from tokensmith.errors import MsalServiceError
from tokensmith.protocol.client_auth import PublicClientAuth
from tokensmith.protocol.device_code import initiate_device_flow, poll_device_flow
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

DAE = "https://login.example/t/oauth2/v2.0/devicecode"
TOKEN = "https://login.example/t/oauth2/v2.0/token"
START = 1_700_000_000.0
PENDING = {"error": "authorization_pending", "error_description": "AADSTS70016: pending"}
SLOW = {"error": "slow_down"}
SUCCESS = {"access_token": "at", "expires_in": 3600, "id_token": "e30.e30.sig"}  # {} . {}


def _initiate(response: HttpResponse) -> tuple[dict[str, Any], MockTransport]:
    transport = MockTransport(lambda _r: response)
    flow = initiate_device_flow(
        DAE,
        client_id="cid",
        scopes=["User.Read", "offline_access", "openid", "profile"],
        claims='{"access_token": {}}',
        headers={"x-client-sku": "tokensmith"},
        now=START,
        correlation_id="corr-1",
    )
    return run_flow(flow, transport), transport


def test_initiate_builds_msal_flow_dict() -> None:
    server = {
        "device_code": "DC",
        "user_code": "UC",
        "verification_uri": "https://microsoft.com/devicelogin",
        "message": "go",
        "interval": "7",
        "expires_in": 900,
    }
    flow, transport = _initiate(json_response(server))
    request = transport.requests[0]
    assert request.method == "POST" and request.url == DAE
    assert request.data == {
        "client_id": "cid",
        "scope": "User.Read offline_access openid profile",
        "claims": '{"access_token": {}}',
    }
    assert request.headers["client-request-id"] == "corr-1"
    assert request.headers["x-client-sku"] == "tokensmith"
    assert flow == {
        **server,
        "interval": 7,
        "expires_in": 900,
        "expires_at": START + 900,
        "_correlation_id": "corr-1",
    }


def test_initiate_defaults() -> None:
    flow, _ = _initiate(json_response({"device_code": "DC", "user_code": "UC"}))
    assert flow["interval"] == 5
    assert flow["expires_in"] == 1800
    assert flow["expires_at"] == START + 1800


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (json_response({"error": "invalid_scope", "error_description": "d"}, 400), "invalid_scope"),
        (json_response({"user_code": "UC"}), "invalid_response"),
        (
            json_response({"device_code": "DC", "user_code": "UC", "interval": "x"}),
            "invalid_response",
        ),
        (HttpResponse(200, "<html/>"), "invalid_response"),
    ],
)
def test_initiate_errors(response: HttpResponse, error: str) -> None:
    result, _ = _initiate(response)
    assert result["error"] == error
    assert "device_code" not in result


def test_initiate_5xx_raises() -> None:
    with pytest.raises(MsalServiceError):
        _initiate(HttpResponse(502, "bad gateway"))


class Server:
    """Answers polls from a script; records when (by the fake clock) each poll came."""

    def __init__(self, clock: FakeClock, answers: list[dict[str, Any]]) -> None:
        self.clock = clock
        self.answers = answers
        self.poll_times: list[float] = []
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        self.poll_times.append(self.clock())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return json_response(answer, 200 if "access_token" in answer else 400)


def _poll(clock: FakeClock, server: Server, flow: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    kwargs.setdefault("headers", {})
    result = run_flow(
        poll_device_flow(
            TOKEN, flow, client_id="cid", client_auth=PublicClientAuth(), clock=clock, **kwargs
        ),
        MockTransport(server),
        sleep=sleep,
    )
    flow["_sleeps"] = sleeps
    return result


def _flow(clock: FakeClock, interval: int = 5, expires_in: int = 900) -> dict[str, Any]:
    return {
        "device_code": "DC",
        "user_code": "UC",
        "interval": interval,
        "expires_in": expires_in,
        "expires_at": clock() + expires_in,
        "_correlation_id": "corr-9",
    }


def test_pending_three_times_then_success() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING, PENDING, PENDING, SUCCESS])
    flow = _flow(clock)
    assert _poll(clock, server, flow, claims='{"c": 1}') == SUCCESS
    assert server.poll_times == [START, START + 5, START + 10, START + 15]
    assert server.requests[0].data == {
        "client_id": "cid",
        "client_info": "1",
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": "DC",
        "code": "DC",
        "claims": '{"c": 1}',
    }
    assert server.requests[0].headers["client-request-id"] == "corr-9"
    assert {"device_code", "code"} <= server.requests[0].secret_fields
    assert sum(flow["_sleeps"]) == 15


def test_slow_down_adds_five_seconds() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING, SLOW, PENDING, SUCCESS])
    flow = _flow(clock)
    assert _poll(clock, server, flow) == SUCCESS
    assert server.poll_times == [START, START + 5, START + 15, START + 25]
    assert flow["interval"] == 10


def test_expiry_is_reported_as_expired_token_not_the_last_pending() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING])
    flow = _flow(clock, interval=5, expires_in=12)
    result = _poll(clock, server, flow)
    assert result["error"] == "expired_token"
    assert "AADSTS" not in result["error_description"]
    assert server.poll_times == [START, START + 5, START + 10]
    assert clock() == START + 12


def test_abort_through_exit_condition_setting_expires_at() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING])
    flow = _flow(clock)
    checks: list[float] = []

    def exit_condition(f: dict[str, Any]) -> bool:
        checks.append(clock())
        if clock() >= START + 7:
            f["expires_at"] = 0  # what another thread would do
        return False

    assert _poll(clock, server, flow, exit_condition=exit_condition) == PENDING
    assert server.poll_times == [START, START + 5]
    assert clock() == START + 7  # noticed within one second


def test_abort_between_polls_by_another_party() -> None:
    clock = FakeClock(START)
    flow = _flow(clock)
    answers = [PENDING, PENDING, SUCCESS]

    def handler(_request: HttpRequest) -> HttpResponse:
        if len(answers) == 2:
            flow["expires_at"] = 0
        return json_response(answers.pop(0), 400)

    result = run_flow(
        poll_device_flow(
            TOKEN, flow, client_id="c", client_auth=PublicClientAuth(), clock=clock, headers={}
        ),
        MockTransport(handler),
        sleep=clock.sleep,
    )
    assert result == PENDING
    assert answers == [SUCCESS]


def test_exit_condition_true_means_a_single_poll() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING])
    assert _poll(clock, server, _flow(clock), exit_condition=lambda f: True) == PENDING
    assert len(server.poll_times) == 1


@pytest.mark.parametrize(
    "error", ["authorization_declined", "expired_token", "bad_verification_code"]
)
def test_other_errors_end_polling(error: str) -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING, {"error": error}])
    assert _poll(clock, server, _flow(clock))["error"] == error
    assert len(server.poll_times) == 2


def test_flow_without_device_code_is_refused() -> None:
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="device_code"):
        _poll(clock, Server(clock, [SUCCESS]), {"error": "invalid_scope"})


_DEVICE = {"device_code": "DC", "user_code": "UC", "verification_uri": "https://x/d"}


@pytest.mark.parametrize(
    "changes",
    [
        {"interval": 1e400},
        {"interval": 10**400},
        {"interval": "1e400"},
        {"interval": True},
        {"expires_in": 10**400},
        {"expires_in": float("nan")},
        {"expires_in": -5},
        {"expires_in": [900]},
        {"device_code": ["DC"]},
        {"user_code": {"x": 1}},
        {"error": 7},
    ],
)
def test_initiate_refuses_values_out_of_type_or_range(changes: dict[str, Any]) -> None:
    import json

    body = json.dumps({**_DEVICE, **changes})  # Python's JSON: NaN and 10**400 written out
    flow, _ = _initiate(HttpResponse(200, body, {}))
    assert flow["error"] == "invalid_response"


def test_a_200_poll_answer_with_a_non_string_error_is_invalid_response() -> None:
    clock = FakeClock(START)
    transport = MockTransport(lambda _r: json_response({"error": {"code": 1}}))
    flow = poll_device_flow(
        TOKEN, _flow(clock), client_id="cid", client_auth=PublicClientAuth(), clock=clock
    )
    assert run_flow(flow, transport)["error"] == "invalid_response"


def test_a_damaged_interval_in_the_flow_dict_falls_back_to_the_default() -> None:
    clock = FakeClock(START)
    server = Server(clock, [PENDING])
    flow = _flow(clock, expires_in=12)
    flow["interval"] = float("inf")
    assert _poll(clock, server, flow)["error"] == "expired_token"
    assert server.poll_times == [START, START + 5, START + 10]
