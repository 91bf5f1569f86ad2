"""MSAL's JSON layout as rows, and back: the import and export of entry stores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith._redact import logger
from tokensmith.cache.schema import SECTIONS
from tokensmith.stores.base import Row

__all__ = ["rows_of", "state_of"]


def rows_of(state: Mapping[str, Any], *, quiet: bool = False) -> tuple[list[Row], dict[str, Any]]:
    """Split a cache state into entry rows and the sections kept verbatim.

    Each object entry of a section tokensmith models (:data:`~tokensmith.cache.schema.
    SECTIONS`) becomes a row; an entry there that is not an object, or such a section
    that is not an object at all (damage: no MSAL cache writes one), is dropped with a
    warning, so one bad entry does not hide its section from other processes (nor a
    damaged copy the real one). Any other section is kept verbatim, whatever its shape,
    as the cache keeps it (``quiet``: no warning, for a second pass over one state).
    """
    rows: list[Row] = []
    verbatim: dict[str, Any] = {}
    for name, section in state.items():
        if name not in SECTIONS:
            verbatim[name] = section
            continue
        if not isinstance(section, dict):
            dropped = 1
        else:
            before = len(rows)
            rows.extend((name, k, e) for k, e in section.items() if isinstance(e, dict))
            dropped = len(section) - (len(rows) - before)
        if dropped and not quiet:
            logger.warning(
                "token store: section %r holds %d entries that are not objects, or is not "
                "an object; not stored",
                name,
                dropped,
            )
    return rows, verbatim


def state_of(rows: Iterable[Row], verbatim: Mapping[str, Any]) -> dict[str, Any]:
    """The cache state (MSAL's layout) of rows plus the sections kept verbatim.

    A verbatim section named as a section tokensmith models is damage from outside
    (:func:`rows_of` files those as rows): skipped, so it hides none of their rows.
    """
    state: dict[str, Any] = {n: s for n, s in verbatim.items() if n not in SECTIONS}
    for credential_type, key, entry in rows:
        section = state.setdefault(credential_type, {})
        if isinstance(section, dict):
            section[key] = entry
    return state
