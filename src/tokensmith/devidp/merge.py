"""A partial configuration merged over the built-in one.

A TOML file names only what it changes: ``[settings]`` keys replace the built-in
values one by one; an entry of an array of tables whose identifying key matches a
built-in entry (a tenant's ``id``, a user's ``username``, an app's ``client_id``, an
API's ``app_id_uri``, a managed identity's ``client_id``, a federated domain's
``domain``; case-insensitive) is merged over that entry key by key; any other entry
is added. ``[[faults]]`` are added. A file with the top-level key
``inherit_defaults = false`` starts from nothing instead (it must then declare at
least one tenant).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.errors import ConfigurationError

__all__ = ["IDENTITY_KEYS", "INHERIT_KEY", "merge_over"]

INHERIT_KEY = "inherit_defaults"
IDENTITY_KEYS = {
    "tenants": "id",
    "users": "username",
    "apps": "client_id",
    "apis": "app_id_uri",
    "managed_identities": "client_id",
    "federated_domains": "domain",
}


def merge_over(defaults: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` merged over ``defaults`` (neither is modified).

    Raises:
        ConfigurationError: ``inherit_defaults`` is not true or false, or a table is
            given where the defaults have an array of tables (or the reverse).
    """
    inherit = data.get(INHERIT_KEY, True)
    if not isinstance(inherit, bool):
        raise ConfigurationError(f"'{INHERIT_KEY}' must be true or false")
    own = {k: v for k, v in data.items() if k != INHERIT_KEY}
    if not inherit:
        return own
    merged: dict[str, Any] = {k: _copy(v) for k, v in defaults.items()}
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, Mapping):
            merged[key] = {**base, **value}
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = _merge_entries(key, base, value)
        elif base is not None and type(base) is not type(value):
            shape = "a table [" if isinstance(base, dict) else "an array of tables [["
            raise ConfigurationError(f"'{key}' must be {shape}{key}] as in the defaults")
        else:
            merged[key] = value
    return merged


def _merge_entries(key: str, base: list[Any], extra: list[Any]) -> list[Any]:
    identity = IDENTITY_KEYS.get(key)
    result = list(base)
    for entry in extra:
        index = _find(result, identity, entry) if identity else None
        if index is None:
            result.append(entry)
        else:
            result[index] = {**result[index], **entry}
    return result


def _find(entries: list[Any], identity: str | None, entry: Any) -> int | None:
    if identity is None or not isinstance(entry, Mapping):
        return None
    wanted = entry.get(identity)
    if not isinstance(wanted, str):
        return None
    for index, existing in enumerate(entries):
        value = existing.get(identity) if isinstance(existing, Mapping) else None
        if isinstance(value, str) and value.lower() == wanted.lower():
            return index
    return None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return [dict(v) if isinstance(v, dict) else v for v in value]
    return value
