"""MSAL's JSON layout as rows, and back: the import and export of entry stores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith.stores.base import Row

__all__ = ["rows_of", "state_of"]


def rows_of(state: Mapping[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    """Split a cache state into entry rows and the sections kept verbatim.

    A section that is an object of objects becomes rows; anything else (a section that
    is not an object, or holds a non-object) is kept verbatim, as the cache keeps it.
    """
    rows: list[Row] = []
    verbatim: dict[str, Any] = {}
    for name, section in state.items():
        if isinstance(section, dict) and all(isinstance(e, dict) for e in section.values()):
            rows.extend((name, key, entry) for key, entry in section.items())
        else:
            verbatim[name] = section
    return rows, verbatim


def state_of(rows: Iterable[Row], verbatim: Mapping[str, Any]) -> dict[str, Any]:
    """The cache state (MSAL's layout) of rows plus the sections kept verbatim."""
    state: dict[str, Any] = dict(verbatim)
    for credential_type, key, entry in rows:
        section = state.setdefault(credential_type, {})
        if isinstance(section, dict):
            section[key] = entry
    return state
