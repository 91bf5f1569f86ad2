"""Which managed identity a request is for: MSAL's identity objects and their errors.

An identity is a mapping ``{"ManagedIdentityIdType": ..., "Id": ...}`` (MSAL Python's
``ManagedIdentity`` ``UserDict``); plain dicts of that shape are accepted, so an
identity can come from JSON configuration. Each source names the user-assigned
selector on the wire differently: :func:`selector_params` takes the source's names.
"""

from __future__ import annotations

from collections import UserDict
from collections.abc import Mapping
from typing import Any

from tokensmith.errors import TokensmithError

__all__ = [
    "CLIENT_ID",
    "ID",
    "ID_TYPE",
    "OBJECT_ID",
    "RESOURCE_ID",
    "SYSTEM_ASSIGNED",
    "SYSTEM_ASSIGNED_CACHE_ID",
    "ArcPlatformNotSupportedError",
    "ManagedIdentity",
    "ManagedIdentityError",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
    "cache_client_id",
    "is_managed_identity",
    "is_user_assigned",
    "selector_params",
]

ID_TYPE = "ManagedIdentityIdType"
ID = "Id"
CLIENT_ID = "ClientId"
RESOURCE_ID = "ResourceId"
OBJECT_ID = "ObjectId"
SYSTEM_ASSIGNED = "SystemAssigned"
USER_ASSIGNED_TYPES = (CLIENT_ID, RESOURCE_ID, OBJECT_ID)

SYSTEM_ASSIGNED_CACHE_ID = "SYSTEM_ASSIGNED_MANAGED_IDENTITY"
"""The cache ``client_id`` of an identity mapping without an ``Id`` key (MSAL's default;
MSAL's own ``SystemAssignedManagedIdentity()`` carries ``"Id": None`` and is cached
under ``client_id`` None)."""


class ManagedIdentityError(TokensmithError, ValueError):
    """A managed identity is misconfigured, or its source answered unusably."""


class ArcPlatformNotSupportedError(ManagedIdentityError):
    """Azure Arc's key-file challenge on a platform the Arc agent does not run on."""


class ManagedIdentity(UserDict[str, Any]):
    """MSAL's identity mapping (use the two subclasses)."""

    ID_TYPE = ID_TYPE
    ID = ID
    CLIENT_ID = CLIENT_ID
    RESOURCE_ID = RESOURCE_ID
    OBJECT_ID = OBJECT_ID
    SYSTEM_ASSIGNED = SYSTEM_ASSIGNED

    def __init__(self, identifier: str | None = None, id_type: str | None = None) -> None:
        super().__init__({ID_TYPE: id_type, ID: identifier})

    @classmethod
    def is_managed_identity(cls, unknown: object) -> bool:
        return is_managed_identity(unknown)

    @classmethod
    def is_system_assigned(cls, unknown: object) -> bool:
        return _is_system_assigned(unknown)

    @classmethod
    def is_user_assigned(cls, unknown: object) -> bool:
        return is_user_assigned(unknown)


class SystemAssignedManagedIdentity(ManagedIdentity):
    """The system-assigned identity: ``{"ManagedIdentityIdType": "SystemAssigned", "Id": None}``."""

    def __init__(self) -> None:
        super().__init__(id_type=SYSTEM_ASSIGNED)


class UserAssignedManagedIdentity(ManagedIdentity):
    """A user-assigned identity, named by exactly one of its three ids.

    Raises:
        ManagedIdentityError: none, or more than one, of the ids was given.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        resource_id: str | None = None,
        object_id: str | None = None,
    ) -> None:
        given = [
            (t, v)
            for t, v in ((CLIENT_ID, client_id), (RESOURCE_ID, resource_id), (OBJECT_ID, object_id))
            if v
        ]
        if len(given) != 1:
            raise ManagedIdentityError(
                "You shall specify one of the three parameters: client_id, resource_id, object_id"
            )
        id_type, identifier = given[0]
        super().__init__(id_type=id_type, identifier=identifier)


def _is_system_assigned(unknown: object) -> bool:
    return isinstance(unknown, SystemAssignedManagedIdentity) or (
        isinstance(unknown, Mapping) and unknown.get(ID_TYPE) == SYSTEM_ASSIGNED
    )


def is_user_assigned(unknown: object) -> bool:
    """A user-assigned identity object, or a mapping naming one with a non-empty id."""
    return isinstance(unknown, UserAssignedManagedIdentity) or (
        isinstance(unknown, Mapping)
        and unknown.get(ID_TYPE) in USER_ASSIGNED_TYPES
        and bool(unknown.get(ID))
    )


def is_managed_identity(unknown: object) -> bool:
    """What ``ManagedIdentityClient`` accepts (MSAL's rule)."""
    return (
        isinstance(unknown, ManagedIdentity)
        or _is_system_assigned(unknown)
        or (is_user_assigned(unknown))
    )


def cache_client_id(identity: Mapping[str, Any]) -> Any:
    """The cache ``client_id`` of the identity's tokens, as MSAL 1.39 records it."""
    return identity.get(ID, SYSTEM_ASSIGNED_CACHE_ID)


def selector_params(identity: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    """The query parameter naming a user-assigned identity (``{}`` for system-assigned),
    with the source's parameter ``names`` by id type."""
    name = names.get(identity.get(ID_TYPE) or "")
    return {name: str(identity[ID])} if name and identity.get(ID) else {}
