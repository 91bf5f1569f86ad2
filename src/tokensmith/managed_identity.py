"""MSAL Python's ``msal.managed_identity`` module path: the identity objects, the errors,
``ManagedIdentityClient`` and :func:`get_managed_identity_source` with its sentinels.

The code lives in :mod:`tokensmith.protocol.managed_identity` (requests, answers,
detection) and :mod:`tokensmith.application.managed_identity` (the client).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from tokensmith.protocol.managed_identity.identity import (
    ArcPlatformNotSupportedError,
    ManagedIdentity,
    ManagedIdentityError,
    SystemAssignedManagedIdentity,
    UserAssignedManagedIdentity,
)
from tokensmith.protocol.managed_identity.sources import (
    APP_SERVICE,
    AZURE_ARC,
    CLOUD_SHELL,
    DEFAULT_TO_VM,
    MACHINE_LEARNING,
    SERVICE_FABRIC,
    SourceKind,
    detect,
)

__all__ = [
    "APP_SERVICE",
    "AZURE_ARC",
    "CLOUD_SHELL",
    "DEFAULT_TO_VM",
    "MACHINE_LEARNING",
    "SERVICE_FABRIC",
    "ArcPlatformNotSupportedError",
    "ManagedIdentity",
    "ManagedIdentityClient",
    "ManagedIdentityError",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
    "get_managed_identity_source",
]

if TYPE_CHECKING:
    from tokensmith.application.managed_identity import ManagedIdentityClient


def get_managed_identity_source() -> SourceKind:
    """The likely source of this process's managed identity (one of the sentinels).

    For ``CLOUD_SHELL``, MSAL recommends ``PublicClientApplication(...)
    .acquire_token_interactive(scopes, prompt="none")``; tokensmith's
    ``ManagedIdentityClient`` also asks Cloud Shell's endpoint directly.
    """
    return detect(
        os.environ, platform=sys.platform, exists=os.path.exists, expandvars=os.path.expandvars
    ).kind


def __getattr__(name: str) -> Any:
    if name == "ManagedIdentityClient":
        from tokensmith.application.managed_identity import ManagedIdentityClient

        return ManagedIdentityClient
    raise AttributeError(f"module 'tokensmith.managed_identity' has no attribute {name!r}")
