"""Refresh token grant (RFC 6749 §6): a new access token (and usually a new refresh token)."""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.protocol._forms import base_form

__all__ = ["GRANT_TYPE", "refresh_token_form"]

GRANT_TYPE = "refresh_token"


def refresh_token_form(
    *,
    client_id: str,
    refresh_token: str,
    scopes: Iterable[str],
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """Return the token request body (``refresh_token`` is a secret field).

    Raises:
        ValueError: ``refresh_token`` is empty.
    """
    if not refresh_token or not isinstance(refresh_token, str):
        raise ValueError("refresh_token must be a non-empty string")
    form = base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
    form["refresh_token"] = refresh_token
    return form
