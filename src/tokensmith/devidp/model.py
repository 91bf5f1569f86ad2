"""The dev identity provider's directory, as validated values: tenants, users, apps,
APIs, managed identities and server settings (parsed by :mod:`tokensmith.devidp.tables`;
the whole configuration is :class:`tokensmith.devidp.config.DevIdPConfig`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Api", "App", "ManagedIdentity", "Settings", "Tenant", "User", "find_tenant"]


@dataclass(frozen=True)
class Tenant:
    """A directory. ``domains`` are the names it can be addressed by besides its GUID."""

    id: str
    name: str
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class User:
    """A user with a password; ``tenants`` lists the other directories it is a guest of."""

    username: str
    password: str
    tenant: str
    oid: str
    name: str
    mfa_required: bool = False
    consent_required: bool = False
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class App:
    """An app registration (a client).

    ``certificates`` holds PEM certificates (the public part only). ``family_id`` puts
    the app in a family of client ids (FOCI) whose members share refresh tokens.
    """

    client_id: str
    name: str
    tenant: str
    public: bool
    secrets: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    generate_certificate: bool = False
    redirect_uris: tuple[str, ...] = ()
    family_id: str | None = None


@dataclass(frozen=True)
class Api:
    """A resource (web API) with delegated ``scopes`` and application ``app_roles``."""

    name: str
    client_id: str
    app_id_uri: str
    scopes: tuple[str, ...] = ()
    app_roles: tuple[str, ...] = ()
    token_version: int = 2


@dataclass(frozen=True)
class ManagedIdentity:
    """An identity the managed-identity endpoints issue tokens for: the
    ``system``-assigned one (a request naming no identity gets it) or a ``user``-assigned
    one, named by any of its three ids."""

    kind: str
    client_id: str
    object_id: str
    resource_id: str
    tenant: str

    @property
    def system_assigned(self) -> bool:
        """Whether this is the system-assigned identity."""
        return self.kind == "system"


@dataclass(frozen=True)
class Settings:
    """Server-wide behaviour.

    Attributes:
        device_code_interval: polling interval announced by the devicecode endpoint.
        device_code_expires_in: lifetime of a device code, seconds.
        device_code_auto_complete_user: when set, every device-code sign-in completes
            at once as this user (unattended demos and tests); empty means off.
        access_token_lifetime: seconds; ``cp1`` clients get ``long_lived_token_lifetime``.
        long_lived_token_lifetime: lifetime of tokens for CAE-capable clients.
        id_token_lifetime: seconds.
        known_hosts: hosts instance discovery accepts besides the server's own.
    """

    device_code_interval: int = 5
    device_code_expires_in: int = 900
    device_code_auto_complete_user: str = ""
    access_token_lifetime: int = 3599
    long_lived_token_lifetime: int = 86399
    id_token_lifetime: int = 3600
    known_hosts: tuple[str, ...] = ()


def find_tenant(tenants: Iterable[Tenant], segment: str) -> Tenant | None:
    """The tenant addressed by a GUID or a domain (case-insensitive), if any."""
    wanted = segment.lower()
    for tenant in tenants:
        if tenant.id.lower() == wanted or wanted in (d.lower() for d in tenant.domains):
            return tenant
    return None
