"""The HTTPS listener: stdlib ``ThreadingHTTPServer`` + ``ssl``, adapting raw requests to
:mod:`tokensmith.devidp.routes` and rendering errors in Entra's shape.

The server never crashes or hangs on input: malformed request lines, headers, bodies
and URLs, unsupported methods and unexpected exceptions all become Entra-shaped JSON
errors (reference/entra-protocol.md §4.6; ``server_error`` 500 for the last, logged at
debug level with the exception type and stack, never its message). Every connection
has a read timeout (``request_timeout``), so a slow or silent client holds one thread
for that long at most while the others keep being served. Each response carries
``x-ms-request-id`` (= ``trace_id`` of an error body) and echoes a well-formed
``client-request-id``. Connections close after each response (HTTP/1.0), so stopping
the server leaves no idle sockets behind. Only the method, the path and the status
(never the query, the headers or the body) are logged.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError, error_body
from tokensmith.devidp.routes import dispatch
from tokensmith.devidp.wire import Request, Response, json_response

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "DevIdPServer"]

logger = logging.getLogger("tokensmith.devidp")

DEFAULT_REQUEST_TIMEOUT = 30.0
_MAX_BODY = 1 << 20
_DRAIN_LIMIT = 16 << 20
_DRAIN_SECONDS = 2.0
_MAX_FIELDS = 1000
_HANDSHAKE_TIMEOUT = 10.0
_FORM = "application/x-www-form-urlencoded"


class DevIdPServer(ThreadingHTTPServer):
    """A threading HTTPS server bound to one :class:`Context`.

    Args:
        address: host and port to bind.
        ctx: the dev IdP's state.
        tls: the server-side TLS context.
        request_timeout: seconds a connection may stay silent (TLS handshake, request
            line, headers, body) before the server gives up on it.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        ctx: Context,
        tls: ssl.SSLContext,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self.ctx = ctx
        self.tls = tls
        self.request_timeout = request_timeout
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection and wrap it in TLS (the handshake runs in the handler)."""
        raw, address = self.socket.accept()
        try:
            wrapped = self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError):
            raw.close()
            raise
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log connection-level failures (bad TLS, resets) quietly instead of on stderr."""
        logger.debug("connection from %s failed", client_address[0], exc_info=True)


def _malformed(message: str, status: int = 400) -> OAuthError:
    return OAuthError("invalid_request", 90100, message, status=status)


def _params(text: str, where: str) -> dict[str, str]:
    """Parse ``application/x-www-form-urlencoded`` text; a parameter may appear twice
    only with the same value (RFC 6749 §3.1: parameters must not be repeated)."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise _malformed(f"The request {where} has too many parameters.") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if out.setdefault(name, value) != value:
            raise OAuthError(
                "invalid_request",
                9000411,
                f"The request is not properly formatted. The parameter '{name[:64]}' "
                "is duplicated.",
            )
    return out


def _parse(handler: BaseHTTPRequestHandler, body: bytes) -> Request:
    try:
        parts = urlsplit(handler.path)
    except ValueError:
        raise _malformed("The request URL is malformed.") from None
    headers = {k.lower(): v for k, v in handler.headers.items()}
    form: dict[str, str] = {}
    if body and headers.get("content-type", _FORM).split(";")[0].strip().lower() == _FORM:
        form = _params(body.decode("utf-8", "replace"), "body")
    query = _params(parts.query, "query")
    return Request(handler.command, unquote(parts.path), query, form, headers, body)


def _request_id(value: str | None) -> str | None:
    """A client-supplied correlation id, if it is safe to echo in a header."""
    if value and len(value) <= 128 and all(33 <= ord(c) <= 126 for c in value):
        return value
    return None


def _header_safe(value: str) -> bool:
    """No CR, LF or other control characters, and latin-1 encodable (no splitting)."""
    return all(32 <= ord(c) <= 255 and ord(c) != 127 for c in value)


def _error_response(ctx: Context, err: OAuthError, trace_id: str, correlation_id: str) -> Response:
    if err.plain_text:
        headers = {"Content-Type": "text/plain; charset=utf-8", **err.headers}
        return Response(err.status, b"Too Many Requests", headers)
    body = error_body(
        err,
        trace_id=trace_id,
        correlation_id=correlation_id,
        now=ctx.clock(),
        base_url=ctx.base_url,
    )
    return json_response(body, err.status, headers=err.headers)


class _Handler(BaseHTTPRequestHandler):
    server: DevIdPServer
    server_version = "tokensmith-dev-idp"
    protocol_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def setup(self) -> None:
        self._unread = 0
        timeout = self.server.request_timeout
        conn = self.request
        conn.settimeout(min(_HANDSHAKE_TIMEOUT, timeout))
        conn.do_handshake()
        conn.settimeout(timeout)  # every later read: request line, headers, body
        super().setup()

    # -- logging: method, path and status only -----------------------------------------

    def _log_path(self) -> str:
        path = str(getattr(self, "path", "") or "")
        return ascii(path.split("?", 1)[0].split("#", 1)[0][:200])

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.info("%s %s -> %s", getattr(self, "command", None) or "-", self._log_path(), code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("malformed or timed-out request on %s", self._log_path())

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("request event on %s", self._log_path())

    # -- errors found by http.server itself (request line, headers, method) ------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer ``http.server``'s own errors in Entra's JSON shape; the request line is
        not echoed (its query string may hold secrets)."""
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        error = "server_error" if code >= 500 else "invalid_request"
        err = OAuthError(error, 0 if code >= 500 else 90100, f"{phrase}.", status=code)
        trace_id = str(uuid.uuid4())
        self.close_connection = True
        if getattr(self, "request_version", "") != "HTTP/1.1":
            self.request_version = "HTTP/1.0"  # never a bare HTTP/0.9 answer
        self._write(_error_response(self.server.ctx, err, trace_id, trace_id), trace_id, trace_id)

    # -- methods: every one goes to the router, which answers or refuses it -----------

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        """The request body.

        Raises:
            OAuthError: ``Content-Length`` absent with a chunked body, not a number,
                too large (413), or more than the client sent before the timeout.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise _malformed("Chunked request bodies are not supported.", 411)
        raw = self.headers.get("Content-Length", "0").strip()
        if not (raw.isascii() and raw.isdigit()):
            raise _malformed("The Content-Length header is not a valid number.")
        length = int(raw) if len(raw) <= 12 else _DRAIN_LIMIT + 1
        if length > _MAX_BODY:
            self._unread = length
            raise _malformed("The request body is too large.", 413)
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            body = b""
        if len(body) < length:
            raise _malformed("The request body is shorter than its Content-Length.")
        return body

    def _drain(self) -> None:
        """Read (and drop) a refused body, so the client sees the answer, not a reset."""
        budget = min(self._unread, _DRAIN_LIMIT)
        deadline = time.monotonic() + _DRAIN_SECONDS
        try:
            self.connection.settimeout(0.5)
            while budget > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(budget, 1 << 16))
                if not chunk:
                    break
                budget -= len(chunk)
        except OSError:
            pass

    def _serve(self) -> None:
        ctx = self.server.ctx
        trace_id = str(uuid.uuid4())
        correlation_id = _request_id(self.headers.get("client-request-id"))
        try:
            req = _parse(self, self._read_body())
            correlation_id = correlation_id or _request_id(req.param("client-request-id"))
            response = dispatch(ctx, req)
        except OAuthError as err:
            response = _error_response(ctx, err, trace_id, correlation_id or trace_id)
        except Exception as exc:  # logged without its message: it may quote a secret
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.debug(
                "unexpected %s answering %s %s\n%s",
                type(exc).__name__,
                self.command,
                self._log_path(),
                frames,
            )
            internal = OAuthError(
                "server_error", 50000, "There was an error issuing a token.", status=500
            )
            response = _error_response(ctx, internal, trace_id, correlation_id or trace_id)
        self._write(response, trace_id, correlation_id or trace_id)
        if self._unread:
            self._drain()

    def _write(self, response: Response, trace_id: str, correlation_id: str) -> None:
        if not all(_header_safe(v) for v in response.headers.values()):
            logger.debug("refusing an unsafe response header on %s", self._log_path())
            internal = OAuthError("server_error", 50000, "Unsafe response header.", status=500)
            response = _error_response(self.server.ctx, internal, trace_id, correlation_id)
        self.send_response(response.status)
        headers = {
            "x-ms-request-id": trace_id,
            "client-request-id": correlation_id,
            "x-ms-ests-server": "tokensmith-dev-idp",
            "Content-Length": str(len(response.body)),
            **response.headers,
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
