"""MSAL's ``TokenCache.search()`` matching rules, answered from the indexes.

An entry matches when every ``query`` field equals the entry's field (the query's
``environment`` lower-cased first), every requested scope is in the entry's
``target`` (case-sensitive, as in MSAL), and, for AccessTokens, an entry carrying
``ext_cache_key`` is only returned to a query that carries one.

:func:`candidate_keys` picks the narrowest index bucket the query allows; a bucket is
always a superset of the matches, so the exact rules above are applied afterwards.
Queries that name no indexed field fall back to a scan of the section.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from tokensmith.cache.buckets import bucket, norm, norm_env, norm_lower
from tokensmith.cache.index import CacheIndex, at_group_key
from tokensmith.cache.schema import CredentialType

__all__ = ["candidate_keys", "is_match"]


def is_match(
    credential_type: str,
    entry: Mapping[str, Any],
    query: Mapping[str, Any] | None,
    target_set: Collection[str],
) -> bool:
    """MSAL's match rule for one entry (see the module docstring)."""
    for name, wanted in (query or {}).items():
        if name == "environment" and isinstance(wanted, str):
            wanted = wanted.lower()
        if name not in entry or entry[name] != wanted:
            return False
    if target_set:
        target = entry.get("target")
        if not isinstance(target, str) or not set(target_set) <= set(target.split()):
            return False
    return not (
        credential_type == CredentialType.ACCESS_TOKEN
        and "ext_cache_key" in entry
        and "ext_cache_key" not in (query or {})
    )


def candidate_keys(
    index: CacheIndex,
    credential_type: str,
    query: Mapping[str, Any] | None,
    target: Collection[str],
) -> list[str] | None:
    """Keys that may match, from the narrowest usable bucket; ``None`` means scan."""
    q = query or {}
    if credential_type == CredentialType.ACCESS_TOKEN:
        return _access_token_candidates(index, q, target)
    if credential_type == CredentialType.REFRESH_TOKEN:
        return _refresh_token_candidates(index, q)
    if credential_type == CredentialType.ID_TOKEN:
        return _id_token_candidates(index, q)
    if credential_type == CredentialType.ACCOUNT:
        return _account_candidates(index, q)
    if credential_type == CredentialType.APP_METADATA and _has(q, "environment", "client_id"):
        app = bucket(norm_env(q["environment"]), norm(q["client_id"]))
        return index.lookup(index.app_by_client, app)
    return None


def _has(q: Mapping[str, Any], *fields: str) -> bool:
    return all(f in q for f in fields)


def _access_token_candidates(
    index: CacheIndex, q: Mapping[str, Any], target: Collection[str]
) -> list[str] | None:
    if _has(q, "home_account_id", "environment", "client_id", "realm"):
        group_key = at_group_key(
            q["home_account_id"],
            q["environment"],
            q["client_id"],
            q["realm"],
            q.get("ext_cache_key"),
        )
        return index.at_supersets(group_key, frozenset(str(s).lower() for s in target))
    if q.get("user_assertion_hash"):
        return index.lookup(index.at_by_uah, norm(q["user_assertion_hash"]))
    home = norm(q["home_account_id"]) if "home_account_id" in q else None
    if home == "" and _has(q, "environment", "client_id"):  # app-only tokens
        app = bucket(norm_env(q["environment"]), norm(q["client_id"]))
        return index.lookup(index.at_by_app, app)
    if home is not None:
        return index.lookup(index.at_by_account, home)
    return None


def _refresh_token_candidates(index: CacheIndex, q: Mapping[str, Any]) -> list[str] | None:
    if "home_account_id" in q:
        return index.lookup(index.rt_by_account, norm(q["home_account_id"]))
    if q.get("user_assertion_hash"):
        return index.lookup(index.rt_by_uah, norm(q["user_assertion_hash"]))
    return None


def _id_token_candidates(index: CacheIndex, q: Mapping[str, Any]) -> list[str] | None:
    if "home_account_id" in q:
        return index.lookup(index.idt_by_account, norm(q["home_account_id"]))
    return None


def _account_candidates(index: CacheIndex, q: Mapping[str, Any]) -> list[str] | None:
    if "home_account_id" in q:
        return index.lookup(index.acct_by_hid, norm(q["home_account_id"]))
    if "username" in q:
        return index.lookup(index.acct_by_user, norm_lower(q["username"]))
    if "environment" in q:
        return index.lookup(index.acct_by_env, norm_env(q["environment"]))
    return None
