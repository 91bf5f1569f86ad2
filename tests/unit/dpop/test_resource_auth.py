"""Calling a DPoP-protected resource: httpx (sync, async) and requests (RFC 9449 §7, §9)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import requests
from tests.unit.dpop.resource import Resource, serve

from tokensmith._clock import FakeClock
from tokensmith._jwt import decode_json_part
from tokensmith.dpop import DPoPAuth, DPoPKey, DPoPRequestsAuth, DPoPVerifier
from tokensmith.protocol.dpop import access_token_hash

NOW = 1_700_000_000.0
URL = "https://api.example.com/items?page=1"


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate()


@pytest.fixture
def resource(key: DPoPKey) -> Resource:
    return Resource(DPoPVerifier(clock=FakeClock(NOW)), {"tok-1": key.jkt})


def handler(resource: Resource) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        proofs = request.headers.get_list("dpop")
        status, extra, body = resource.answer(request.method, str(request.url), headers, proofs)
        return httpx.Response(status, headers=extra, text=body)

    return handle


def auth(key: DPoPKey, token: Any = "tok-1", **kwargs: Any) -> DPoPAuth:
    return DPoPAuth(key, token, clock=FakeClock(NOW), **kwargs)


def test_httpx_sends_the_token_and_a_proof_with_ath(key: DPoPKey, resource: Resource) -> None:
    with httpx.Client(transport=httpx.MockTransport(handler(resource))) as client:
        response = client.get(URL, auth=auth(key))
    assert response.status_code == 200
    (seen,) = resource.seen
    assert seen["authorization"] == "DPoP tok-1"
    claims = decode_json_part(seen["dpop"].split(".")[1])
    assert claims["ath"] == access_token_hash("tok-1")
    assert claims["htu"] == "https://api.example.com/items" and claims["htm"] == "GET"


def test_httpx_answers_the_nonce_challenge_once(key: DPoPKey, resource: Resource) -> None:
    resource.nonce = "rs-n1"
    signer = auth(key)
    with httpx.Client(transport=httpx.MockTransport(handler(resource))) as client:
        assert client.get(URL, auth=signer).status_code == 200
        assert len(resource.seen) == 2
        assert client.get(URL, auth=signer).status_code == 200
    assert len(resource.seen) == 3  # the nonce was kept for the origin


def test_httpx_does_not_loop_on_a_stale_nonce(key: DPoPKey) -> None:
    sent: list[str | None] = []

    def refusing(request: httpx.Request) -> httpx.Response:
        claims = decode_json_part(request.headers["dpop"].split(".")[1])
        sent.append(claims.get("nonce"))
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n"}
        )

    signer = auth(key)
    with httpx.Client(transport=httpx.MockTransport(refusing)) as client:
        assert client.get(URL, auth=signer).status_code == 401
        assert sent == [None, "n"]  # one retry with the new nonce
        assert client.get(URL, auth=signer).status_code == 401
        assert sent == [None, "n", "n"]  # the same nonce again: no retry


def test_httpx_async_client(key: DPoPKey, resource: Resource) -> None:
    resource.nonce = "rs-n1"

    async def call() -> int:
        transport = httpx.MockTransport(handler(resource))
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.get(URL, auth=auth(key))).status_code

    assert asyncio.run(call()) == 200
    assert len(resource.seen) == 2


def test_token_from_a_result_dict_and_bearer_refused(key: DPoPKey, resource: Resource) -> None:
    with httpx.Client(transport=httpx.MockTransport(handler(resource))) as client:
        good = auth(key, lambda: {"access_token": "tok-1", "token_type": "DPoP"})
        assert client.get(URL, auth=good).status_code == 200
        bearer = auth(key, lambda: {"access_token": "tok-1", "token_type": "Bearer"})
        with pytest.raises(ValueError, match="not DPoP-bound"):
            client.get(URL, auth=bearer)
        failed = auth(key, lambda: {"error": "invalid_client"})
        with pytest.raises(ValueError, match="invalid_client"):
            client.get(URL, auth=failed)


def test_a_proof_by_another_key_is_refused(resource: Resource) -> None:
    with httpx.Client(transport=httpx.MockTransport(handler(resource))) as client:
        response = client.get(URL, auth=auth(DPoPKey.generate()))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("bad", [("not a key", "tok"), (None, "tok")])
def test_bad_arguments(bad: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError):
        DPoPAuth(*bad)
    with pytest.raises(ValueError):
        DPoPAuth(DPoPKey.generate(), "")


def test_requests_over_loopback_with_a_nonce_challenge(key: DPoPKey, resource: Resource) -> None:
    resource.nonce = "rs-n1"
    signer = DPoPRequestsAuth(key, "tok-1", clock=FakeClock(NOW))
    with serve(resource) as base, requests.Session() as session:
        response = session.get(f"{base}/items?x=1", auth=signer, timeout=10)
        assert response.status_code == 200, response.headers
        assert [r.status_code for r in response.history] == [401]
        assert len(resource.seen) == 2
        assert session.get(f"{base}/items", auth=signer, timeout=10).status_code == 200
        assert len(resource.seen) == 3
    claims = decode_json_part(resource.seen[-1]["dpop"].split(".")[1])
    assert claims["nonce"] == "rs-n1" and claims["ath"] == access_token_hash("tok-1")
