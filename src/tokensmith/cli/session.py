"""One command's application: settings → a tokensmith app over the CLI's token cache.

The commands never build an application themselves; they open a :class:`Session`,
use ``session.app`` and call :meth:`Session.save` (the cache file is written only
when a call changed it). Result dicts with an ``error`` become
:class:`~tokensmith.cli.run.CommandFailed` here, with the exit status of their kind.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.cli import exit_codes
from tokensmith.cli.run import CommandFailed
from tokensmith.cli.settings import Settings
from tokensmith.cli.store import CacheFile, open_token_cache

__all__ = ["NOT_SIGNED_IN_ERRORS", "Session", "check_result", "open_session", "token_summary"]

NOT_SIGNED_IN_ERRORS = frozenset({"interaction_required", "invalid_grant", "login_required"})
_NO_CLIENT = (
    "no client id: pass --client-id, set TOKENSMITH_CLIENT_ID, or use a profile "
    "(--profile dev-idp for the local dev IdP)"
)


@dataclass
class Session:
    """The application, its cache file and the settings it was built from."""

    settings: Settings
    cache_file: CacheFile
    app: Any

    def save(self) -> None:
        """Write the token cache back if it changed."""
        self.cache_file.save()

    def account(self) -> Mapping[str, Any] | None:
        """The cached account to use: ``--username``'s, else the only one.

        Raises:
            CommandFailed: several accounts and no ``--username`` to choose.
        """
        accounts = self.app.get_accounts(username=self.settings.username)
        if len(accounts) > 1:
            names = ", ".join(a.get("username", "?") for a in accounts)
            raise CommandFailed(
                "usage",
                f"{len(accounts)} accounts are signed in ({names})",
                "choose one with --username",
                exit_codes.USAGE,
            )
        return accounts[0] if accounts else None


def open_session(settings: Settings, *, public_only: bool = False) -> Session:
    """Build the application ``settings`` describe over the CLI's token cache.

    Raises:
        CommandFailed: no client id (status 2).
        ConfigurationError: from the library, for a bad authority or credential.
    """
    import tokensmith

    if not settings.client_id:
        raise CommandFailed("usage", _NO_CLIENT, None, exit_codes.USAGE)
    cache_file = open_token_cache(settings.cache_path)
    common: dict[str, Any] = {
        "authority": settings.authority,
        "verify": settings.verify,
        "token_cache": cache_file.cache,
    }
    if settings.confidential and not public_only:
        app: Any = tokensmith.ConfidentialClientApplication(
            settings.client_id, client_credential=_credential(settings), **common
        )
    else:
        app = tokensmith.PublicClientApplication(settings.client_id, **common)
    return Session(settings, cache_file, app)


def _credential(settings: Settings) -> Any:
    if settings.certificate:
        from tokensmith.certificates import load_certificate

        return load_certificate(settings.certificate, settings.certificate_password)
    return settings.client_secret


def check_result(result: Mapping[str, Any] | None, *, signed_in_hint: str) -> Mapping[str, Any]:
    """The result if it holds a token; else a :class:`CommandFailed` of its kind."""
    if result is None:
        raise CommandFailed("not_signed_in", "no cached token or account fits", signed_in_hint, 4)
    if "error" not in result:
        return result
    error = str(result.get("error"))
    description = str(result.get("error_description") or "").split("\n")[0].strip()
    message = f"{error}: {description}" if description else error
    if error in NOT_SIGNED_IN_ERRORS:
        raise CommandFailed("not_signed_in", message, signed_in_hint, exit_codes.NOT_SIGNED_IN)
    raise CommandFailed(error, message, None, exit_codes.FAILED)


def token_summary(
    result: Mapping[str, Any], settings: Settings, account: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What ``token --json`` and ``login --json`` print about a token result."""
    now = time.time()
    expires_in = int(result.get("expires_in") or 0)
    expires_on = int(now) + expires_in
    claims = result.get("id_token_claims") or {}
    return {
        "access_token": result.get("access_token"),
        "token_type": result.get("token_type", "Bearer"),
        "expires_in": expires_in,
        "expires_on": expires_on,
        "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_on)),
        "source": result.get("token_source"),
        "scope": result.get("scope") or " ".join(settings.scopes),
        "authority": settings.authority,
        "client_id": settings.client_id,
        "username": (account or {}).get("username")
        or (claims.get("preferred_username") if isinstance(claims, Mapping) else None),
    }
