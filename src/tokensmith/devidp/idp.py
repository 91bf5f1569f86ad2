"""Start and stop a dev identity provider in-process: :class:`DevIdP`.

::

    from tokensmith.devidp import DevIdP

    with DevIdP() as idp:                      # built-in config, a free port
        app = tokensmith.PublicClientApplication(
            client_id, authority=idp.authority("organizations"), verify=str(idp.ca_path))
        idp.faults.add("authorization_pending", count=2)
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tokensmith._clock import Clock, system_clock
from tokensmith.devidp.config import DevIdPConfig
from tokensmith.devidp.context import Context
from tokensmith.devidp.defaults import default_config
from tokensmith.devidp.device import approve
from tokensmith.devidp.faults import Faults
from tokensmith.devidp.keys import load_or_create_keys
from tokensmith.devidp.server import DEFAULT_REQUEST_TIMEOUT, DevIdPServer
from tokensmith.devidp.state import GrantStore
from tokensmith.errors import ConfigurationError

__all__ = ["DevIdP"]


class DevIdP:
    """A running (once started) dev identity provider on loopback over HTTPS.

    Args:
        config: tenants, users, apps and APIs; the built-in default when None.
        host: address to bind (loopback by default).
        port: port to bind; 0 picks a free one.
        state_dir: where the CA, TLS and signing keys and generated client
            certificates live (reused across starts); a temporary directory removed at
            :meth:`stop` when None.
        clock: epoch seconds, injectable for tests.
        sleep: how the ``delay`` fault waits.
        request_timeout: seconds a connection may stay silent before the server drops
            it (slow or stuck clients never hold a thread longer).
    """

    def __init__(
        self,
        config: DevIdPConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path | None = None,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self.config = config or default_config()
        self._host, self._port = host, port
        self._temp: str | None = None
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._clock, self._sleep = clock, sleep
        self._request_timeout = request_timeout
        self.faults = Faults()
        for fault in self.config.faults:
            options = dict(fault)
            self.faults.add(options.pop("kind"), **options)
        self._server: DevIdPServer | None = None
        self._thread: threading.Thread | None = None
        self._ctx: Context | None = None

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> DevIdP:
        """Create or load the keys, bind the socket and serve in a background thread."""
        if self._server is not None:
            raise ConfigurationError("the dev IdP is already running")
        if self._state_dir is None:
            self._temp = tempfile.mkdtemp(prefix="tokensmith-devidp-")
            state_dir = Path(self._temp)
        else:
            state_dir = self._state_dir
        generated = [a.client_id for a in self.config.apps if a.generate_certificate]
        keys = load_or_create_keys(state_dir, generated)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(keys.tls_cert_path, keys.tls_key_path)
        self._ctx = Context(
            config=self.config,
            keys=keys,
            store=GrantStore(),
            faults=self.faults,
            clock=self._clock,
            sleep=self._sleep,
            device_code_auto_complete_user=self.config.settings.device_code_auto_complete_user,
        )
        self._server = DevIdPServer((self._host, self._port), self._ctx, tls, self._request_timeout)
        host = self._host if ":" not in self._host else f"[{self._host}]"
        self._ctx.base_url = f"https://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and remove a temporary state directory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def __enter__(self) -> DevIdP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need --------------------------------------------------------

    @property
    def context(self) -> Context:
        """The running server's state (configuration, keys, grants)."""
        if self._ctx is None:
            raise ConfigurationError("the dev IdP is not running; call start() first")
        return self._ctx

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return self.context.base_url

    @property
    def ca_path(self) -> Path:
        """PEM file of the CA clients must trust (``verify=``, ``REQUESTS_CA_BUNDLE``)."""
        return self.context.keys.ca_path

    def authority(self, tenant: str = "organizations") -> str:
        """The authority URL for a tenant segment (GUID, domain, common, ...)."""
        return f"{self.base_url}/{tenant}"

    def client_certificate(self, client_id: str) -> dict[str, str]:
        """The certificate credential generated for an app whose config says
        ``certificates = ["generate"]``, ready for ``client_credential=`` of tokensmith's
        or MSAL's ``ConfidentialClientApplication``: ``{"private_key": PEM,
        "thumbprint": SHA-1 hex, "public_certificate": PEM}``
        (:func:`tokensmith.certificates.load_certificate`).

        Raises:
            ConfigurationError: no certificate was generated for ``client_id``.
        """
        from tokensmith.certificates import load_certificate

        return load_certificate(self.client_certificate_path(client_id))

    def client_certificate_path(self, client_id: str) -> Path:
        """The PEM file (private key, then certificate) behind :meth:`client_certificate`,
        for tools that take a file (``tokensmith token --certificate``)."""
        path = self.context.keys.client_cert_paths.get(client_id)
        if path is None:
            raise ConfigurationError(f"no generated certificate for app {client_id}")
        return path

    def trust_environment(self) -> dict[str, str]:
        """Environment variables that make ``requests``/``httpx``/OpenSSL trust the CA."""
        ca = str(self.ca_path)
        return {"REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}

    # -- run-time switches --------------------------------------------------------

    @property
    def device_code_auto_complete_user(self) -> str:
        """UPN that completes new device-code sign-ins at once ("" = off)."""
        return self.context.device_code_auto_complete_user

    @device_code_auto_complete_user.setter
    def device_code_auto_complete_user(self, username: str) -> None:
        if username and self.config.user(username) is None:
            raise ConfigurationError(f"unknown user {username!r}")
        self.context.device_code_auto_complete_user = username

    def approve_device(self, user_code: str, username: str) -> None:
        """Complete a pending device-code sign-in as ``username`` (no page, no password).

        Raises:
            ConfigurationError: unknown user or code, or the user cannot sign in there.
        """
        ctx = self.context
        user = self.config.user(username)
        device = ctx.store.device_by_user_code(user_code)
        if user is None or device is None:
            raise ConfigurationError("unknown user or no pending device code")
        problem = approve(ctx, device, user)
        if problem is not None:
            raise ConfigurationError(problem)
