"""The federated username/password flow of a real PublicClientApplication over a mock
transport (a stand-in for Entra and AD FS): each way the federation server can answer,
and what the caller gets. Faults and missing endpoints raise as MSAL raises them;
hostile documents are ``invalid_response`` error dicts, never a traceback."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.unit.protocol import wstrust_samples as samples

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith._jwt import b64url_encode
from tokensmith.authority.memo import mex_memo
from tokensmith.errors import FederationError, MsalServiceError, ProtocolError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

TENANT = "f3d0e1a2-9b8c-4d7e-8f60-00000000fed1"  # its own: discovery is memoized per process
USER = "ada@fabrikam.example"
PASSWORD = "s3cret-pw"
MEX_URL = f"{samples.STS}/mex"
SOAP = {"content-type": "application/soap+xml; charset=utf-8"}


def _jwt(claims: dict[str, Any]) -> str:
    part = b64url_encode(json.dumps(claims).encode())
    return f"{b64url_encode(b'{}')}.{part}.sig"


class FakeFederation:
    """Entra (discovery, user realm, token) and AD FS (MEX, WS-Trust) behind one mock."""

    def __init__(self) -> None:
        self.realm: dict[str, Any] = {
            "ver": "1.0",
            "account_type": "Federated",
            "federation_protocol": "WSTrust",
            "federation_metadata_url": MEX_URL,
            "federation_active_auth_url": f"{samples.STS}/2005/usernamemixed",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }
        self.mex = HttpResponse(200, samples.adfs_mex(), SOAP)
        self.rstr = HttpResponse(200, samples.rstr_13(), SOAP)
        self.transport = MockTransport(self.handle)

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlsplit(request.url).path
        if path.endswith("/.well-known/openid-configuration"):
            base = f"https://login.microsoftonline.com/{TENANT}"
            return json_response(
                {
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "issuer": f"{base}/v2.0",
                }
            )
        if "/userrealm/" in path:
            return json_response(self.realm)
        if request.url == MEX_URL:
            return self.mex
        if "/trust/" in path:
            return self.rstr
        if path.endswith("/token"):
            return json_response(
                {
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "access_token": "at-1",
                    "scope": "User.Read",
                    "id_token": _jwt(
                        {"preferred_username": USER, "oid": "o", "sub": "s", "tid": TENANT}
                    ),
                }
            )
        return HttpResponse(404, "", {})

    def sent(self, fragment: str) -> list[HttpRequest]:
        return [r for r in self.transport.requests if fragment in r.url]


@pytest.fixture
def fed() -> FakeFederation:
    mex_memo.clear()  # a MEX answer is remembered per process: each test serves its own
    return FakeFederation()


@pytest.fixture
def sign_in(fed: FakeFederation) -> Iterator[Callable[..., Any]]:
    clock = FakeClock()
    app = tokensmith.PublicClientApplication(
        "pca-client",
        authority=f"https://login.microsoftonline.com/{TENANT}",
        transport=fed.transport,
        clock=clock,
        sleep=clock.sleep,
    )

    def run(password: str = PASSWORD) -> Any:
        with pytest.warns(DeprecationWarning):
            return app.acquire_token_by_username_password(USER, password, ["User.Read"])

    yield run
    app.close()


def test_mex_then_ws_trust_13_then_the_saml_grant(fed: FakeFederation, sign_in: Any) -> None:
    result = sign_in()
    assert result["access_token"] == "at-1" and result["token_source"] == "identity_provider"
    [mex] = fed.sent("/mex")
    assert mex.method == "GET"
    [rst] = fed.sent("/trust/13/usernamemixed")
    assert rst.content is not None and PASSWORD in rst.content
    assert rst.headers["SOAPAction"] == samples.ACTION_13
    [token] = fed.sent("/oauth2/v2.0/token")
    form = dict(token.data or {})
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
    assertion = base64.urlsafe_b64decode(form["assertion"] + "=" * (-len(form["assertion"]) % 4))
    assert assertion == samples.ASSERTION.encode()
    assert "password" not in form and "username" not in form
    assert "assertion" in token.secret_fields


def test_saml2_token_type_gives_the_saml2_grant(fed: FakeFederation, sign_in: Any) -> None:
    fed.rstr = HttpResponse(200, samples.rstr_13(token_type=samples.SAML2), SOAP)
    sign_in()
    [token] = fed.sent("/oauth2/v2.0/token")
    assert (token.data or {})["grant_type"] == "urn:ietf:params:oauth:grant-type:saml2-bearer"


def test_no_mex_url_uses_the_active_auth_url_with_the_action_from_its_path(
    fed: FakeFederation, sign_in: Any
) -> None:
    del fed.realm["federation_metadata_url"]
    fed.rstr = HttpResponse(200, samples.rstr_2005(), SOAP)
    assert sign_in()["access_token"]
    assert not fed.sent("/mex")
    [rst] = fed.sent("/trust/2005/usernamemixed")
    assert rst.headers["SOAPAction"] == samples.ACTION_2005


def test_wrong_password_raises_msals_runtime_error_and_is_sent_once(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.rstr = HttpResponse(500, samples.FAULT, SOAP)
    with pytest.raises(RuntimeError) as raised:
        sign_in("wrong")
    assert isinstance(raised.value, FederationError)
    assert raised.value.code == "a:FailedAuthentication"
    assert str(raised.value) == (
        "WsTrust server returned error in RSTR: {'reason': 'ID3242: The security token "
        "could not be authenticated or authorized.', 'code': 'a:FailedAuthentication'}"
    )
    assert len(fed.sent("/usernamemixed")) == 1  # HTTP 500, yet not retried
    fed.rstr = HttpResponse(200, samples.rstr_13(), SOAP)
    assert sign_in()["access_token"]  # the fault is not replayed to the next attempt
    assert len(fed.sent("/usernamemixed")) == 2


@pytest.mark.parametrize("name", ["billion laughs", "external entity", "not XML", "deep nesting"])
def test_a_hostile_mex_document_is_an_error_dict(
    fed: FakeFederation, sign_in: Any, name: str
) -> None:
    fed.mex = HttpResponse(200, samples.HOSTILE[name], SOAP)
    result = sign_in()
    assert result["error"] == "invalid_response"
    assert result["error_description"].startswith(
        "The federation server's answer is unusable: the MEX document"
    )
    assert not fed.sent("/usernamemixed")  # the password went nowhere


@pytest.mark.parametrize("name", ["billion laughs", "external DTD", "two roots", "huge"])
def test_a_hostile_rstr_is_an_error_dict(fed: FakeFederation, sign_in: Any, name: str) -> None:
    fed.rstr = HttpResponse(200, samples.HOSTILE[name], SOAP)
    result = sign_in()
    assert result["error"] == "invalid_response"
    assert "the WS-Trust response" in result["error_description"]
    assert not fed.sent("/oauth2/v2.0/token")


def test_a_mex_without_a_username_endpoint_raises_msals_value_error(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.mex = HttpResponse(200, samples.mex(samples.windows_policy()), SOAP)
    with pytest.raises(ValueError, match="Unable to find wstrust endpoint from MEX") as raised:
        sign_in()
    assert isinstance(raised.value, ProtocolError)


def test_a_mex_the_server_will_not_serve_raises_as_msal_does(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.mex = HttpResponse(404, "not here", {})
    with pytest.raises(MsalServiceError, match="MEX document failed with HTTP 404"):
        sign_in()


def test_an_error_page_from_the_ws_trust_endpoint_is_a_service_error(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.rstr = HttpResponse(503, "<html><body>Service Unavailable", {})
    with pytest.raises(MsalServiceError, match="WS-Trust endpoint failed with HTTP 503"):
        sign_in()


def test_no_token_and_no_fault_or_an_unknown_token_type_raise(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.rstr = HttpResponse(200, samples.rstr_13(assertion=""), SOAP)
    with pytest.raises(RuntimeError, match="no token and no fault"):
        sign_in()
    fed.rstr = HttpResponse(200, samples.rstr_13(token_type="urn:x:jwt"), SOAP)
    with pytest.raises(RuntimeError, match="unknown token type: 'urn:x:jwt'"):
        sign_in()


def test_an_unsupported_soap_action_raises_msals_value_error(
    fed: FakeFederation, sign_in: Any
) -> None:
    fed.mex = HttpResponse(
        200,
        samples.mex(
            samples.username_policy_13(),
            samples.binding("U13", "U13", "urn:other:action"),
            ports=(samples.port("U13", f"{samples.STS}/13/usernamemixed"),),
        ),
        SOAP,
    )
    with pytest.raises(ValueError, match="Unsupported soap action"):
        sign_in()


def test_neither_password_nor_assertion_reaches_the_logs(
    fed: FakeFederation, sign_in: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in()
    fed.rstr = HttpResponse(500, samples.FAULT, SOAP)
    with pytest.raises(FederationError) as raised:
        sign_in()
    [token] = fed.sent("/oauth2/v2.0/token")
    for secret in (PASSWORD, (token.data or {})["assertion"], "kept   as is"):
        assert secret not in caplog.text
        assert secret not in str(raised.value)


@pytest.mark.parametrize("password", ["a\x00b", "\x1b[0m", "lone\ud800"])
def test_a_password_xml_cannot_carry_is_a_value_error_before_any_request(
    fed: FakeFederation, sign_in: Any, password: str
) -> None:
    with pytest.raises(ValueError, match="password holds a character XML cannot carry"):
        sign_in(password)
    assert not fed.sent("/usernamemixed")
