"""On-behalf-of: the JWT bearer grant (RFC 7523 §2.1) with Entra's
``requested_token_use=on_behalf_of``; a middle-tier API trades the user's incoming
access token for one to a downstream API.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.protocol._forms import base_form

__all__ = ["GRANT_TYPE", "on_behalf_of_form"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def on_behalf_of_form(
    *,
    client_id: str,
    assertion: str,
    scopes: Iterable[str],
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """Return the token request body (``assertion`` is a secret field).

    Raises:
        ValueError: ``assertion`` is not a non-empty string.
    """
    if not isinstance(assertion, str) or not assertion:
        raise ValueError("the user assertion must be a non-empty string")
    form = base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
    form["requested_token_use"] = "on_behalf_of"
    form["assertion"] = assertion
    return form
