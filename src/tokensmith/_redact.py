"""The one place that decides what may be logged.

Use :func:`redact_mapping` for request bodies and event dicts before they reach a log
line, and :func:`mask` for a single secret. Reprs of objects that hold secrets call
these too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["SECRET_FIELDS", "logger", "mask", "redact_mapping"]

logger = logging.getLogger("tokensmith")
logger.addHandler(logging.NullHandler())

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "assertion",
        "client_assertion",
        "client_claims",
        "client_secret",
        "code",
        "code_verifier",
        "device_code",
        "id_token",
        "password",
        "refresh_token",
        "secret",
        "user_federated_identity_credential",
        "claims",
        "username",
        "nonce",
        "client_info",
        "authorization",
        "private_key",
        "passphrase",
    }
)
"""Field names whose values never reach logs, reprs or error messages."""


def mask(value: object) -> str:
    """Return a placeholder that tells a secret was present without showing it."""
    if value is None or value == "":
        return repr(value)
    return "***"


def redact_mapping(
    data: Mapping[str, Any] | None, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Return a copy of ``data`` with every secret field masked (recursively)."""
    if not data:
        return {}
    hidden = SECRET_FIELDS | extra
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.lower() in hidden:
            out[key] = mask(value)
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value, extra)
        else:
            out[key] = value
    return out
