"""Proof Key for Code Exchange (RFC 7636 §4.1-§4.2), ``S256`` method.

The verifier is 43 characters of the unreserved set ``[A-Za-z0-9-._~]`` (RFC 7636
§4.1, what MSAL Python sends); the challenge is ``BASE64URL(SHA256(ASCII(verifier)))``
without padding (§4.2). Appendix B's vector is in the tests.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from tokensmith._jwt import b64url_encode

__all__ = ["Pkce", "code_challenge", "new_code_verifier", "new_pkce"]

_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_MIN, _MAX = 43, 128


def new_code_verifier(length: int = _MIN) -> str:
    """Return a random verifier of ``length`` (43-128) unreserved characters.

    Raises:
        ValueError: ``length`` is outside 43-128.
    """
    if not _MIN <= length <= _MAX:
        raise ValueError(f"a PKCE code verifier has {_MIN} to {_MAX} characters")
    return "".join(secrets.choice(_UNRESERVED) for _ in range(length))


def code_challenge(verifier: str) -> str:
    """Return the ``S256`` challenge of ``verifier``."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class Pkce:
    """A verifier with its challenge. The verifier is a secret: it is not in the repr."""

    code_verifier: str
    code_challenge: str
    code_challenge_method: str = "S256"

    def __repr__(self) -> str:
        return f"Pkce(code_challenge={self.code_challenge!r}, method={self.code_challenge_method})"


def new_pkce() -> Pkce:
    """Return a fresh verifier and its ``S256`` challenge."""
    verifier = new_code_verifier()
    return Pkce(verifier, code_challenge(verifier))
