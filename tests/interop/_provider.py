"""Start node-oidc-provider (tests/interop/provider/server.mjs) on loopback https.

``start_provider(workdir)`` makes the PKI, writes the provider's JSON config, starts
``node server.mjs`` and waits (bounded) for its ready line; ``OidcProvider`` is what
the ``oidc_provider`` fixture yields: issuer, CA path, clients, the test account, and
the person's steps (device login, authorization without a browser).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.interop._person import AuthorizationResponse, Person, PersonError
from tests.interop._pki import ClientKey, make_client_key, make_server_pki

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
REPO_ROOT = PROVIDER_DIR.parents[2]
READY_MARK = "TOKENSMITH-INTEROP-READY "
START_TIMEOUT = 120.0
"""Seconds to wait for the provider's ready line (it is returned as soon as it comes; a
slow shared machine once took more than 30 s to start node and the provider)."""

RESOURCE = "api://interop"
SCOPE_READ = "api://interop/read"
SCOPE_DEFAULT = "api://interop/.default"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SHORT_TTL = 2
LOOPBACK_REDIRECTS = ["http://localhost", "http://127.0.0.1"]


@dataclass(frozen=True)
class Clients:
    """Client ids (and secrets) registered with the provider.

    Attributes:
        confidential_id: ``client_secret_post`` client: client credentials,
            authorization code (+PKCE) and refresh tokens.
        confidential_secret: its secret.
        jwt_id: ``private_key_jwt`` client (client credentials) with ``jwt_key``; the
            provider rejects a reused client assertion (same ``jti``), per RFC 7523 §3.
        jwt_lenient_id: like ``jwt_id`` (same key) but a reused assertion is accepted,
            as Entra does (MSAL reuses its assertion for ~9 minutes).
        jwt_key: the key pair whose public half is registered for both JWT clients.
        public_id: public client (auth ``none``): device code, authorization code with
            PKCE and loopback redirects (any port), refresh tokens.
        short_ttl_id: like ``public_id`` but its access tokens live ``SHORT_TTL`` s.
        careful_id: like ``public_id`` but never granted ``offline_access``: its
            refresh tokens do not carry it and a refresh asking for it is rejected.
    """

    confidential_id: str
    confidential_secret: str = field(repr=False)
    jwt_id: str
    jwt_lenient_id: str
    jwt_key: ClientKey
    public_id: str
    short_ttl_id: str
    careful_id: str


def _new_clients() -> Clients:
    return Clients(
        confidential_id="interop-confidential",
        confidential_secret=secrets.token_urlsafe(24),
        jwt_id="interop-jwt",
        jwt_lenient_id="interop-jwt-lenient",
        jwt_key=make_client_key(),
        public_id="interop-public",
        short_ttl_id="interop-short-ttl",
        careful_id="interop-careful",
    )


def _public_client(client_id: str) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "response_types": ["code"],
        "redirect_uris": LOOPBACK_REDIRECTS,
    }


def _provider_config(clients: Clients, user: dict[str, Any], tls: dict[str, str]) -> dict[str, Any]:
    confidential = {
        "client_id": clients.confidential_id,
        "client_secret": clients.confidential_secret,
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [f"{base}/callback" for base in LOOPBACK_REDIRECTS],
    }
    jwt_clients = [
        {
            "client_id": client_id,
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "jwks": {"keys": [clients.jwt_key.public_jwk]},
        }
        for client_id in (clients.jwt_id, clients.jwt_lenient_id)
    ]
    return {
        "host": "127.0.0.1",
        "port": 0,
        "path": "/oidc",
        "tls": tls,
        "user": user,
        "resource": {"indicator": RESOURCE, "scopes": [SCOPE_READ, SCOPE_DEFAULT]},
        "clients": [
            confidential,
            *jwt_clients,
            _public_client(clients.public_id),
            _public_client(clients.short_ttl_id),
            _public_client(clients.careful_id),
        ],
        "client_options": {
            clients.short_ttl_id: {"access_token_ttl": SHORT_TTL},
            clients.careful_id: {"strip_offline_access": True},
            clients.jwt_lenient_id: {"accept_assertion_replay": True},
            # only DPoP proofs need the nonce: clients without DPoP are not affected
            clients.confidential_id: {"dpop_require_nonce": True},
        },
        "device_interval": 1,
        "rotate_refresh_tokens": True,
    }


@dataclass(frozen=True)
class OidcProvider:
    """A running provider, as the tests see it.

    Attributes:
        issuer: ``https://127.0.0.1:<port>`` (also the ``oidc_authority``).
        ca_path: PEM file of the CA that signed the server certificate.
        clients: the registered clients.
        username: the test account's login.
        password: the test account's password.
        log_path: the provider's stdout/stderr.
    """

    issuer: str
    ca_path: Path
    clients: Clients
    username: str
    password: str = field(repr=False)
    log_path: Path

    def http_client(self) -> httpx.Client:
        """A new httpx client trusting the CA, with its own cookie jar, not following
        redirects. The caller closes it."""
        trust = ssl.create_default_context(cafile=str(self.ca_path))
        return httpx.Client(verify=trust, trust_env=False, follow_redirects=False, timeout=10.0)

    def requests_session(self) -> Any:
        """A ``requests.Session`` trusting only the CA (MSAL's ``http_client``).

        ``trust_env`` is off: requests lets ``REQUESTS_CA_BUNDLE`` override
        ``Session.verify``, and loopback must not go through a proxy. The caller closes it.
        """
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca_path)
        return session

    @contextmanager
    def browserless_person(self, password: str | None = None) -> Iterator[Person]:
        """A person with a fresh cookie jar; ``password`` overrides the right one."""
        with self.http_client() as client:
            yield Person(client, self.issuer, self.username, password or self.password)

    def complete_device_login(
        self, verification_uri_or_complete: str, user_code: str | None = None
    ) -> None:
        """Do the person's part of the device flow: open the verification URI, type
        the user code (unless the URI carries it), sign in, consent.

        Raises:
            PersonError: the pages did not end on the provider's success page.
        """
        with self.browserless_person() as person:
            outcome = person.journey(verification_uri_or_complete, user_code=user_code)
        if outcome is not None:
            raise PersonError(f"device login ended at a client URL: {outcome.url}")

    def authorize(self, auth_url: str, password: str | None = None) -> AuthorizationResponse:
        """Sign in and consent for an authorization-code URL, without a browser.

        Returns:
            The response the provider sends to the redirect URI (query or form_post).
        """
        with self.browserless_person(password) as person:
            outcome = person.journey(auth_url)
        if outcome is None:
            raise PersonError("authorization ended on a provider page, not at the client")
        return outcome

    def authorize_in_http(self, auth_url: str) -> str:
        """Like ``authorize`` but returns the redirect URL. For ``form_post`` the
        posted parameters are put in the URL's query, as a query-mode redirect would."""
        outcome = self.authorize(auth_url)
        if outcome.method == "GET":
            return outcome.url
        return str(httpx.URL(outcome.url, params=outcome.params))

    def stats(self) -> list[dict[str, Any]]:
        """The provider's request counters (token and device-authorization endpoints)."""
        with self.http_client() as client:
            response = client.get(f"{self.issuer}/_test/stats")
            response.raise_for_status()
            rows: list[dict[str, Any]] = response.json()
            return rows

    def token_requests(self, client_id: str, grant_type: str | None = None) -> int:
        """How many token requests ``client_id`` made (optionally of one grant type)."""
        return sum(
            row["count"]
            for row in self.stats()
            if row["route"] == "token"
            and row["client_id"] == client_id
            and (grant_type is None or row["grant_type"] == grant_type)
        )


def ensure_node_modules() -> None:
    """Install the provider's npm packages when the set-up has not done it."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    script = REPO_ROOT / "scripts" / "interop-deps.sh"
    command = ["bash", str(script)] if script.is_file() else ["npm", "install", "--no-audit"]
    subprocess.run(command, cwd=PROVIDER_DIR, check=True, timeout=300)


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith(READY_MARK):
                ready: dict[str, Any] = json.loads(line[len(READY_MARK) :])
                return ready
        if process.poll() is not None:
            break
        time.sleep(0.05)
    log = log_path.read_text(errors="replace")
    raise RuntimeError(f"the OpenID provider did not start (exit {process.poll()}):\n{log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def start_provider(
    workdir: Path, extra_clients: Sequence[dict[str, Any]] = ()
) -> Iterator[OidcProvider]:
    """Run the provider for the duration of the ``with`` block.

    Args:
        workdir: an empty folder for the PKI, the config and the log.
        extra_clients: more client registrations (OIDC client metadata), e.g. a web
            app whose redirect URI is known only at run time.

    Yields:
        The running provider. The node process is stopped on exit, also on errors.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: run `make interop-deps` (scripts/sysdeps.sh)")
    ensure_node_modules()
    pki = make_server_pki(workdir)
    clients = _new_clients()
    username, password = "ada@interop.test", secrets.token_urlsafe(12)
    user = {
        "login": username,
        "password": password,
        "claims": {"name": "Ada Lovelace", "email": username},
    }
    tls = {"cert": str(pki.cert_path), "key": str(pki.key_path)}
    config_path = workdir / "provider.json"
    config = _provider_config(clients, user, tls)
    config["clients"].extend(extra_clients)
    config_path.write_text(json.dumps(config))
    log_path = workdir / "provider.log"
    env = {**os.environ, "NODE_ENV": "test", "INTEROP_EXIT_WITH_PARENT": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(PROVIDER_DIR / "server.mjs"), str(config_path)],
            cwd=PROVIDER_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,  # closed when we stop or die: the provider exits
            env=env,
        )
    try:
        ready = _wait_ready(process, log_path)
        yield OidcProvider(
            issuer=ready["issuer"],
            ca_path=pki.ca_path,
            clients=clients,
            username=username,
            password=password,
            log_path=log_path,
        )
    finally:
        _stop(process)
