"""Which stored entries a lookup may use: the one rule, applied by every lookup.

``deserialize()`` accepts any JSON object (MSAL does, and unknown sections and fields
must round-trip), so a cache file edited by hand, truncated by another tool or written
by a buggy one can hold entries that would break the code reading them: an
AccessToken without ``secret``, a ``refresh_on`` of ``"true"``, an Account whose
``home_account_id`` is a list. Lookups skip such entries (they stay stored, and
``serialize()`` gives them back untouched); :func:`usable` is the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from tokensmith.cache.schema import CredentialType

__all__ = ["MAX_TIME", "int_field", "usable"]

_CT = CredentialType
MAX_TIME = 32_503_680_000
"""The latest timestamp (epoch seconds, year 3000) an entry may carry."""

_REQUIRED_TEXT: dict[str, tuple[str, ...]] = {
    _CT.ACCESS_TOKEN: ("secret",),
    _CT.REFRESH_TOKEN: ("secret",),
    _CT.ID_TOKEN: ("secret",),
    _CT.ACCOUNT: ("home_account_id",),
}
_OPTIONAL_TEXT = (
    "home_account_id",
    "environment",
    "client_id",
    "authority_type",
    "realm",
    "target",
    "family_id",
    "username",
    "local_account_id",
    "token_type",
    "key_id",
    "ext_cache_key",
    "user_assertion_hash",
    "account_source",
)
"""Fields that are strings (or null) whenever present, in every section."""
_CREDENTIALS = frozenset({_CT.ACCESS_TOKEN, _CT.REFRESH_TOKEN, _CT.ID_TOKEN})
"""Sections whose entries carry their ``credential_type`` (MSAL writes it)."""
_REQUIRED_TIMES = {_CT.ACCESS_TOKEN: ("expires_on",)}
_OPTIONAL_TIMES = ("cached_at", "extended_expires_on", "refresh_on", "last_modification_time")


def int_field(entry: Mapping[str, Any], name: str) -> int | None:
    """An integer timestamp field (stored as a string; ints accepted), or None when it
    is absent, not a decimal integer, or outside ``[0, MAX_TIME]``."""
    value = entry.get(name)
    if type(value) is str:  # the stored form: ASCII decimal digits (a hot path)
        if not (0 < len(value) <= 12 and value.isdigit() and value.isascii()):
            return None
        number = int(value)
    elif type(value) is int:  # not bool, not other subclasses
        number = value
    else:
        return None
    return number if number <= MAX_TIME else None


def _text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def usable(entry: object, credential_type: str) -> TypeGuard[dict[str, Any]]:
    """True when ``entry`` has every field a lookup of ``credential_type`` reads, with
    the right type: required strings present (a secret non-empty), optional strings
    strings or null, timestamps decimal integers in range, ``credential_type`` the
    section's (required for tokens, checked when present elsewhere)."""
    if not isinstance(entry, dict):
        return False
    if credential_type in _CREDENTIALS:
        if entry.get("credential_type") != credential_type:
            return False
    elif entry.get("credential_type", credential_type) != credential_type:
        return False
    for name in _REQUIRED_TEXT.get(credential_type, ()):
        if not _text(entry.get(name)):
            return False
    if "secret" in _REQUIRED_TEXT.get(credential_type, ()) and not entry["secret"]:
        return False
    for name in _OPTIONAL_TEXT:
        value = entry.get(name)
        if value is not None and not _text(value):
            return False
    for name in _REQUIRED_TIMES.get(credential_type, ()):
        if int_field(entry, name) is None:
            return False
    return all(name not in entry or int_field(entry, name) is not None for name in _OPTIONAL_TIMES)
