"""The state of a cached access token, decided in one place (google-auth's model).

===============  ===============================================  ==================
state            when                                             what the flow does
===============  ===============================================  ==================
``FRESH``        five minutes or more left, ``refresh_on`` not    serve it
                 passed
``REFRESH_DUE``  usable, but ``refresh_on`` has passed            refresh; serve it
                                                                  if that fails
``EXPIRING``     less than five minutes left (MSAL's rule)        refresh
``EXPIRED``      past ``expires_on``                              refresh
``ABSENT``       nothing cached for the request                   obtain one
===============  ===============================================  ==================
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from tokensmith.cache.validity import int_field

__all__ = ["REFRESH_REASONS", "USABLE_SECONDS", "TokenState", "assess", "token_state"]

USABLE_SECONDS = 300
"""An access token with less than this left is not served (MSAL's five-minute rule)."""


class TokenState(enum.Enum):
    """See the module doc."""

    FRESH = "fresh"
    REFRESH_DUE = "refresh_due"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    ABSENT = "absent"


FORCED = 1
"""MSAL's telemetry refresh reason of a call that bypassed the cache."""

REFRESH_REASONS = {
    TokenState.ABSENT: 2,
    TokenState.EXPIRED: 3,
    TokenState.EXPIRING: 3,
    TokenState.REFRESH_DUE: 4,
}
"""MSAL's telemetry refresh reason (``x-client-current-telemetry``) for each state
that leads to a token request."""


def token_state(entry: Mapping[str, Any] | None, now: float) -> TokenState:
    """The state of ``entry`` (a cached AccessToken, or None) at ``now``."""
    return assess(entry, now)[0]


def assess(entry: Mapping[str, Any] | None, now: float) -> tuple[TokenState, int]:
    """:func:`token_state` and the entry's ``expires_on`` (0 when it has none)."""
    if entry is None:
        return _ABSENT
    try:  # stored as a decimal string; anything else is checked by int_field
        expires_on: int | None = int(entry["expires_on"])
    except (KeyError, TypeError, ValueError):
        expires_on = int_field(entry, "expires_on")
    if expires_on is None or expires_on <= now:
        return _EXPIRED, expires_on or 0
    if expires_on - now < USABLE_SECONDS:
        return _EXPIRING, expires_on
    if "refresh_on" in entry and (int_field(entry, "refresh_on") or now) < now:
        return _REFRESH_DUE, expires_on
    return _FRESH, expires_on


_FRESH, _REFRESH_DUE, _EXPIRING, _EXPIRED = (
    TokenState.FRESH,
    TokenState.REFRESH_DUE,
    TokenState.EXPIRING,
    TokenState.EXPIRED,
)
_ABSENT = (TokenState.ABSENT, 0)
