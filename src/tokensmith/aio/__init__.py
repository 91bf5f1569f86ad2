"""tokensmith for asyncio: MSAL's applications with the same methods and parameters as
``async def``.

    import tokensmith.aio as msal_aio

    async with msal_aio.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=authority
    ) as app:
        result = await app.acquire_token_for_client(["api://x/.default"])

The applications run the very flows the sync ones run (tokensmith.engine), over the
asyncio driver and ``httpx.AsyncClient`` (or any
:class:`~tokensmith.transport.AsyncTransport`, or an MSAL-style ``http_client`` whose
``get``/``post`` are coroutines; a sync one runs in a worker thread). They can share
one token cache with sync applications in the same process, and concurrent
coroutines, threads, or both, asking for the same missing token send one request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith._lazy import lazy_names

_EXPORTS = {
    "ClientApplication": "tokensmith.aio.client_application",
    "PublicClientApplication": "tokensmith.aio.public",
    "ConfidentialClientApplication": "tokensmith.aio.confidential",
    "ManagedIdentityClient": "tokensmith.aio.managed_identity",
    "TokenCache": "tokensmith.cache",
    "SerializableTokenCache": "tokensmith.cache",
    "TokenResult": "tokensmith.engine.results",
}

__all__ = [
    "ClientApplication",
    "ConfidentialClientApplication",
    "ManagedIdentityClient",
    "PublicClientApplication",
    "SerializableTokenCache",
    "TokenCache",
    "TokenResult",
]

if TYPE_CHECKING:
    from tokensmith.aio.client_application import ClientApplication
    from tokensmith.aio.confidential import ConfidentialClientApplication
    from tokensmith.aio.managed_identity import ManagedIdentityClient
    from tokensmith.aio.public import PublicClientApplication
    from tokensmith.cache import SerializableTokenCache, TokenCache
    from tokensmith.engine.results import TokenResult


__getattr__ = lazy_names(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
