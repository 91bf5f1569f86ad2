"""``Authority`` parses at construction and discovers only when an endpoint is read."""

from __future__ import annotations

import threading

import pytest
from tests.unit.authority.fake_server import GUID, FakeServer, entra_document, make_resolver

from tokensmith.authority import Authority, AuthorityKind, parse_authority
from tokensmith.authority.discovery import AuthorityMetadata, metadata_from_document
from tokensmith.errors import AuthorityError, MsalServiceError
from tokensmith.transport.mock import json_response

WK = "/v2.0/.well-known/openid-configuration"
DOMAIN = "https://login.microsoftonline.com/contoso.onmicrosoft.com"


def test_construction_does_no_request(server: FakeServer) -> None:
    server.add(DOMAIN + WK, entra_document())
    authority = Authority.from_url(DOMAIN, make_resolver(server.transport))
    assert authority.instance == "login.microsoftonline.com"
    assert authority.tenant == "contoso.onmicrosoft.com"
    assert not authority.is_adfs and not authority.is_b2c
    assert authority.kind is AuthorityKind.AAD
    assert not authority.is_known_to_developer
    assert not authority.is_resolved
    assert "not resolved" in repr(authority)
    assert server.urls == []

    assert authority.token_endpoint == f"https://login.microsoftonline.com/{GUID}/oauth2/v2.0/token"
    assert server.urls == [DOMAIN + WK]
    assert authority.realm == GUID
    assert authority.authorization_endpoint.endswith("/oauth2/v2.0/authorize")
    assert authority.device_authorization_endpoint is not None
    assert authority.issuer == f"https://login.microsoftonline.com/{GUID}/v2.0"
    assert authority.jwks_uri is not None and authority.end_session_endpoint is not None
    assert authority.is_resolved and "resolved" in repr(authority)
    assert server.urls == [DOMAIN + WK]  # one discovery for every property


@pytest.mark.parametrize(
    "read",
    [
        lambda a: a.authorization_endpoint,
        lambda a: a.token_endpoint,
        lambda a: a.device_authorization_endpoint,
        lambda a: a.issuer,
        lambda a: a.jwks_uri,
        lambda a: a.end_session_endpoint,
        lambda a: a.realm,
    ],
)
def test_each_lazy_property_triggers_resolution(read: object) -> None:
    specs = []

    def resolver(spec: object) -> AuthorityMetadata:
        specs.append(spec)
        return metadata_from_document(entra_document())

    authority = Authority(parse_authority(DOMAIN), resolver)
    assert specs == []
    read(authority)  # type: ignore[operator]
    assert specs == [authority.spec]


def test_parse_errors_surface_at_construction() -> None:
    def resolver(_: object) -> AuthorityMetadata:
        raise AssertionError("must not be called")

    with pytest.raises(AuthorityError):
        Authority.from_url("http://login.microsoftonline.com/common", resolver)


def test_failed_resolution_is_retried_on_next_read(server: FakeServer) -> None:
    server.add(DOMAIN + WK, json_response({}, 503))
    authority = Authority.from_url(DOMAIN, make_resolver(server.transport))
    with pytest.raises(MsalServiceError):
        _ = authority.token_endpoint
    assert not authority.is_resolved
    server.add(DOMAIN + WK, entra_document())
    assert authority.realm == GUID
    assert len(server.urls) == 2


def test_one_resolution_per_authority_object_under_threads() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def resolver(_: object) -> AuthorityMetadata:
        calls.append(1)
        gate.wait(5)
        return metadata_from_document(entra_document())

    authority = Authority(parse_authority(DOMAIN), resolver)
    threads = [threading.Thread(target=lambda: authority.token_endpoint) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert calls == [1]


def test_oidc_authority_flags() -> None:
    authority = Authority.from_url(
        None,
        lambda _: metadata_from_document(entra_document()),
        oidc_authority="https://idp.example/r",
    )
    assert authority.is_b2c and authority.is_known_to_developer
    assert authority.kind is AuthorityKind.OIDC
