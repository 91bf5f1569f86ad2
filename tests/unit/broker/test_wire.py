"""The Linux broker's JSON (tokensmith.broker.wire), both shapes brokers answer."""

from __future__ import annotations

import pytest

from tokensmith.broker import wire
from tokensmith.broker.base import BrokerAccount, BrokerError, BrokerStatus, PopParams, TokenRequest

ACCOUNT = {"homeAccountId": "oid.tid", "username": "ada@x", "environment": "login.windows.net"}


def test_a_token_response_in_milliseconds_with_scopes_as_a_string() -> None:
    body = {
        "brokerTokenResponse": {
            "accessToken": "at",
            "accessTokenType": 0,
            "account": ACCOUNT,
            "expiresOn": 1712345678000,
            "grantedScopes": "a b",
            "idToken": "x.y.z",
        }
    }
    token = wire.token_from_json(body, None)
    assert token.expires_on == 1712345678
    assert token.scopes == ("a", "b")
    assert token.account.account_id == "oid.tid"
    assert token.account.raw == ACCOUNT  # handed back verbatim later
    assert token.token_type == "Bearer"


def test_scopes_as_a_list_pop_type_and_no_account_takes_the_requests() -> None:
    fallback = BrokerAccount("acc")
    body = {
        "brokerTokenResponse": {
            "accessToken": "shr",
            "accessTokenType": 1,
            "expiresOn": 5000,
            "grantedScopes": ["a"],
        }
    }
    token = wire.token_from_json(body, fallback)
    assert (token.token_type, token.account, token.scopes) == ("pop", fallback, ("a",))


def test_an_error_inside_the_token_response_is_a_broker_error() -> None:
    body = {"brokerTokenResponse": {"error": {"status": 2, "context": "sign in", "errorCode": 7}}}
    with pytest.raises(BrokerError) as caught:
        wire.token_from_json(body, None)
    assert caught.value.status is BrokerStatus.INTERACTION_REQUIRED
    assert caught.value.error_code == 7


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"brokerTokenResponse": "x"},
        {"brokerTokenResponse": {"accessToken": "a"}},
        {"brokerTokenResponse": {"accessToken": "a", "account": ACCOUNT, "expiresOn": "soon"}},
    ],
)
def test_malformed_token_responses_are_contract_violations(body: dict[str, object]) -> None:
    with pytest.raises(BrokerError) as caught:
        wire.token_from_json(body, None)
    assert caught.value.status is BrokerStatus.API_CONTRACT_VIOLATION


@pytest.mark.parametrize("text", ["", "[1]", "{", "null"])
def test_decode_takes_json_objects_only(text: str) -> None:
    with pytest.raises(BrokerError):
        wire.decode(text)


def test_accounts_without_an_id_are_skipped() -> None:
    found = wire.accounts_from_json({"accounts": [ACCOUNT, {"username": "no id"}, 5]})
    assert [a.account_id for a in found] == ["oid.tid"]


def test_pop_params_round_trip_and_a_whole_url_as_host() -> None:
    pop = PopParams("GET", "api.example:8443", "/items", "n")
    assert wire.pop_from_json(wire.pop_to_json(pop)) == pop
    sso_mib = {"authenticationScheme": "PoP", "httpMethod": "post", "uriHost": "https://h/p/q"}
    assert wire.pop_from_json(sso_mib) == PopParams("POST", "h", "/p/q", "")
    assert wire.pop_from_json({"authenticationScheme": "bearer"}) is None


def test_auth_parameters_nest_the_account_and_carry_the_extension() -> None:
    request = TokenRequest(
        client_id="c",
        authority="https://h/t",
        scopes=("s",),
        redirect_uri="r",
        correlation_id="id",
        account=BrokerAccount("a", raw=ACCOUNT),
        claims="{}",
        force_refresh=True,
    )
    params = wire.auth_parameters(request, wire.AUTH_SILENT)
    assert params["account"] == ACCOUNT
    assert params["authorizationType"] == 1 and params["forceRefresh"] is True
    assert params["decodedClaims"] == "{}" and params["requestedScopes"] == ["s"]
