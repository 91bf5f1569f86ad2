"""The bucket value of an entry in each secondary index, for one entry and in bulk.

Every index files a storage key under one value computed from the entry's fields,
normalized by :func:`~tokensmith.cache.buckets.norm` (``environment`` and
``username`` lower-cased). Each index's value is written once, over the columns of a
section (:class:`Columns`): in bulk, a column is one C-level pass over the entries
(a field holding only strings needs no Python call per entry), which is what keeps
building an index after a load cheap beside the JSON parse; :func:`one` gives the
same value for a single write.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import repeat
from typing import Any, Protocol

from tokensmith.cache.buckets import bucket, buckets_of, norm, norm_env
from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = [
    "BY_SECTION",
    "INDEXES",
    "SPARSE",
    "Columns",
    "Value",
    "at_group_key",
    "group_keys",
    "one",
]

_CT = CredentialType
Value = Hashable | None
_NONE = type(None)


class _Fields(Protocol):
    """Field values of some entries, one list per field (see :class:`Columns`)."""

    def raw(self, name: str) -> list[Any]: ...

    def text(self, name: str) -> list[Hashable]: ...

    def host(self, name: str) -> list[Hashable]: ...


_Bulk = Callable[[_Fields], list[Value]]


class Columns:
    """The values of each field across a section's entries, read at C speed.

    :meth:`text` gives :func:`~tokensmith.cache.buckets.norm` of each value and
    :meth:`host` :func:`~tokensmith.cache.buckets.norm_env`; when a field holds only
    strings (or is absent everywhere), that is the list itself (or ``""`` each), with
    no Python call per entry. Each field is read once per ``Columns``.

    Args:
        entries: the section's dict entries.
        plain: all are ``dict`` exactly (None: find out).
    """

    __slots__ = ("_entries", "_memo", "_plain")

    def __init__(self, entries: Sequence[Mapping[str, Any]], plain: bool | None = None) -> None:
        self._entries = entries
        self._plain = set(map(type, entries)) <= {dict} if plain is None else plain
        self._memo: dict[tuple[str, bool], list[Hashable]] = {}

    def raw(self, name: str) -> list[Any]:
        """``entry.get(name)`` of each entry."""
        entries = self._entries
        if self._plain:
            return list(map(dict.get, entries, repeat(name, len(entries))))  # type: ignore[arg-type]
        return [e.get(name) for e in entries]

    def text(self, name: str) -> list[Hashable]:
        """:func:`~tokensmith.cache.buckets.norm` of each entry's ``name``."""
        return self._normalized(name, False)

    def host(self, name: str) -> list[Hashable]:
        """:func:`~tokensmith.cache.buckets.norm_env` of each entry's ``name``."""
        return self._normalized(name, True)

    def _normalized(self, name: str, lower: bool) -> list[Hashable]:
        done = self._memo.get((name, lower))
        if done is not None:
            return done
        values = self.raw(name)
        try:  # one C-level pass: it fails at the first value that is not text
            joined: str | None = "".join(values)
        except TypeError:
            joined = None
        kinds = {str} if joined is not None else set(map(type, values))
        if joined is not None:
            # (text with nothing to lower, as hosts mostly are, is its own bucket form)
            unchanged = not lower or joined == joined.lower()
            out: list[Hashable] = values if unchanged else list(map(str.lower, values))
        elif kinds == {_NONE}:
            out = [""] * len(values)
        elif lower:
            out = [v.lower() if type(v) is str else norm_env(v) for v in values]
        else:
            out = [v if type(v) is str else norm(v) for v in values]
        self._memo[name, lower] = out
        return out


class _One:
    """:class:`Columns` of a single entry, for a write (no bulk machinery)."""

    __slots__ = ("_entry",)

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self._entry = entry

    def raw(self, name: str) -> list[Any]:
        return [self._entry.get(name)]

    def text(self, name: str) -> list[Hashable]:
        return [norm(self._entry.get(name))]

    def host(self, name: str) -> list[Hashable]:
        return [norm_env(self._entry.get(name))]


def at_group_key(
    home_account_id: object, environment: object, client_id: object, realm: object, ext: object
) -> Hashable:
    """The scope-group key of an AccessToken (same normalization for entries and
    queries). A user's tokens are grouped by ``home_account_id`` alone (with the
    ``ext_cache_key`` when there is one): a user holds a few tokens, which the lookup
    re-checks, and that key is a string the account index has hashed already. App-only
    tokens (no ``home_account_id``) are grouped by environment, client and tenant too,
    so a multi-tenant service's tokens are not one group."""
    home = norm(home_account_id)
    extended = norm(ext)
    if home == "":
        parts = (home, norm_env(environment), norm(client_id), norm(realm))
        return bucket(*parts) if extended == "" else bucket(*parts, extended)
    return home if extended == "" else bucket(home, extended)


def group_keys(fields: _Fields) -> list[Hashable]:
    """:func:`at_group_key` of each AccessToken entry."""
    homes = fields.text("home_account_id")
    extended = fields.text("ext_cache_key")
    if extended.count("") != len(extended):  # extended tokens: rare, one call each
        columns = (fields.host("environment"), fields.text("client_id"), fields.text("realm"))
        return [at_group_key(*row) for row in zip(homes, *columns, extended, strict=True)]
    if "" not in homes:  # users' tokens only (the usual case): the column itself
        return homes
    apps = buckets_of(
        homes, fields.host("environment"), fields.text("client_id"), fields.text("realm")
    )
    return [app if home == "" else home for home, app in zip(homes, apps, strict=True)]


def one_group_key(entry: Mapping[str, Any]) -> Hashable:
    """:func:`group_keys` of one entry (for a write)."""
    get = entry.get
    return at_group_key(
        get("home_account_id"),
        get("environment"),
        get("client_id"),
        get("realm"),
        get("ext_cache_key"),
    )


def _home(fields: _Fields) -> list[Value]:
    """``home_account_id`` of each entry: a user has a few entries per section (one per
    client, realm or cloud), which the lookups tell apart by re-checking them."""
    return fields.text("home_account_id")


def _uah(fields: _Fields) -> list[Value]:
    values: list[Value] = fields.raw("user_assertion_hash")
    if values.count(None) == len(values):
        return values  # no on-behalf-of tokens (the usual case)
    return [norm(v) if v else None for v in values]


def _app_only(fields: _Fields) -> list[Value]:
    """``(environment, client_id)`` of app-only tokens (no ``home_account_id``); a
    user's token is not filed here (the index by ``home_account_id`` finds it)."""
    homes = fields.text("home_account_id")
    if "" not in homes:  # a cache of users' tokens only
        return [None] * len(homes)
    apps = buckets_of(fields.host("environment"), fields.text("client_id"))
    if homes.count("") == len(homes):  # app-only tokens only
        return apps
    return [app if home == "" else None for home, app in zip(homes, apps, strict=True)]


def _app(fields: _Fields) -> list[Value]:
    return buckets_of(fields.host("environment"), fields.text("client_id"))


INDEXES: dict[str, tuple[str, _Bulk]] = {
    "at_by_account": (_CT.ACCESS_TOKEN, _home),
    "at_by_app": (_CT.ACCESS_TOKEN, _app_only),
    "at_by_uah": (_CT.ACCESS_TOKEN, _uah),
    "rt_by_account": (_CT.REFRESH_TOKEN, _home),
    "rt_by_uah": (_CT.REFRESH_TOKEN, _uah),
    "idt_by_account": (_CT.ID_TOKEN, _home),
    "acct_by_hid": (_CT.ACCOUNT, _home),
    "acct_by_env": (_CT.ACCOUNT, lambda fs: fs.host("environment")),
    "acct_by_user": (_CT.ACCOUNT, lambda fs: fs.host("username")),
    "app_by_client": (_CT.APP_METADATA, _app),
}
"""Every bucket index: its section and the bulk function of its values."""

SPARSE = frozenset({"at_by_app", "at_by_uah", "rt_by_uah"})
"""The indexes where an entry may have no value (``None``: not indexed)."""

BY_SECTION: dict[str, tuple[str, ...]] = {
    name: tuple(i for i, (section, _) in INDEXES.items() if section == name) for name in SECTIONS
}


def one(index_name: str, entry: Mapping[str, Any]) -> Value:
    """The bucket value of one entry in one index (``None``: not indexed there)."""
    return INDEXES[index_name][1](_One(entry))[0]
