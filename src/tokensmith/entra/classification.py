"""How MSAL classifies Entra token errors (see reference/entra-protocol.md §4.7).

:func:`classify` is the ``classification`` MSAL Python adds in
``acquire_token_silent_with_error``; :func:`is_interaction_required` says whether a
user must sign in (again) interactively to get past the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "INTERACTION_ERRORS",
    "INTERACTION_SUBERRORS",
    "SILENT_SUBERRORS",
    "classify",
    "is_interaction_required",
]

SILENT_SUBERRORS = frozenset(
    {
        "bad_token",
        "token_expired",
        "protection_policy_required",
        "client_mismatch",
        "device_authentication_failed",
    }
)
"""Suberrors MSAL Python classifies as ``""`` (no message worth showing the user)."""

INTERACTION_ERRORS = frozenset(
    {"interaction_required", "consent_required", "login_required", "invalid_grant"}
)
INTERACTION_SUBERRORS = frozenset(
    {
        "message_only",
        "additional_action",
        "basic_action",
        "user_password_expired",
        "consent_required",
        "bad_token",
        "token_expired",
    }
)
_NOT_INTERACTIVE_SUBERRORS = frozenset({"client_mismatch", "protection_policy_required"})


def classify(error: Mapping[str, Any]) -> str | None:
    """Return MSAL's ``classification`` for an error dict, or None when it has no
    ``suberror`` (MSAL then adds no ``classification``)."""
    suberror = error.get("suberror")
    if not suberror or not isinstance(suberror, str):
        return None
    return "" if suberror in SILENT_SUBERRORS else suberror


def is_interaction_required(error: Mapping[str, Any]) -> bool:
    """Return True when only an interactive sign-in can get past ``error``.

    True for ``interaction_required``, ``consent_required``, ``login_required`` and
    ``invalid_grant`` (the refresh token or grant is no longer usable, as MSAL.NET
    treats it), and for the suberrors MSAL JS lists as interaction required. False for
    the FOCI ``client_mismatch`` and ``protection_policy_required`` (app protection),
    where a sign-in in a browser does not help, and for every other error.
    """
    suberror = error.get("suberror")
    if suberror in _NOT_INTERACTIVE_SUBERRORS:
        return False
    return error.get("error") in INTERACTION_ERRORS or suberror in INTERACTION_SUBERRORS
