"""The machine a managed-identity client runs on: its environment, the Arc agent's key
files, and Service Fabric's pinned TLS. The only I/O of managed identity outside the
transport, kept here so the engine flow stays a pure function of what it is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import ssl
import stat
import sys
from urllib.parse import urlencode, urlsplit

from tokensmith.engine.managed_identity import Host
from tokensmith.errors import TransportError, TransportTimeout
from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.protocol.managed_identity import arc, service_fabric, sources
from tokensmith.protocol.managed_identity.identity import ManagedIdentityError
from tokensmith.transport.deadline import capped

__all__ = ["PinnedTransport", "live_host", "read_arc_key", "service_fabric_pin"]

_TIMEOUT = 30.0


def live_host(arc_key_directory: str | None = None) -> Host:
    """This process's host: ``os.environ`` (read at each call), ``sys.platform``."""
    return Host(
        environ=os.environ,
        platform=sys.platform,
        exists=os.path.exists,
        expandvars=os.path.expandvars,
        read_key=read_arc_key,
        arc_key_directory=arc_key_directory,
    )


def read_arc_key(path: str) -> str:
    """Arc's challenge key: a regular ``.key`` file in the directory it is said to be
    in (no link leads elsewhere), of at most 4 KB, checked before it is read.

    Raises:
        ManagedIdentityError: any check fails, or the file cannot be read.
    """
    if not path.endswith(".key"):
        raise ManagedIdentityError("Azure Arc's key file must be a .key file")
    directory = os.path.dirname(path)
    real = os.path.realpath(path)
    if os.path.dirname(real) != os.path.realpath(directory):
        raise ManagedIdentityError("Azure Arc's key file leads outside its directory")
    try:
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):
            raise ManagedIdentityError("Azure Arc's key file is not a regular file")
        if info.st_size > arc.MAX_KEY_BYTES:
            raise ManagedIdentityError("Local key file shall not be larger than 4KB")
        with open(real, encoding="utf-8") as handle:
            return handle.read(arc.MAX_KEY_BYTES + 1)[: arc.MAX_KEY_BYTES]
    except OSError as exc:
        raise ManagedIdentityError(f"Azure Arc's key file cannot be read: {exc}") from exc


def service_fabric_pin() -> str | None:
    """The pinned thumbprint when this environment is Service Fabric's, else None.

    Raises:
        ManagedIdentityError: the thumbprint is not a SHA-1 thumbprint.
    """
    source = live_host().source()
    if source.kind is not sources.SERVICE_FABRIC:
        return None
    return service_fabric.normalize_thumbprint(source.thumbprint or "")


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTPS connection that trusts exactly one server certificate (by SHA-1
    thumbprint) and checks it after the handshake, before any request byte is sent."""

    def __init__(self, host: str, port: int | None, *, thumbprint: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin below is the trust anchor
        super().__init__(host, port, timeout=timeout, context=context)
        self._thumbprint = thumbprint

    def connect(self) -> None:
        super().connect()
        assert isinstance(self.sock, ssl.SSLSocket)
        der = self.sock.getpeercert(binary_form=True) or b""
        actual = hashlib.sha1(der, usedforsecurity=False).hexdigest()
        if not hmac.compare_digest(actual, self._thumbprint):
            self.close()
            raise ManagedIdentityError(
                "Service Fabric endpoint certificate thumbprint does not match "
                "IDENTITY_SERVER_THUMBPRINT."
            )


class PinnedTransport:
    """A :class:`~tokensmith.transport.Transport` for Service Fabric's token service:
    HTTPS only, the server certificate pinned to ``thumbprint`` instead of a CA, no
    proxy. One connection per request (the service is local and asked rarely)."""

    def __init__(self, thumbprint: str, *, timeout: float = _TIMEOUT) -> None:
        self._thumbprint = service_fabric.normalize_thumbprint(thumbprint)
        self._timeout = timeout

    def send(self, request: HttpRequest) -> HttpResponse:
        parts = urlsplit(request.url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise ManagedIdentityError("Service Fabric managed identity endpoint must use HTTPS.")
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(dict(request.params or {}))) if q)
        if query:
            target = f"{target}?{query}"
        body = urlencode(dict(request.data)) if request.data is not None else None
        headers = dict(request.headers)
        if body is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        timeout = capped(self._timeout)  # the call's deadline may leave less
        conn = _PinnedConnection(
            parts.hostname, parts.port, thumbprint=self._thumbprint, timeout=timeout
        )
        try:
            conn.request(request.method, target, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode("utf-8", "replace")
            got = {k.lower(): v for k, v in answer.getheaders()}
            return HttpResponse(answer.status, text, got)
        except TimeoutError as exc:
            raise TransportTimeout(f"Service Fabric did not answer: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"Service Fabric request failed: {exc}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        """Nothing to release (no pooled connections)."""

    def __repr__(self) -> str:
        return f"PinnedTransport(sha1={self._thumbprint[:8]}…)"
