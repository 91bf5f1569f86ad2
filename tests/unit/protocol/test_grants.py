"""Form fields of every grant, compared with what MSAL Python 1.39 sends
(reference/entra-protocol.md §4.2, recorded with a fake http_client)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from tokensmith.drivers.sync import run_flow
from tokensmith.entra.headers import anchor_for_username
from tokensmith.protocol.authorization_code import authorization_code_form, build_authorization_url
from tokensmith.protocol.client_auth import ClientSecretAuth
from tokensmith.protocol.client_credentials import client_credentials_form
from tokensmith.protocol.on_behalf_of import on_behalf_of_form
from tokensmith.protocol.password import password_form
from tokensmith.protocol.pkce import Pkce, code_challenge, new_code_verifier, new_pkce
from tokensmith.protocol.refresh_token import refresh_token_form
from tokensmith.protocol.scopes import decorate_scopes
from tokensmith.protocol.token_endpoint import token_request
from tokensmith.transport.mock import MockTransport, json_response

USER_SCOPES = decorate_scopes(["User.Read"])
WIRE_SCOPE = "User.Read offline_access openid profile"


def test_client_credentials_form_and_body_with_secret() -> None:
    form = client_credentials_form(client_id="cid", scopes=["api://x/.default"])
    transport = MockTransport(lambda _r: json_response({"access_token": "at"}))
    run_flow(
        token_request("https://t", form, headers={}, client_auth=ClientSecretAuth("sec"), now=0),
        transport,
    )
    # MSAL: client_id, client_info=1, client_secret, grant_type, scope
    assert transport.requests[0].data == {
        "client_id": "cid",
        "client_info": "1",
        "client_secret": "sec",
        "grant_type": "client_credentials",
        "scope": "api://x/.default",
    }


def test_refresh_token_form() -> None:
    assert refresh_token_form(client_id="cid", refresh_token="RT", scopes=USER_SCOPES) == {
        "client_id": "cid",
        "client_info": "1",
        "grant_type": "refresh_token",
        "refresh_token": "RT",
        "scope": WIRE_SCOPE,
    }


def test_refresh_token_form_with_claims_and_no_client_info() -> None:
    form = refresh_token_form(
        client_id="c",
        refresh_token="RT",
        scopes=["b", "a", "b"],
        claims='{"x": 1}',
        client_info=False,
    )
    assert form == {
        "client_id": "c",
        "grant_type": "refresh_token",
        "refresh_token": "RT",
        "scope": "a b",
        "claims": '{"x": 1}',
    }


def test_authorization_code_form() -> None:
    form = authorization_code_form(
        client_id="cid", code="CODE", redirect_uri="http://localhost", scopes=USER_SCOPES
    )
    assert form == {
        "client_id": "cid",
        "client_info": "1",
        "code": "CODE",
        "grant_type": "authorization_code",
        "redirect_uri": "http://localhost",
        "scope": WIRE_SCOPE,
    }
    with_pkce = authorization_code_form(
        client_id="cid", code="CODE", redirect_uri=None, code_verifier="v" * 43
    )
    assert with_pkce["code_verifier"] == "v" * 43
    assert "redirect_uri" not in with_pkce and "scope" not in with_pkce


def test_password_form_and_anchor() -> None:
    assert password_form(client_id="cid", username="u@x", password="pw", scopes=USER_SCOPES) == {
        "client_id": "cid",
        "client_info": "1",
        "grant_type": "password",
        "password": "pw",
        "scope": WIRE_SCOPE,
        "username": "u@x",
    }
    assert anchor_for_username("u@x") == "upn:u@x"


def test_on_behalf_of_form() -> None:
    assert on_behalf_of_form(client_id="cid", assertion="USERASSERT", scopes=USER_SCOPES) == {
        "assertion": "USERASSERT",
        "client_id": "cid",
        "client_info": "1",
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "requested_token_use": "on_behalf_of",
        "scope": WIRE_SCOPE,
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda: refresh_token_form(client_id="c", refresh_token="", scopes=[]),
        lambda: authorization_code_form(client_id="c", code="", redirect_uri=None),
        lambda: password_form(client_id="c", username="", password="p", scopes=[]),
        lambda: password_form(client_id="c", username="u", password=None, scopes=[]),  # type: ignore[arg-type]
        lambda: on_behalf_of_form(client_id="c", assertion="", scopes=[]),
    ],
)
def test_empty_secrets_are_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_pkce_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_verifier_shape() -> None:
    verifier = new_code_verifier()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43}", verifier)
    assert len(new_code_verifier(128)) == 128
    with pytest.raises(ValueError):
        new_code_verifier(42)
    pkce = new_pkce()
    assert isinstance(pkce, Pkce)
    assert pkce.code_challenge == code_challenge(pkce.code_verifier)
    assert pkce.code_verifier not in repr(pkce)
    assert new_pkce().code_verifier != pkce.code_verifier


def test_authorization_url_matches_msal_order_and_encoding() -> None:
    nonce = "55c4bc11b23f3da21fd7dd0656c9aab75a0f31357098982397c1c3fcdf42b283"
    url = build_authorization_url(
        "https://login.example/contoso/oauth2/v2.0/authorize",
        client_id="cid",
        redirect_uri="http://localhost:8400",
        scopes=USER_SCOPES,
        state="vyH4wy8z6G9pGPaRlau_GA",
        code_challenge="PgkosM4ngcjkXoM9fOYYcvBqLC2J9NX9i_loiBcO5VA",
        nonce=nonce,
        response_mode="form_post",
        prompt="select_account",
        login_hint="ada@f.example",
        domain_hint="organizations",
        max_age=60,
    )
    # Recorded from MSAL Python 1.39 initiate_auth_code_flow with the same inputs.
    assert url == (
        "https://login.example/contoso/oauth2/v2.0/authorize?client_id=cid&response_type=code"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A8400&scope=User.Read+offline_access+openid+profile"
        "&state=vyH4wy8z6G9pGPaRlau_GA&response_mode=form_post"
        "&code_challenge=PgkosM4ngcjkXoM9fOYYcvBqLC2J9NX9i_loiBcO5VA&code_challenge_method=S256"
        f"&nonce={nonce}&client_info=1&login_hint=ada%40f.example&prompt=select_account"
        "&domain_hint=organizations&max_age=60&X-AnchorMailbox=UPN%3Aada%40f.example"
    )


def test_authorization_url_claims_extra_and_existing_query() -> None:
    url = build_authorization_url(
        "https://b2c.example/tfp/t/oauth2/v2.0/authorize?p=B2C_1_signin",
        client_id="cid",
        redirect_uri=None,
        scopes=["a"],
        claims='{"access_token": {"xms_cc": {"values": ["CP1"]}}}',
        extra_params={"dc": "ESTS-PUB", "skip": None},
    )
    parts = urlsplit(url)
    params = parse_qsl(parts.query)
    assert params[0] == ("p", "B2C_1_signin")
    assert dict(params) == {
        "p": "B2C_1_signin",
        "client_id": "cid",
        "response_type": "code",
        "scope": "a",
        "client_info": "1",
        "claims": '{"access_token": {"xms_cc": {"values": ["CP1"]}}}',
        "dc": "ESTS-PUB",
    }
    assert "X-AnchorMailbox" not in url
