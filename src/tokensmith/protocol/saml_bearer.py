"""SAML assertions as authorization grants (RFC 7522 §2.1), and the SAML 1.1 twin
Entra accepts for assertions from a WS-Trust federation server.

``grant_type`` is ``urn:ietf:params:oauth:grant-type:saml2-bearer`` or
``...:saml1_1-bearer`` by the assertion's token type; ``assertion`` is the assertion's
bytes in base64url without padding (RFC 7522 §2.1), as MSAL Python sends it.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith._jwt import b64url_encode
from tokensmith.protocol._forms import base_form
from tokensmith.protocol.wstrust.names import SAML_1_1_TOKEN_TYPES, SAML_2_TOKEN_TYPES

__all__ = ["GRANT_TYPE_SAML1_1", "GRANT_TYPE_SAML2", "grant_type_for", "saml_bearer_form"]

GRANT_TYPE_SAML1_1 = "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
GRANT_TYPE_SAML2 = "urn:ietf:params:oauth:grant-type:saml2-bearer"


def grant_type_for(token_type: str) -> str | None:
    """The grant type for a WS-Trust ``TokenType``, or None for one that is not SAML."""
    if token_type in SAML_1_1_TOKEN_TYPES:
        return GRANT_TYPE_SAML1_1
    if token_type in SAML_2_TOKEN_TYPES:
        return GRANT_TYPE_SAML2
    return None


def saml_bearer_form(
    *,
    client_id: str,
    grant_type: str,
    assertion: bytes,
    scopes: Iterable[str],
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """The token request body (``assertion`` is a secret field)."""
    form = base_form(
        grant_type, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
    form["assertion"] = b64url_encode(assertion)
    return form
