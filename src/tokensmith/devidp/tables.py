"""The tables of the dev IdP's TOML, one parser each: ``[[tenants]]``, ``[[users]]``,
``[[apps]]``, ``[[apis]]``, ``[[managed_identities]]``, ``[[faults]]`` and
``[settings]`` (docs/dev-idp.md). A parser checks its table's keys and types and
returns the validated value; references to tenants are resolved against the tenants
parsed first."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokensmith.devidp.faults import Faults
from tokensmith.devidp.fields import check_keys, flag, guid, text, texts
from tokensmith.devidp.model import Api, App, ManagedIdentity, Settings, Tenant, User, find_tenant
from tokensmith.errors import ConfigurationError

__all__ = ["api", "app", "fault", "managed_identity", "settings", "tenant", "user"]

_ID_NAMESPACE = uuid.UUID("6f1c4a52-93d0-4b7e-a1f8-0d2c5e7b9a34")


def tenant(table: Mapping[str, Any]) -> Tenant:
    """A ``[[tenants]]`` entry."""
    where = f"tenant {table.get('name', table.get('id', '?'))!r}"
    check_keys(where, table, {"id", "name", "domains"})
    tenant_id = guid(where, text(where, table, "id"))
    return Tenant(tenant_id, text(where, table, "name", tenant_id), texts(where, table, "domains"))


def _tenant_ref(where: str, tenants: tuple[Tenant, ...], ref: str) -> str:
    found = find_tenant(tenants, ref)
    if found is None:
        known = ", ".join(t.domains[0] if t.domains else t.id for t in tenants)
        raise ConfigurationError(
            f"{where}: tenant {ref!r} is not configured (tenants: {known}; declare it in "
            "[[tenants]])"
        )
    return found.id


def user(table: Mapping[str, Any], tenants: tuple[Tenant, ...]) -> User:
    """A ``[[users]]`` entry; its tenants must be among ``tenants``."""
    where = f"user {table.get('username', '?')!r}"
    allowed = {"username", "password", "tenant", "oid", "name"}
    check_keys(where, table, allowed | {"mfa_required", "consent_required", "tenants"})
    username = text(where, table, "username")
    default_oid = str(uuid.uuid5(_ID_NAMESPACE, username.lower()))
    return User(
        username=username,
        password=text(where, table, "password"),
        tenant=_tenant_ref(where, tenants, text(where, table, "tenant", tenants[0].id)),
        oid=guid(where, text(where, table, "oid", default_oid)),
        name=text(where, table, "name", username.split("@")[0]),
        mfa_required=flag(where, table, "mfa_required"),
        consent_required=flag(where, table, "consent_required"),
        tenants=tuple(_tenant_ref(where, tenants, t) for t in texts(where, table, "tenants")),
    )


def app(table: Mapping[str, Any], tenants: tuple[Tenant, ...], base_dir: Path | None) -> App:
    """An ``[[apps]]`` entry; certificate paths are relative to ``base_dir``."""
    where = f"app {table.get('name', table.get('client_id', '?'))!r}"
    allowed = {"client_id", "name", "tenant", "type", "secrets", "certificates"}
    check_keys(where, table, allowed | {"redirect_uris", "family_id"})
    kind = table.get("type", "public")
    if kind not in ("public", "confidential"):
        raise ConfigurationError(f"{where}: 'type' must be 'public' or 'confidential'")
    certs = texts(where, table, "certificates")
    family = table.get("family_id")
    if family is not None and (not isinstance(family, str) or not family):
        raise ConfigurationError(f"{where}: 'family_id' must be a non-empty string")
    app = App(
        client_id=guid(where, text(where, table, "client_id")),
        name=text(where, table, "name", str(table.get("client_id"))),
        tenant=_tenant_ref(where, tenants, text(where, table, "tenant", tenants[0].id)),
        public=kind == "public",
        secrets=texts(where, table, "secrets"),
        certificates=tuple(_read_pem(where, c, base_dir) for c in certs if c != "generate"),
        generate_certificate="generate" in certs,
        redirect_uris=texts(where, table, "redirect_uris"),
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


def api(table: Mapping[str, Any]) -> Api:
    """An ``[[apis]]`` entry."""
    where = f"api {table.get('name', table.get('app_id_uri', '?'))!r}"
    allowed = {"name", "client_id", "app_id_uri", "scopes", "app_roles", "token_version"}
    check_keys(where, table, allowed)
    client_id = guid(where, text(where, table, "client_id"))
    version = table.get("token_version", 2)
    if version not in (1, 2):
        raise ConfigurationError(f"{where}: 'token_version' must be 1 or 2")
    return Api(
        name=text(where, table, "name", client_id),
        client_id=client_id,
        app_id_uri=text(where, table, "app_id_uri", f"api://{client_id}"),
        scopes=texts(where, table, "scopes"),
        app_roles=texts(where, table, "app_roles"),
        token_version=version,
    )


def managed_identity(table: Mapping[str, Any], tenants: tuple[Tenant, ...]) -> ManagedIdentity:
    """A ``[[managed_identities]]`` entry."""
    where = f"managed identity {table.get('client_id', '?')!r}"
    check_keys(where, table, {"kind", "client_id", "object_id", "resource_id", "tenant"})
    kind = table.get("kind", "user")
    if kind not in ("system", "user"):
        raise ConfigurationError(f"{where}: 'kind' must be 'system' or 'user'")
    resource_id = text(where, table, "resource_id")
    if not resource_id.lower().startswith("/subscriptions/"):
        raise ConfigurationError(f"{where}: 'resource_id' must be an ARM id (/subscriptions/...)")
    return ManagedIdentity(
        kind=kind,
        client_id=guid(where, text(where, table, "client_id")),
        object_id=guid(where, text(where, table, "object_id")),
        resource_id=resource_id,
        tenant=_tenant_ref(where, tenants, text(where, table, "tenant", tenants[0].id)),
    )


def fault(table: Mapping[str, Any]) -> Mapping[str, Any]:
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


def settings(table: Any) -> Settings:
    """The ``[settings]`` table."""
    if not isinstance(table, Mapping):
        raise ConfigurationError("'settings' must be a table")
    ints = {
        "device_code_interval",
        "device_code_expires_in",
        "access_token_lifetime",
        "long_lived_token_lifetime",
        "id_token_lifetime",
    }
    check_keys("settings", table, ints | {"device_code_auto_complete_user", "known_hosts"})
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
        known_hosts=texts("settings", table, "known_hosts"),
        **values,
    )
