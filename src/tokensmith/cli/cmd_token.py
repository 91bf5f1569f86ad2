"""``tokensmith token``: print an access token (like ``az account get-access-token``,
``gcloud auth print-access-token``, ``gh auth token``).

A public client answers from the cache, refreshing with the cached refresh token when
needed; with no signed-in account it fails with status 4 ("run tokensmith login").
With a client secret (``TOKENSMITH_CLIENT_SECRET``) or ``--certificate`` it is a
confidential client and gets an app-only token (client credentials), cached too.
Plain output is the token alone, so ``$(tokensmith token)`` works; ``--json`` adds its
expiry and source (``cache`` or ``identity_provider``).
"""

from __future__ import annotations

import argparse
from typing import Any

from tokensmith.cli import exit_codes, settings
from tokensmith.cli.output import Output
from tokensmith.cli.run import CommandFailed

__all__ = ["HELP", "configure", "run"]

HELP = "print an access token (from the cache when it is still good)"
_LOGIN_HINT = "sign in first: tokensmith login (same --profile / --client-id / --authority)"


def configure(parser: argparse.ArgumentParser) -> None:
    """``token``'s arguments."""
    settings.add_arguments(parser)
    parser.add_argument("--force-refresh", action="store_true", help="skip the cached access token")


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the token (or the JSON summary)."""
    from tokensmith.cli.session import check_result, open_session, token_summary

    resolved = settings.resolve(args)
    if not resolved.scopes:
        raise CommandFailed(
            "usage",
            "which token? no scope given",
            "pass --scope SCOPE or --resource URI (or set TOKENSMITH_SCOPE)",
            exit_codes.USAGE,
        )
    session = open_session(resolved)
    scopes = list(resolved.scopes)
    account: Any = None
    if resolved.confidential:
        result = session.app.acquire_token_for_client(scopes)
    else:
        account = session.account()
        if account is None:
            raise CommandFailed("not_signed_in", "no account is signed in", _LOGIN_HINT, 4)
        result = session.app.acquire_token_silent_with_error(
            scopes, account, force_refresh=args.force_refresh
        )
    checked = check_result(result, signed_in_hint=_LOGIN_HINT)
    session.save()
    summary = token_summary(checked, resolved, account)
    out.result(summary, lambda: out.line(str(summary["access_token"])))
    return exit_codes.OK
