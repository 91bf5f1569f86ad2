from __future__ import annotations

from typing import Any

import pytest
from tests.unit.application.fake_entra import FakeEntra

from tokensmith.transport.base import HttpResponse
from tokensmith.transport.mock import json_response

API = ["api://downstream/read"]


def test_on_behalf_of_is_served_from_the_cache_per_user_assertion(
    make_cca: Any, entra: FakeEntra
) -> None:
    app = make_cca()
    first = app.acquire_token_on_behalf_of("assertion-of-ada", API)
    assert first["token_source"] == "identity_provider"
    form = entra.token_requests[-1]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["requested_token_use"] == "on_behalf_of"
    again = app.acquire_token_on_behalf_of("assertion-of-ada", API)
    assert again["token_source"] == "cache"
    other = app.acquire_token_on_behalf_of("assertion-of-bob", API)
    assert other["token_source"] == "identity_provider"
    assert entra.tokens_posted() == 2


def test_truncated_token_response_is_an_error_dict_and_cache_stays_empty(
    make_cca: Any, entra: FakeEntra
) -> None:
    entra.token_handler = lambda form: HttpResponse(200, '{"access_token": "at', {})
    app = make_cca()
    result = app.acquire_token_for_client(["s/.default"])
    assert result["error"] == "invalid_response"
    assert not app.token_cache._cache.get("AccessToken")


def test_html_token_response_is_an_error_dict(make_cca: Any, entra: FakeEntra) -> None:
    entra.token_handler = lambda form: HttpResponse(200, "<html>proxy login</html>", {})
    assert make_cca().acquire_token_for_client(["s/.default"])["error"] == "invalid_response"


def test_undecodable_id_token_is_refused_without_touching_the_cache(
    make_pca: Any, entra: FakeEntra
) -> None:
    entra.extra = {"id_token": "not-a-jwt"}
    app = make_pca()
    result = app.acquire_token_by_refresh_token("rt", ["User.Read"])
    assert result["error"] == "invalid_response"
    assert "not-a-jwt" not in result["error_description"]
    assert app.get_accounts() == []
    assert not app.token_cache._cache.get("AccessToken")


def test_server_error_raises_msal_service_error(make_cca: Any, entra: FakeEntra) -> None:
    from tokensmith.exceptions import MsalServiceError

    entra.token_handler = lambda form: json_response({"error": "server_error"}, 500)
    with pytest.raises(MsalServiceError):
        make_cca().acquire_token_for_client(["s/.default"])


@pytest.mark.parametrize(
    "authority",
    ["http://login.microsoftonline.com/common", "not a url", "https://", "ftp://example.com/x"],
)
def test_unacceptable_authorities_raise_value_error(authority: str) -> None:
    import tokensmith

    with pytest.raises(ValueError):
        tokensmith.PublicClientApplication("id", authority=authority)


def test_malformed_discovery_document_is_a_clear_error(make_pca: Any, entra: FakeEntra) -> None:
    from tokensmith.transport.mock import MockTransport

    def handler(request: Any) -> HttpResponse:
        return HttpResponse(200, "[1, 2", {})

    import tokensmith

    app = tokensmith.PublicClientApplication(
        "id",
        authority="https://login.microsoftonline.com/broken-tenant.example",
        transport=MockTransport(handler),
    )
    with pytest.raises(ValueError, match="broken-tenant"):
        app.initiate_device_flow(["User.Read"])


def test_public_client_refuses_a_credential() -> None:
    import tokensmith

    with pytest.raises(ValueError):
        tokensmith.PublicClientApplication("id", "secret")


def test_constructor_does_no_network_io() -> None:
    import tokensmith
    from tokensmith.transport.mock import MockTransport

    transport = MockTransport(lambda r: HttpResponse(500, "", {}))
    tokensmith.ConfidentialClientApplication(
        "id",
        "secret",
        authority="https://login.microsoftonline.com/contoso.example",
        transport=transport,
    )
    assert transport.requests == []
