"""Which stored entries a lookup may use: the one rule, applied by every lookup.

``deserialize()`` accepts any JSON object (MSAL does, and unknown sections and fields
must round-trip), so a cache file edited by hand, truncated by another tool or written
by a buggy one can hold entries that would break the code reading them: an
AccessToken without ``secret``, a ``refresh_on`` of ``"true"``, an Account whose
``home_account_id`` is a list. Lookups skip such entries (they stay stored, and
``serialize()`` gives them back untouched); :func:`usable` is the test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import Any, TypeGuard

from tokensmith.cache.schema import CredentialType

__all__ = ["MAX_TIME", "access_token_expiry", "all_usable", "int_field", "usable"]

_CT = CredentialType
MAX_TIME = 32_503_680_000
"""The latest timestamp (epoch seconds, year 3000) an entry may carry."""

_REQUIRED_TEXT: dict[str, tuple[str, ...]] = {
    _CT.REFRESH_TOKEN: ("secret",),
    _CT.ID_TOKEN: ("secret",),
    _CT.ACCOUNT: ("home_account_id",),
}
_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    _CT.REFRESH_TOKEN: ("environment", "target", "home_account_id"),
    _CT.ID_TOKEN: ("environment",),
    _CT.ACCOUNT: ("environment", "username", "authority_type"),
    _CT.APP_METADATA: ("environment", "family_id"),
}
"""Per section, the fields a lookup uses as text (splits, lower-cases, hashes or hands
back): strings (or null) whenever present. Fields a lookup only compares with ``==``
need no check: a value of another type never equals the string asked for.
AccessTokens, the entries of every cache hit, have their rule written out in
:func:`access_token_expiry` instead."""
_CREDENTIALS = frozenset({_CT.ACCESS_TOKEN, _CT.REFRESH_TOKEN, _CT.ID_TOKEN})
"""Sections whose entries carry their ``credential_type`` (MSAL writes it)."""


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
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def usable(entry: object, credential_type: str) -> TypeGuard[dict[str, Any]]:
    """True when ``entry`` has every field a lookup of ``credential_type`` reads, with
    the right type: required strings present (a secret non-empty, and a refresh
    token's encodable, as it is sent), optional strings strings or null, timestamps
    decimal integers in range, ``credential_type`` the section's (required for tokens,
    checked when present elsewhere). Every lookup runs it on every candidate, so it
    only looks at types (encoding a string costs more than the rest together)."""
    if credential_type == _CT.ACCESS_TOKEN:
        return access_token_expiry(entry) is not None
    if not isinstance(entry, dict):
        return False
    if credential_type in _CREDENTIALS:
        if entry.get("credential_type") != credential_type:
            return False
    elif "credential_type" in entry and entry["credential_type"] != credential_type:
        return False
    required = _REQUIRED_TEXT.get(credential_type)
    if required is not None:
        for name in required:
            if not isinstance(entry.get(name), str):
                return False
        if credential_type in _CREDENTIALS and not entry["secret"]:
            return False
        if credential_type == _CT.REFRESH_TOKEN and not _text(entry["secret"]):
            return False
    for name in _TEXT_FIELDS.get(credential_type, ()):
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            return False
    return True


def access_token_expiry(entry: object) -> int | None:
    """The ``expires_on`` of ``entry`` when it is a usable AccessToken (the rule
    :func:`usable` applies to that section), else None: its ``credential_type``; a
    non-empty ``secret``; ``environment``, ``target`` and ``token_type`` strings or
    null; ``expires_on`` a timestamp, and ``refresh_on`` one when present (other
    timestamps are read through :func:`int_field`, which answers None for a bad value).
    Written out, and answering the expiry too: every cache hit runs it once."""
    if not isinstance(entry, dict) or entry.get("credential_type") != _CT.ACCESS_TOKEN:
        return None
    secret, env, target, token_type = (
        entry.get("secret"),
        entry.get("environment"),
        entry.get("target"),
        entry.get("token_type"),
    )
    if not (
        isinstance(secret, str)
        and secret != ""
        and (env is None or isinstance(env, str))
        and (target is None or isinstance(target, str))
        and (token_type is None or isinstance(token_type, str))
        and ("refresh_on" not in entry or int_field(entry, "refresh_on") is not None)
    ):
        return None
    return int_field(entry, "expires_on")


_ABSENT = object()
_OPTIONAL_TEXT = frozenset({str, type(None)})
_BULK = frozenset({_CT.ACCOUNT, _CT.ID_TOKEN, _CT.APP_METADATA})
"""Sections whose rule is about types only, so a whole section is tested field by
field at C speed (refresh tokens' secrets must encode, access tokens carry timestamps:
those are tested one by one)."""


def all_usable(entries: Sequence[object], credential_type: str) -> bool:
    """True if every one of ``entries`` passes :func:`usable`, tested in bulk: one
    C-level pass per field instead of a Python call per entry (what a scan of a whole
    section after a load costs). False only means "test them one by one": an odd entry
    somewhere, a ``str`` subclass, or a section tested one by one anyway."""
    if credential_type not in _BULK:
        return False
    if not entries:
        return True
    if set(map(type, entries)) != {dict}:
        return False
    get: Callable[..., object] = dict.get
    count = len(entries)
    kinds = list(map(get, entries, repeat("credential_type", count), repeat(_ABSENT, count)))
    matching = kinds.count(credential_type)  # (a list: a value may be unhashable)
    if credential_type not in _CREDENTIALS:
        matching += kinds.count(_ABSENT)
    if matching != count:
        return False
    for name in _REQUIRED_TEXT.get(credential_type, ()):
        if set(map(type, map(get, entries, repeat(name, count)))) != {str}:
            return False
    if credential_type in _CREDENTIALS and not all(map(get, entries, repeat("secret", count))):
        return False
    return all(
        set(map(type, map(get, entries, repeat(name, count)))) <= _OPTIONAL_TEXT
        for name in _TEXT_FIELDS.get(credential_type, ())
    )
