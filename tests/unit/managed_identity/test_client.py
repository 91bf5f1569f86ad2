"""ManagedIdentityClient over a MockTransport: cache hits, refresh_in, claims bypass,
IMDS retries as Sleep effects, Arc's challenge, errors, the async twin."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import tokensmith
import tokensmith.aio
from tokensmith._clock import FakeClock
from tokensmith.drivers.sync import run_flow
from tokensmith.engine import managed_identity as mi
from tokensmith.errors import TransportError
from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.transport.mock import AsyncMockTransport, MockTransport, json_response

RES = "https://management.azure.com"
pytestmark = pytest.mark.usefixtures("imds_on_loopback")


def _token(lifetime: int = 86400, **extra: Any) -> HttpResponse:
    return json_response(
        {"access_token": "AT", "expires_in": str(lifetime), "resource": RES, **extra}
    )


def _client(transport: Any, clock: FakeClock, identity: Any = None, **kw: Any) -> Any:
    identity = identity if identity is not None else tokensmith.SystemAssignedManagedIdentity()
    return tokensmith.ManagedIdentityClient(
        identity, http_client=None, transport=transport, clock=clock, sleep=clock.sleep, **kw
    )


def test_a_long_lived_token_is_cached_and_refreshed_at_half_life() -> None:
    clock = FakeClock()
    answers = iter([_token(86400, access_token="one"), _token(86400, access_token="two")])
    transport = MockTransport(lambda r: next(answers))
    client = _client(transport, clock)
    first = client.acquire_token_for_client(resource=RES)
    assert first["token_source"] == "identity_provider"
    assert first["refresh_in"] == 43200 and first["refresh_on"] == int(clock()) + 43200
    hit = client.acquire_token_for_client(resource=RES)
    assert hit == {
        "access_token": "one",
        "token_type": "Bearer",
        "expires_in": 86400,
        "token_source": "cache",
        "refresh_on": int(clock()) + 43200,
    }
    assert len(transport.requests) == 1
    clock.advance(43201)
    assert client.acquire_token_for_client(resource=RES)["access_token"] == "two"
    assert len(transport.requests) == 2


def test_a_short_token_gets_no_refresh_in() -> None:
    clock = FakeClock()
    client = _client(MockTransport(lambda r: _token(3599)), clock)
    result = client.acquire_token_for_client(resource=RES)
    assert "refresh_in" not in result and "refresh_on" not in result


def test_refresh_due_falls_back_to_the_cached_token_when_the_source_is_down() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def answer(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        if len(calls) > 1:
            raise TransportError("down")
        return _token(86400)

    client = _client(MockTransport(answer), clock)
    client.acquire_token_for_client(resource=RES)
    clock.advance(43201)
    assert client.acquire_token_for_client(resource=RES)["token_source"] == "cache"


def test_tokens_are_per_identity_and_resource() -> None:
    clock = FakeClock()
    transport = MockTransport(lambda r: _token(3599, client_id="c"))
    cache = tokensmith.SerializableTokenCache()
    a = _client(transport, clock, token_cache=cache)
    b = _client(
        transport, clock, tokensmith.UserAssignedManagedIdentity(client_id="c"), token_cache=cache
    )
    a.acquire_token_for_client(resource=RES)
    b.acquire_token_for_client(resource=RES)
    a.acquire_token_for_client(resource="https://other")
    assert len(transport.requests) == 3
    assert transport.requests[1].params == {
        "api-version": "2018-02-01",
        "resource": RES,
        "client_id": "c",
    }
    client_ids = sorted(
        str(e["client_id"]) for e in json.loads(cache.serialize())["AccessToken"].values()
    )
    assert client_ids == ["None", "None", "c"]


def test_a_claims_challenge_bypasses_the_cache_and_sends_the_old_token_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "https://127.0.0.1:2377/metadata/identity/oauth2/token")
    monkeypatch.setenv("IDENTITY_HEADER", "sf-secret")
    monkeypatch.setenv("IDENTITY_SERVER_THUMBPRINT", "ab" * 20)
    clock = FakeClock()
    tokens = iter(["old", "new"])

    def answer(request: HttpRequest) -> HttpResponse:
        body = {
            "access_token": next(tokens),
            "expires_on": int(clock()) + 3600,
            "resource": RES,
            "token_type": "Bearer",
        }
        return json_response(body)

    transport = MockTransport(answer)
    client = _client(transport, clock, client_capabilities=["CP1"])
    client.acquire_token_for_client(resource=RES)
    assert client.acquire_token_for_client(resource=RES)["token_source"] == "cache"
    fresh = client.acquire_token_for_client(resource=RES, claims_challenge='{"access_token":{}}')
    assert fresh["access_token"] == "new"
    first, second = transport.requests
    assert first.headers == {"Secret": "sf-secret"}
    assert first.params == {"api-version": "2019-07-01-preview", "resource": RES, "xms_cc": "CP1"}
    assert (
        second.params
        and second.params["token_sha256_to_refresh"] == hashlib.sha256(b"old").hexdigest()
    )


def test_imds_retries_404_and_410_as_sleep_effects() -> None:
    clock = FakeClock()
    answers = iter([HttpResponse(410, "updating"), HttpResponse(404, ""), _token(3599)])
    transport = MockTransport(lambda r: next(answers))
    start = clock()
    result = _client(transport, clock).acquire_token_for_client(resource=RES)
    assert result["access_token"] == "AT"
    assert len(transport.requests) == 3
    assert clock() - start == 2.0 + 6.0  # the IMDS schedule, slept on the injected clock


def test_an_imds_error_is_returned_as_it_came() -> None:
    error = {"error": "invalid_resource", "error_description": "AADSTS500011: no"}
    client = _client(MockTransport(lambda r: json_response(error, 400)), FakeClock())
    assert client.acquire_token_for_client(resource=RES) == error


def test_app_service_and_machine_learning(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    body = {"access_token": "AT", "expires_on": str(int(clock()) + 7200), "resource": RES}
    transport = MockTransport(lambda r: json_response(body))
    monkeypatch.setenv("MSI_ENDPOINT", "http://127.0.0.1:3/ml")
    monkeypatch.setenv("MSI_SECRET", "ml-secret")
    got = _client(transport, clock).acquire_token_for_client(resource=RES)
    assert got["expires_in"] == 7200 and got["refresh_in"] == 3600
    assert transport.requests[-1].headers == {"secret": "ml-secret"}
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:3/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "as-secret")
    _client(transport, clock).acquire_token_for_client(resource=RES)
    assert transport.requests[-1].url == "http://127.0.0.1:3/msi/token"
    assert transport.requests[-1].headers["X-IDENTITY-HEADER"] == "as-secret"


def _arc_transport(expected_key: str, realm: str) -> MockTransport:
    def answer(request: HttpRequest) -> HttpResponse:
        if "Authorization" not in request.headers:
            return HttpResponse(401, "", {"www-authenticate": f"Basic realm={realm}"})
        assert request.headers["Authorization"] == f"Basic {expected_key}"
        return _token(3599)

    return MockTransport(answer)


def test_arc_reads_the_challenged_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:4/metadata/identity/oauth2/token")
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:4")
    (tmp_path / "abc.key").write_text("the-key")
    transport = _arc_transport("the-key", "/anywhere/abc.key")
    client = _client(transport, FakeClock(), arc_key_directory=str(tmp_path))
    assert client.acquire_token_for_client(resource=RES)["access_token"] == "AT"
    assert transport.requests[0].params == {"api-version": "2020-06-01", "resource": RES}


def test_arc_refuses_big_key_files_and_links_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:4/t")
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:4")
    (tmp_path / "big.key").write_text("x" * 4097)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "link.key").symlink_to(outside)
    (tmp_path / "big2.key").write_text("y" * 4096)
    for directory, name in ((tmp_path, "big"), (keys, "link"), (tmp_path, "missing")):
        client = _client(
            _arc_transport("-", f"/x/{name}.key"), FakeClock(), arc_key_directory=str(directory)
        )
        with pytest.raises(tokensmith.ManagedIdentityError):
            client.acquire_token_for_client(resource=RES)


def test_arc_without_a_challenge_is_invalid_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:4/t")
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:4")
    client = _client(MockTransport(lambda r: HttpResponse(200, "nope")), FakeClock())
    assert client.acquire_token_for_client(resource=RES) == {
        "error": "invalid_request",
        "error_description": "nope",
    }


def test_bad_identities_are_refused() -> None:
    with pytest.raises(tokensmith.ManagedIdentityError):
        tokensmith.ManagedIdentityClient({"ManagedIdentityIdType": "Nope"}, http_client=None)
    plain = tokensmith.ManagedIdentityClient(
        {"ManagedIdentityIdType": "ObjectId", "Id": "o"}, http_client=None
    )
    assert "ObjectId" in repr(plain)


def test_the_async_twin_runs_the_same_flow() -> None:
    clock = FakeClock()
    transport = AsyncMockTransport(lambda r: _token(86400))

    async def main() -> list[str]:
        async with tokensmith.aio.ManagedIdentityClient(
            tokensmith.UserAssignedManagedIdentity(client_id="c"),
            http_client=None,
            transport=transport,
            clock=clock,
            sleep=clock.sleep,
        ) as client:
            first = await client.acquire_token_for_client(resource=RES)
            second = await client.acquire_token_for_client(resource=RES)
            return [first["token_source"], second["token_source"]]

    assert asyncio.run(main()) == ["identity_provider", "cache"]
    assert len(transport.requests) == 1


class _CountingEnviron(dict[str, str]):
    """An environment that counts every read."""

    reads = 0

    def __getitem__(self, key: str) -> str:
        self.reads += 1
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.reads += 1
        return super().__contains__(key)


def test_a_cache_hit_detects_no_source_as_msal_reads_the_environment_only_on_a_miss() -> None:
    clock = FakeClock()
    ctx = mi.mi_context(tokensmith.TokenCache(), clock)
    environ = _CountingEnviron(AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:1")
    probes: list[str] = []

    def exists(path: str) -> bool:
        probes.append(path)
        return False

    host = mi.Host(environ, "linux", exists, lambda p: p, lambda p: "")
    identity = tokensmith.SystemAssignedManagedIdentity()

    transport = MockTransport(lambda r: _token())

    def acquire() -> Any:
        return run_flow(mi.acquire_token_for_client(ctx, identity, host, RES, None, ()), transport)

    assert acquire()["token_source"] == "identity_provider"
    assert environ.reads and probes  # the miss detected the source
    environ.reads, probes[:] = 0, []
    assert acquire()["token_source"] == "cache"
    assert (environ.reads, probes) == (0, [])
