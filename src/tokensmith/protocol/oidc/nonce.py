"""The ``nonce`` of an authentication request (OIDC Core §3.1.2.1, §15.5.2).

MSAL Python keeps a random value and sends its SHA-256 hex digest as ``nonce``; the id
token must then carry that hex digest verbatim.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_nonce", "nonce_hash"]


def nonce_hash(nonce: str) -> str:
    """Return the value sent on the wire for ``nonce``: its SHA-256, lower-case hex."""
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def new_nonce() -> str:
    """Return a fresh random nonce (keep it; send :func:`nonce_hash` of it)."""
    return secrets.token_urlsafe(16)
