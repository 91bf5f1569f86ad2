"""``encrypted_store``: the operating system's encrypted store, as msal-extensions'
``build_encrypted_persistence`` picks it (DPAPI, Keychain, Secret Service)."""

from __future__ import annotations

import os
import sys

from tokensmith.stores.lockfile import LOCK_TIMEOUT_S
from tokensmith.stores.snapshot import SnapshotStoreBase

__all__ = ["encrypted_store"]


def encrypted_store(
    location: str | os.PathLike[str],
    *,
    allow_unencrypted: bool = False,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> SnapshotStoreBase:
    """The platform's encrypted snapshot store at ``location``, waiting up to
    ``lock_timeout`` seconds for its lock file.

    Windows: :class:`~tokensmith.stores.dpapi.DpapiStore`; macOS:
    :class:`~tokensmith.stores.keychain.KeychainStore`; Linux and others:
    :class:`~tokensmith.stores.secretservice.SecretServiceStore`.

    Raises:
        StoreUnavailableError: no encryption here and ``allow_unencrypted`` is false
            (with it, Linux without a Secret Service falls back to a plain 0600 file).
        ConfigurationError: ``lock_timeout`` is not a number of seconds (0 to 2,000,000).
    """
    if sys.platform.startswith("win"):
        from tokensmith.stores.dpapi import DpapiStore

        return DpapiStore(location, lock_timeout=lock_timeout)
    if sys.platform.startswith("darwin"):
        from tokensmith.stores.keychain import KeychainStore

        return KeychainStore(location, lock_timeout=lock_timeout)
    from tokensmith.stores.secretservice import SecretServiceStore

    return SecretServiceStore(
        location, allow_unencrypted=allow_unencrypted, lock_timeout=lock_timeout
    )
