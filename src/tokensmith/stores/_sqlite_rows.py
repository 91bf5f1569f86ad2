"""Cache entries as rows of :class:`~tokensmith.stores.SqliteStore`'s ``entries``
table (and its ``verbatim_sections``), and back.

An entry's partition, owner and username go to indexed columns, its JSON to ``body``.
Rows are read back as bytes, and one damaged outside tokensmith is skipped: sqlite3
would quote the text of a row it cannot decode, which holds a token, in its error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokensmith.stores.base import Row
from tokensmith.stores.partition import partition_of

__all__ = [
    "DELETE",
    "INSERT_SECTION",
    "SELECT",
    "SELECT_SECTIONS",
    "UPSERT",
    "columns",
    "parsed_rows",
    "parsed_sections",
]

UPSERT = (
    "INSERT OR REPLACE INTO entries (credential_type, key, partition, home_account_id,"
    " environment, client_id, realm, username, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT = "SELECT CAST(credential_type AS BLOB), CAST(key AS BLOB), CAST(body AS BLOB) FROM entries"
DELETE = "DELETE FROM entries WHERE credential_type = ? AND key = ?"
SELECT_SECTIONS = "SELECT CAST(name AS BLOB), CAST(body AS BLOB) FROM verbatim_sections"
INSERT_SECTION = "INSERT INTO verbatim_sections (name, body) VALUES (?, ?)"


def parsed_rows(fetched: list[Any]) -> list[Row]:
    """The rows of ``entries`` read as bytes; a damaged one is skipped."""
    rows: list[Row] = []
    for raw_type, raw_key, body in fetched:
        credential_type, key, entry = _text(raw_type), _text(raw_key), _parsed(body)
        if credential_type is not None and key is not None and isinstance(entry, dict):
            rows.append((credential_type, key, entry))
    return rows


def parsed_sections(fetched: list[Any]) -> dict[str, Any]:
    """The rows of ``verbatim_sections`` read as bytes, by name; a damaged one is skipped."""
    sections: dict[str, Any] = {}
    for raw_name, body in fetched:
        name, section = _text(raw_name), _parsed(body)
        if name is not None and section is not None:
            sections[name] = section
    return sections


def _text(value: object) -> str | None:
    """A column read as bytes, as text; None if it is not UTF-8 (damaged outside
    tokensmith: the row is skipped)."""
    if type(value) is not bytes:
        return None
    try:
        return value.decode()
    except ValueError:
        return None


def _parsed(body: object) -> object:
    """A row's JSON body; None for one damaged outside tokensmith (skipped, not
    fatal)."""
    if type(body) is not bytes:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def columns(credential_type: str, key: str, entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of :data:`UPSERT` for one entry.

    Raises:
        TypeError, ValueError, RecursionError: a value JSON cannot hold (as
            ``json.dumps``).
    """

    def text(name: str) -> str | None:
        value = entry.get(name)
        return value if isinstance(value, str) else None

    username = text("username")
    return (
        credential_type,
        key,
        partition_of(credential_type, entry),
        text("home_account_id"),
        (text("environment") or "").lower() or None,
        text("client_id"),
        (text("realm") or "").lower() or None,
        username.lower() if username is not None else None,
        json.dumps(entry, separators=(",", ":")),
    )
