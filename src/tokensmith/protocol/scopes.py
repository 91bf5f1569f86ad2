"""Scope rules (RFC 6749 §3.3) with MSAL's decoration of user flows.

User flows always ask for the OpenID Connect scopes ``openid profile offline_access``
(minus the application's ``exclude_scopes``) so that an id token and a refresh token
come back; callers may not pass those scopes themselves. Scopes go on the wire sorted
ascending and space-separated, as MSAL Python sends them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

__all__ = ["RESERVED_SCOPES", "decorate_scopes", "scope_string", "validate_exclude_scopes"]

RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})


def _as_scope_set(scopes: object, what: str) -> set[str]:
    if not isinstance(scopes, (list, set, frozenset, tuple)):
        raise ValueError(f"{what} should be a list, tuple, or set of strings")
    if not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"every item of {what} must be a string")
    return set(scopes)


def decorate_scopes(scopes: Collection[str], *, exclude_scopes: Iterable[str] = ()) -> list[str]:
    """Return the user's scopes plus the reserved ones, sorted ascending.

    Args:
        scopes: the caller's scopes (list, tuple or set); none may be reserved.
        exclude_scopes: reserved scopes the application opted out of.

    Raises:
        ValueError: ``scopes`` is not a list/tuple/set of strings (a bare string is
            refused), or contains a reserved scope.
    """
    requested = _as_scope_set(scopes, "scopes")
    reserved = requested & RESERVED_SCOPES
    if reserved:
        raise ValueError(
            f"You cannot use any scope value that is reserved. Your input: {sorted(requested)}; "
            f"the reserved list: {sorted(RESERVED_SCOPES)}"
        )
    return sorted((requested | RESERVED_SCOPES) - set(exclude_scopes))


def validate_exclude_scopes(value: object) -> frozenset[str]:
    """Check an application's ``exclude_scopes`` and return them as a set.

    Raises:
        ValueError: not a list (``None`` and empty values are fine), or contains
            ``"openid"``, which cannot be opted out of.
    """
    if not value:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValueError(f"Invalid exclude_scopes={value!r}. It needs to be a list of strings.")
    if "openid" in value:
        raise ValueError(f'Invalid exclude_scopes={value!r}. You can not opt out "openid" scope')
    return frozenset(value)


def scope_string(scopes: Iterable[str]) -> str:
    """Return the wire form of ``scopes``: unique, sorted ascending, space-separated."""
    return " ".join(sorted(set(scopes)))
