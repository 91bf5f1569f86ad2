"""DPoP at the token endpoint and at resources, client side (RFC 9449 §5, §7, §8, §9).

:func:`dpop_exchange` sends one request with a fresh proof and, when the server
answers that it wants a nonce (``400 use_dpop_nonce`` from an authorization server,
``401`` with ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` from a resource) and
gave a newer one in ``DPoP-Nonce``, sends it once more with that nonce. Every
``DPoP-Nonce`` a response carries is kept, per origin, for the next proof.
:func:`require_bound` refuses a token response that is not ``token_type=DPoP`` (§5:
a client that requires binding must not use a Bearer token it got instead).
Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tokensmith.protocol._wire import exchange, json_object
from tokensmith.protocol.dpop import DPoPKey, NonceStore
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse, header

__all__ = [
    "DPoPBinding",
    "dpop_exchange",
    "needs_fresh_nonce",
    "require_bound",
    "resource_wants_nonce",
]

USE_DPOP_NONCE = "use_dpop_nonce"
_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*"?([A-Za-z_]+)"?', re.ASCII)


@dataclass(eq=False)
class DPoPBinding:
    """One client's DPoP key and the nonces its servers gave (shared by its calls).

    Attributes:
        key: the key every proof is signed with.
        nonces: the newest ``DPoP-Nonce`` per origin.
    """

    key: DPoPKey
    nonces: NonceStore = field(default_factory=NonceStore)

    def sign(
        self, request: HttpRequest, now: float, access_token: str | None = None
    ) -> HttpRequest:
        """``request`` with a fresh ``DPoP`` proof header (and the origin's nonce)."""
        proof = self.key.proof(
            request.method,
            request.url,
            now=now,
            nonce=self.nonces.get(request.url),
            access_token=access_token,
        )
        return request._replace(headers={**request.headers, "DPoP": proof})


def needs_fresh_nonce(response: HttpResponse) -> bool:
    """True when ``response`` is a server's "use a nonce" answer (RFC 9449 §8, §9)."""
    if response.status_code == 400:
        body, _ = json_object(response.text)
        return body is not None and body.get("error") == USE_DPOP_NONCE
    return resource_wants_nonce(response.status_code, response.headers)


def resource_wants_nonce(status_code: int, headers: Mapping[str, str]) -> bool:
    """True for a resource's ``401`` with ``WWW-Authenticate: DPoP
    error="use_dpop_nonce"`` (RFC 9449 §9)."""
    if status_code != 401:
        return False
    challenge = header(headers, "www-authenticate") or ""
    if not challenge.lstrip().lower().startswith("dpop"):
        return False
    found = _CHALLENGE_ERROR.search(challenge)
    return found is not None and found.group(1) == USE_DPOP_NONCE


def dpop_exchange(
    request: HttpRequest,
    binding: DPoPBinding,
    now: float,
    access_token: str | None = None,
) -> Flow[HttpResponse]:
    """Send ``request`` with a proof; retry once when the server asks for a newer nonce.

    Args:
        request: the request, without a ``DPoP`` header.
        binding: the key and the nonces.
        now: epoch seconds (the proofs' ``iat``).
        access_token: the token sent with the request to a resource (adds ``ath``).
    """
    used = binding.nonces.get(request.url)
    response = yield from exchange(binding.sign(request, now, access_token))
    binding.nonces.update(request.url, response.headers)
    if needs_fresh_nonce(response) and binding.nonces.get(request.url) not in (None, used):
        response = yield from exchange(binding.sign(request, now, access_token))
        binding.nonces.update(request.url, response.headers)
    return response


def require_bound(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` if it is an error or a DPoP-bound token; else an ``invalid_response``.

    ``token_type`` is compared without case (RFC 6749 §7.1).
    """
    if "access_token" not in result or "error" in result:
        return result
    token_type = result.get("token_type")
    if isinstance(token_type, str) and token_type.lower() == "dpop":
        return result
    return {
        "error": "invalid_response",
        "error_description": (
            "The token endpoint answered with a token that is not DPoP-bound "
            f"(token_type {str(token_type)[:20]!r}) where the application requires DPoP; "
            "the provider may not support DPoP for this client."
        ),
    }
