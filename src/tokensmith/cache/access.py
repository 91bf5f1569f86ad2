"""What the engine reads and writes of a token cache: :class:`CacheAccess`.

A plain tokensmith cache satisfies it with its indexed lookups; a
:class:`~tokensmith.cache.hooks.HookedCache` satisfies it through MSAL's hooks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from tokensmith.concurrency import SingleFlight

__all__ = ["CacheAccess"]


class CacheAccess(Protocol):
    """What the engine reads and writes: a plain tokensmith cache or a HookedCache."""

    single_flight: SingleFlight
    account_generation: int
    reads_through_hooks: bool
    store_backed: bool

    def find_access_token(
        self,
        *,
        home_account_id: str | None,
        environments: Sequence[str],
        client_id: str,
        realm: str,
        scopes: Collection[str],
        now: float,
        ext_cache_key: str | None = None,
        key_id: str | None = None,
        user_assertion_hash: str | None = None,
    ) -> dict[str, Any] | None: ...

    def find_refresh_tokens(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        client_id: str | None = None,
        family_id: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def find_obo_refresh_token(
        self, *, user_assertion_hash: str, environments: Sequence[str], client_id: str
    ) -> dict[str, Any] | None: ...

    def get_app_metadata(self, *, environment: str, client_id: str) -> dict[str, Any] | None: ...

    def find_accounts(
        self,
        *,
        environments: Sequence[str] | None = None,
        username: str | None = None,
        home_account_id: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def find_id_token(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        realm: str | None,
        client_id: str,
    ) -> dict[str, Any] | None: ...

    def forget_account(
        self, *, home_account_id: str, environments: Sequence[str], client_id: str
    ) -> None: ...

    def remove_app_tokens(self, *, client_id: str, environments: Sequence[str]) -> None: ...

    def removal_generation(self, home_account_id: str) -> int: ...

    def holding_account(self, home_account_id: str) -> AbstractContextManager[object]: ...

    def add(self, event: Mapping[str, Any], now: float | None = None) -> None: ...

    def update_rt(
        self,
        rt_item: dict[str, Any],
        new_rt: str,
        *,
        removal_generation: tuple[str, int] | None = None,
    ) -> None: ...
