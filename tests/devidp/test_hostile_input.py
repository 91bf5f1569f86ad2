"""Hostile input over real HTTPS: the dev IdP answers every malformed request in
Entra's error shape (AADSTS JSON with ``error_codes``, ``trace_id`` = ``x-ms-request-id``,
``timestamp``, ``correlation_id``), never crashes or hangs, and still answers a good
request afterwards (reference/entra-protocol.md §4.6, §11.4)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.devidp._person import http_client
from tests.devidp.conftest import (
    ADA,
    API_A,
    API_A_SECRET,
    CONTOSO,
    DAEMON,
    DAEMON_SECRET,
    DESKTOP,
    PASSWORD,
)

from tokensmith._jwt import b64url_encode
from tokensmith.devidp import DevIdP, default_config

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$")
_GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


@pytest.fixture
def http(idp: DevIdP) -> Iterator[httpx.Client]:
    with http_client(idp.ca_path) as client:
        yield client


@pytest.fixture(scope="module")
def quick_idp() -> Iterator[DevIdP]:
    """A second dev IdP that gives up on a silent connection after half a second."""
    with DevIdP(default_config(), request_timeout=0.5) as server:
        yield server


def _url(idp: DevIdP, path: str) -> str:
    return idp.base_url + path


def _token_url(idp: DevIdP, tenant: str = CONTOSO) -> str:
    return _url(idp, f"/{tenant}/oauth2/v2.0/token")


def _daemon(**extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": DAEMON,
        "client_secret": DAEMON_SECRET,
        "scope": _GRAPH_DEFAULT,
    }
    form.update(extra)
    return form


def _still_healthy(idp: DevIdP) -> None:
    with http_client(idp.ca_path) as client:
        response = client.post(_token_url(idp), data=_daemon())
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def _assert_shape(
    status: int, headers: Any, body: dict[str, Any], expected_status: int, error: str
) -> dict[str, Any]:
    """Entra's error body: §4.6 (``error_codes`` integers, the description tail)."""
    assert status == expected_status, body
    assert body["error"] == error, body
    assert all(type(code) is int for code in body["error_codes"])
    assert _TIMESTAMP.match(body["timestamp"])
    assert body["trace_id"] == headers["x-ms-request-id"]
    assert body["correlation_id"]
    description = body["error_description"]
    if body["error_codes"]:
        assert description.startswith(f"AADSTS{body['error_codes'][0]}: ")
    tail = (
        f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}"
        f"\r\nTimestamp: {body['timestamp']}"
    )
    assert description.endswith(tail)
    return body


def _entra_error(
    response: httpx.Response, status: int, error: str, code: int | None = None
) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = _assert_shape(response.status_code, response.headers, response.json(), status, error)
    if code is not None:
        assert body["error_codes"] == [code]
    return body


# -- raw connections ------------------------------------------------------------


def _tls(idp: DevIdP, timeout: float = 10.0) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(idp.ca_path))
    port = int(idp.base_url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_all(conn: ssl.SSLSocket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = conn.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _raw(idp: DevIdP, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; return the status, headers and body of the answer."""
    with _tls(idp, timeout) as conn:
        conn.sendall(data)
        answer = _read_all(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _raw_error(
    idp: DevIdP, data: bytes, status: int, error: str, code: int | None = None
) -> dict[str, Any]:
    got, headers, body = _raw(idp, data)
    assert headers.get("content-type") == "application/json; charset=utf-8", body[:300]
    parsed = _assert_shape(got, headers, json.loads(body), status, error)
    if code is not None:
        assert parsed["error_codes"] == [code]
    assert int(headers["content-length"]) == len(body)
    return parsed


def _post(path: str, body: bytes, *extra_headers: str, length: str | None = None) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body) if length is None else length}",
        *extra_headers,
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


# -- paths and methods -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        f"/{CONTOSO}/oauth2/v2.0/bogus",
        f"/{CONTOSO}/oauth2/v2.0/token/extra",
        "/common/discovery/instance/extra",
        "/_devidp/nothing",
        "/",
    ],
)
def test_unknown_paths_are_404_in_entra_shape(http: httpx.Client, idp: DevIdP, path: str) -> None:
    _entra_error(http.get(_url(idp, path)), 404, "not_found")
    _still_healthy(idp)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_token_and_devicecode_answer_only_post(
    http: httpx.Client, idp: DevIdP, method: str
) -> None:
    for endpoint in ("token", "devicecode"):
        url = _url(idp, f"/{CONTOSO}/oauth2/v2.0/{endpoint}")
        _entra_error(http.request(method, url), 400, "invalid_request", 900561)
    _still_healthy(idp)


def test_head_of_the_discovery_document(http: httpx.Client, idp: DevIdP) -> None:
    url = _url(idp, "/common/v2.0/.well-known/openid-configuration")
    response = http.head(url)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(http.get(url).content)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"BREW /coffee HTTP/1.1", 501),
        (b"GARBAGE", 400),
        (b"GET /x HTTP/9.9", 505),
        (b"GET " + b"/a" * 40000 + b" HTTP/1.1", 414),
    ],
)
def test_malformed_request_lines_get_json(idp: DevIdP, request_line: bytes, status: int) -> None:
    error = "server_error" if status >= 500 else "invalid_request"
    _raw_error(idp, request_line + b"\r\nHost: x\r\n\r\n", status, error)
    _still_healthy(idp)


def test_too_many_headers(idp: DevIdP) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    _raw_error(idp, b"GET / HTTP/1.1\r\n" + headers + b"\r\n", 431, "invalid_request")
    _still_healthy(idp)


@pytest.mark.parametrize(
    "path", ["//[x/oauth2/v2.0/token", "/%zz/%00/v2.0/.well-known/openid-configuration"]
)
def test_unparsable_paths(idp: DevIdP, path: str) -> None:
    got, headers, body = _raw(idp, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert 400 <= got < 500
    _assert_shape(got, headers, json.loads(body), got, json.loads(body)["error"])
    _still_healthy(idp)


# -- parameters and bodies -------------------------------------------------------


def test_missing_parameters(http: httpx.Client, idp: DevIdP) -> None:
    for name in ("grant_type", "client_id", "scope"):
        form = _daemon()
        del form[name]
        body = _entra_error(http.post(_token_url(idp), data=form), 400, "invalid_request", 900144)
        assert f"'{name}'" in body["error_description"]


def test_duplicated_parameters(http: httpx.Client, idp: DevIdP) -> None:
    form = (
        "grant_type=client_credentials&grant_type=password&"
        + httpx.QueryParams({k: v for k, v in _daemon().items() if k != "grant_type"}).__str__()
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(_token_url(idp), content=form.encode(), headers=headers)
    body = _entra_error(response, 400, "invalid_request", 9000411)
    assert "'grant_type'" in body["error_description"]
    twice = str(httpx.QueryParams(_daemon())) + f"&client_id={DAEMON}"  # the same value: fine
    assert http.post(_token_url(idp), content=twice.encode(), headers=headers).is_success
    query = _token_url(idp) + "?scope=a&scope=b"
    _entra_error(http.post(query, data=_daemon()), 400, "invalid_request", 9000411)


def test_non_utf8_and_binary_bodies(http: httpx.Client, idp: DevIdP) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"grant_type=\xff\xfe&client_id=\x00\x01", b"\xff" * 1000, b"%ff%fe=%ff"):
        response = http.post(_token_url(idp), content=body, headers=headers)
        assert response.status_code == 400
        _entra_error(response, 400, response.json()["error"])
    _still_healthy(idp)


def test_json_where_a_form_is_expected(http: httpx.Client, idp: DevIdP) -> None:
    response = http.post(_token_url(idp), json=_daemon())
    _entra_error(response, 400, "invalid_request", 900144)


def test_oversized_body_is_refused_and_drained(http: httpx.Client, idp: DevIdP) -> None:
    big = b"scope=" + b"a" * (2 << 20)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(_token_url(idp), content=big, headers=headers)
    _entra_error(response, 413, "invalid_request", 90100)
    _still_healthy(idp)


@pytest.mark.parametrize(
    ("length", "status"),
    [("-5", 400), ("abc", 400), ("1e3", 400), ("0x10", 400), ("", 400), ("9" * 30, 413)],
)
def test_absurd_content_length(idp: DevIdP, length: str, status: int) -> None:
    form = str(httpx.QueryParams(_daemon())).encode()
    data = _post(f"/{CONTOSO}/oauth2/v2.0/token", form, length=length)
    _raw_error(idp, data, status, "invalid_request", 90100)
    _still_healthy(idp)


def test_content_length_larger_than_the_body(quick_idp: DevIdP) -> None:
    form = str(httpx.QueryParams(_daemon())).encode()
    data = _post(f"/{CONTOSO}/oauth2/v2.0/token", form, length=str(len(form) + 50))
    started = time.monotonic()
    _raw_error(quick_idp, data, 400, "invalid_request", 90100)
    assert time.monotonic() - started < 5
    _still_healthy(quick_idp)


def test_a_slow_client_does_not_block_others(idp: DevIdP) -> None:
    with _tls(idp) as slow:
        slow.sendall(b"POST /common/oauth2/v2.0/token HTTP/1.1\r\nContent-Len")
        started = time.monotonic()
        _still_healthy(idp)
        _still_healthy(idp)
        assert time.monotonic() - started < 5


def test_a_silent_connection_is_dropped_after_the_request_timeout(quick_idp: DevIdP) -> None:
    with _tls(quick_idp) as slow:
        slow.sendall(b"POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        leftover = _read_all(slow)  # the server gives up and closes
        assert time.monotonic() - started < 5
        assert b"Host" not in leftover
    _still_healthy(quick_idp)


def test_a_connection_without_tls_is_dropped(idp: DevIdP) -> None:
    port = int(idp.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):
            plain.recv(1024)
    _still_healthy(idp)


def test_correlation_id_cannot_inject_headers(http: httpx.Client, idp: DevIdP) -> None:
    for hostile in ("x\r\nX-Injected: 1", "caf\u00e9\u20ac", "a" * 5000):
        response = http.post(_token_url(idp), data={"client-request-id": hostile})
        body = _entra_error(response, 400, "invalid_request", 900144)
        assert "x-injected" not in response.headers
        assert body["correlation_id"] == response.headers["client-request-id"]
        assert body["correlation_id"] != hostile
    good = "1b2c3d4e-0000-4000-8000-00000000abcd"
    echoed = http.post(_token_url(idp), data={"client-request-id": good})
    assert _entra_error(echoed, 400, "invalid_request")["correlation_id"] == good


# -- credentials and assertions --------------------------------------------------


def test_hostile_client_secrets(http: httpx.Client, idp: DevIdP) -> None:
    for secret in ("caf\u00e9", "\u20ac" * 64, "x" * 100_000):
        response = http.post(_token_url(idp), data=_daemon(client_secret=secret))
        _entra_error(response, 401, "invalid_client", 7000215)
    for header in ("Basic caf\u00e9", "Basic \u00ff\u00ff", "Basic " + "=" * 3, "Basic"):
        form = {k: v for k, v in _daemon().items() if k != "client_secret"}
        response = http.post(
            _token_url(idp), data=form, headers={b"Authorization": header.encode("latin-1")}
        )
        assert response.status_code in (400, 401)
        _entra_error(response, response.status_code, response.json()["error"])
    _still_healthy(idp)


def _jwt(header: Any, claims: Any, signature: bytes = b"sig") -> str:
    def part(value: Any) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return b64url_encode(raw)

    return f"{part(header)}.{part(claims)}.{b64url_encode(signature)}"


_MALFORMED_JWTS = [
    "",
    "abc",
    "a.b",
    "..",
    "a.b.c.d",
    "caf\u00e9.caf\u00e9.caf\u00e9",
    _jwt([1, 2], {"iss": DAEMON}),
    _jwt({"alg": "none"}, {"iss": DAEMON, "sub": DAEMON}, b""),
    _jwt({"alg": "RS256", "x5t": 7}, "claims are a string"),
    _jwt({"alg": "PS256", "x5t#S256": None}, {"exp": "soon"}),
    _jwt(b"[" * 50_000, {"iss": DAEMON}),
    _jwt({"alg": "RS256"}, b"{" * 50_000),
    _jwt({"alg": "RS256", "kid": "x"}, {"iss": DAEMON, "sub": DAEMON, "exp": 1e400}),
]


@pytest.mark.parametrize("assertion", _MALFORMED_JWTS)
def test_malformed_client_assertions(http: httpx.Client, idp: DevIdP, assertion: str) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": DAEMON,
        "scope": _GRAPH_DEFAULT,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    response = http.post(_token_url(idp), data=form)
    if assertion:
        _entra_error(response, 401, "invalid_client", 700027)
    else:
        _entra_error(response, 401, "invalid_client", 7000218)
    _still_healthy(idp)


@pytest.mark.parametrize("assertion", [*_MALFORMED_JWTS[1:], "x" * 200_000])
def test_malformed_on_behalf_of_assertions(http: httpx.Client, idp: DevIdP, assertion: str) -> None:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "requested_token_use": "on_behalf_of",
        "client_id": API_A,
        "client_secret": API_A_SECRET,
        "scope": "https://graph.microsoft.com/User.Read",
        "assertion": assertion,
    }
    _entra_error(http.post(_token_url(idp), data=form), 400, "invalid_grant", 50013)
    _still_healthy(idp)


def _ropc(http: httpx.Client, idp: DevIdP, scope: str) -> dict[str, Any]:
    form = {
        "grant_type": "password",
        "client_id": DESKTOP,
        "username": ADA,
        "password": PASSWORD,
        "scope": scope,
    }
    response = http.post(_token_url(idp), data=form)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_on_behalf_of_refuses_id_tokens_and_app_tokens(http: httpx.Client, idp: DevIdP) -> None:
    base = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "requested_token_use": "on_behalf_of",
        "client_id": API_A,
        "client_secret": API_A_SECRET,
        "scope": "https://graph.microsoft.com/User.Read",
    }
    id_token = _ropc(http, idp, "api://tokensmith-api-a/access_as_user openid")["id_token"]
    response = http.post(_token_url(idp), data={**base, "assertion": id_token})
    _entra_error(response, 400, "invalid_grant", 240002)
    app_token = http.post(
        _token_url(idp),
        data=_daemon(
            client_id=API_A, client_secret=API_A_SECRET, scope="api://tokensmith-api-a/.default"
        ),
    ).json()["access_token"]
    response = http.post(_token_url(idp), data={**base, "assertion": app_token})
    _entra_error(response, 400, "invalid_grant", 240002)


# -- authorization requests, PKCE and redirect URIs --------------------------------


def _authorize(http: httpx.Client, idp: DevIdP, **params: str) -> httpx.Response:
    query = {"client_id": DESKTOP, "response_type": "code", "scope": "User.Read", **params}
    return http.get(_url(idp, "/organizations/oauth2/v2.0/authorize"), params=query)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://[::1",
        "http://localhost:99999",
        "http://localhost:1234/\r\nX-Injected: 1",
        "http://localhost:1234\r\n",
        "http://localhost:1234#caf\u00e9\u20ac",
        "http://localhost:1234/caf\u00e9",
        "https://evil.example",
        "javascript:alert(1)",
    ],
)
def test_bad_redirect_uris_get_an_error_page(
    http: httpx.Client, idp: DevIdP, redirect_uri: str
) -> None:
    response = _authorize(http, idp, redirect_uri=redirect_uri, state="s")
    assert response.status_code == 400
    assert "AADSTS50011" in response.text
    assert "x-injected" not in response.headers
    _still_healthy(idp)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [("short", "plain"), ("caf\u00e9" * 20, "plain"), ("a" * 129, "S256"), ("a b" * 20, "S256")],
)
def test_malformed_code_challenges_go_back_to_the_app(
    http: httpx.Client, idp: DevIdP, challenge: str, method: str
) -> None:
    response = _authorize(
        http,
        idp,
        redirect_uri="http://localhost:4000",
        code_challenge=challenge,
        code_challenge_method=method,
    )
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]
    assert "AADSTS501491" in httpx.URL(response.headers["location"]).params["error_description"]


def test_malformed_code_verifiers(http: httpx.Client, idp: DevIdP) -> None:
    from tests.devidp._person import sign_in

    challenge = "c" * 43
    url = httpx.URL(
        _url(idp, "/organizations/oauth2/v2.0/authorize"),
        params={
            "client_id": DESKTOP,
            "response_type": "code",
            "redirect_uri": "http://localhost:5000",
            "scope": "User.Read",
            "code_challenge": challenge,
            "code_challenge_method": "plain",
        },
    )
    form = {
        "grant_type": "authorization_code",
        "client_id": DESKTOP,
        "redirect_uri": "http://localhost:5000",
    }
    token = _token_url(idp, "organizations")
    for verifier in ("caf\u00e9" * 20, "\x00" * 43, "", "c" * 42, "c" * 200):
        code = sign_in(http, str(url), ADA, PASSWORD).params["code"]
        response = http.post(token, data={**form, "code": code, "code_verifier": verifier})
        _entra_error(response, 400, "invalid_grant", 501481)
    _still_healthy(idp)


def test_token_redirect_uri_mismatch(http: httpx.Client, idp: DevIdP) -> None:
    form = {
        "grant_type": "authorization_code",
        "client_id": DESKTOP,
        "code": "0.dev.unknown",
        "redirect_uri": "http://[::1",
    }
    _entra_error(http.post(_token_url(idp), data=form), 400, "invalid_grant", 70000)


# -- tenants, discovery and the rest ---------------------------------------------


@pytest.mark.parametrize("tenant", ["nowhere.example", "00000000-0000-0000-0000-000000000000"])
def test_unknown_tenants(http: httpx.Client, idp: DevIdP, tenant: str) -> None:
    _entra_error(http.post(_token_url(idp, tenant), data=_daemon()), 400, "invalid_tenant", 90002)
    devicecode = _url(idp, f"/{tenant}/oauth2/v2.0/devicecode")
    started = http.post(devicecode, data={"client_id": DESKTOP, "scope": "User.Read"})
    _entra_error(started, 400, "invalid_tenant", 90002)
    keys = http.get(_url(idp, f"/{tenant}/discovery/v2.0/keys"))
    _entra_error(keys, 400, "invalid_tenant", 90002)
    page = http.get(_url(idp, f"/{tenant}/oauth2/v2.0/authorize"), params={"client_id": DESKTOP})
    assert page.status_code == 400 and "AADSTS90002" in page.text


@pytest.mark.parametrize(
    "endpoint", ["https://[x/t/oauth2/v2.0/authorize", "http://:99999/x", "\x00", "//"]
)
def test_hostile_instance_discovery(http: httpx.Client, idp: DevIdP, endpoint: str) -> None:
    response = http.get(
        _url(idp, "/common/discovery/instance"),
        params={"api-version": "1.1", "authorization_endpoint": endpoint},
    )
    _entra_error(response, 400, "invalid_instance", 50049)


@pytest.mark.parametrize("code", ["\u00b2", "9" * 5000, "-1", ""])
def test_error_page_with_odd_codes(http: httpx.Client, idp: DevIdP, code: str) -> None:
    response = http.get(_url(idp, "/error"), params={"code": code})
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]


@pytest.mark.parametrize("claims", ["[" * 100_000, '"a string"', "{", '{"access_token": []}'])
def test_hostile_claims_parameter(http: httpx.Client, idp: DevIdP, claims: str) -> None:
    response = http.post(_token_url(idp), data=_daemon(claims=claims))
    if claims.startswith('{"'):
        assert response.status_code == 200
    else:
        _entra_error(response, 400, "invalid_request", 90015)
    query = {"client_id": DESKTOP, "response_type": "code", "scope": "User.Read"}
    page = http.post(
        _url(idp, "/organizations/oauth2/v2.0/authorize"),
        data={**query, "redirect_uri": "http://localhost:4000", "claims": claims},
    )
    assert page.status_code in (200, 302)
    _still_healthy(idp)


@pytest.mark.parametrize("seconds", ["inf", "nan", "-1", "1e9"])
def test_admin_refuses_absurd_delays(http: httpx.Client, idp: DevIdP, seconds: str) -> None:
    response = http.post(_url(idp, "/_devidp/faults"), data={"kind": "delay", "seconds": seconds})
    _entra_error(response, 400, "invalid_request")
    assert idp.faults.armed() == []
    _still_healthy(idp)


def test_requests_after_shutdown(tmp_path: Any) -> None:
    server = DevIdP(default_config(), state_dir=tmp_path).start()
    base, ca = server.base_url, server.ca_path
    _still_healthy(server)
    server.stop()
    server.stop()  # stopping twice is harmless
    with http_client(ca) as client, pytest.raises(httpx.ConnectError):
        client.get(f"{base}/common/v2.0/.well-known/openid-configuration")


@pytest.mark.parametrize("aud", ["https://[x/oauth2/v2.0/token", 42, ["https://:99999/token"]])
def test_signed_client_assertion_with_a_hostile_audience(
    http: httpx.Client, idp: DevIdP, aud: Any
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from tokensmith.devidp.keys import thumbprints
    from tokensmith.protocol.jws import sign_compact

    pem = idp.client_certificate_path(DAEMON).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    now = int(time.time())
    claims = {"aud": aud, "iss": DAEMON, "sub": DAEMON, "exp": now + 600, "iat": now}
    assertion = sign_compact({"x5t#S256": thumbprints(der)[1]}, claims, key, "PS256")
    form = {
        "grant_type": "client_credentials",
        "client_id": DAEMON,
        "scope": _GRAPH_DEFAULT,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    _entra_error(http.post(_token_url(idp), data=form), 401, "invalid_client", 700016)
    good = {**claims, "aud": _token_url(idp)}
    form["client_assertion"] = sign_compact({"x5t#S256": thumbprints(der)[1]}, good, key, "PS256")
    assert http.post(_token_url(idp), data=form).status_code == 200


def test_a_chunked_body_is_refused(idp: DevIdP) -> None:
    data = (
        f"POST /{CONTOSO}/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"
    ).encode()
    _raw_error(idp, data, 411, "invalid_request", 90100)
    _still_healthy(idp)
