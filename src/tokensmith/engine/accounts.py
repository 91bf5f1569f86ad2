"""Accounts as ``get_accounts`` returns them, and sign-out (``remove_account``).

Both read and write the cache only (no flow): a grouped, read-only view rebuilt only
when an Account entry changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokensmith.cache.buckets import gc_paused
from tokensmith.engine.context import AppContext
from tokensmith.engine.results import Account
from tokensmith.errors import ConfigurationError

__all__ = ["checked_account", "get_accounts", "remove_account", "remove_tokens_for_client"]

_ACCOUNT_AUTHORITY_TYPES = frozenset({"MSSTS", "ADFS"})


def get_accounts(ctx: AppContext, username: str | None = None) -> list[Account]:
    """Accounts that signed in before (one per home account) in the default
    authority's environment, optionally only those whose username matches
    ``username`` case-insensitively."""
    cache = ctx.cache
    environments = ctx.default.environments
    if username is not None:
        for env in environments:
            entries = cache.find_accounts(environments=(env,), username=username)
            if entries:
                return _group(entries)
        return []
    # The grouped view is rebuilt only when an Account entry changed; its accounts
    # are read-only, so handing out the same objects again is safe. A cache read
    # through its hooks may change behind the app (another process), so never memoized.
    stamp = (id(cache), cache.account_generation)
    memo = ctx.memos.get("accounts")
    if memo is None or memo[0] != stamp or cache.reads_through_hooks:
        view: list[Account] = []
        for env in environments:
            found = cache.find_accounts(environments=(env,))  # (may read a store)
            with gc_paused():  # one Account per user: no collection per 700 of them
                view = _group(found)
            if view:
                break
        memo = ctx.memos["accounts"] = (stamp, view)
    return list(memo[1])


def checked_account(account: object) -> Mapping[str, Any] | None:
    """The ``account`` argument of the silent calls and ``remove_account``: None (or
    empty) for no account, else a mapping (one of ``get_accounts()``) whose
    ``home_account_id`` is a string.

    Raises:
        ValueError: ``account`` is not a mapping, or its ``home_account_id`` is
            present but not a string.
    """
    if not isinstance(account, (dict, Mapping)):  # dict first: no ABC check for accounts
        if account is None:
            return None
        raise ConfigurationError(
            f"account must be a dict returned by get_accounts(), not {type(account).__name__}"
        )
    if not account:
        return None
    home = account.get("home_account_id")
    if home is not None and not isinstance(home, str):
        raise ConfigurationError("account['home_account_id'] must be a string")
    return account


def remove_account(ctx: AppContext, account: Mapping[str, Any] | None) -> None:
    """Forget the account's tokens in this environment (MSAL's sign-out).

    Raises:
        ValueError: ``account`` is not an account dict (:func:`checked_account`).
    """
    checked = checked_account(account)
    home = checked.get("home_account_id") if checked else None
    if not home:
        return
    ctx.cache.forget_account(
        home_account_id=home, environments=ctx.default.environments, client_id=ctx.client_id
    )


def remove_tokens_for_client(ctx: AppContext) -> None:
    """Forget the app-only tokens this client obtained from its authority's cloud."""
    ctx.cache.remove_app_tokens(client_id=ctx.client_id, environments=ctx.default.environments)


def _group(entries: Sequence[Mapping[str, Any]]) -> list[Account]:
    grouped: dict[Any, Mapping[str, Any]] = {}
    for a in entries:  # one per home account: the last entry, at its first place
        if a.get("authority_type") in _ACCOUNT_AUTHORITY_TYPES:
            grouped[a.get("home_account_id")] = a
    return [
        Account(
            home_account_id=a.get("home_account_id"),
            environment=a.get("environment"),
            username=a.get("username"),
            account_source=a.get("account_source"),
            authority_type=a.get("authority_type"),
            local_account_id=a.get("local_account_id"),
            realm=a.get("realm"),
        )
        for a in grouped.values()
    ]
