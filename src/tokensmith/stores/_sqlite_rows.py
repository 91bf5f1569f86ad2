"""Cache entries as rows of :class:`~tokensmith.stores.SqliteStore`'s ``entries``
table (and its ``verbatim_sections``), and back.

An entry's partition, owner and username go to indexed columns, its JSON to ``body``.
Rows are read back as bytes, and one damaged outside tokensmith is skipped: sqlite3
would quote the text of a row it cannot decode, which holds a token, in its error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokensmith.stores.base import Row, utf8_encodable
from tokensmith.stores.partition import partition_of

if TYPE_CHECKING:
    import sqlite3

    from tokensmith.cache.sign_out import SignOut

__all__ = [
    "DELETE",
    "INSERT_SECTION",
    "SELECT",
    "SELECT_SECTIONS",
    "UPSERT",
    "columns",
    "parsed_rows",
    "parsed_sections",
    "remove_signed_out",
]

UPSERT = (
    "INSERT OR REPLACE INTO entries (credential_type, key, partition, home_account_id,"
    " environment, client_id, realm, username, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT = "SELECT CAST(credential_type AS BLOB), CAST(key AS BLOB), CAST(body AS BLOB) FROM entries"
DELETE = "DELETE FROM entries WHERE credential_type = ? AND key = ?"
SELECT_SECTIONS = "SELECT CAST(name AS BLOB), CAST(body AS BLOB) FROM verbatim_sections"
INSERT_SECTION = "INSERT INTO verbatim_sections (name, body) VALUES (?, ?)"
_SELECT_OWNED = (
    "SELECT CAST(credential_type AS BLOB), CAST(key AS BLOB), CAST(client_id AS BLOB),"
    " CAST(body AS BLOB) FROM entries WHERE home_account_id = ? AND environment = ?"
)
"""An account's rows in one environment (any realm, any partition), by the owner index:
the half of a sign-out's rule that says whose entries it judges, restated here as
``AccountLookups._owned`` (tokensmith/cache/accounts.py) says it for memory: the home
account exactly, the environment in any case (the column holds it lower-cased)."""
_DELETE_OWNED = (
    "DELETE FROM entries WHERE home_account_id = ? AND environment = ?"
    " AND credential_type = ? AND CAST(key AS BLOB) = ?"
)


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


def remove_signed_out(db: sqlite3.Connection, sign_out: SignOut) -> None:
    """Delete every row ``sign_out`` removes (call in the write transaction): the
    account's rows of each environment, found by the owner index, judged by
    :meth:`~tokensmith.cache.sign_out.SignOut.removes` on their columns and, for a
    refresh token's family, their body (unknown for a damaged one: only the client id
    decides). Keys are compared as bytes, so a key that is not UTF-8 goes too."""
    home = sign_out.home_account_id
    for env in sign_out.families:
        if not utf8_encodable(home, env):
            continue  # no row holds text UTF-8 cannot encode
        doomed = []
        for raw_type, raw_key, raw_client, body in db.execute(_SELECT_OWNED, (home, env)):
            credential_type = _text(raw_type)
            if credential_type is None:
                continue
            entry = _parsed(body)
            family = entry.get("family_id") if isinstance(entry, dict) else None
            if sign_out.removes(credential_type, env, _text(raw_client), family):
                doomed.append((home, env, credential_type, raw_key))
        db.executemany(_DELETE_OWNED, doomed)


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
