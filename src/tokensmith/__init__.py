"""tokensmith: OAuth 2.0 / OpenID Connect tokens from Microsoft Entra ID and any OpenID
provider, with MSAL Python's public API and token-cache format.

``import tokensmith as msal`` runs application code written for MSAL Python. Names are
loaded on first use, so importing the package costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tokensmith._lazy import lazy_names
from tokensmith._version import __version__

_EXPORTS = {
    "ManagedIdentityClient": "tokensmith.application.managed_identity",
    "SystemAssignedManagedIdentity": "tokensmith.protocol.managed_identity.identity",
    "UserAssignedManagedIdentity": "tokensmith.protocol.managed_identity.identity",
    "ManagedIdentityError": "tokensmith.protocol.managed_identity.identity",
    "ArcPlatformNotSupportedError": "tokensmith.protocol.managed_identity.identity",
    "ClientApplication": "tokensmith.application.client_application",
    "PublicClientApplication": "tokensmith.application.public",
    "ConfidentialClientApplication": "tokensmith.application.confidential",
    "TokenResult": "tokensmith.engine.results",
    "Prompt": "tokensmith.application.extras",
    "AutoRefresher": "tokensmith.application.extras",
    "PopAuthScheme": "tokensmith.application.extras",
    "TokenCache": "tokensmith.cache",
    "SerializableTokenCache": "tokensmith.cache",
    "IdTokenError": "tokensmith.errors",
    "BrowserInteractionTimeoutError": "tokensmith.errors",
    "TokensmithError": "tokensmith.errors",
    "DPoPKey": "tokensmith.dpop",
}

__all__ = [
    "ArcPlatformNotSupportedError",
    "AutoRefresher",
    "BrowserInteractionTimeoutError",
    "ClientApplication",
    "ConfidentialClientApplication",
    "DPoPKey",
    "IdTokenError",
    "ManagedIdentityClient",
    "ManagedIdentityError",
    "PopAuthScheme",
    "Prompt",
    "PublicClientApplication",
    "SerializableTokenCache",
    "SystemAssignedManagedIdentity",
    "TokenCache",
    "TokenResult",
    "TokensmithError",
    "UserAssignedManagedIdentity",
    "__version__",
]

if TYPE_CHECKING:
    from tokensmith.application.client_application import ClientApplication
    from tokensmith.application.confidential import ConfidentialClientApplication
    from tokensmith.application.extras import AutoRefresher, PopAuthScheme, Prompt
    from tokensmith.application.managed_identity import ManagedIdentityClient
    from tokensmith.application.public import PublicClientApplication
    from tokensmith.cache import SerializableTokenCache, TokenCache
    from tokensmith.dpop import DPoPKey
    from tokensmith.engine.results import TokenResult
    from tokensmith.errors import BrowserInteractionTimeoutError, IdTokenError, TokensmithError
    from tokensmith.protocol.managed_identity.identity import (
        ArcPlatformNotSupportedError,
        ManagedIdentityError,
        SystemAssignedManagedIdentity,
        UserAssignedManagedIdentity,
    )


_SUBMODULES = frozenset(
    {"application", "authority", "exceptions", "managed_identity", "token_cache"}
)
"""MSAL's modules that application code reaches as ``msal.<name>`` after ``import msal``
(MSAL's package imports them eagerly); here they load on first use."""


_export = lazy_names(__name__, _EXPORTS, globals())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"tokensmith.{name}")
    return _export(name)


def __dir__() -> list[str]:
    return __all__
