"""MSAL's JSON layout as rows, and back: the import and export of entry stores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith._redact import logger
from tokensmith.stores.base import Row

__all__ = ["rows_of", "state_of"]


def rows_of(state: Mapping[str, Any], *, quiet: bool = False) -> tuple[list[Row], dict[str, Any]]:
    """Split a cache state into entry rows and the sections kept verbatim.

    Each object entry of a section that is an object becomes a row; a section that is
    not an object is kept verbatim, as the cache keeps it. An entry that is not an
    object (damage: no MSAL cache writes one) is dropped with a warning, so one bad
    entry does not hide its whole section from other processes (``quiet``: no
    warning, for a second pass over the same state).
    """
    rows: list[Row] = []
    verbatim: dict[str, Any] = {}
    for name, section in state.items():
        if not isinstance(section, dict):
            verbatim[name] = section
            continue
        before = len(rows)
        rows.extend((name, k, e) for k, e in section.items() if isinstance(e, dict))
        dropped = len(section) - (len(rows) - before)
        if dropped and not quiet:
            logger.warning(
                "token store: %d entries of section %r are not objects; not stored",
                dropped,
                name,
            )
    return rows, verbatim


def state_of(rows: Iterable[Row], verbatim: Mapping[str, Any]) -> dict[str, Any]:
    """The cache state (MSAL's layout) of rows plus the sections kept verbatim."""
    state: dict[str, Any] = dict(verbatim)
    for credential_type, key, entry in rows:
        section = state.setdefault(credential_type, {})
        if isinstance(section, dict):
            section[key] = entry
    return state
