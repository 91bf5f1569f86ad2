"""The token cache: MSAL's unified JSON schema, indexed for O(1) lookups.

Modules: :mod:`~tokensmith.cache.schema` (credential types, key formats),
:mod:`~tokensmith.cache.events` (a token response to cache entries),
:mod:`~tokensmith.cache.index` (secondary indexes), :mod:`~tokensmith.cache.search`
(MSAL's ``search()`` rules), :mod:`~tokensmith.cache.lookups` and
:mod:`~tokensmith.cache.accounts` (typed lookups for the façade),
:mod:`~tokensmith.cache.token_cache` (the public classes) and
the single flight of :mod:`tokensmith.concurrency`.
"""

from __future__ import annotations

from tokensmith.cache.token_cache import SerializableTokenCache, TokenCache
from tokensmith.concurrency import SingleFlight

__all__ = ["SerializableTokenCache", "SingleFlight", "TokenCache"]
