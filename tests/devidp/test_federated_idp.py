"""The dev IdP's federation server and SAML grant on their own: user realm answers, the
MEX document, WS-Trust requests it must refuse (as SOAP faults, never a crash), and
assertions it must not redeem (tampered, another version, not its own)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.devidp._federation import ELLA, HEDY, PASSWORD, ROSALIND, federated_config
from tests.devidp._person import http_client
from tests.devidp.conftest import ADA, CONTOSO, DESKTOP

from tokensmith._clock import FakeClock
from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, federation, parse_config
from tokensmith.devidp._toml import loads
from tokensmith.devidp.wire import Request
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.wstrust.request import rst_envelope
from tokensmith.protocol.wstrust.response import SamlToken, parse_rstr

ACTION_13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
ACTION_2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"
SAML1_GRANT = "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
_ID = re.compile(rb"AssertionID=[\"'][^\"']*[\"']")


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[DevIdP]:
    with DevIdP(federated_config(), clock=clock) as idp:
        yield idp


@pytest.fixture
def http(server: DevIdP) -> Iterator[httpx.Client]:
    with http_client(server.ca_path) as client:
        yield client


def _trust(server: DevIdP, domain: str = "corp.contoso.example") -> str:
    return f"{server.base_url}/federation/{domain}/adfs/services/trust"


def _rst(
    http: httpx.Client,
    server: DevIdP,
    *,
    username: str = HEDY,
    password: str = PASSWORD,
    path: str = "13",
    action: str = ACTION_13,
    body: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    address = f"{_trust(server, kwargs.pop('domain', 'corp.contoso.example'))}/{path}/usernamemixed"
    envelope = body or rst_envelope(
        username=username,
        password=password,
        audience=kwargs.pop("audience", "urn:federation:MicrosoftOnline"),
        address=address,
        action=action,
        now=kwargs.pop("now", server.context.clock()),
    )
    headers = {"Content-Type": "application/soap+xml; charset=utf-8", "SOAPAction": action}
    return http.post(address, content=envelope.encode("utf-8"), headers=headers)


def _subcode(response: httpx.Response) -> str:
    assert response.status_code == 500
    found = re.search(r"<s:Subcode><s:Value[^>]*>([^<]+)<", response.text)
    assert found is not None, response.text[:300]
    return found.group(1)


def _assertion(http: httpx.Client, server: DevIdP, **kwargs: Any) -> SamlToken:
    response = _rst(http, server, **kwargs)
    assert response.status_code == 200, response.text[:300]
    token = parse_rstr(response.text)
    assert isinstance(token, SamlToken)
    return token


def _redeem(http: httpx.Client, server: DevIdP, assertion: bytes, grant: str) -> httpx.Response:
    return http.post(
        f"{server.base_url}/{CONTOSO}/oauth2/v2.0/token",
        data={
            "client_id": DESKTOP,
            "grant_type": grant,
            "assertion": base64.urlsafe_b64encode(assertion).decode().rstrip("="),
            "scope": "User.Read openid profile offline_access",
        },
    )


def test_user_realm_says_federated_with_the_mex_and_active_urls(
    http: httpx.Client, server: DevIdP
) -> None:
    body = http.get(f"{server.base_url}/common/userrealm/{HEDY}?api-version=1.0").json()
    assert body["account_type"] == "Federated" and body["federation_protocol"] == "WSTrust"
    assert body["federation_metadata_url"] == f"{_trust(server)}/mex"
    assert body["federation_active_auth_url"] == f"{_trust(server)}/2005/usernamemixed"
    assert body["cloud_audience_urn"] == "urn:federation:MicrosoftOnline"
    other = http.get(f"{server.base_url}/common/userrealm/{ROSALIND}").json()
    assert "federation_metadata_url" not in other
    managed = http.get(f"{server.base_url}/common/userrealm/{ADA}").json()
    assert managed["account_type"] == "Managed"


def test_mex_and_endpoints_exist_only_as_configured(http: httpx.Client, server: DevIdP) -> None:
    mex = http.get(f"{_trust(server)}/mex")
    assert mex.status_code == 200 and "13/usernamemixed" in mex.text
    legacy = http.get(f"{_trust(server, 'legacy.contoso.example')}/mex").text
    assert "2005/usernamemixed" in legacy and "13/usernamemixed" not in legacy
    assert _rst(http, server, domain="legacy.contoso.example").status_code == 404
    assert (
        http.get(f"{server.base_url}/federation/unknown.example/adfs/services/trust/mex")
    ).status_code == 404
    windows = http.post(f"{_trust(server)}/13/windowstransport", content=b"<x/>")
    assert windows.status_code == 401 and windows.headers["www-authenticate"] == "Negotiate"


@pytest.mark.parametrize(
    ("kwargs", "subcode"),
    [
        ({"password": "wrong"}, "a:FailedAuthentication"),
        ({"username": ADA}, "a:FailedAuthentication"),  # not of this domain
        ({"username": ELLA}, "a:FailedAuthentication"),  # another federated domain's
        ({"action": ACTION_2005}, "a:ActionNotSupported"),  # a 2005 RST at the 1.3 endpoint
        ({"audience": "urn:other"}, "a:InvalidScope"),
        ({"now": 1_000_000_000.0}, "a:MessageExpired"),
        ({"body": "<not xml"}, "a:InvalidRequest"),
        ({"body": "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"}, "a:InvalidRequest"),
        ({"body": "<a>" * 200 + "</a>" * 200}, "a:InvalidRequest"),
        (
            {"body": "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>"},
            "a:ActionNotSupported",
        ),
    ],
)
def test_bad_requests_are_soap_faults(
    http: httpx.Client, server: DevIdP, kwargs: dict[str, Any], subcode: str
) -> None:
    assert _subcode(_rst(http, server, **kwargs)) == subcode


def test_its_own_assertion_is_redeemed(http: httpx.Client, server: DevIdP) -> None:
    token = _assertion(http, server)
    response = _redeem(http, server, token.assertion, SAML1_GRANT)
    assert response.status_code == 200, response.text
    assert "access_token" in response.json() and "refresh_token" in response.json()


def test_saml2_assertions_for_the_saml2_grant_only(http: httpx.Client, server: DevIdP) -> None:
    token = _assertion(
        http,
        server,
        username=ELLA,
        path="2005",
        action=ACTION_2005,
        domain="legacy.contoso.example",
    )
    assert token.token_type == "urn:oasis:names:tc:SAML:2.0:assertion"
    assert _redeem(http, server, token.assertion, SAML2_GRANT).status_code == 200
    refused = _redeem(http, server, token.assertion, SAML1_GRANT)
    assert refused.json()["error"] == "invalid_grant" and refused.json()["error_codes"] == [50008]


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda a: a.replace(HEDY.encode(), ADA.encode()), 50008),  # another user's name
        (lambda a: _ID.sub(b'AssertionID="_x.y.z"', a), 50006),
        (lambda a: b"<nope", 50008),
        (lambda a: b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", 50008),
    ],
)
def test_tampered_or_foreign_assertions_are_refused(
    http: httpx.Client, server: DevIdP, tamper: Any, code: int
) -> None:
    token = _assertion(http, server)
    tampered = tamper(token.assertion)
    assert tampered != token.assertion
    refused = _redeem(http, server, tampered, SAML1_GRANT)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant" and refused.json()["error_codes"] == [code]


def test_an_expired_assertion_is_refused(
    http: httpx.Client, server: DevIdP, clock: FakeClock
) -> None:
    token = _assertion(http, server)
    clock.advance(3601)
    try:
        refused = _redeem(http, server, token.assertion, SAML1_GRANT)
    finally:
        clock.advance(-3601)
    assert refused.json()["error_codes"] == [50013]


def test_an_access_token_is_not_an_assertion_id(http: httpx.Client, server: DevIdP) -> None:
    ticket = _assertion(http, server).assertion
    issued = _redeem(http, server, ticket, SAML1_GRANT).json()["access_token"]
    forged, count = _ID.subn(b'AssertionID="_' + issued.encode() + b'"', ticket)
    assert count == 1
    refused = _redeem(http, server, forged, SAML1_GRANT)  # signed by the IdP, but no ticket
    assert refused.json()["error"] == "invalid_grant" and refused.json()["error_codes"] == [50008]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('domain = "a.example"\nflavour = 1', "unknown key"),
        ('domain = "a b"', "'domain' must be a domain name"),
        ('domain = "a.example"\ntoken_type = "jwt"', "'token_type' must be one of"),
        ('domain = "a.example"\nwstrust = ["1.4"]', "'wstrust' must be"),
        ('domain = "a.example"\nwstrust = []', "'wstrust' must be"),
        ('domain = "a.example"\nmex = "yes"', "'mex' must be true or false"),
        ('domain = "corp.contoso.example"', "listed twice"),
    ],
)
def test_bad_federated_domain_tables_are_named(table: str, message: str) -> None:
    text = DEFAULT_CONFIG_TOML + f"\n[[federated_domains]]\n{table}\n"
    with pytest.raises(ConfigurationError, match=message):
        parse_config(loads(text))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=600), path=st.sampled_from(["13", "2005"]))
def test_any_body_is_answered_with_a_fault_never_a_crash(
    server: DevIdP, body: bytes, path: str
) -> None:
    domain = "corp.contoso.example"
    segments = ["federation", domain, "adfs", "services", "trust", path, "usernamemixed"]
    request = Request("POST", "/" + "/".join(segments), body=body, headers={})
    response = federation.handle(server.context, request, segments)
    assert response is not None and response.status == 500
    assert b"<s:Fault>" in response.body


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.text(max_size=40),
    password=st.text(max_size=40),
    audience=st.text(max_size=40),
    cut=st.integers(min_value=0, max_value=2000),
)
def test_any_envelope_variant_is_answered_never_a_crash(
    server: DevIdP, username: str, password: str, audience: str, cut: int
) -> None:
    segments = ["federation", "corp.contoso.example", "adfs", "services", "trust", "13"]
    segments.append("usernamemixed")
    envelope = rst_envelope(
        username=username,
        password=password,
        audience=audience,
        address="https://sts/13/usernamemixed",
        action=ACTION_13,
        now=server.context.clock(),
    )
    body = envelope.encode("utf-8", "surrogatepass")[: cut or None]
    request = Request("POST", "/" + "/".join(segments), body=body, headers={})
    response = federation.handle(server.context, request, segments)
    assert response is not None and response.status in (200, 500)
