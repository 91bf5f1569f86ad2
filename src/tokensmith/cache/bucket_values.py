"""The bucket value of an entry in each secondary index, for one entry and in bulk.

Every index files a storage key under one value computed from the entry's fields,
normalized by :func:`~tokensmith.cache.buckets.norm` (``environment`` and
``username`` lower-cased). :func:`one` serves single writes; the bulk functions give
the same values for a whole section in one loop with the usual case (string fields)
inlined, which is what keeps building an index after a load cheap beside the JSON
parse.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from tokensmith.cache.buckets import norm, norm_env, norm_lower
from tokensmith.cache.schema import SECTIONS, CredentialType

__all__ = ["BY_SECTION", "INDEXES", "SPARSE", "Value", "at_group_key", "group_keys", "one"]

_CT = CredentialType
_Entries = Sequence[Mapping[str, Any]]
Value = Hashable | None
_Bulk = Callable[[_Entries], list[Value]]


def at_group_key(
    home_account_id: object, environment: object, client_id: object, realm: object, ext: object
) -> tuple[Hashable, ...]:
    """The scope-group key of an AccessToken (same normalization for entries and queries)."""
    return (norm(home_account_id), norm_env(environment), norm(client_id), norm(realm), norm(ext))


def group_keys(entries: _Entries) -> list[tuple[Hashable, ...]]:
    """:func:`at_group_key` of each AccessToken entry."""
    out: list[tuple[Hashable, ...]] = []
    for e in entries:
        h, v, c, r, x = (
            e.get("home_account_id"),
            e.get("environment"),
            e.get("client_id"),
            e.get("realm"),
            e.get("ext_cache_key"),
        )
        out.append(
            (
                h if type(h) is str else norm(h),
                v.lower() if type(v) is str else norm_env(v),
                c if type(c) is str else norm(c),
                r if type(r) is str else norm(r),
                "" if x is None else norm(x),
            )
        )
    return out


def _pairs(entries: _Entries, *fields: str) -> list[Value]:
    """``(home_account_id, environment, *fields)`` of each entry."""
    out: list[Value] = []
    for e in entries:
        h, v = e.get("home_account_id"), e.get("environment")
        pair: tuple[Hashable, ...] = (
            h if type(h) is str else norm(h),
            v.lower() if type(v) is str else norm_env(v),
        )
        for name in fields:
            x = e.get(name)
            pair += (x if type(x) is str else norm(x),)
        out.append(pair)
    return out


def _field(entries: _Entries, name: str, lower: bool = False) -> list[Value]:
    values = [e.get(name) for e in entries]
    if lower:
        return [v.lower() if type(v) is str else norm_lower(v) for v in values]
    return [v if type(v) is str else norm(v) for v in values]


def _uah(entries: _Entries) -> list[Value]:
    values = [e.get("user_assertion_hash") for e in entries]
    if values.count(None) == len(values):
        return values  # no on-behalf-of tokens (the usual case)
    return [norm(v) if v else None for v in values]


def _env_user(entries: _Entries) -> list[Value]:
    envs = _field(entries, "environment", lower=True)
    users = _field(entries, "username", lower=True)
    return list(zip(envs, users, strict=True))


def _app(entries: _Entries) -> list[Value]:
    envs = _field(entries, "environment", lower=True)
    return list(zip(envs, _field(entries, "client_id"), strict=True))


INDEXES: dict[str, tuple[str, _Bulk]] = {
    "at_by_account": (_CT.ACCESS_TOKEN, _pairs),
    "at_by_app": (_CT.ACCESS_TOKEN, lambda es: _pairs(es, "client_id")),
    "at_by_uah": (_CT.ACCESS_TOKEN, _uah),
    "rt_by_account": (_CT.REFRESH_TOKEN, _pairs),
    "rt_by_family": (_CT.REFRESH_TOKEN, lambda es: _pairs(es, "family_id")),
    "rt_by_uah": (_CT.REFRESH_TOKEN, _uah),
    "idt_by_account": (_CT.ID_TOKEN, _pairs),
    "idt_by_client": (_CT.ID_TOKEN, lambda es: _pairs(es, "realm", "client_id")),
    "acct_by_hid": (_CT.ACCOUNT, lambda es: _field(es, "home_account_id")),
    "acct_by_env": (_CT.ACCOUNT, lambda es: _field(es, "environment", lower=True)),
    "acct_by_env_user": (_CT.ACCOUNT, _env_user),
    "acct_by_user": (_CT.ACCOUNT, lambda es: _field(es, "username", lower=True)),
    "app_by_client": (_CT.APP_METADATA, _app),
}
"""Every bucket index: its section and the bulk function of its values."""

SPARSE = frozenset({"at_by_uah", "rt_by_uah"})
"""The indexes where an entry may have no value (``None``: not indexed)."""

BY_SECTION: dict[str, tuple[str, ...]] = {
    name: tuple(i for i, (section, _) in INDEXES.items() if section == name) for name in SECTIONS
}


def one(index_name: str, entry: Mapping[str, Any]) -> Value:
    """The bucket value of one entry in one index (``None``: not indexed there)."""
    return INDEXES[index_name][1]((entry,))[0]
