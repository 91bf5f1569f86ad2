"""The open broker's method handlers on bad input (tokensmith.brokerd.core): answers
in the broker's error JSON, never a traceback; no provider is contacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokensmith._jwt import b64url_decode
from tokensmith.broker import wire
from tokensmith.broker.base import PopParams
from tokensmith.brokerd.core import OpenBroker
from tokensmith.brokerd.vault import Vault


@pytest.fixture
def broker(tmp_path: Path) -> OpenBroker:
    return OpenBroker(
        "https://127.0.0.1:1/organizations", vault=Vault(tmp_path), clock=lambda: 1000
    )


def call(broker: OpenBroker, method: str, request: object) -> dict[str, object]:
    text = request if isinstance(request, str) else json.dumps(request)
    answer: dict[str, object] = json.loads(broker.handle(method, text))
    return answer


def test_version_names_the_open_broker(broker: OpenBroker) -> None:
    answer = call(broker, "getLinuxBrokerVersion", {"msalCppVersion": "1"})
    assert answer["linuxBrokerVersion"] == "2.0.1" and "openBrokerVersion" in answer


@pytest.mark.parametrize(
    ("method", "request_json", "where"),
    [
        ("getAccounts", "not json", "error"),
        ("acquireTokenSilently", "{}", "brokerTokenResponse"),
        ("acquireTokenSilently", {"authParameters": {"clientId": "c"}}, "brokerTokenResponse"),
        ("acquireTokenInteractively", {"authParameters": {}}, "brokerTokenResponse"),
        ("removeAccount", {"clientId": "c"}, "error"),
        ("generateSignedHttpRequest", {"clientId": "c"}, "error"),
        ("acquirePrtSsoCookie", {}, "error"),
    ],
)
def test_bad_requests_get_the_brokers_error_json(
    broker: OpenBroker, method: str, request_json: object, where: str
) -> None:
    answer = call(broker, method, request_json)
    body = answer[where]
    error = body["error"] if where == "brokerTokenResponse" else body  # type: ignore[index]
    assert isinstance(error, dict) and isinstance(error["status"], int)


def test_no_accounts_and_a_silent_sign_in_needs_interaction(broker: OpenBroker) -> None:
    assert call(broker, "getAccounts", {"clientId": "c"}) == {"accounts": []}
    request = {"authParameters": {"clientId": "c", "account": None, "requestedScopes": ["s"]}}
    error = call(broker, "acquireTokenSilently", request)["brokerTokenResponse"]["error"]  # type: ignore[index]
    assert error["status"] == 2  # INTERACTION_REQUIRED: MSALRuntime goes on to the UI


def test_a_signed_http_request_with_the_brokers_key(broker: OpenBroker) -> None:
    pop = wire.pop_to_json(PopParams("GET", "h:1", "/p", "n"))
    request = {"clientId": "c", "popParams": pop, "accessToken": "an-at"}
    answer = call(broker, "generateSignedHttpRequest", request)
    shr = str(answer["signedHttpRequest"])
    claims = json.loads(b64url_decode(shr.split(".")[1]))
    assert claims["ts"] == 1000 and claims["u"] == "h:1" and claims["at"] == "an-at"
    assert claims["cnf"]["jwk"] == broker.pop_key.jwk
