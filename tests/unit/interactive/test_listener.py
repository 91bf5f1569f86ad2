"""The loopback listener, spoken to over real loopback HTTP (no browser)."""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tokensmith import BrowserInteractionTimeoutError
from tokensmith.interactive import LoopbackListener, Pages
from tokensmith.interactive.templates import render

STATE = "expected-state"
CODE = "the-secret-code-0123456789"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


@pytest.fixture
def listener() -> Iterator[LoopbackListener]:
    with LoopbackListener() as it:
        it.expect(STATE, "https://idp.example/authorize?x=1&y=2")
        yield it


def _refused(http: httpx.Client, url: str, **kwargs: object) -> bool:
    """True when the request got no 200: refused, dropped or answered with an error."""
    try:
        response = http.post(url, **kwargs)  # type: ignore[arg-type]
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
        return True
    return response.status_code >= 400


def test_binds_loopback_only_on_an_ephemeral_port(listener: LoopbackListener) -> None:
    host, port = listener.address
    assert host == "127.0.0.1"
    assert port > 0 and port == listener.port
    assert listener.redirect_uri == f"http://localhost:{port}"


def test_explicit_port_and_port_in_use() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with LoopbackListener(free) as first:
        assert first.port == free
        with pytest.raises(ValueError, match=f"Can't listen on port {free}"):
            LoopbackListener(free)


@pytest.mark.parametrize("port", [-1, 70000, "80", True])
def test_bad_port_is_a_value_error(port: object) -> None:
    with pytest.raises(ValueError, match="port"):
        LoopbackListener(port)  # type: ignore[arg-type]


def test_form_post_response_is_accepted_once_then_closed(
    listener: LoopbackListener, http: httpx.Client
) -> None:
    url = listener.redirect_uri
    response = http.post(url, data={"code": CODE, "state": STATE})
    assert response.status_code == 200
    assert "Authentication complete" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert listener.wait(timeout=5) == {"code": CODE, "state": STATE}
    assert _refused(http, url, data={"code": "second", "state": STATE})
    listener.close()
    with pytest.raises(httpx.ConnectError):
        http.post(url, data={"code": "third", "state": STATE})


def test_wrong_state_is_refused_and_the_listener_keeps_waiting(
    listener: LoopbackListener, http: httpx.Client
) -> None:
    forged = http.post(listener.redirect_uri, data={"code": "forged", "state": "attacker"})
    assert forged.status_code == 400 and "State mismatch" in forged.text
    missing = http.post(listener.redirect_uri, data={"code": "forged"})
    assert missing.status_code == 400
    http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
    assert listener.wait(timeout=5)["code"] == CODE


def test_a_second_response_racing_the_first_is_refused(listener: LoopbackListener) -> None:
    outcomes: list[bool] = []

    def post(code: str) -> None:
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            outcomes.append(
                not _refused(client, listener.redirect_uri, data={"code": code, "state": STATE})
            )

    threads = [threading.Thread(target=post, args=(f"code-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    result = listener.wait(timeout=5)
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 1
    assert result["code"].startswith("code-")


def test_form_post_mode_refuses_a_query_response(
    listener: LoopbackListener, http: httpx.Client
) -> None:
    response = http.get(listener.redirect_uri, params={"code": CODE, "state": STATE})
    assert response.status_code == 400 and "form_post" in response.text
    with pytest.raises(BrowserInteractionTimeoutError):
        listener.wait(timeout=0.2)


def test_query_mode_accepts_get_and_refuses_post(http: httpx.Client) -> None:
    with LoopbackListener(response_mode="query") as listener:
        listener.expect(STATE, "https://idp.example/authorize")
        posted = http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
        assert posted.status_code == 400
        got = http.get(listener.redirect_uri + "/", params={"code": CODE, "state": STATE})
        assert got.status_code == 200
        assert listener.wait(timeout=5)["code"] == CODE


def test_error_response_is_accepted_and_shown_escaped(http: httpx.Client) -> None:
    pages = Pages(error="<p>$error: $error_description</p>")
    with LoopbackListener(pages=pages) as listener:
        listener.expect(STATE, "https://idp.example/authorize")
        response = http.post(
            listener.redirect_uri,
            data={
                "error": "access_denied",
                "error_description": "<script>x</script>",
                "state": STATE,
            },
        )
        assert response.headers["content-type"].startswith("text/html")
        assert "<script>" not in response.text and "&lt;script&gt;" in response.text
        assert listener.wait(timeout=5)["error"] == "access_denied"


def test_other_hosts_paths_and_oversized_bodies_are_refused(
    listener: LoopbackListener, http: httpx.Client
) -> None:
    data = {"code": CODE, "state": STATE}
    rebound = http.post(listener.redirect_uri, data=data, headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    elsewhere = http.post(listener.redirect_uri + "/other", data=data)
    assert elsewhere.status_code == 404
    huge = http.post(listener.redirect_uri, content=b"a" * 70000)
    assert huge.status_code == 413
    by_ip = http.post(f"http://127.0.0.1:{listener.port}/", data=data)
    assert by_ip.status_code == 200


def test_welcome_page_links_to_the_sign_in(http: httpx.Client) -> None:
    pages = Pages(welcome="<a href='$auth_uri'>Sign in</a> <a href='$abort_uri'>Abort</a>")
    with LoopbackListener(pages=pages) as listener:
        listener.expect(STATE, "https://idp.example/authorize?a=1&b=2")
        page = http.get(listener.welcome_uri)
        assert "href='https://idp.example/authorize?a=1&amp;b=2'" in page.text
        assert f"http://localhost:{listener.port}/?error=abort" in page.text
        assert http.get(f"{listener.redirect_uri}/?error=abort").status_code == 400


def test_timeout_raises_msal_s_exception() -> None:
    with LoopbackListener() as listener:
        listener.expect(STATE, "https://idp.example/authorize")
        started = time.monotonic()
        with pytest.raises(BrowserInteractionTimeoutError) as caught:
            listener.wait(timeout=0.3)
        assert time.monotonic() - started < 3
    assert isinstance(caught.value, RuntimeError)


def test_idle_connections_do_not_block_the_response_or_close(http: httpx.Client) -> None:
    with LoopbackListener() as listener:
        listener.expect(STATE, "https://idp.example/authorize")
        idle = socket.create_connection(("127.0.0.1", listener.port))  # a browser pre-connect
        try:
            http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
            assert listener.wait(timeout=5)["code"] == CODE
            started = time.monotonic()
            listener.close()
            assert time.monotonic() - started < 2
        finally:
            idle.close()


def test_nothing_secret_in_debug_logs(
    listener: LoopbackListener, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.get(listener.redirect_uri, params={"code": CODE, "state": "bad"})
    http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
    listener.wait(timeout=5)
    listener.close()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tokensmith")]
    assert ours, "the listener logs its requests"
    assert not [line for line in ours if CODE in line]


def test_templates_never_fill_in_the_code() -> None:
    page = render("got $code for $state", {"code": CODE, "state": "s"})
    assert page.body == "got  for s"
    assert page.content_type.startswith("text/plain")


def test_nothing_is_accepted_before_the_state_is_known(http: httpx.Client) -> None:
    with LoopbackListener() as listener:
        early = http.post(listener.redirect_uri, data={"code": CODE, "state": "guess"})
        assert early.status_code == 503
        listener.expect(STATE, "https://idp.example/authorize")
        http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
        assert listener.wait(timeout=5)["state"] == STATE


def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` as is; return the whole answer (the listener closes after one)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        # a refused oversized request is closed unread: the peer may reset
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            conn.sendall(request)
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def _post(port: int, headers: list[str], body: bytes) -> bytes:
    head = "".join(f"{h}\r\n" for h in ["POST / HTTP/1.1", *headers])
    return _raw(port, head.encode() + b"\r\n" + body)


@pytest.mark.parametrize(
    "headers",
    [
        # a second Host (smuggling past the DNS-rebinding check)
        ["Host: localhost:{port}", "Host: evil.example", "Content-Length: {n}"],
        # lengths int() accepts but HTTP does not
        ["Host: localhost:{port}", "Content-Length: 5_2"],
        ["Host: localhost:{port}", "Content-Length: +{n}"],
        # two lengths, or a length and chunked framing (RFC 9112 §6.3)
        ["Host: localhost:{port}", "Content-Length: {n}", "Content-Length: {n}"],
        ["Host: localhost:{port}", "Content-Length: {n}", "Transfer-Encoding: chunked"],
    ],
)
def test_ambiguous_requests_are_refused(listener: LoopbackListener, headers: list[str]) -> None:
    body = f"code={CODE}&state={STATE}".encode()
    assert len(body) == 52
    filled = [h.format(port=listener.port, n=len(body)) for h in headers]
    filled.append("Content-Type: application/x-www-form-urlencoded")
    answer = _post(listener.port, filled, body)
    assert answer.split(b" ")[1][:1] == b"4" or answer.split(b" ")[1] == b"501", answer[:60]
    with pytest.raises(BrowserInteractionTimeoutError):  # nothing was taken
        listener.wait(timeout=0.2)
    plain = ["Host: localhost:{port}", "Content-Length: {n}"]
    ok = _post(listener.port, [h.format(port=listener.port, n=len(body)) for h in plain], body)
    assert ok.startswith(b"HTTP/1.0 200")
    assert listener.wait(timeout=5)["code"] == CODE


def test_repeated_parameters_are_refused_without_ending_the_wait(
    listener: LoopbackListener, http: httpx.Client
) -> None:
    url = listener.redirect_uri
    twice = http.post(url, content=f"code=a&code=b&state={STATE}", headers=_FORM)
    assert twice.status_code == 400 and "repeated" in twice.text
    two_states = http.post(url, content=f"code=a&state={STATE}&state=x", headers=_FORM)
    assert two_states.status_code == 400 and "State mismatch" in two_states.text
    http.post(url, data={"code": CODE, "state": STATE})
    assert listener.wait(timeout=5) == {"code": CODE, "state": STATE}


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.timeout(10)
def test_nan_timeout_is_refused_rather_than_waiting_for_ever(listener: LoopbackListener) -> None:
    with pytest.raises(ValueError, match="timeout"):
        listener.wait(timeout=float("nan"))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6_LOOPBACK = _ipv6_loopback()


def test_localhost_over_ipv6_is_refused_and_cannot_be_taken(listener: LoopbackListener) -> None:
    if not HAS_IPV6_LOOPBACK:  # nothing to guard: the listener runs on IPv4 alone
        assert listener._ipv6_guard is None
        return
    with socket.socket(socket.AF_INET6) as client:
        client.settimeout(5)
        with pytest.raises(ConnectionRefusedError):  # browsers then fall back to 127.0.0.1
            client.connect(("::1", listener.port))
    with socket.socket(socket.AF_INET6) as squatter, pytest.raises(OSError):
        squatter.bind(("::1", listener.port))
    listener.close()
    with socket.socket(socket.AF_INET6) as after:  # released on close
        after.bind(("::1", listener.port))


def test_a_port_another_program_holds_on_ipv6_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if HAS_IPV6_LOOPBACK:
        with socket.socket(socket.AF_INET6) as squatter:
            squatter.bind(("::1", 0))
            squatter.listen()
            taken = squatter.getsockname()[1]
            with pytest.raises(ValueError, match=r"\[::1\]"):
                LoopbackListener(taken)
        return
    # Without IPv6 here, the same refusal is shown with the guard failing as it would.
    from tokensmith.interactive import listener as module

    def held(port: int) -> socket.socket | None:
        raise OSError(errno.EADDRINUSE, "in use")

    monkeypatch.setattr(module, "_guard_ipv6_loopback", held)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ValueError, match=r"\[::1\]"):
        LoopbackListener(port)


def test_an_ephemeral_port_taken_on_ipv6_is_picked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tokensmith.interactive import listener as module

    real = module._guard_ipv6_loopback
    refused: list[int] = []

    def first_taken(port: int) -> socket.socket | None:
        if not refused:
            refused.append(port)
            raise OSError(errno.EADDRINUSE, "in use")
        return real(port)

    monkeypatch.setattr(module, "_guard_ipv6_loopback", first_taken)
    with LoopbackListener() as it:
        assert refused and it.port != refused[0]
    with socket.socket() as probe:  # the first IPv4 socket was closed, not leaked
        probe.bind(("127.0.0.1", refused[0]))


def test_handler_failures_are_not_printed(
    listener: LoopbackListener, capsys: pytest.CaptureFixture[str]
) -> None:
    server = listener._server
    try:
        raise BrokenPipeError("client went away")
    except BrokenPipeError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_interrupted_wait_closes_threads_and_sockets(http: httpx.Client) -> None:
    before = set(threading.enumerate())
    main = threading.main_thread().ident
    assert main is not None
    with pytest.raises(KeyboardInterrupt), LoopbackListener() as listener:
        listener.expect(STATE, "https://idp.example/authorize")
        idle = socket.create_connection(("127.0.0.1", listener.port))
        timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()
        try:
            listener.wait(timeout=10)
        finally:
            timer.join()
            idle.close()
    with pytest.raises(httpx.ConnectError):
        http.post(listener.redirect_uri, data={"code": CODE, "state": STATE})
    assert set(threading.enumerate()) <= before


@pytest.mark.parametrize(
    "error_uri", ["javascript:alert(document.domain)", " JavaScript:x", "data:text/html,<b>"]
)
def test_error_uri_is_only_filled_with_a_web_address(error_uri: str) -> None:
    template = '<a href="$error_uri">details</a> $error_description'
    page = render(template, {"error_uri": error_uri, "error_description": "<img src=x>"})
    assert page.body == '<a href="">details</a> &lt;img src=x&gt;'
    fine = render(template, {"error_uri": "https://login.example/help?a=1&b=2"})
    assert 'href="https://login.example/help?a=1&amp;b=2"' in fine.body


def test_oversized_request_lines_and_headers_are_refused(listener: LoopbackListener) -> None:
    host = f"Host: localhost:{listener.port}\r\n".encode()
    long_line = _raw(listener.port, b"GET /?" + b"a" * 70000 + b" HTTP/1.1\r\n" + host + b"\r\n")
    assert long_line.split(b" ")[1] == b"414"
    long_header = _raw(listener.port, b"GET / HTTP/1.1\r\n" + host + b"X: " + b"a" * 70000)
    assert long_header.split(b" ")[1] == b"431"
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(101))
    assert _raw(listener.port, b"GET / HTTP/1.1\r\n" + host + many + b"\r\n").split(b" ")[1] == (
        b"431"
    )
    with pytest.raises(BrowserInteractionTimeoutError):
        listener.wait(timeout=0.1)
