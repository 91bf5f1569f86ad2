"""`make demo`: tokensmith against an identity provider started on loopback.

By default the provider is tokensmith's own offline, Entra-compatible dev IdP, started
in-process (no network beyond loopback, no node): client credentials (and the cache hit
that follows), a device-code sign-in completed for the demo user by the dev IdP's
auto-complete switch into a SQLite token store, a second Python process answered from
that store, a silent call served from the cache, and a refresh with the refresh token;
between them, a managed identity's token from the dev IdP's App Service endpoint (the
environment variables set for that step only); then a brokered sign-in through
``tokensmith broker``, the open Linux broker, on a private D-Bus session bus (Debian's
dbus-daemon), its browser a scripted person, and a second app signed in by the broker
without a prompt. ``--provider node`` runs the same steps against node-oidc-provider
(needs ``make interop-deps``). Tokens are never printed whole.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tokensmith as msal
from tokensmith.protocol.managed_identity.sources import ENVIRONMENT_VARIABLES
from tokensmith.stores import PersistentTokenCache, SqliteStore


def show(step: str, result: dict[str, Any] | None) -> None:
    """Print one step's outcome without printing secrets."""
    if not result:
        print(f"  {step:<38} -> nothing (None)")
        return
    if "error" in result:
        print(f"  {step:<38} -> error {result['error']}: {result.get('error_description')}")
        return
    token = result["access_token"]
    print(
        f"  {step:<38} -> {result['token_source']:<17} "
        f"access token {token[:10]}… ({len(token)} chars), expires in {result['expires_in']} s"
    )


def silent_then_sign_out(app: Any, scope: str, account: dict[str, Any]) -> None:
    """Silent from the cache, a forced refresh, then sign-out and silent again."""
    show("acquire_token_silent", app.acquire_token_silent([scope], account))
    show(
        "acquire_token_silent(force_refresh)",
        app.acquire_token_silent([scope], account, force_refresh=True),
    )
    app.remove_account(account)
    show("after remove_account: silent", app.acquire_token_silent([scope], account))


_SECOND_PROCESS = """
import sys, time
started = time.perf_counter()
import tokensmith
from tokensmith.stores import PersistentTokenCache, SqliteStore
path, client_id, authority, verify, username = sys.argv[1:]
cache = PersistentTokenCache(SqliteStore(path))
app = tokensmith.PublicClientApplication(
    client_id, authority=authority, verify=verify, token_cache=cache
)
account = app.get_accounts(username=username)[0]
result = app.acquire_token_silent(["User.Read"], account)
took = (time.perf_counter() - started) * 1e3
print(result["token_source"], len(result["access_token"]), f"{took:.0f}")
"""


def second_process(path: Path, client_id: str, authority: str, verify: str, user: str) -> None:
    """A fresh Python process opens the SQLite store and gets the token silently."""
    command = [sys.executable, "-c", _SECOND_PROCESS, str(path), client_id, authority, verify]
    done = subprocess.run([*command, user], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        print(f"  second process failed: {done.stderr.strip().splitlines()[-1:]}")
        return
    source, length, took = done.stdout.split()
    print(
        f"  {'a second process, same SQLite store':<38} -> {source:<17} "
        f"access token of {length} chars, in {took} ms (imports included)"
    )


async def async_daemon(authority: str, client_id: str, secret: str, verify: str) -> None:
    """The async twin: concurrent coroutines share one token request (single flight)."""
    import tokensmith.aio as aio

    async with aio.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=authority, verify=verify
    ) as app:
        scope = ["api://tokensmith-api-a/.default"]
        results = await asyncio.gather(*(app.acquire_token_for_client(scope) for _ in range(100)))
        tokens = {r.get("access_token") for r in results}
        print(f"  {len(results)} results, {len(tokens)} distinct access token (one token request)")
        show("await acquire_token_for_client (again)", await app.acquire_token_for_client(scope))


@contextlib.contextmanager
def managed_identity_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, the managed-identity variables are ``values`` only (any others
    removed, so no other source is detected); ``os.environ`` is restored after."""
    saved = {name: os.environ.pop(name, None) for name in ENVIRONMENT_VARIABLES}
    os.environ.update(values)
    try:
        yield
    finally:
        for name in ENVIRONMENT_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def managed_identity(base_url: str, verify: str) -> None:
    """An App Service managed identity, its endpoint the dev IdP's."""
    from tokensmith.devidp import managed_identity as dev_mi
    from tokensmith.managed_identity import get_managed_identity_source
    from tokensmith.transport import HttpxTransport

    endpoint = f"{base_url}/msi/token"
    values = {"IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": dev_mi.APP_SERVICE_SECRET}
    with (
        managed_identity_environment(values),
        msal.ManagedIdentityClient(
            msal.SystemAssignedManagedIdentity(), transport=HttpxTransport(verify=verify)
        ) as client,
    ):
        print(f"  source {get_managed_identity_source().name}, IDENTITY_ENDPOINT {endpoint}")
        resource = "https://management.azure.com"
        show(
            "acquire_token_for_client(resource)", client.acquire_token_for_client(resource=resource)
        )
        show("acquire_token_for_client (again)", client.acquire_token_for_client(resource=resource))


@contextlib.contextmanager
def session_bus_environment(address: str) -> Iterator[None]:
    """Inside the block, ``DBUS_SESSION_BUS_ADDRESS`` names the demo's own bus."""
    saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved


def brokered(idp: Any) -> None:
    """``enable_broker_on_linux=True`` against ``tokensmith broker`` on a private bus:
    the refresh token stays with the broker, and a second app of the family gets a
    token without a prompt (single sign-on)."""
    from tests.broker.conftest import API_A_SCOPE, FAMILY_ONE, FAMILY_TWO, start_daemon
    from tests.session_bus import SessionBus

    console = msal.PublicClientApplication.CONSOLE_WINDOW_HANDLE
    with tempfile.TemporaryDirectory() as workdir:
        bus = SessionBus(Path(workdir) / "bus")
        daemon = None
        try:
            daemon = start_daemon(idp, bus, Path(workdir) / "broker-state")
            print(f"  tokensmith broker on {bus.address}")
            options = dict(
                authority=idp.authority("organizations"),
                verify=str(idp.ca_path),
                enable_broker_on_linux=True,
            )
            with (
                session_bus_environment(bus.address),
                msal.PublicClientApplication(FAMILY_ONE, **options) as first,
                msal.PublicClientApplication(FAMILY_TWO, **options) as second,
            ):
                print("  (the broker opens the browser; a scripted person signs in)")
                result = first.acquire_token_interactive(
                    [API_A_SCOPE], parent_window_handle=console
                )
                show("acquire_token_interactive (app one)", result)
                rts = first.token_cache.search(first.token_cache.CredentialType.REFRESH_TOKEN)
                print(f"  refresh tokens in the app's cache: {len(list(rts))}")
                [account] = second.get_accounts()
                show(
                    "acquire_token_silent (app two, SSO)",
                    second.acquire_token_silent([API_A_SCOPE], account),
                )
                print(f"  browser sign-ins: {daemon.sign_ins()}")
        finally:
            if daemon is not None:
                daemon.stop()
            bus.stop()


def dev_idp_demo() -> None:
    """The default demo: the tokensmith dev IdP, speaking Entra's v2.0 protocol."""
    from tokensmith.devidp import DevIdP

    contoso = "contoso.onmicrosoft.com"
    daemon, daemon_secret = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15", "dev-secret-not-for-production"
    desktop, user = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29", "ada@contoso.onmicrosoft.com"
    graph_default, user_scope = "https://graph.microsoft.com/.default", "User.Read"

    print("Starting the tokensmith dev IdP (Entra v2.0 protocol, https, loopback) ...")
    with contextlib.ExitStack() as stack, DevIdP() as idp:
        print(f"  {idp.base_url}  (CA {idp.ca_path})\n")
        verify = str(idp.ca_path)

        print(f"Daemon: client credentials (authority {idp.authority(contoso)})")
        with msal.ConfidentialClientApplication(
            daemon, client_credential=daemon_secret, authority=idp.authority(contoso), verify=verify
        ) as app:
            show("acquire_token_for_client", app.acquire_token_for_client([graph_default]))
            show("acquire_token_for_client (again)", app.acquire_token_for_client([graph_default]))

        print("\nAsync daemon (tokensmith.aio): 100 coroutines ask at once for one new token")
        asyncio.run(async_daemon(idp.authority(contoso), daemon, daemon_secret, verify))

        print("\nManaged identity: App Service (its endpoint and secret set for this step only)")
        managed_identity(idp.base_url, verify)

        print(f"\nCLI: device code (authority {idp.authority('organizations')}), then silent")
        print("  (its cache is a SQLite store: a second process is answered from it)")
        idp.device_code_auto_complete_user = user
        store_dir = tempfile.TemporaryDirectory(prefix="tokensmith-demo-")
        stack.callback(store_dir.cleanup)
        store_path = Path(store_dir.name) / "tokens.db"
        with msal.PublicClientApplication(
            desktop,
            authority=idp.authority("organizations"),
            verify=verify,
            token_cache=PersistentTokenCache(SqliteStore(store_path)),
        ) as cli:
            flow = cli.initiate_device_flow([user_scope])
            print(f"  {flow['message']}")
            print(f"  (the dev IdP completes the sign-in for {user}: auto-complete is on)")
            started = time.monotonic()
            result = cli.acquire_token_by_device_flow(flow)
            show(f"acquire_token_by_device_flow ({time.monotonic() - started:.1f} s)", result)
            accounts = cli.get_accounts()
            for account in accounts:
                print(
                    f"  account {account['username']}: home_account_id "
                    f"{account['home_account_id']}, realm {account['realm']}"
                )
            second_process(store_path, desktop, idp.authority("organizations"), verify, user)
            silent_then_sign_out(cli, user_scope, accounts[0])

        print("\nBroker: sign-in through tokensmith broker (the open Linux broker, D-Bus)")
        brokered(idp)
    print("\nDev IdP stopped.")


def oidc_demo() -> None:
    """The core demo: node-oidc-provider, a standards-compliant OpenID provider."""
    from tests.interop._provider import SCOPE_DEFAULT, SCOPE_READ, start_provider

    print("Starting node-oidc-provider (https, loopback) ...")
    with tempfile.TemporaryDirectory() as workdir, start_provider(Path(workdir)) as idp:
        print(f"  issuer {idp.issuer}  (CA {idp.ca_path})\n")
        verify = str(idp.ca_path)

        print("Daemon: client credentials")
        with msal.ConfidentialClientApplication(
            idp.clients.confidential_id,
            client_credential=idp.clients.confidential_secret,
            oidc_authority=idp.issuer,
            verify=verify,
        ) as daemon:
            show("acquire_token_for_client", daemon.acquire_token_for_client([SCOPE_DEFAULT]))
            show(
                "acquire_token_for_client (again)", daemon.acquire_token_for_client([SCOPE_DEFAULT])
            )

        print("\nCLI: device code, then silent")
        with msal.PublicClientApplication(
            idp.clients.public_id, oidc_authority=idp.issuer, verify=verify
        ) as cli:
            flow = cli.initiate_device_flow([SCOPE_READ])
            print(f"  {flow['message']}")
            page = flow.get("verification_uri_complete") or flow["verification_uri"]
            person = threading.Thread(
                target=idp.complete_device_login, args=(page, flow["user_code"])
            )
            print("  (a scripted person opens the page, enters the code and signs in)")
            person.start()
            started = time.monotonic()
            result = cli.acquire_token_by_device_flow(flow)
            person.join()
            show(f"acquire_token_by_device_flow ({time.monotonic() - started:.1f} s)", result)
            accounts = cli.get_accounts()
            print(f"  get_accounts -> {[a['username'] for a in accounts]}")
            silent_then_sign_out(cli, SCOPE_READ, accounts[0])
    print("\nProvider stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--provider",
        choices=("dev-idp", "node"),
        default="dev-idp",
        help="dev-idp (default, offline) or node (node-oidc-provider; make interop-deps)",
    )
    args = parser.parse_args(argv)
    if args.provider == "node":
        oidc_demo()
    else:
        dev_idp_demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
