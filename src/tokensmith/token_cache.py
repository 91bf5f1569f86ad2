"""MSAL Python's ``msal.token_cache`` module path: the two cache classes (the code
lives in :mod:`tokensmith.cache`)."""

from __future__ import annotations

from tokensmith.cache import SerializableTokenCache, TokenCache

__all__ = ["SerializableTokenCache", "TokenCache"]
