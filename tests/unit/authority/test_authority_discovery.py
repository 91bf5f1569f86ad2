"""OpenID Connect discovery flows, driven by run_flow over a fake Entra."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.authority.fake_server import GUID, FakeServer, entra_document

from tokensmith.authority import AuthorityMetadata, discover, parse_authority
from tokensmith.authority.discovery import issuer_matches, metadata_from_document
from tokensmith.drivers.sync import run_flow
from tokensmith.errors import AuthorityError, MsalServiceError, TransportError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

PUBLIC = "https://login.microsoftonline.com"
WK = "/v2.0/.well-known/openid-configuration"
INSTANCE = "https://login.microsoftonline.com/common/discovery/instance"


def _discover(server: FakeServer, authority: str | None = None, **kwargs: Any) -> AuthorityMetadata:
    return run_flow(discover(parse_authority(authority, **kwargs)), server.transport)


def test_tenanted_authority(server: FakeServer) -> None:
    server.add(f"{PUBLIC}/{GUID}{WK}", entra_document())
    metadata = _discover(server, f"{PUBLIC}/{GUID}")
    assert server.urls == [f"{PUBLIC}/{GUID}{WK}"]
    assert metadata.tenant == GUID
    assert metadata.token_endpoint == f"{PUBLIC}/{GUID}/oauth2/v2.0/token"
    assert metadata.authorization_endpoint == f"{PUBLIC}/{GUID}/oauth2/v2.0/authorize"
    assert metadata.device_authorization_endpoint == f"{PUBLIC}/{GUID}/oauth2/v2.0/devicecode"
    assert metadata.end_session_endpoint == f"{PUBLIC}/{GUID}/oauth2/v2.0/logout"
    assert metadata.jwks_uri == f"{PUBLIC}/{GUID}/discovery/v2.0/keys"
    assert metadata.issuer == f"{PUBLIC}/{GUID}/v2.0"
    assert metadata.raw["tenant_region_scope"] == "WW"
    with pytest.raises(TypeError):
        metadata.raw["x"] = 1  # type: ignore[index]


def test_domain_tenant_resolves_to_the_guid(server: FakeServer) -> None:
    server.add(f"{PUBLIC}/contoso.onmicrosoft.com{WK}", entra_document())
    metadata = _discover(server, f"{PUBLIC}/contoso.onmicrosoft.com")
    assert metadata.tenant == GUID


@pytest.mark.parametrize("tenant", ["common", "organizations"])
def test_tenantless_authorities_keep_their_segment(server: FakeServer, tenant: str) -> None:
    server.add(f"{PUBLIC}/{tenant}{WK}", entra_document(tenant=tenant))
    metadata = _discover(server, f"{PUBLIC}/{tenant}/")
    assert metadata.tenant == tenant
    assert metadata.issuer == f"{PUBLIC}/{{tenantid}}/v2.0"


def test_default_authority(server: FakeServer) -> None:
    server.add(f"{PUBLIC}/common{WK}", entra_document(tenant="common"))
    assert _discover(server).tenant == "common"


def test_unknown_host_is_validated_first(server: FakeServer) -> None:
    host = "login.fabrikam.example"
    tde = f"https://{host}/{GUID}{WK}"
    server.add(INSTANCE, {"tenant_discovery_endpoint": tde})
    server.add(tde, entra_document(host))
    metadata = _discover(server, f"https://{host}/contoso.com")
    assert server.urls == [INSTANCE, tde]
    assert metadata.tenant == GUID
    assert metadata.token_endpoint.startswith(f"https://{host}/")


def test_unknown_host_rejected_by_entra(server: FakeServer) -> None:
    server.add(INSTANCE, json_response({"error": "invalid_instance"}, 400))
    with pytest.raises(AuthorityError, match="instance_discovery=False"):
        _discover(server, "https://login.fabrikam.example/contoso.com")
    assert server.urls == [INSTANCE]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"validate_authority": False},
        {"instance_discovery": False},
        {"known_authorities": ["login.fabrikam.example"]},
    ],
)
def test_instance_discovery_skipped(server: FakeServer, kwargs: dict[str, Any]) -> None:
    url = f"https://login.fabrikam.example/contoso.com{WK}"
    server.add(url, entra_document("login.fabrikam.example"))
    _discover(server, "https://login.fabrikam.example/contoso.com", **kwargs)
    assert server.urls == [url]


def test_custom_instance_discovery_endpoint(server: FakeServer) -> None:
    custom = "https://discovery.fabrikam.example/common/discovery/instance"
    tde = f"https://login.fabrikam.example/{GUID}{WK}"
    server.add(custom, {"tenant_discovery_endpoint": tde})
    server.add(tde, entra_document("login.fabrikam.example"))
    _discover(server, "https://login.fabrikam.example/t", instance_discovery=custom)
    assert server.urls == [custom, tde]


def test_b2c_policy_document(server: FakeServer) -> None:
    base = "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/b2c_1_susi"
    server.add(
        f"https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi{WK}",
        {
            "issuer": f"https://fabrikamb2c.b2clogin.com/{GUID}/v2.0/",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
        },
    )
    authority = "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_susi"
    metadata = _discover(server, authority)
    assert metadata.tenant == "fabrikamb2c.onmicrosoft.com"
    assert metadata.device_authorization_endpoint is None


def test_adfs_document_has_no_v2(server: FakeServer) -> None:
    base = "https://adfs.fabrikam.example/adfs"
    server.add(
        f"{base}/.well-known/openid-configuration",
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize/",
            "token_endpoint": f"{base}/oauth2/token/",
        },
    )
    assert _discover(server, base).tenant == "adfs"


class TestOidcAuthority:
    ISSUER = "https://idp.example/realms/dev"

    def _document(self, issuer: str | None, host: str = "idp.example") -> dict[str, Any]:
        doc = {
            "authorization_endpoint": f"https://{host}/realms/dev/auth",
            "token_endpoint": f"https://{host}/realms/dev/token",
        }
        return doc if issuer is None else {**doc, "issuer": issuer}

    def test_matching_issuer(self, server: FakeServer) -> None:
        server.add(
            f"{self.ISSUER}/.well-known/openid-configuration", self._document(self.ISSUER + "/")
        )
        metadata = _discover(server, oidc_authority=self.ISSUER)
        assert metadata.tenant == "realms"

    @pytest.mark.parametrize("issuer", [None, "https://evil.example/realms/dev", "not a url"])
    def test_mismatching_or_missing_issuer(self, server: FakeServer, issuer: str | None) -> None:
        server.add(f"{self.ISSUER}/.well-known/openid-configuration", self._document(issuer))
        with pytest.raises(AuthorityError, match="does not match the authority"):
            _discover(server, oidc_authority=self.ISSUER)

    def test_root_hosted_provider_realm_is_the_token_path(self, server: FakeServer) -> None:
        issuer = "http://127.0.0.1:3000"
        server.add(
            f"{issuer}/.well-known/openid-configuration",
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": f"{issuer}/token",
            },
        )
        assert _discover(server, oidc_authority=issuer).tenant == "token"

    def test_dsts_issuer_is_validated(self, server: FakeServer) -> None:
        authority = f"https://dsts.fabrikam.example/dstsv2/{GUID}"
        doc = {
            "issuer": "https://elsewhere.example/",
            "authorization_endpoint": f"{authority}/oauth2/authorize",
            "token_endpoint": f"{authority}/oauth2/token",
        }
        server.add(f"{authority}/.well-known/openid-configuration", doc)
        with pytest.raises(AuthorityError, match="issuer"):
            _discover(server, authority)
        server.add(f"{authority}/.well-known/openid-configuration", {**doc, "issuer": authority})
        assert _discover(server, authority).tenant == "dstsv2"

    def test_4xx_message_names_the_oidc_endpoint(self, server: FakeServer) -> None:
        with pytest.raises(AuthorityError, match="Unable to get OIDC authority configuration"):
            _discover(server, oidc_authority=self.ISSUER)


@pytest.mark.parametrize(
    ("issuer", "authority", "ok"),
    [
        ("https://idp.example/realms/dev/", "https://idp.example/realms/dev", True),
        ("https://idp.example/other", "https://idp.example/realms/dev", True),
        ("http://idp.example/realms/dev", "https://idp.example/realms/dev", False),
        ("https://idp.example:8443/x", "https://idp.example/realms/dev", False),
        ("https://login.microsoftonline.com/t/v2.0", "https://idp.example/realms/dev", True),
        ("https://westus2.login.microsoft.com/t/v2.0", "https://idp.example/realms/dev", True),
        ("https://us.idp.example/t", "https://idp.example/realms/dev", True),
        ("https://a.b.idp.example/t", "https://idp.example/realms/dev", False),
        ("https://t.b2clogin.com/t/v2.0", "https://idp.example/realms/dev", True),
        ("https://t.ciamlogin.com/t/v2.0", "https://idp.example/realms/dev", True),
        ("https://fakeb2clogin.com/t", "https://idp.example/realms/dev", False),
        ("https://evil.example/realms/dev", "https://idp.example/realms/dev", False),
        ("", "https://idp.example/realms/dev", False),
        ("https://[::1/x", "https://idp.example/realms/dev", False),
    ],
)
def test_issuer_rules(issuer: str, authority: str, ok: bool) -> None:
    assert issuer_matches(issuer, parse_authority(oidc_authority=authority)) is ok


class TestBadAnswers:
    URL = f"{PUBLIC}/{GUID}{WK}"

    def _fails(self, server: FakeServer, response: HttpResponse) -> pytest.ExceptionInfo[Exception]:
        server.add(self.URL, response)
        with pytest.raises(Exception) as info:
            _discover(server, f"{PUBLIC}/{GUID}")
        return info

    @pytest.mark.parametrize(
        ("response", "message"),
        [
            (HttpResponse(200, "<!doctype html><title>proxy</title>"), "not a JSON object"),
            (
                HttpResponse(200, '{"token_endpoint": "https://login.microsoftonline.com/t/'),
                "truncated",
            ),
            (HttpResponse(200, ""), "not a JSON object"),
            (json_response([entra_document()]), "not a JSON object"),
            (json_response("a string"), "not a JSON object"),
            (HttpResponse(200, "[" * 100_000), "not a JSON object"),
        ],
    )
    def test_not_a_json_object(
        self, server: FakeServer, response: HttpResponse, message: str
    ) -> None:
        info = self._fails(server, response)
        assert info.type is AuthorityError
        assert message in str(info.value)

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"token_endpoint": None}, "token_endpoint is missing"),
            ({"authorization_endpoint": None}, "authorization_endpoint is missing"),
            (
                {"token_endpoint": ["https://x.example/t/token"]},
                "token_endpoint is not a non-empty",
            ),
            ({"token_endpoint": "http://login.microsoftonline.com/t/token"}, "must use https"),
            ({"authorization_endpoint": "http://evil.example/t/authorize"}, "must use https"),
            ({"token_endpoint": "/t/oauth2/v2.0/token"}, "not an absolute URL"),
            ({"token_endpoint": "https://login.microsoftonline.com/"}, "has no path"),
        ],
    )
    def test_unusable_endpoints(
        self, server: FakeServer, change: dict[str, Any], message: str
    ) -> None:
        doc = {k: v for k, v in {**entra_document(), **change}.items() if v is not None}
        info = self._fails(server, json_response(doc))
        assert info.type is AuthorityError
        assert message in str(info.value)

    def test_optional_endpoints_that_are_unusable_become_none(self, server: FakeServer) -> None:
        doc = {
            **entra_document(),
            "device_authorization_endpoint": "http://evil.example/devicecode",
            "jwks_uri": 42,
            "end_session_endpoint": None,
            "issuer": ["x"],
        }
        server.add(self.URL, json_response(doc))
        metadata = _discover(server, f"{PUBLIC}/{GUID}")
        assert metadata.device_authorization_endpoint is None
        assert metadata.jwks_uri is None
        assert metadata.end_session_endpoint is None
        assert metadata.issuer is None

    @pytest.mark.parametrize("status", [400, 404])
    def test_4xx_means_no_such_tenant(self, server: FakeServer, status: int) -> None:
        info = self._fails(server, json_response({"error": "invalid_tenant"}, status))
        assert info.type is AuthorityError
        assert "Unable to get authority configuration" in str(info.value)
        assert "tenant name or GUID" in str(info.value)
        assert f"HTTP status {status}" in str(info.value)

    @pytest.mark.parametrize("status", [500, 502, 503, 429])
    def test_5xx_is_a_retryable_service_error(self, server: FakeServer, status: int) -> None:
        info = self._fails(server, HttpResponse(status, "busy"))
        assert isinstance(info.value, MsalServiceError)
        assert info.value.retryable and info.value.status_code == status

    def test_unexpected_status(self, server: FakeServer) -> None:
        info = self._fails(server, HttpResponse(302, "", {"location": "https://x.example"}))
        assert isinstance(info.value, MsalServiceError)
        assert not info.value.retryable


def test_transport_errors_propagate() -> None:
    def boom(_: HttpRequest) -> HttpResponse:
        raise TransportError("TLS handshake failed")

    with pytest.raises(TransportError):
        run_flow(discover(parse_authority()), MockTransport(boom))


def test_metadata_from_document_directly() -> None:
    metadata = metadata_from_document(entra_document(tenant="consumers"))
    assert metadata.tenant == "consumers"
    assert metadata == metadata_from_document(entra_document(tenant="consumers"))
    assert hash(metadata) == hash(metadata_from_document(entra_document(tenant="consumers")))
    assert "raw" not in repr(metadata)
