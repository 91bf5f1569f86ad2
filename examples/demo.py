"""`make demo`: tokensmith against a real OpenID provider, started on loopback.

Starts node-oidc-provider over https with a CA made for the run, then, with the
MSAL-compatible API: client credentials (and the cache hit that follows), a device-code
sign-in (a scripted person completes the provider's pages), a silent call served from
the cache, and a refresh with the refresh token. Tokens are never printed whole.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import tokensmith as msal


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
            show("acquire_token_silent", cli.acquire_token_silent([SCOPE_READ], accounts[0]))
            show(
                "acquire_token_silent(force_refresh)",
                cli.acquire_token_silent([SCOPE_READ], accounts[0], force_refresh=True),
            )
            cli.remove_account(accounts[0])
            show(
                "after remove_account: silent", cli.acquire_token_silent([SCOPE_READ], accounts[0])
            )
    print("\nProvider stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    oidc_demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
