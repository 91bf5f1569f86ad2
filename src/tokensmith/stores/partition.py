"""Which partition a cache entry belongs to: the one rule every entry store uses.

A partition is the set of entries one lookup needs, so an entry store (SQLite, Redis)
reads one partition instead of the whole cache:

- ``user:<home_account_id>``: a user's AccessTokens, RefreshTokens and IdTokens (every
  client and realm of that account: a silent call reads one partition);
- ``app:<client_id>:<realm>``: a client's app-only AccessTokens in one tenant;
- ``obo:<user_assertion_hash>``: tokens obtained on behalf of one incoming assertion;
- ``accounts``: every Account entry (``get_accounts`` lists them);
- ``meta``: every AppMetadata entry (one per client and environment);
- ``other:<credential_type>``: sections tokensmith does not know, kept verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.cache.schema import CredentialType

__all__ = ["ACCESS_TOKEN", "ACCOUNTS", "META", "app", "obo", "of_lookup", "partition_of", "user"]

ACCESS_TOKEN = CredentialType.ACCESS_TOKEN
ACCOUNTS = "accounts"
META = "meta"
_CT = CredentialType


def user(home_account_id: str) -> str:
    """The partition of one account's tokens."""
    return "user:" + home_account_id


def app(client_id: str, realm: str) -> str:
    """The partition of one client's app-only tokens in one tenant."""
    return f"app:{client_id}:{realm.lower()}"


def obo(user_assertion_hash: str) -> str:
    """The partition of the tokens obtained on behalf of one user assertion."""
    return "obo:" + user_assertion_hash


def of_lookup(
    home_account_id: str | None, client_id: str, realm: str, user_assertion_hash: str | None
) -> str:
    """The partition a token lookup reads: the assertion's, else the account's, else
    the client's in ``realm`` (as :func:`partition_of` files the entry it finds)."""
    if user_assertion_hash:
        return obo(user_assertion_hash)
    if home_account_id:
        return user(home_account_id)
    return app(client_id, realm)


def partition_of(credential_type: str, entry: Mapping[str, Any]) -> str:
    """The partition ``entry`` (of ``credential_type``) is stored in."""
    if credential_type == _CT.ACCOUNT:
        return ACCOUNTS
    if credential_type == _CT.APP_METADATA:
        return META
    if credential_type not in (_CT.ACCESS_TOKEN, _CT.REFRESH_TOKEN, _CT.ID_TOKEN):
        return "other:" + credential_type
    uah = entry.get("user_assertion_hash")
    if isinstance(uah, str) and uah:
        return obo(uah)
    home = entry.get("home_account_id")
    if isinstance(home, str) and home:
        return user(home)
    return app(_text(entry.get("client_id")), _text(entry.get("realm")))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
