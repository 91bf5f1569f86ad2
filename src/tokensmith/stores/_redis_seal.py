"""Encryption at rest of :class:`~tokensmith.stores.RedisStore`'s values: AES-GCM, a
fresh 12-byte nonce before each sealed value, and associated data naming where the
value belongs (the store's ``bound_to``: hash name after the prefix and field), so a
value does not open once moved to another field or hash. With several keys the first
seals and any of them opens, so a key can be rotated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tokensmith.errors import ConfigurationError

__all__ = ["ciphers_of", "opened", "seal"]

_NONCE = 12


def ciphers_of(keys: bytes | Sequence[bytes] | None) -> tuple[Any, ...]:
    """The AES-GCM of ``encryption_key`` (one key, or several with the sealing one
    first); none without a key."""
    if keys is None:
        return ()
    listed = [keys] if isinstance(keys, bytes) else keys
    if isinstance(keys, (str, bytearray, memoryview)) or not isinstance(listed, Sequence):
        raise ConfigurationError("encryption_key must be bytes, or a sequence of bytes keys")
    listed = list(listed)
    if not listed or not all(isinstance(k, bytes) and len(k) in (16, 24, 32) for k in listed):
        raise ConfigurationError("encryption_key must be 16, 24 or 32 bytes (each key)")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return tuple(AESGCM(key) for key in listed)


def seal(ciphers: Sequence[Any], bound_to: bytes, entry: Mapping[str, Any]) -> bytes:
    """The stored value of ``entry``: its JSON, sealed by the first cipher with
    ``bound_to`` as associated data (plain JSON without ciphers)."""
    body = json.dumps(entry, separators=(",", ":")).encode()
    if not ciphers:
        return body
    nonce = os.urandom(_NONCE)
    sealed: bytes = ciphers[0].encrypt(nonce, body, bound_to)
    return nonce + sealed


def opened(ciphers: Sequence[Any], bound_to: bytes, raw: bytes) -> dict[str, Any] | None:
    """The entry a stored value holds; None if it holds none (a wrong or retired key, a
    value moved from elsewhere, written unencrypted, or damaged)."""
    if ciphers:
        raw = _decrypted(ciphers, bound_to, raw)
    try:
        entry = json.loads(raw)
    except Exception:  # a value written without encryption, damage
        return None
    return entry if isinstance(entry, dict) else None


def _decrypted(ciphers: Sequence[Any], bound_to: bytes, raw: bytes) -> bytes:
    """``raw`` opened by the first cipher that can (b"" when none can)."""
    nonce, sealed = raw[:_NONCE], raw[_NONCE:]
    for cipher in ciphers:
        try:
            opened_: bytes = cipher.decrypt(nonce, sealed, bound_to)
        except Exception:  # cryptography's InvalidTag; a nonce too short: ValueError
            continue
        return opened_
    return b""
