"""Resource owner password credentials grant (RFC 6749 §4.3.2). Deprecated by OAuth 2.1;
kept for MSAL's ``acquire_token_by_username_password``.

Entra routes these requests by the header ``X-AnchorMailbox: upn:<username>``
(:func:`tokensmith.entra.headers.anchor_for_username`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.protocol._forms import base_form

__all__ = ["GRANT_TYPE", "password_form"]

GRANT_TYPE = "password"


def password_form(
    *,
    client_id: str,
    username: str,
    password: str,
    scopes: Iterable[str],
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """Return the token request body (``username`` and ``password`` are secret fields).

    Raises:
        ValueError: ``username`` or ``password`` is not a non-empty string.
    """
    for name, value in (("username", username), ("password", password)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    form = base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
    form["username"] = username
    form["password"] = password
    return form
