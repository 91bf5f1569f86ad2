"""DPoP (RFC 9449) for applications and APIs: keys, resource calls, proof checks.

* :class:`DPoPKey`: the key an application proves possession of (``dpop=`` on the
  applications takes one, or ``True`` for a key tokensmith makes and keeps in the
  token cache).
* :class:`DPoPAuth` (``httpx.Auth``, sync and async clients) and
  :class:`DPoPRequestsAuth` (``requests``): call a resource with ``Authorization:
  DPoP <token>`` and a proof carrying ``ath``; a ``use_dpop_nonce`` challenge is
  answered with one retry.
* :class:`DPoPVerifier`: the resource side, the checks of RFC 9449 §4.3.

``httpx`` and ``requests`` are imported only when their class is used. See
docs/dpop.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tokensmith.protocol.dpop import DPoPKey, NonceStore
from tokensmith.protocol.dpop_verify import (
    DPoPProofError,
    DPoPVerifier,
    ReplayCache,
    VerifiedProof,
)

if TYPE_CHECKING:
    from tokensmith.dpop.httpx_auth import DPoPAuth
    from tokensmith.dpop.requests_auth import DPoPRequestsAuth

__all__ = [
    "DPoPAuth",
    "DPoPKey",
    "DPoPProofError",
    "DPoPRequestsAuth",
    "DPoPVerifier",
    "NonceStore",
    "ReplayCache",
    "VerifiedProof",
]

_LAZY = {
    "DPoPAuth": "tokensmith.dpop.httpx_auth",
    "DPoPRequestsAuth": "tokensmith.dpop.requests_auth",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokensmith.dpop' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
