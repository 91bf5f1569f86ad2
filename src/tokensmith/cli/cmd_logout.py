"""``tokensmith logout``: forget an account's tokens (all of its entries, for every
client) in the CLI's token cache; ``--all`` forgets every account."""

from __future__ import annotations

import argparse

from tokensmith.cli import exit_codes
from tokensmith.cli.cmd_accounts import add_cache_argument, cache_path_of
from tokensmith.cli.output import Output
from tokensmith.cli.run import CommandFailed

__all__ = ["HELP", "configure", "run"]

HELP = "sign out: remove an account's tokens from the cache"
_SECTIONS = ("AccessToken", "RefreshToken", "IdToken", "Account")


def configure(parser: argparse.ArgumentParser) -> None:
    """``logout``'s arguments."""
    add_cache_argument(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--username", help="the account to sign out")
    which.add_argument("--all", action="store_true", help="sign out every account")


def run(args: argparse.Namespace, out: Output) -> int:
    """Remove the entries, save, say how many."""
    from tokensmith.cli.store import open_token_cache

    cache_file = open_token_cache(cache_path_of(args))
    cache = cache_file.cache
    accounts = list(cache.search("Account"))
    if args.username:
        chosen = [
            a for a in accounts if str(a.get("username", "")).lower() == args.username.lower()
        ]
        if not chosen:
            raise CommandFailed(
                "not_signed_in", f"{args.username} is not signed in", "see: tokensmith accounts", 4
            )
    elif args.all or len(accounts) <= 1:
        chosen = accounts
    else:
        listed = ", ".join(str(a.get("username")) for a in accounts)
        raise CommandFailed(
            "usage", f"several accounts are signed in ({listed})", "pass --username or --all", 2
        )
    homes = {a.get("home_account_id") for a in chosen}
    removed = 0
    for section in _SECTIONS:
        for entry in list(cache.search(section)):
            if entry.get("home_account_id") in homes:
                _remove(cache, section, entry)
                removed += 1
    cache_file.save()
    names = sorted(str(a.get("username")) for a in chosen)
    data = {"signed_out": names, "entries_removed": removed, "cache": str(cache_file.path)}
    text = f"signed out {', '.join(names)}" if names else "nobody was signed in"
    out.result(data, lambda: out.line(text))
    return exit_codes.OK


def _remove(cache: object, section: str, entry: dict[str, object]) -> None:
    method = {
        "AccessToken": "remove_at",
        "RefreshToken": "remove_rt",
        "IdToken": "remove_idt",
        "Account": "remove_account",
    }[section]
    getattr(cache, method)(entry)
