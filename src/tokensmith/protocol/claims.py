"""The ``claims`` request parameter (OIDC Core §5.5) and client capabilities.

Entra reads client capabilities (``CP1`` = "can handle claims challenges", for
Continuous Access Evaluation) from ``{"access_token": {"xms_cc": {"values": [...]}}}``
merged into whatever claims request the caller has.

Client-originated claims (MSAL's ``forwarded_client_claims``) are deep-merged into the
same parameter (:func:`merge_claims_objects`); until then they travel in a request's
extra fields under :data:`CLIENT_CLAIMS_FIELD`, a pseudo-field that keys the cache and
is never sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["CLIENT_CLAIMS_FIELD", "merge_claims", "merge_claims_objects", "parse_claims_object"]

CLIENT_CLAIMS_FIELD = "client_claims"
"""Extra-field name of client-originated claims: part of the extended cache key (as in
MSAL), dropped from the request body (their value goes out merged into ``claims``)."""


def parse_claims_object(text: object, what: str = "The claims value") -> dict[str, Any]:
    """Parse a claims request (a JSON object as a string).

    Raises:
        ValueError: not JSON, or JSON that is not an object. The message never
            contains the value (claims may carry sensitive data).
    """
    try:
        parsed = json.loads(text)  # type: ignore[arg-type]
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError(
            f"{what} is not valid JSON. See "
            "https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter."
        ) from exc
    if not isinstance(parsed, dict):
        raise ValueError(
            f"{what} is not a valid JSON object. See "
            "https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter."
        )
    return parsed


def merge_claims_objects(first: str | None, second: str | None) -> str | None:
    """Deep-merge two claims requests (``second`` wins on a conflict that is not two
    objects); either one alone is returned unchanged.

    Raises:
        ValueError: a side is not a JSON object (:func:`parse_claims_object`).
    """
    if not first:
        return second or None
    if not second:
        return first
    return json.dumps(_deep_merge(parse_claims_object(first), parse_claims_object(second)))


def _deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in overlay.items():
        below = merged.get(name)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[name] = _deep_merge(below, value)
        else:
            merged[name] = value
    return merged


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
        merged = parse_claims_object(claims_challenge, "claims_challenge")
    section = merged.setdefault("access_token", {})
    if not isinstance(section, dict):
        raise ValueError("claims_challenge's 'access_token' member must be a JSON object")
    section["xms_cc"] = {"values": list(client_capabilities)}
    return json.dumps(merged)
