"""Client credentials grant (RFC 6749 §4.4.2): an app-only token for the client itself.

Scopes are not decorated (``{resource}/.default`` in Entra).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.protocol._forms import base_form

__all__ = ["GRANT_TYPE", "client_credentials_form"]

GRANT_TYPE = "client_credentials"


def client_credentials_form(
    *,
    client_id: str,
    scopes: Iterable[str],
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """Return the token request body; the client authentication is added by the caller's
    :class:`~tokensmith.protocol.client_auth.ClientAuth`."""
    return base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
