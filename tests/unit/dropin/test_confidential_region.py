"""Item 1 of issue 9: constructors accept what MSAL 1.39 accepts and refuse what it
refuses; a region is validated and used as MSAL uses it (regional token endpoints for
client credentials, MSAL_FORCE_REGION, ATTEMPT_REGION_DISCOVERY through REGION_NAME
and the IMDS compute metadata, the global endpoint when nothing is found).

MSAL asks IMDS at 169.254.169.254 through its ``http_client``: the in-process fake
answers it, nothing leaves the process. tokensmith's ``region_discovery_endpoint``
points the same question at a stand-in on loopback for the real-transport test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.confidential_oracle import (
    IMDS_COMPUTE,
    SCOPES,
    TENANT,
    RegionalFake,
    cache_view,
    result_shape,
)

import tokensmith
from tokensmith.drivers.sync import run_flow
from tokensmith.entra.region import detect_region
from tokensmith.transport.httpx_transport import HttpxTransport

pytestmark = pytest.mark.filterwarnings("ignore:allow_broker is deprecated")

GLOBAL = f"https://login.microsoftonline.com/{TENANT}"


@pytest.fixture(autouse=True)
def _no_region_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSAL_FORCE_REGION", raising=False)
    monkeypatch.delenv("REGION_NAME", raising=False)


def _apps(authority: str = GLOBAL, location: Any = None, **options: Any) -> list[Any]:
    """The same confidential client in MSAL and tokensmith, each over its own fake."""
    apps = []
    for module in (msal, tokensmith):
        fake = RegionalFake(location=location)
        extra = {"sleep": lambda s: None} if module is tokensmith else {}
        options.setdefault("client_credential", "s3cret")
        app = module.ConfidentialClientApplication(
            "cid",
            authority=authority,
            http_client=fake,
            token_cache=module.SerializableTokenCache(),
            **options,
            **extra,
        )
        apps.append((app, fake))
    return apps


def _token_urls(authority: str = GLOBAL, location: Any = None, **options: Any) -> list[str]:
    """Where each library sent its client-credentials request; results and cache
    compared on the way."""
    pairs = _apps(authority, location, **options)
    results = [result_shape(app.acquire_token_for_client(SCOPES)) for app, _ in pairs]
    assert results[0] == results[1]
    (msal_app, msal_fake), (ts_app, ts_fake) = pairs
    assert cache_view(ts_app.token_cache.serialize()) == cache_view(
        msal_app.token_cache.serialize()
    )
    assert ts_fake.token_posts()[0].data == msal_fake.token_posts()[0].data
    return [fake.token_posts()[0].url for _, fake in pairs]


@pytest.mark.parametrize(
    ("host", "regional"),
    [
        ("login.microsoftonline.com", "westus2.login.microsoft.com"),
        ("login.windows.net", "westus2.login.microsoft.com"),
        ("login.microsoft.com", "westus2.login.microsoft.com"),
        ("login.microsoftonline.us", "westus2.login.microsoftonline.us"),
        ("login.chinacloudapi.cn", "westus2.login.chinacloudapi.cn"),
    ],
)
def test_an_explicit_region_sends_client_credentials_to_the_regional_host(
    host: str, regional: str
) -> None:
    urls = _token_urls(f"https://{host}/{TENANT}", azure_region="westus2")
    assert urls == [f"https://{regional}/{TENANT}/oauth2/v2.0/token"] * 2


def test_msal_force_region_is_used_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSAL_FORCE_REGION", "eastus")
    regional = f"https://eastus.login.microsoft.com/{TENANT}/oauth2/v2.0/token"
    assert _token_urls() == [regional] * 2
    off = tokensmith.ConfidentialClientApplication.DISABLE_MSAL_FORCE_REGION
    assert _token_urls(azure_region=off) == [f"{GLOBAL}/oauth2/v2.0/token"] * 2


def test_region_name_is_read_before_imds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION_NAME", "centralus")
    pairs = _apps(location="westeurope", azure_region=True)
    for app, fake in pairs:
        app.acquire_token_for_client(SCOPES)
        assert fake.token_posts()[0].url.startswith("https://centralus.login.microsoft.com/")
        assert fake.imds_calls() == []


def _imds_query(sent: Any) -> tuple[str, dict[str, str], str | None]:
    parts = urlsplit(sent.url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if p)
    query.update(sent.params)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query, sent.headers.get("Metadata")


def test_attempt_region_discovery_asks_imds_once() -> None:
    attempt = tokensmith.ConfidentialClientApplication.ATTEMPT_REGION_DISCOVERY
    pairs = _apps(location="westeurope", azure_region=attempt)
    for app, fake in pairs:
        for scope in ("api://one/.default", "api://two/.default"):
            app.acquire_token_for_client([scope])
        urls = [p.url for p in fake.token_posts()]
        assert urls == [f"https://westeurope.login.microsoft.com/{TENANT}/oauth2/v2.0/token"] * 2
        assert len(fake.imds_calls()) == 1
    queries = [_imds_query(fake.imds_calls()[0]) for _, fake in pairs]
    assert queries[1] == queries[0] == (IMDS_COMPUTE, {"api-version": "2021-02-01"}, "true")


@pytest.mark.parametrize(
    "imds",
    [
        {"location": None},  # unreachable: the client raises
        {"location": "West Europe"},  # not a region name
        {"location": 7},
        {"imds_body": "<html>not json</html>"},
        {"imds_body": "[1, 2]"},
    ],
    ids=["unreachable", "invalid", "not-a-string", "not-json", "not-an-object"],
)
def test_no_region_found_falls_back_to_the_global_endpoint(imds: dict[str, Any]) -> None:
    pairs = []
    for module in (msal, tokensmith):
        fake = RegionalFake(**imds)
        extra = {"sleep": lambda s: None} if module is tokensmith else {}
        app = module.ConfidentialClientApplication(
            "cid", "s3cret", authority=GLOBAL, http_client=fake, azure_region=True, **extra
        )
        app.acquire_token_for_client(SCOPES)
        pairs.append(fake)
    assert [f.token_posts()[0].url for f in pairs] == [f"{GLOBAL}/oauth2/v2.0/token"] * 2
    assert all(f.imds_calls() for f in pairs)


def test_the_region_is_for_client_credentials_only() -> None:
    for app, fake in _apps(azure_region="westus2"):
        app.acquire_token_on_behalf_of("user-assertion", ["api://downstream/read"])
        assert fake.token_posts()[0].url == f"{GLOBAL}/oauth2/v2.0/token"


def test_no_credential_means_no_region() -> None:
    for app, fake in _apps(azure_region="westus2", client_credential=None):
        app.acquire_token_for_client(SCOPES)
        assert fake.token_posts()[0].url == f"{GLOBAL}/oauth2/v2.0/token"


# -- constructors ------------------------------------------------------------------


def _build(module: Any, cls: str, *args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("authority", GLOBAL)
    kwargs.setdefault("http_client", RegionalFake())
    return getattr(module, cls)(*args, **kwargs)


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        ("ClientApplication", ("cid",), {}),
        ("ConfidentialClientApplication", ("cid",), {}),
        ("ConfidentialClientApplication", ("cid", ""), {}),
        ("ClientApplication", ("cid",), {"allow_broker": True}),
        ("ConfidentialClientApplication", ("cid",), {"azure_region": "westus2"}),
        ("PublicClientApplication", ("cid",), {"azure_region": True}),
    ],
)
def test_constructors_msal_accepts(cls: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _build(msal, cls, *args, **kwargs)
    _build(tokensmith, cls, *args, **kwargs)


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        ("PublicClientApplication", ("cid", "s3cret"), {}),
        ("ConfidentialClientApplication", ("cid",), {"allow_broker": True}),
        ("ClientApplication", ("cid", "s3cret"), {"allow_broker": True}),
        ("ConfidentialClientApplication", ("cid", "s"), {"azure_region": "West US"}),
        ("ConfidentialClientApplication", ("cid", "s"), {"azure_region": "-westus"}),
        ("ConfidentialClientApplication", ("cid", "s"), {"azure_region": "a" * 64}),
        ("PublicClientApplication", ("cid",), {"azure_region": "westus_2"}),
        ("ConfidentialClientApplication", ("cid", {}), {}),
    ],
)
def test_constructors_msal_refuses(cls: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for module in (msal, tokensmith):
        with pytest.raises(ValueError):
            _build(module, cls, *args, **kwargs)


@pytest.mark.parametrize(
    ("value", "kwargs", "refused"),
    [
        ("Bad Region", {}, True),
        ("", {}, True),
        ("Bad Region", {"azure_region": False}, False),
        ("Bad Region", {"azure_region": True}, False),
        ("Bad Region", {"azure_region": "westus"}, False),
        ("Bad Region", {"client_credential": None}, False),
    ],
)
def test_msal_force_region_is_validated_as_msal_does(
    monkeypatch: pytest.MonkeyPatch, value: str, kwargs: dict[str, Any], refused: bool
) -> None:
    monkeypatch.setenv("MSAL_FORCE_REGION", value)
    kwargs = {"client_credential": "s3cret", **kwargs}
    for module in (msal, tokensmith):
        if refused:
            with pytest.raises(ValueError, match="MSAL_FORCE_REGION"):
                _build(module, "ConfidentialClientApplication", "cid", **kwargs)
        else:
            _build(module, "ConfidentialClientApplication", "cid", **kwargs)


def test_a_client_without_credential_sends_none() -> None:
    forms = []
    for module in (msal, tokensmith):
        fake = RegionalFake()
        app = _build(module, "ConfidentialClientApplication", "cid", http_client=fake)
        app.acquire_token_for_client(SCOPES)
        forms.append(fake.token_posts()[0].data)
    assert forms[1] == forms[0]
    assert "client_secret" not in forms[1] and "client_assertion" not in forms[1]


# -- the IMDS stand-in on loopback ---------------------------------------------------


class _Imds(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Metadata")))
        body = json.dumps({"location": "norwayeast", "name": "vm"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def imds_standin() -> Iterator[str]:
    _Imds.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metadata/instance/compute"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_region_discovery_over_the_real_transport(imds_standin: str) -> None:
    transport = HttpxTransport()
    try:
        assert run_flow(detect_region(imds_standin, {}), transport) == "norwayeast"
    finally:
        transport.close()
    assert _Imds.seen == [("/metadata/instance/compute?api-version=2021-02-01", "true")]


def test_region_discovery_endpoint_points_the_app_at_the_standin(imds_standin: str) -> None:
    class Forwarding(RegionalFake):
        """Sends the stand-in's GET for real (loopback), answers the rest in process."""

        def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
            if url.startswith("http://127.0.0.1:"):
                import httpx

                self._record("GET", url, params, None, headers)
                reply = httpx.get(url, params=params, headers=headers)
                return type("R", (), {"status_code": 200, "text": reply.text, "headers": {}})()
            return super().get(url, params=params, headers=headers, **kw)

    fake = Forwarding()
    app = tokensmith.ConfidentialClientApplication(
        "cid",
        "s3cret",
        authority=GLOBAL,
        http_client=fake,
        azure_region=True,
        region_discovery_endpoint=imds_standin,
    )
    app.acquire_token_for_client(SCOPES)
    assert fake.token_posts()[0].url.startswith("https://norwayeast.login.microsoft.com/")
    assert fake.imds_calls() == []
    assert len(_Imds.seen) == 1


def test_the_async_twin_detects_and_uses_the_region_too() -> None:
    import asyncio

    import tokensmith.aio

    async def main() -> tuple[RegionalFake, list[str]]:
        fake = RegionalFake(location="japaneast")
        app = tokensmith.aio.ConfidentialClientApplication(
            "cid", "s3cret", authority=GLOBAL, http_client=fake, azure_region=True
        )
        first = await app.acquire_token_for_client(SCOPES, fmi_path="a")
        again = await app.acquire_token_for_client(SCOPES, fmi_path="a")
        other = await app.acquire_token_for_client(SCOPES, fmi_path="b")
        await app.close()
        return fake, [r["token_source"] for r in (first, again, other)]

    fake, sources = asyncio.run(main())
    assert sources == ["identity_provider", "cache", "identity_provider"]
    assert [p.url for p in fake.token_posts()] == [
        f"https://japaneast.login.microsoft.com/{TENANT}/oauth2/v2.0/token"
    ] * 2
    assert len(fake.imds_calls()) == 1
