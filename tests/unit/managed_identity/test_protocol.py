"""Each source's request and answer, as MSAL Python 1.39 builds and normalises them."""

from __future__ import annotations

import hashlib

import pytest

from tokensmith.errors import ProtocolError
from tokensmith.protocol.http import HttpResponse
from tokensmith.protocol.managed_identity import (
    app_service,
    arc,
    cloud_shell,
    imds,
    machine_learning,
    service_fabric,
)
from tokensmith.protocol.managed_identity.identity import (
    ManagedIdentityError,
    SystemAssignedManagedIdentity,
    UserAssignedManagedIdentity,
    cache_client_id,
    is_managed_identity,
)
from tokensmith.transport.mock import json_response

NOW = 1_700_000_000
RES = "https://vault.azure.net"
BY_RESOURCE = UserAssignedManagedIdentity(resource_id="/subscriptions/x/rg/y")
SYSTEM = SystemAssignedManagedIdentity()


def test_identity_objects_are_msals_dicts() -> None:
    assert dict(SYSTEM) == {"ManagedIdentityIdType": "SystemAssigned", "Id": None}
    assert dict(UserAssignedManagedIdentity(object_id="o")) == {
        "ManagedIdentityIdType": "ObjectId",
        "Id": "o",
    }
    with pytest.raises(ManagedIdentityError):
        UserAssignedManagedIdentity(client_id="a", object_id="b")
    with pytest.raises(ManagedIdentityError):
        UserAssignedManagedIdentity()
    assert is_managed_identity({"ManagedIdentityIdType": "ClientId", "Id": "c"})
    assert not is_managed_identity({"ManagedIdentityIdType": "ClientId", "Id": ""})
    assert not is_managed_identity({"foo": "bar"})
    assert cache_client_id(SYSTEM) is None  # MSAL 1.39's "Id": None
    assert cache_client_id({"ManagedIdentityIdType": "SystemAssigned"}) == (
        "SYSTEM_ASSIGNED_MANAGED_IDENTITY"
    )


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (imds, "msi_res_id"),
        (app_service, "mi_res_id"),
        (arc, "msi_res_id"),
        (machine_learning, "msi_res_id"),
    ],
)
def test_resource_id_selector_names(module: object, name: str) -> None:
    assert module.SELECTORS["ResourceId"] == name  # type: ignore[attr-defined]


def test_imds_request_and_string_lifetimes() -> None:
    req = imds.request("http://h/t", BY_RESOURCE, RES, sku="s", version="v", request_id="r")
    assert req.params == {
        "api-version": "2018-02-01",
        "resource": RES,
        "msi_res_id": BY_RESOURCE["Id"],
    }
    assert req.headers["Metadata"] == "true"
    got = imds.parse(json_response({"access_token": "A", "expires_in": "3599", "resource": RES}))
    assert got == {"access_token": "A", "expires_in": 3599, "resource": RES, "token_type": "Bearer"}
    error = {"error": "invalid_resource", "error_description": "AADSTS500011"}
    assert imds.parse(json_response(error, 400)) == error
    with pytest.raises(ProtocolError):
        imds.parse(HttpResponse(502, "<html>"))


def test_imds_retries_only_while_updating() -> None:
    assert imds.should_retry(HttpResponse(410, ""), 0) == imds.RETRY_DELAYS[0]
    assert imds.should_retry(HttpResponse(404, ""), 3) == imds.RETRY_DELAYS[3]
    assert imds.should_retry(HttpResponse(404, ""), len(imds.RETRY_DELAYS)) is None
    assert imds.should_retry(HttpResponse(400, ""), 0) is None


def test_app_service_expires_on_and_errors() -> None:
    req = app_service.request("http://h/msi", "sec", BY_RESOURCE, RES)
    assert req.headers == {"X-IDENTITY-HEADER": "sec", "Metadata": "true"}
    assert req.params and req.params["api-version"] == "2019-08-01" and "mi_res_id" in req.params
    ok = json_response({"access_token": "A", "expires_on": str(NOW + 3600), "resource": RES})
    assert app_service.parse(ok, NOW)["expires_in"] == 3600
    bad = app_service.parse(json_response({"statusCode": 400, "message": "m"}, 400), NOW)
    assert bad == {"error": "invalid_scope", "error_description": "400, m"}


def test_machine_learning_clientid_quirk() -> None:
    req = machine_learning.request(
        "http://h/ml", "s", UserAssignedManagedIdentity(client_id="c"), RES
    )
    assert req.params == {"api-version": "2017-09-01", "resource": RES, "clientid": "c"}
    assert req.headers == {"secret": "s"}
    bad = machine_learning.parse(json_response({"message": "no"}, 400), NOW)
    assert bad == {"error": "invalid_scope", "error_description": "{'message': 'no'}"}


def test_service_fabric_request_hash_capabilities_and_errors() -> None:
    req = service_fabric.request(
        "https://h:2377/t", "s", RES, token_to_refresh="old", client_capabilities=["cp1", "x"]
    )
    assert req.headers == {"Secret": "s"}
    assert req.params == {
        "api-version": "2019-07-01-preview",
        "resource": RES,
        "token_sha256_to_refresh": hashlib.sha256(b"old").hexdigest(),
        "xms_cc": "cp1,x",
    }
    with pytest.raises(ManagedIdentityError):
        service_fabric.request("http://h/t", "s", RES)
    assert service_fabric.normalize_thumbprint("AB:" * 19 + "AB") == "ab" * 20
    with pytest.raises(ManagedIdentityError):
        service_fabric.normalize_thumbprint("zz" * 20)
    body = {"error": {"code": "SecretHeaderNotFound", "message": "m"}}
    got = service_fabric.parse(json_response(body, 401), NOW)
    assert (
        got["error"] == "unauthorized_client" and "SecretHeaderNotFound" in got["error_description"]
    )
    other = service_fabric.parse(json_response({"error": {"code": "Other"}}, 500), NOW)
    assert other["error"] == "invalid_request"


def _challenge(value: str) -> HttpResponse:
    return HttpResponse(401, "", {"www-authenticate": value})


def test_arc_key_file_path_takes_only_the_name() -> None:
    found = arc.key_file_path(
        _challenge("Basic realm=/etc/evil/../x.txt"), platform="linux", directory=None
    )
    assert found == "/var/opt/azcmagent/tokens/x.key"
    found = arc.key_file_path(
        _challenge("Basic realm=/tmp/k.key"), platform="darwin", directory="/d"
    )
    assert found == "/d/k.key"
    with pytest.raises(arc.ArcPlatformNotSupportedError):
        arc.key_file_path(_challenge("Basic realm=/a/k.key"), platform="darwin", directory=None)
    with pytest.raises(ManagedIdentityError):
        arc.key_file_path(_challenge("Bearer x"), platform="linux", directory=None)


def test_arc_echo_is_required_for_user_assigned() -> None:
    ok = {"access_token": "A", "expires_in": "60", "client_id": "C"}
    who = UserAssignedManagedIdentity(client_id="c")
    assert arc.parse(json_response(ok), who)["expires_in"] == 60
    with pytest.raises(ManagedIdentityError):
        arc.parse(json_response({"access_token": "A", "expires_in": "60"}), who)
    assert arc.parse(HttpResponse(500, "boom"), SYSTEM) == {
        "error": "invalid_request",
        "error_description": "boom",
    }


def test_cloud_shell_post_and_error_shape() -> None:
    req = cloud_shell.request("http://h/t", RES)
    assert (req.method, req.data, req.headers) == ("POST", {"resource": RES}, {"Metadata": "true"})
    body = {"error": {"code": "audience_not_supported", "message": "no"}}
    assert cloud_shell.parse(json_response(body, 400)) == {
        "error": "audience_not_supported",
        "error_description": "no",
    }
