"""Managed identity against the dev IdP: MSAL 1.39's ``ManagedIdentityClient`` and
tokensmith's, pointed at the same loopback endpoints by the same environment variables,
send the same requests and return the same dicts, for every source MSAL's client
serves; tokensmith's async twin and azure-identity on tokensmith too."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import msal
import msal.managed_identity
import msal.managed_identity as msal_mi
import pytest
import requests

import tokensmith
import tokensmith.aio
import tokensmith.managed_identity as ts_mi
from tokensmith.devidp import DevIdP
from tokensmith.devidp import managed_identity as dev_mi
from tokensmith.devidp.defaults import default_config
from tokensmith.protocol.managed_identity.sources import ENVIRONMENT_VARIABLES

RES = "https://management.azure.com"
UAMI = next(m for m in default_config().managed_identities if not m.system_assigned)
_LIBRARY_HEADERS = {"x-client-sku", "x-client-ver", "x-ms-client-request-id"}


class Recording:
    """An MSAL-style http_client over requests, recording what each library sent."""

    def __init__(self, ca: Path) -> None:
        self.session = requests.Session()
        self.session.verify = str(ca)
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        self.sent: list[tuple[str, str, dict[str, str], dict[str, str]]] = []

    def _note(self, method: str, url: str, kwargs: dict[str, Any]) -> None:
        headers = {
            k: v
            for k, v in (kwargs.get("headers") or {}).items()
            if k.lower() not in _LIBRARY_HEADERS
        }
        if "Authorization" in headers:  # Arc's key is fresh per challenge
            headers["Authorization"] = headers["Authorization"].split(" ")[0] + " <key>"
        params = dict(kwargs.get("params") or {})
        self.sent.append((method, url.split("?")[0], params, headers))

    def get(self, url: str, **kwargs: Any) -> Any:
        self._note("GET", url, kwargs)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        self._note("POST", url, kwargs)
        return self.session.post(url, **kwargs)

    def close(self) -> None:
        self.session.close()


def thumbprint(idp: DevIdP) -> str:
    pem = idp.context.keys.tls_cert_path.read_text()
    first = pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    return hashlib.sha1(ssl.PEM_cert_to_DER_cert(first), usedforsecurity=False).hexdigest()


def environment(idp: DevIdP, source: str) -> dict[str, str]:
    base = idp.base_url
    return {
        "imds": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": base},
        "app_service": {
            "IDENTITY_ENDPOINT": f"{base}/msi/token",
            "IDENTITY_HEADER": dev_mi.APP_SERVICE_SECRET,
        },
        "machine_learning": {
            "MSI_ENDPOINT": f"{base}/ml/msi/token",
            "MSI_SECRET": dev_mi.ML_SECRET,
        },
        "arc": {
            "IDENTITY_ENDPOINT": f"{base}/arc/metadata/identity/oauth2/token",
            "IMDS_ENDPOINT": base,
        },
        "service_fabric": {
            "IDENTITY_ENDPOINT": f"{base}/sf/metadata/identity/oauth2/token",
            "IDENTITY_HEADER": dev_mi.SERVICE_FABRIC_SECRET,
            "IDENTITY_SERVER_THUMBPRINT": thumbprint(idp).upper(),
        },
        "cloud_shell": {
            "AZUREPS_HOST_ENVIRONMENT": "cloud-shell/1.0",
            "MSI_ENDPOINT": f"{base}/cloudshell/oauth2/token",
        },
    }[source]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, idp: DevIdP) -> Any:
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(
        msal.managed_identity._supported_arc_platforms_and_their_prefixes,
        sys.platform,
        str(dev_mi.arc_key_directory(idp.context)),
    )

    def use(source: str) -> None:
        for name, value in environment(idp, source).items():
            monkeypatch.setenv(name, value)

    return use


def _shape(result: dict[str, Any]) -> dict[str, Any]:
    """A result with the minted token and the clock-dependent numbers blurred."""
    out = dict(result)
    assert out.pop("access_token", None) or "error" in out
    for key in ("expires_in", "refresh_in", "refresh_on"):
        if key in out:
            out[key] = round(int(out[key]) / 100)
    return out


IDENTITIES = [
    pytest.param(lambda m: m.SystemAssignedManagedIdentity(), id="system"),
    pytest.param(lambda m: m.UserAssignedManagedIdentity(client_id=UAMI.client_id), id="client_id"),
    pytest.param(
        lambda m: m.UserAssignedManagedIdentity(resource_id=UAMI.resource_id), id="resource_id"
    ),
    pytest.param(lambda m: m.UserAssignedManagedIdentity(object_id=UAMI.object_id), id="object_id"),
]


@pytest.mark.parametrize("source", ["imds", "app_service", "machine_learning", "arc"])
@pytest.mark.parametrize("make", IDENTITIES)
def test_msal_and_tokensmith_send_and_return_the_same(
    idp: DevIdP, env: Any, source: str, make: Any
) -> None:
    env(source)
    theirs, ours = Recording(idp.ca_path), Recording(idp.ca_path)
    msal_client = msal.ManagedIdentityClient(make(msal), http_client=theirs)
    ts_client = tokensmith.ManagedIdentityClient(
        make(tokensmith),
        http_client=ours,
        arc_key_directory=str(dev_mi.arc_key_directory(idp.context)),
    )
    expected = [msal_client.acquire_token_for_client(resource=RES) for _ in range(2)]
    got = [ts_client.acquire_token_for_client(resource=RES) for _ in range(2)]
    assert [_shape(r) for r in got] == [_shape(r) for r in expected]
    assert got[0]["token_source"] == "identity_provider" and got[1]["token_source"] == "cache"
    assert ours.sent == theirs.sent
    assert "refresh_in" in got[0]  # the dev IdP's MI tokens live 24 h


def test_service_fabric_pins_the_dev_idp_certificate(idp: DevIdP, env: Any) -> None:
    env("service_fabric")
    theirs = Recording(idp.ca_path)
    expected = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=theirs.session
    ).acquire_token_for_client(resource=RES)
    client = tokensmith.ManagedIdentityClient(
        tokensmith.SystemAssignedManagedIdentity(), http_client=requests.Session()
    )
    got = client.acquire_token_for_client(resource=RES)
    assert _shape(got) == _shape(expected)
    assert got["token_source"] == "identity_provider"


def test_service_fabric_refuses_another_certificate(
    idp: DevIdP, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env("service_fabric")
    monkeypatch.setenv("IDENTITY_SERVER_THUMBPRINT", "00" * 20)
    client = tokensmith.ManagedIdentityClient(
        tokensmith.SystemAssignedManagedIdentity(), http_client=None
    )
    with pytest.raises(tokensmith.ManagedIdentityError, match="thumbprint"):
        client.acquire_token_for_client(resource=RES)


def test_cloud_shell_and_the_async_twin(idp: DevIdP, env: Any) -> None:
    env("cloud_shell")

    async def main() -> list[Any]:
        async with tokensmith.aio.ManagedIdentityClient(
            tokensmith.SystemAssignedManagedIdentity(), http_client=Recording(idp.ca_path)
        ) as client:
            return [await client.acquire_token_for_client(resource=RES) for _ in range(2)]

    first, second = asyncio.run(main())
    assert first["token_source"] == "identity_provider" and first["refresh_in"] > 0
    assert second["token_source"] == "cache"


def test_cloud_shell_msal_asks_imds_and_tokensmith_asks_msi_endpoint(
    idp: DevIdP, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented divergence: in Cloud Shell, MSAL 1.39's ManagedIdentityClient
    falls through to the VM's IMDS (its Cloud Shell support is in
    PublicClientApplication); tokensmith asks the Cloud Shell endpoint
    (MSI_ENDPOINT). Both get a token for the same resource from the dev IdP."""
    env("cloud_shell")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", idp.base_url)  # MSAL's IMDS
    assert msal_mi.get_managed_identity_source() is msal_mi.CLOUD_SHELL
    assert ts_mi.get_managed_identity_source() is ts_mi.CLOUD_SHELL
    theirs, ours = Recording(idp.ca_path), Recording(idp.ca_path)
    expected = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=theirs
    ).acquire_token_for_client(resource=RES)
    got = tokensmith.ManagedIdentityClient(
        tokensmith.SystemAssignedManagedIdentity(), http_client=ours
    ).acquire_token_for_client(resource=RES)
    assert [m for m, *_ in theirs.sent] == ["GET"]
    assert theirs.sent[0][1] == f"{idp.base_url}/metadata/identity/oauth2/token"
    assert [(m, u) for m, u, *_ in ours.sent] == [
        ("POST", f"{idp.base_url}/cloudshell/oauth2/token")
    ]
    assert _shape(got) == _shape(expected)


def test_source_errors_in_their_shapes(
    idp: DevIdP, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env("app_service")
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    client = tokensmith.ManagedIdentityClient(
        tokensmith.SystemAssignedManagedIdentity(), http_client=Recording(idp.ca_path)
    )
    expected = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=Recording(idp.ca_path)
    ).acquire_token_for_client(resource=RES)
    assert client.acquire_token_for_client(resource=RES) == expected
    assert expected["error"] == "invalid_scope"


_AZURE_IDENTITY = """
import sys, tokensmith
sys.modules["msal"] = tokensmith
from azure.identity import ManagedIdentityCredential
token = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
assert token.token.count(".") == 2, token
print("ok", type(sys.modules["msal"]).__name__, sys.modules["msal"].__name__)
"""


def test_azure_identity_on_tokensmith(idp: DevIdP) -> None:
    importlib.import_module("azure.identity")  # the dev extra installs it: fail, never skip
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env.update(environment(idp, "app_service"))
    env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"] = str(idp.ca_path)
    done = subprocess.run(
        [sys.executable, "-c", _AZURE_IDENTITY], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("tokensmith")


_DEFAULT_CREDENTIAL = """
import socket, sys, tokensmith

_connect = socket.socket.connect


def loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise AssertionError(f"connect outside loopback: {address!r}")
    return _connect(self, address)


socket.socket.connect = loopback_only
sys.modules["msal"] = tokensmith
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

credential = DefaultAzureCredential(
    exclude_environment_credential=True,
    exclude_workload_identity_credential=True,
    exclude_shared_token_cache_credential=True,
    exclude_visual_studio_code_credential=True,
    exclude_cli_credential=True,
    exclude_developer_cli_credential=True,
    exclude_powershell_credential=True,
    exclude_interactive_browser_credential=True,
    exclude_broker_credential=True,
)
chain = [type(c) for c in credential.credentials]
assert chain == [ManagedIdentityCredential], chain
first = credential.get_token("https://management.azure.com/.default")
again = credential.get_token("https://management.azure.com/.default")
assert first.token.count(".") == 2 and again.token == first.token, (first, again)
print("ok", type(credential._successful_credential).__name__, sys.modules["msal"].__name__)
"""


def test_default_azure_credential_on_tokensmith(idp: DevIdP) -> None:
    """azure-identity's DefaultAzureCredential, every credential but managed identity
    excluded, gets (and then reuses) the dev IdP's App Service token through tokensmith."""
    importlib.import_module("azure.identity")  # the dev extra installs it: fail, never skip
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env.pop("AZURE_TOKEN_CREDENTIALS", None)
    env.update(environment(idp, "app_service"))
    env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"] = str(idp.ca_path)
    done = subprocess.run(
        [sys.executable, "-c", _DEFAULT_CREDENTIAL],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok ManagedIdentityCredential tokensmith"
