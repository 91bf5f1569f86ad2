"""Configuration of the dev identity provider: tenants, users, apps and APIs.

The configuration is a TOML document (see ``docs/dev-idp.md`` and
:data:`tokensmith.devidp.defaults.DEFAULT_CONFIG_TOML`). :func:`load_config` reads a
file, :func:`parse_config` validates an already-parsed mapping. Every problem is
reported as a :class:`~tokensmith.errors.ConfigurationError` naming the offending entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tokensmith.devidp import _toml
from tokensmith.devidp.faults import Faults
from tokensmith.devidp.federated_domains import FederatedDomain, parse_federated_domains
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

_ID_NAMESPACE = uuid.UUID("6f1c4a52-93d0-4b7e-a1f8-0d2c5e7b9a34")


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
        wanted = segment.lower()
        for tenant in self.tenants:
            if tenant.id.lower() == wanted or wanted in (d.lower() for d in tenant.domains):
                return tenant
        return None

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


def load_config(path: str | Path) -> DevIdPConfig:
    """Read and validate a TOML configuration file.

    Raises:
        ConfigurationError: the file cannot be read, is not TOML, or is invalid.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read dev-idp config {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"dev-idp config {path} is not UTF-8 text") from exc
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigurationError(f"dev-idp config {path} is not valid TOML: {exc}") from exc
    return parse_config(data, base_dir=Path(path).parent)


def parse_config(data: Mapping[str, Any], base_dir: Path | None = None) -> DevIdPConfig:
    """Validate a parsed TOML mapping.

    Args:
        data: the document, with arrays of tables ``tenants``, ``users``, ``apps``,
            ``apis`` and a table ``settings``.
        base_dir: directory that relative certificate paths are resolved against.

    Raises:
        ConfigurationError: unknown keys, missing or mistyped values, dangling references.
    """
    tables = {"tenants", "users", "apps", "apis", "settings", "faults", "managed_identities"}
    tables.add("federated_domains")
    _check_keys("config", data, tables)
    tenants = tuple(_tenant(t) for t in _tables(data, "tenants"))
    if not tenants:
        raise ConfigurationError("dev-idp config needs at least one [[tenants]] entry")
    probe = DevIdPConfig(tenants, (), (), ())
    users = tuple(_user(u, probe) for u in _tables(data, "users"))
    apps = tuple(_app(a, probe, base_dir) for a in _tables(data, "apps"))
    apis = tuple(_api(a) for a in _tables(data, "apis"))
    settings = _settings(data.get("settings", {}))
    _check_unique("tenant id", [t.id.lower() for t in tenants])
    _check_unique("username", [u.username.lower() for u in users])
    _check_unique("app client_id", [a.client_id for a in apps])
    _check_unique("api app_id_uri", [a.app_id_uri.lower() for a in apis])
    faults = tuple(_fault(f) for f in _tables(data, "faults"))
    identities = tuple(_managed_identity(m, probe) for m in _tables(data, "managed_identities"))
    _check_unique(
        "system-assigned managed identity", [m.kind for m in identities if m.kind == "system"]
    )
    for id_field in ("client_id", "object_id", "resource_id"):
        _check_unique(
            f"managed identity {id_field}", [getattr(m, id_field).lower() for m in identities]
        )
    config = DevIdPConfig(tenants, users, apps, apis, settings, faults, identities)
    config = replace(config, federated_domains=parse_federated_domains(data))
    auto = settings.device_code_auto_complete_user
    if auto and config.user(auto) is None:
        raise ConfigurationError(f"device_code_auto_complete_user {auto!r} is not a user")
    return config


def _tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigurationError(f"'{key}' must be an array of tables ([[{key}]])")
    return value


def _check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _check_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigurationError(f"duplicate {what} {value!r}")
        seen.add(value)


def _str(where: str, table: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}: '{key}' must be a non-empty string")
    return value


def _strs(where: str, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(value)


def _bool(where: str, table: Mapping[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: '{key}' must be true or false")
    return value


def _guid(where: str, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ConfigurationError(f"{where}: {value!r} is not a GUID") from None


def _tenant(table: Mapping[str, Any]) -> Tenant:
    where = f"tenant {table.get('name', table.get('id', '?'))!r}"
    _check_keys(where, table, {"id", "name", "domains"})
    tenant_id = _guid(where, _str(where, table, "id"))
    return Tenant(tenant_id, _str(where, table, "name", tenant_id), _strs(where, table, "domains"))


def _tenant_ref(where: str, config: DevIdPConfig, ref: str) -> str:
    tenant = config.tenant(ref)
    if tenant is None:
        raise ConfigurationError(f"{where}: tenant {ref!r} is not configured")
    return tenant.id


def _user(table: Mapping[str, Any], config: DevIdPConfig) -> User:
    where = f"user {table.get('username', '?')!r}"
    allowed = {"username", "password", "tenant", "oid", "name"}
    _check_keys(where, table, allowed | {"mfa_required", "consent_required", "tenants"})
    username = _str(where, table, "username")
    default_oid = str(uuid.uuid5(_ID_NAMESPACE, username.lower()))
    return User(
        username=username,
        password=_str(where, table, "password"),
        tenant=_tenant_ref(where, config, _str(where, table, "tenant", config.tenants[0].id)),
        oid=_guid(where, _str(where, table, "oid", default_oid)),
        name=_str(where, table, "name", username.split("@")[0]),
        mfa_required=_bool(where, table, "mfa_required"),
        consent_required=_bool(where, table, "consent_required"),
        tenants=tuple(_tenant_ref(where, config, t) for t in _strs(where, table, "tenants")),
    )


def _app(table: Mapping[str, Any], config: DevIdPConfig, base_dir: Path | None) -> App:
    where = f"app {table.get('name', table.get('client_id', '?'))!r}"
    allowed = {"client_id", "name", "tenant", "type", "secrets", "certificates"}
    _check_keys(where, table, allowed | {"redirect_uris", "family_id"})
    kind = table.get("type", "public")
    if kind not in ("public", "confidential"):
        raise ConfigurationError(f"{where}: 'type' must be 'public' or 'confidential'")
    certs = _strs(where, table, "certificates")
    family = table.get("family_id")
    if family is not None and (not isinstance(family, str) or not family):
        raise ConfigurationError(f"{where}: 'family_id' must be a non-empty string")
    app = App(
        client_id=_guid(where, _str(where, table, "client_id")),
        name=_str(where, table, "name", str(table.get("client_id"))),
        tenant=_tenant_ref(where, config, _str(where, table, "tenant", config.tenants[0].id)),
        public=kind == "public",
        secrets=_strs(where, table, "secrets"),
        certificates=tuple(_read_pem(where, c, base_dir) for c in certs if c != "generate"),
        generate_certificate="generate" in certs,
        redirect_uris=_strs(where, table, "redirect_uris"),
        family_id=family,
    )
    if app.public and (app.secrets or certs):
        raise ConfigurationError(f"{where}: a public app cannot have secrets or certificates")
    return app


def _read_pem(where: str, value: str, base_dir: Path | None) -> str:
    if "-----BEGIN CERTIFICATE-----" in value:
        return value
    path = Path(value) if base_dir is None else base_dir / value
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{where}: cannot read certificate file {value}") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigurationError(f"{where}: {value} holds no PEM certificate")
    return text


def _api(table: Mapping[str, Any]) -> Api:
    where = f"api {table.get('name', table.get('app_id_uri', '?'))!r}"
    allowed = {"name", "client_id", "app_id_uri", "scopes", "app_roles", "token_version"}
    _check_keys(where, table, allowed)
    client_id = _guid(where, _str(where, table, "client_id"))
    version = table.get("token_version", 2)
    if version not in (1, 2):
        raise ConfigurationError(f"{where}: 'token_version' must be 1 or 2")
    return Api(
        name=_str(where, table, "name", client_id),
        client_id=client_id,
        app_id_uri=_str(where, table, "app_id_uri", f"api://{client_id}"),
        scopes=_strs(where, table, "scopes"),
        app_roles=_strs(where, table, "app_roles"),
        token_version=version,
    )


def _managed_identity(table: Mapping[str, Any], config: DevIdPConfig) -> ManagedIdentity:
    where = f"managed identity {table.get('client_id', '?')!r}"
    _check_keys(where, table, {"kind", "client_id", "object_id", "resource_id", "tenant"})
    kind = table.get("kind", "user")
    if kind not in ("system", "user"):
        raise ConfigurationError(f"{where}: 'kind' must be 'system' or 'user'")
    resource_id = _str(where, table, "resource_id")
    if not resource_id.lower().startswith("/subscriptions/"):
        raise ConfigurationError(f"{where}: 'resource_id' must be an ARM id (/subscriptions/...)")
    return ManagedIdentity(
        kind=kind,
        client_id=_guid(where, _str(where, table, "client_id")),
        object_id=_guid(where, _str(where, table, "object_id")),
        resource_id=resource_id,
        tenant=_tenant_ref(where, config, _str(where, table, "tenant", config.tenants[0].id)),
    )


def _fault(table: Mapping[str, Any]) -> Mapping[str, Any]:
    """Check a ``[[faults]]`` table by arming it on a scratch switchboard."""
    options = dict(table)
    kind = options.pop("kind", None)
    if not isinstance(kind, str):
        raise ConfigurationError("faults: every [[faults]] entry needs a 'kind' string")
    try:
        Faults().add(kind, **options)
    except TypeError:
        raise ConfigurationError(f"fault {kind!r}: unknown key(s) in {sorted(options)}") from None
    return dict(table)


def _settings(table: Any) -> Settings:
    if not isinstance(table, Mapping):
        raise ConfigurationError("'settings' must be a table")
    ints = {
        "device_code_interval",
        "device_code_expires_in",
        "access_token_lifetime",
        "long_lived_token_lifetime",
        "id_token_lifetime",
    }
    _check_keys("settings", table, ints | {"device_code_auto_complete_user", "known_hosts"})
    values: dict[str, Any] = {}
    for key in ints & set(table):
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"settings: '{key}' must be a non-negative integer")
        values[key] = value
    auto = table.get("device_code_auto_complete_user", "")
    if not isinstance(auto, str):
        raise ConfigurationError("settings: 'device_code_auto_complete_user' must be a string")
    return Settings(
        device_code_auto_complete_user=auto,
        known_hosts=_strs("settings", table, "known_hosts"),
        **values,
    )
