"""The ``claims`` request parameter (OIDC Core §5.5) and client capabilities.

Entra reads client capabilities (``CP1`` = "can handle claims challenges", for
Continuous Access Evaluation) from ``{"access_token": {"xms_cc": {"values": [...]}}}``
merged into whatever claims request the caller has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["merge_claims"]


def merge_claims(
    claims_challenge: str | None, client_capabilities: Sequence[str] | None
) -> str | None:
    """Merge client capabilities into a claims challenge.

    Args:
        claims_challenge: a JSON object as a string (from a resource's
            ``WWW-Authenticate`` or an error's ``claims``), or None.
        client_capabilities: e.g. ``["CP1"]``; empty or None means none.

    Returns:
        The challenge unchanged when there are no capabilities, else the merged JSON
        (``json.dumps`` spacing, like MSAL); None when there is nothing to send.

    Raises:
        ValueError: the challenge is not a JSON object, or its ``access_token`` member
            is not an object.
    """
    if not client_capabilities:
        return claims_challenge or None
    merged: dict[str, Any] = {}
    if claims_challenge:
        try:
            parsed = json.loads(claims_challenge)
        except (ValueError, RecursionError) as exc:
            raise ValueError("claims_challenge is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise ValueError("claims_challenge must be a JSON object")
        merged = parsed
    section = merged.setdefault("access_token", {})
    if not isinstance(section, dict):
        raise ValueError("claims_challenge's 'access_token' member must be a JSON object")
    section["xms_cc"] = {"values": list(client_capabilities)}
    return json.dumps(merged)
