"""``tokensmith accounts``: the accounts signed in to the CLI's token cache."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from tokensmith.cli import exit_codes
from tokensmith.cli.output import Output

__all__ = ["HELP", "account_rows", "add_cache_argument", "cache_path_of", "configure", "run"]

HELP = "list the accounts in the token cache"


def add_cache_argument(parser: argparse.ArgumentParser) -> None:
    """``--cache FILE`` (default: TOKENSMITH_CACHE, else the XDG cache file)."""
    parser.add_argument("--cache", help="token cache file (MSAL format)")


def cache_path_of(args: argparse.Namespace) -> Any:
    """The cache file these arguments name."""
    import os
    from pathlib import Path

    from tokensmith.cli.store import default_cache_path

    named = getattr(args, "cache", None) or os.environ.get("TOKENSMITH_CACHE")
    return Path(named).expanduser().absolute() if named else default_cache_path()


def configure(parser: argparse.ArgumentParser) -> None:
    """``accounts``' arguments."""
    add_cache_argument(parser)


def account_rows(cache: Any) -> list[dict[str, Any]]:
    """One dict per cached account: username, home tenant (the ``utid`` of the home
    account id), realm, environment, home account id, and how many refresh tokens it
    has."""
    refresh: dict[str, int] = {}
    for entry in cache.search("RefreshToken"):
        home = entry.get("home_account_id")
        refresh[home] = refresh.get(home, 0) + 1
    rows = []
    for account in cache.search("Account"):
        home = account.get("home_account_id", "")
        rows.append(
            {
                "username": account.get("username", ""),
                "home_tenant_id": str(home).rpartition(".")[2] if "." in str(home) else "",
                "realm": account.get("realm", ""),
                "environment": account.get("environment", ""),
                "home_account_id": home,
                "account_type": account.get("authority_type", ""),
                "refresh_tokens": refresh.get(home, 0),
            }
        )
    return sorted(rows, key=_order)


def _order(row: Mapping[str, Any]) -> tuple[str, str]:
    return str(row["username"]).lower(), str(row["environment"])


def run(args: argparse.Namespace, out: Output) -> int:
    """List the accounts."""
    from tokensmith.cli.store import open_token_cache

    cache_file = open_token_cache(cache_path_of(args))
    rows = account_rows(cache_file.cache)

    def human() -> None:
        if not rows:
            out.line(f"no accounts in {cache_file.path} (sign in: tokensmith login)")
            return
        columns = ("USERNAME", "HOME TENANT", "ENVIRONMENT", "HOME ACCOUNT ID")
        keys = ("username", "home_tenant_id", "environment", "home_account_id")
        out.table(columns, [[str(r[k]) for k in keys] for r in rows])

    out.result({"cache": str(cache_file.path), "accounts": rows}, human)
    return exit_codes.OK
