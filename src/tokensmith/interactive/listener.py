"""The loopback listener of a native app's sign-in (RFC 8252 §7.3, §8.3).

:class:`LoopbackListener` binds ``127.0.0.1`` only (never all interfaces), on an
ephemeral port unless one is given, and its redirect URI is ``http://localhost:<port>``
(what MSAL registers). It answers on a background thread and accepts exactly one
authorization response: one that carries ``code`` or ``error`` and the expected
``state``, on path ``/``, with a ``Host`` naming this listener, by ``form_post``
(default) or by query if so configured. A response with a wrong ``state`` is refused
and the listener keeps waiting; once the one response is in, every further request is
refused and the listener closes. Nothing it logs contains the request's query or body.

``localhost`` may resolve to ``::1`` first (most systems list both; browsers try IPv6
first and fall back to IPv4 when it is refused). The listener therefore also binds
``[::1]:<port>`` *without listening*: connections there are refused at once (so the
browser falls back to 127.0.0.1), and no other program can listen there and be handed
the authorization response. When another program already holds ``[::1]:<port>`` an
ephemeral port is picked again, and an explicit ``port`` is refused.
"""

from __future__ import annotations

import contextlib
import errno
import math
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tokensmith._redact import logger
from tokensmith.errors import BrowserInteractionTimeoutError, ConfigurationError
from tokensmith.interactive.exchange import Exchange
from tokensmith.interactive.templates import Page, Pages, render

__all__ = ["BIND_ADDRESS", "RESPONSE_MODES", "LoopbackListener"]

BIND_ADDRESS = "127.0.0.1"
IPV6_LOOPBACK = "::1"
_PORT_ATTEMPTS = 8
_ADDRESS_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
_CONTENT_LENGTH = re.compile(r"[0-9]{1,9}")
RESPONSE_MODES = ("form_post", "query")
_MAX_BODY = 64 * 1024
_IDLE_SECONDS = 5.0
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = sys.platform != "win32"  # Windows would allow double binding
    daemon_threads = False
    block_on_close = True

    def __init__(self, port: int, exchange: Exchange) -> None:
        self.exchange = exchange
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((BIND_ADDRESS, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback on stderr; a dropped browser connection
        # is not worth one, and nothing of the request may be shown.
        logger.debug("Loopback listener: a connection failed (%s)", sys.exc_info()[0])

    def drop_open_connections(self) -> None:
        """Wake handlers blocked on idle connections (browsers pre-connect)."""
        with self.connections_lock:
            pending = list(self.open_connections)
        for conn in pending:
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _IDLE_SECONDS
    protocol_version = "HTTP/1.0"
    server_version = "tokensmith-loopback"
    sys_version = ""

    def do_GET(self) -> None:
        exchange = self.server.exchange
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._acceptable(url.path):
            return
        if query.get("welcome") == ["true"] and exchange.pages.welcome:
            values = {"auth_uri": exchange.auth_uri, "abort_uri": self._abort_uri()}
            self._send(200, render(exchange.pages.welcome, values))
        elif query.get("error") == ["abort"] and "state" not in query:
            self._send(400, Page("Authentication aborted.", "text/plain"))
        elif ("code" in query or "error" in query) and exchange.response_mode == "query":
            self._judge(query)
        elif "code" in query or "error" in query:
            text = "This application accepts the sign-in response by form_post only."
            self._send(400, Page(text, "text/plain"))
        else:
            text = "Authentication could not be completed. You can close this window."
            self._send(400, Page(text, "text/plain"))

    def do_POST(self) -> None:
        if not self._acceptable(urlsplit(self.path).path):
            return
        if self.server.exchange.response_mode != "form_post":
            self._send(
                400, Page("This application expects the response in the query.", "text/plain")
            )
            return
        if self.headers.get_all("Transfer-Encoding"):  # only Content-Length framing
            self._send(501, Page("Transfer-Encoding is not supported.", "text/plain"))
            return
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) != 1 or not _CONTENT_LENGTH.fullmatch(lengths[0].strip()):
            self._send(411, Page("Exactly one plain Content-Length is required.", "text/plain"))
            return
        length = int(lengths[0])
        if length > _MAX_BODY:
            self._send(413, Page("Request body too large or unreadable.", "text/plain"))
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        params = parse_qs(body)
        if "code" in params or "error" in params:
            self._judge(params)
        else:
            self._send(400, Page("Invalid POST request.", "text/plain"))

    def _acceptable(self, path: str) -> bool:
        """Refuse other hosts (DNS rebinding), several ``Host`` headers, and paths
        other than ``/``."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self.server.exchange.hosts:
            self._send(400, Page("Unexpected Host header.", "text/plain"))
            return False
        if path not in ("", "/"):
            self._send(404, Page("Not found.", "text/plain"))
            return False
        return True

    def _abort_uri(self) -> str:
        return f"http://localhost:{self.server.server_address[1]}/?error=abort"

    def _judge(self, params: dict[str, list[str]]) -> None:
        status, page, accepted = self.server.exchange.offer(params)
        try:
            self._send(status, page)
        finally:
            if accepted:
                self.server.exchange.done.set()

    def _send(self, status: int, page: Page) -> None:
        body = page.body.encode("utf-8")
        self.send_response(status)
        content_type = page.content_type
        if "charset" not in content_type:
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Never the request line: in query mode it holds the authorization code.
        path = urlsplit(self.path).path if hasattr(self, "path") else "?"
        logger.debug("Loopback listener: %s %s -> %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Loopback listener: a request failed or timed out")


def _deadline(timeout: float | None) -> float | None:
    """The monotonic time a wait of ``timeout`` seconds ends (None: never).

    Raises:
        ConfigurationError: ``timeout`` is NaN.
    """
    if timeout is not None and math.isnan(float(timeout)):
        raise ConfigurationError("timeout must be a number of seconds or None")
    return None if timeout is None else time.monotonic() + float(timeout)


def _slice(deadline: float | None, longest: float) -> float:
    """The next wait before ``deadline``, at most ``longest`` seconds.

    Raises:
        BrowserInteractionTimeoutError: the deadline has passed.
    """
    remaining = longest if deadline is None else min(longest, deadline - time.monotonic())
    if remaining <= 0:
        raise BrowserInteractionTimeoutError("User did not complete the flow in time")
    return remaining


def _guard_ipv6_loopback(port: int) -> socket.socket | None:
    """Bind ``[::1]:port`` without listening, so that a browser trying ``localhost``
    over IPv6 first is refused at once (and falls back to 127.0.0.1) instead of
    reaching another program. None when this system has no IPv6 loopback.

    Raises:
        OSError: another program holds ``[::1]:port``.
    """
    try:
        guard = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:  # no IPv6 at all
        return None
    try:
        with contextlib.suppress(OSError, AttributeError):
            guard.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        guard.bind((IPV6_LOOPBACK, port))
    except OSError as exc:
        guard.close()
        if exc.errno in _ADDRESS_IN_USE or getattr(exc, "winerror", None) == 10048:
            raise
        return None  # no ::1 configured (EADDRNOTAVAIL), or IPv6 disabled
    return guard


class LoopbackListener:
    """Receives one authorization response on ``http://localhost:<port>``.

    Use as a context manager (or call :meth:`close`); the socket is bound on entry to
    the constructor, so :attr:`redirect_uri` is known before the browser starts.

    Args:
        port: the port to listen on; None or 0 picks a free ephemeral port.
        response_mode: ``"form_post"`` (default) or ``"query"``.
        pages: the page templates.

    Raises:
        ValueError: a bad ``port`` or ``response_mode``, or the port is taken or
            not allowed ("Can't listen on port ...").
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        response_mode: str = "form_post",
        pages: Pages | None = None,
    ) -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise ConfigurationError("port must be an integer")
        if port is not None and not 0 <= port <= 65535:
            raise ConfigurationError("port must be between 0 and 65535")
        if response_mode not in RESPONSE_MODES:
            raise ConfigurationError(f"response_mode must be one of {RESPONSE_MODES}")
        self._exchange = Exchange(response_mode, pages or Pages())
        self._server, self._ipv6_guard = self._bind(port or 0)
        self._closed = False
        bound = self.port
        self._exchange.hosts = frozenset({f"localhost:{bound}", f"{BIND_ADDRESS}:{bound}"})
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"tokensmith-loopback-{bound}",
            daemon=True,
        )
        self._thread.start()

    def _bind(self, port: int) -> tuple[_Server, socket.socket | None]:
        """The IPv4 server and the ``[::1]`` guard on the same port (see module doc)."""
        for _ in range(_PORT_ATTEMPTS if port == 0 else 1):
            try:
                server = _Server(port, self._exchange)
            except OSError as exc:
                raise ConfigurationError(
                    f"Can't listen on port {port}. You may try port 0."
                ) from exc
            try:
                return server, _guard_ipv6_loopback(int(server.server_address[1]))
            except OSError as exc:
                server.server_close()
                if port:
                    raise ConfigurationError(
                        f"Can't listen on port {port}: another program listens on "
                        f"[{IPV6_LOOPBACK}]:{port}, where browsers may send localhost. "
                        "You may try port 0."
                    ) from exc
        raise ConfigurationError("Can't find a loopback port free on both IPv4 and IPv6")

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the socket is bound to (the host is always 127.0.0.1)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The port actually listened on."""
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        """``http://localhost:<port>``, the redirect URI to send."""
        return f"http://localhost:{self.port}"

    @property
    def welcome_uri(self) -> str:
        """The local page showing the welcome template (links to the sign-in)."""
        return f"{self.redirect_uri}/?welcome=true"

    def expect(self, state: str, auth_uri: str) -> None:
        """Set the ``state`` a response must carry and the address the welcome page
        links to. Call before the browser is opened."""
        with self._exchange.lock:
            self._exchange.state = state
            self._exchange.auth_uri = auth_uri

    def wait(self, timeout: float | None = None) -> dict[str, str]:
        """Block until the one response arrived; return its parameters.

        Raises:
            BrowserInteractionTimeoutError: nothing acceptable came within ``timeout``
                seconds (None waits for ever).
        """
        deadline = _deadline(timeout)
        while True:  # short slices keep Ctrl+C working
            if self._exchange.done.wait(_slice(deadline, 1.0)):
                return self._result()

    async def wait_async(self, timeout: float | None = None) -> dict[str, str]:
        """:meth:`wait` for a coroutine: polls every 50 ms without blocking the loop,
        so cancelling the task ends the wait at once.

        Raises:
            BrowserInteractionTimeoutError: as :meth:`wait`.
        """
        import asyncio

        deadline = _deadline(timeout)
        while not self._exchange.done.is_set():
            await asyncio.sleep(_slice(deadline, 0.05))
        return self._result()

    def _result(self) -> dict[str, str]:
        result = self._exchange.result
        assert result is not None
        return dict(result)

    def close(self) -> None:
        """Stop listening and end every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.drop_open_connections()
        self._server.server_close()
        if self._ipv6_guard is not None:
            self._ipv6_guard.close()
        self._thread.join()

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
