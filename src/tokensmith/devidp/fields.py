"""The field checks every table of the dev IdP's TOML shares: each failure is a
:class:`~tokensmith.errors.ConfigurationError` naming the entry and the key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tokensmith.errors import ConfigurationError

__all__ = ["check_keys", "check_unique", "flag", "guid", "tables", "text", "texts"]


def tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The array of tables ``[[key]]`` (empty when absent)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigurationError(f"'{key}' must be an array of tables ([[{key}]])")
    return value


def check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    """Refuse keys outside ``allowed`` (a typo is named, never ignored)."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}")


def check_unique(what: str, values: list[str]) -> None:
    """Refuse a value that appears twice."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigurationError(f"duplicate {what} {value!r}")
        seen.add(value)


def text(where: str, table: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """A non-empty string (``default`` when absent and given)."""
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}: '{key}' must be a non-empty string")
    return value


def texts(where: str, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list of non-empty strings (empty when absent)."""
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(value)


def flag(where: str, table: Mapping[str, Any], key: str) -> bool:
    """``true`` or ``false`` (false when absent)."""
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: '{key}' must be true or false")
    return value


def guid(where: str, value: str) -> str:
    """``value`` as a canonical GUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ConfigurationError(f"{where}: {value!r} is not a GUID") from None
