"""The in-process identity provider: discovery, token answers, thread-safe counting."""

from __future__ import annotations

import json
import threading

from bench import cachegen
from bench.fakehttp import FakeHttpClient

TOKEN_URL = cachegen.TOKEN_ENDPOINT


def test_discovery_document_points_at_the_tenant_token_endpoint() -> None:
    http = FakeHttpClient()
    url = f"{cachegen.AUTHORITY}/v2.0/.well-known/openid-configuration"
    response = http.get(url)
    assert response.status_code == 200
    document = response.json()
    assert document["token_endpoint"] == TOKEN_URL
    assert document["issuer"] == f"{cachegen.AUTHORITY}/v2.0"
    assert http.get_count == 1


def test_instance_discovery_and_unknown_urls() -> None:
    http = FakeHttpClient()
    metadata = http.get(f"https://{cachegen.ENVIRONMENT}/common/discovery/instance").json()
    assert cachegen.ENVIRONMENT in metadata["metadata"][0]["aliases"]
    assert http.get("https://elsewhere.example/x").status_code == 404
    assert http.post("https://elsewhere.example/token", data={}).status_code == 404


def test_refresh_grant_answers_for_the_user_of_the_refresh_token() -> None:
    user = cachegen.generate_user_cache(2, now=1_800_000_000).users[1]
    http = FakeHttpClient(now=lambda: 1_800_000_000.0)
    form = {"grant_type": "refresh_token", "refresh_token": user.refresh_token}
    body = json.loads(http.post(TOKEN_URL, data=form).text)
    assert body["access_token"] == "at-refreshed-1"
    assert body["client_info"] == cachegen.client_info_for(user.uid)
    rotated = cachegen.parse_refresh_token(body["refresh_token"])
    assert rotated is not None
    assert rotated[:2] == (user.uid, cachegen.TENANT_ID)
    assert http.grant_counts() == {"refresh_token": 1}


def test_unknown_refresh_token_and_unknown_grant_are_oauth_errors() -> None:
    http = FakeHttpClient()
    bad = http.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    assert http.post(TOKEN_URL, data={"grant_type": "password"}).json()["error"] == (
        "unsupported_grant_type"
    )
    assert http.post_count == 2


def test_posts_are_counted_exactly_under_concurrency() -> None:
    http = FakeHttpClient(token_latency=0.001)
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            response = http.post(TOKEN_URL, data={"grant_type": "client_credentials"})
            assert response.status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert http.post_count == 640
    assert http.grant_counts() == {"client_credentials": 640}
