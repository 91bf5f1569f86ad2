"""Loopback HTTP(S) servers and a throw-away PKI for the transport tests."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass
class Seen:
    """What the server received for one request."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: str
    headers: dict[str, str]


@dataclass
class LoopbackServer:
    url: str
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _record(self) -> Seen:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        parts = urlsplit(self.path)
        seen = Seen(
            self.command,
            self.path,
            parse_qsl(parts.query, keep_blank_values=True),
            body,
            {k.lower(): v for k, v in self.headers.items()},
        )
        self.server.state.seen.append(seen)
        return seen

    def _reply(self, status: int, text: str, headers: dict[str, str]) -> None:
        payload = text.encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drip(self, query: dict[str, str]) -> None:
        """Headers at once, then one body byte every ``every`` seconds (``bytes`` of
        them), until the test ends (``release``) or the client hangs up."""
        every, count = float(query.get("every", "1.5")), int(query.get("bytes", "30"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(count))
        self.end_headers()
        self.wfile.flush()
        for _ in range(count):
            if self.server.state.release.wait(every):
                return
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return

    def _discovery(self) -> None:
        """An OpenID configuration for ``<url>/oidc`` whose token endpoint drips."""
        base = f"{self.server.state.url}/oidc"
        document = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/drip",
        }
        self._reply(200, json.dumps(document), {"Content-Type": "application/json"})

    def _route(self) -> None:
        seen = self._record()
        path = urlsplit(self.path).path
        if path.endswith("/drip"):
            self._drip(dict(parse_qsl(urlsplit(self.path).query)))
        elif path.endswith("/.well-known/openid-configuration"):
            self._discovery()
        elif path == "/slow":
            self.server.state.release.wait(5)
            self._reply(200, "late", {})
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._reply(status, "Too Many Requests", {"Retry-After": "7"})
        else:
            echo = {
                "method": seen.method,
                "path": seen.path,
                "query": seen.query,
                "body": seen.body,
                "headers": seen.headers,
            }
            self._reply(
                200,
                json.dumps(echo),
                {"Content-Type": "application/json", "X-Mixed-Case": "Yes"},
            )

    do_GET = _route
    do_POST = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed TLS handshakes and client timeouts are expected in these tests


def _serve(tls: ssl.SSLContext | None) -> Iterator[LoopbackServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    server.state = LoopbackServer(f"{scheme}://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.state
    finally:
        server.state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A plain HTTP server on 127.0.0.1 that echoes requests as JSON."""
    yield from _serve(None)


@dataclass
class Pki:
    ca_path: Path
    cert_path: Path
    key_path: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA and a server certificate for 127.0.0.1/localhost, made with cryptography."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensmith test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("pki")
    pem = serialization.Encoding.PEM
    result = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    result.ca_path.write_bytes(ca_cert.public_bytes(pem))
    result.cert_path.write_bytes(leaf_cert.public_bytes(pem))
    result.key_path.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return result


@pytest.fixture
def https_server(pki: Pki) -> Iterator[LoopbackServer]:
    """An HTTPS echo server on 127.0.0.1 whose certificate chains to ``pki.ca_path``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert_path, pki.key_path)
    yield from _serve(context)


@pytest.fixture
def refused_url() -> str:
    """A loopback URL on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
