"""Configuration of the dev identity provider: tenants, users, apps and APIs.

The configuration is a TOML document (see ``docs/dev-idp.md`` and
:data:`tokensmith.devidp.defaults.DEFAULT_CONFIG_TOML`). :func:`load_config` reads a
file and merges it over the built-in configuration (:mod:`tokensmith.devidp.merge`);
:func:`parse_config` validates a whole, already-parsed mapping. Every problem is a
:class:`~tokensmith.errors.ConfigurationError` naming the file, the entry and the key.

Module map: ``model`` (the values), ``fields`` (shared checks), ``tables`` (one parser
per table), ``merge`` (partial files), this module (the whole, and loading).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tokensmith.devidp import _toml, fields
from tokensmith.devidp import tables as parse
from tokensmith.devidp.federated_domains import FederatedDomain, parse_federated_domains
from tokensmith.devidp.model import (
    Api,
    App,
    ManagedIdentity,
    Settings,
    Tenant,
    User,
    find_tenant,
)
from tokensmith.errors import ConfigurationError

__all__ = [
    "Api",
    "App",
    "DevIdPConfig",
    "ManagedIdentity",
    "Settings",
    "Tenant",
    "User",
    "load_config",
    "parse_config",
]


@dataclass(frozen=True)
class DevIdPConfig:
    """A validated configuration with lookup helpers."""

    tenants: tuple[Tenant, ...]
    users: tuple[User, ...]
    apps: tuple[App, ...]
    apis: tuple[Api, ...]
    settings: Settings = field(default_factory=Settings)
    faults: tuple[Mapping[str, Any], ...] = ()
    """``[[faults]]`` tables, armed when the server starts (keys as :meth:`Faults.add`)."""
    managed_identities: tuple[ManagedIdentity, ...] = ()
    """``[[managed_identities]]``: at most one system-assigned, any user-assigned."""
    federated_domains: tuple[FederatedDomain, ...] = ()
    """``[[federated_domains]]`` (:mod:`tokensmith.devidp.federated_domains`)."""

    def managed_identity(self, **ids: str | None) -> ManagedIdentity | None:
        """The identity named by ``client_id``, ``object_id`` or ``resource_id``
        (case-insensitive; user-assigned identities only), or the system-assigned
        one when none is given; None when nothing matches."""
        given = {k: v.lower() for k, v in ids.items() if v}
        for identity in self.managed_identities:
            if not given and identity.system_assigned:
                return identity
            named = given and not identity.system_assigned
            if named and any(getattr(identity, k).lower() == v for k, v in given.items()):
                return identity
        return None

    def tenant(self, segment: str) -> Tenant | None:
        """The tenant addressed by a GUID or a domain (case-insensitive), if any."""
        return find_tenant(self.tenants, segment)

    def user(self, username: str) -> User | None:
        """The user with this UPN (case-insensitive), if any."""
        wanted = username.lower()
        return next((u for u in self.users if u.username.lower() == wanted), None)

    def user_by_oid(self, oid: str) -> User | None:
        """The user with this object id, if any."""
        return next((u for u in self.users if u.oid == oid), None)

    def app(self, client_id: str) -> App | None:
        """The app registration with this client id, if any."""
        return next((a for a in self.apps if a.client_id == client_id), None)

    def api(self, resource: str) -> Api | None:
        """The API named by its App ID URI or client id (trailing slash ignored)."""
        wanted = resource.rstrip("/").lower()
        for api in self.apis:
            if wanted in (api.app_id_uri.rstrip("/").lower(), api.client_id.lower()):
                return api
        return None


def load_config(path: str | Path, *, inherit_defaults: bool = True) -> DevIdPConfig:
    """Read a TOML configuration file and validate it, merged over the built-in
    configuration (unless ``inherit_defaults`` is false or the file says
    ``inherit_defaults = false``).

    Raises:
        ConfigurationError: the file cannot be read, is not TOML, or is invalid; the
            message starts with the file's absolute path.
    """
    from tokensmith.devidp.defaults import DEFAULT_CONFIG_TOML  # built by parse_config
    from tokensmith.devidp.merge import merge_over

    shown = Path(path).absolute()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read dev-idp config {shown}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"dev-idp config {shown} is not UTF-8 text") from exc
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigurationError(f"dev-idp config {shown} is not valid TOML: {exc}") from exc
    try:
        if inherit_defaults:
            data = merge_over(_toml.loads(DEFAULT_CONFIG_TOML), data)
        return parse_config(data, base_dir=shown.parent)
    except ConfigurationError as exc:
        raise ConfigurationError(f"dev-idp config {shown}: {exc}") from None


def parse_config(data: Mapping[str, Any], base_dir: Path | None = None) -> DevIdPConfig:
    """Validate a parsed TOML mapping (whole: nothing is merged in).

    Args:
        data: the document, with arrays of tables ``tenants``, ``users``, ``apps``,
            ``apis``, ``faults``, ``managed_identities`` and a table ``settings``.
        base_dir: directory that relative certificate paths are resolved against.

    Raises:
        ConfigurationError: unknown keys, missing or mistyped values, dangling references.
    """
    tables = {"tenants", "users", "apps", "apis", "settings", "faults", "managed_identities"}
    tables.add("federated_domains")
    fields.check_keys("config", data, tables | {"inherit_defaults"})
    settings = parse.settings(data.get("settings", {}))
    tenants = tuple(parse.tenant(t) for t in fields.tables(data, "tenants"))
    if not tenants:
        raise ConfigurationError("dev-idp config needs at least one [[tenants]] entry")
    users = tuple(parse.user(u, tenants) for u in fields.tables(data, "users"))
    apps = tuple(parse.app(a, tenants, base_dir) for a in fields.tables(data, "apps"))
    apis = tuple(parse.api(a) for a in fields.tables(data, "apis"))
    fields.check_unique("tenant id", [t.id.lower() for t in tenants])
    fields.check_unique("username", [u.username.lower() for u in users])
    fields.check_unique("app client_id", [a.client_id for a in apps])
    fields.check_unique("api app_id_uri", [a.app_id_uri.lower() for a in apis])
    faults = tuple(parse.fault(f) for f in fields.tables(data, "faults"))
    identities = tuple(
        parse.managed_identity(m, tenants) for m in fields.tables(data, "managed_identities")
    )
    fields.check_unique(
        "system-assigned managed identity", [m.kind for m in identities if m.kind == "system"]
    )
    for id_field in ("client_id", "object_id", "resource_id"):
        fields.check_unique(
            f"managed identity {id_field}", [getattr(m, id_field).lower() for m in identities]
        )
    config = DevIdPConfig(tenants, users, apps, apis, settings, faults, identities)
    config = replace(config, federated_domains=parse_federated_domains(data))
    auto = settings.device_code_auto_complete_user
    if auto and config.user(auto) is None:
        raise ConfigurationError(f"device_code_auto_complete_user {auto!r} is not a user")
    return config
