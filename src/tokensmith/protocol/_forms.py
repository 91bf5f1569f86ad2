"""The body fields every MSAL-style token request starts with (RFC 6749 §4-§6)."""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.protocol.scopes import scope_string

__all__ = ["base_form"]


def base_form(
    grant_type: str,
    *,
    client_id: str,
    scopes: Iterable[str] | None,
    claims: str | None,
    client_info: bool,
) -> dict[str, str]:
    """Return ``client_id``, ``grant_type``, ``client_info=1`` (Entra), ``scope``, ``claims``.

    Empty scopes and claims are left out.
    """
    form = {"client_id": client_id, "grant_type": grant_type}
    if client_info:
        form["client_info"] = "1"
    scope = scope_string(scopes or ())
    if scope:
        form["scope"] = scope
    if claims:
        form["claims"] = claims
    return form
