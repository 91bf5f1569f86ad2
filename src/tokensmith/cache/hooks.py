"""Caches that override MSAL's hooks: every read through ``search``, every write
through ``add``, ``update_rt``, ``remove_*`` and ``modify``, as MSAL's applications do.

msal-extensions' ``PersistedTokenCache`` (and other subclasses in the wild) override
``search`` to reload from disk before a read and ``modify`` to write to disk after a
change. tokensmith's own lookups answer from secondary indexes without calling
``search``, so such a cache would never see what another process wrote. Each cache
class is therefore looked at once (:func:`cache_access`):

* a tokensmith cache class whose hooks (:data:`HOOKS`) are all tokensmith's own is
  used directly: its indexed lookups are the fast path;
* any other cache, a tokensmith subclass overriding a hook or a foreign object with
  MSAL's API (a ``PersistedTokenCache`` built on the real ``msal``), is wrapped in a
  :class:`HookedCache`, which makes the calls MSAL 1.39's applications make.

The answers are the same either way: :class:`HookedCache`'s reads
(:mod:`tokensmith.cache._hooked_reads`) filter what ``search`` yields with the rules
the indexed lookups apply (:mod:`tokensmith.cache.lookups`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from tokensmith.cache._hooked_reads import HookedReads
from tokensmith.cache.access import CacheAccess
from tokensmith.cache.lookups import strings
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.token_cache import TokenCache
from tokensmith.concurrency import SingleFlight
from tokensmith.errors import ConfigurationError

__all__ = ["HOOKS", "CacheAccess", "HookedCache", "cache_access", "uses_indexes"]

_CT = CredentialType
HOOKS = (
    "search",
    "find",
    "add",
    "modify",
    "remove_rt",
    "update_rt",
    "remove_at",
    "remove_idt",
    "remove_account",
)
"""MSAL's ``TokenCache`` methods that subclasses override to persist or replicate."""

_REQUIRED = ("search", "add", "modify")
_REMOVERS = {
    _CT.REFRESH_TOKEN: "remove_rt",
    _CT.ACCESS_TOKEN: "remove_at",
    _CT.ID_TOKEN: "remove_idt",
    _CT.ACCOUNT: "remove_account",
}


_INDEXED: dict[type, bool] = {}


def uses_indexes(cls: type) -> bool:
    """True if ``cls`` is a tokensmith cache class that overrides none of :data:`HOOKS`
    outside tokensmith (decided once per class)."""
    known = _INDEXED.get(cls)
    if known is None:
        known = _INDEXED[cls] = issubclass(cls, TokenCache) and all(
            _tokensmith_defines(cls, name) for name in HOOKS
        )
    return known


def _tokensmith_defines(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass.__module__.partition(".")[0] == "tokensmith"
    return False


_ADAPTERS: weakref.WeakValueDictionary[int, HookedCache] = weakref.WeakValueDictionary()
_ADAPTERS_LOCK = threading.Lock()


def cache_access(cache: object) -> CacheAccess:
    """How the engine reads and writes ``cache``: the cache itself when its lookups
    may use the indexes, else the one :class:`HookedCache` of that cache object
    (shared by every application given it, so they share its single flight).

    Raises:
        ConfigurationError: ``cache`` has no callable ``search``, ``add`` and ``modify``.
    """
    if uses_indexes(type(cache)):
        assert isinstance(cache, TokenCache)
        return cache
    missing = [name for name in _REQUIRED if not callable(getattr(cache, name, None))]
    if missing:
        raise ConfigurationError(
            f"token_cache must be a TokenCache (tokensmith's or MSAL's); "
            f"{type(cache).__name__} has no {', '.join(missing)}()"
        )
    with _ADAPTERS_LOCK:
        adapter = _ADAPTERS.get(id(cache))
        if adapter is None or adapter.cache is not cache:
            adapter = _ADAPTERS[id(cache)] = HookedCache(cache)
        return adapter


class HookedCache(HookedReads):
    """The engine's lookups and writes made through MSAL's cache API, as MSAL does.

    Reads call ``search(credential_type, query=...)`` (keywords only, as
    msal-extensions requires) once per environment and filter what it yields with
    the indexed lookups' rules (:class:`~tokensmith.cache._hooked_reads.HookedReads`);
    writes call ``add``, ``update_rt`` and the
    ``remove_*`` helpers. Sign-out generations (see
    :meth:`~tokensmith.cache._base.CacheBase.removal_generation`) are kept here, so
    a refresh racing a sign-out does not write back, whatever the cache.

    Attributes:
        cache: the wrapped cache.
        single_flight: deduplicates concurrent refreshes through this cache.
    """

    reads_through_hooks = True
    store_backed = False
    account_generation = 0  # never memoized: every read goes through search()

    def __init__(self, cache: Any) -> None:
        super().__init__(cache)
        self.single_flight = SingleFlight()
        self._lock = threading.RLock()
        self._removals: dict[str, int] = {}

    # -- writes --------------------------------------------------------------------

    def removal_generation(self, home_account_id: str) -> int:
        """How many times this account was signed out through this cache, plus the
        wrapped cache's own count when it keeps one (a tokensmith cache subclass: a
        persistent cache counts sign-outs it saw made by other processes)."""
        with self._lock:
            own = self._removals.get(home_account_id, 0)
            inner = getattr(self.cache, "removal_generation", None)
            return own + (inner(home_account_id) if callable(inner) else 0)

    def holding_account(self, home_account_id: str) -> AbstractContextManager[object]:
        """The wrapped cache's hold, when it has one (a bounded persistent cache keeps
        the account in memory during its refresh); else nothing to hold."""
        hold = getattr(self.cache, "holding_account", None)
        return hold(home_account_id) if callable(hold) else nullcontext()

    def _removed_since(self, guard: object) -> bool:
        if not (isinstance(guard, tuple) and len(guard) == 2 and isinstance(guard[0], str)):
            return False
        return bool(self.removal_generation(guard[0]) != guard[1])

    def _before_write_back(self, guard: object) -> None:
        """A persistent cache re-reads the account from its store before a refresh's
        write-back (a sign-out made elsewhere counts as a removal); the guard is kept
        out of the MSAL-shaped calls made to the wrapped cache, so this asks for it."""
        check = getattr(self.cache, "_before_write_back", None)
        if callable(check) and guard is not None:
            check(guard)

    def add(self, event: Mapping[str, Any], now: float | None = None) -> None:
        """``cache.add(event, now=now)``, unless the event's account was signed out
        since its refresh started (``_removal_generation``, kept out of the event)."""
        with self._lock:
            guard = event.get("_removal_generation")
            self._before_write_back(guard)
            if self._removed_since(guard):
                return
            plain = {k: v for k, v in event.items() if k != "_removal_generation"}
            self.cache.add(plain, now=now)

    def update_rt(
        self,
        rt_item: dict[str, Any],
        new_rt: str,
        *,
        removal_generation: tuple[str, int] | None = None,
    ) -> None:
        """``cache.update_rt(rt_item, new_rt)`` (MSAL's signature), unless the account
        was signed out since ``removal_generation`` was captured."""
        with self._lock:
            self._before_write_back(removal_generation)
            if not self._removed_since(removal_generation):
                self.cache.update_rt(rt_item, new_rt)

    def forget_account(
        self, *, home_account_id: str, environments: Sequence[str], client_id: str
    ) -> None:
        """MSAL's ``remove_account``: per environment, the entries
        :class:`~tokensmith.cache.sign_out.SignOut` states (the account's refresh tokens
        of this client or its family, then its access tokens, id tokens and accounts)."""
        from tokensmith.cache.sign_out import REMOVED_TYPES, SignOut

        envs = strings(environments, "environments")
        with self._lock:
            self._removals[home_account_id] = self._removals.get(home_account_id, 0) + 1
            sign_out = SignOut.of(
                home_account_id,
                client_id,
                envs,
                lambda env: self.get_app_metadata(environment=env, client_id=client_id),
            )
            for env in envs:
                owned = {"environment": env, "home_account_id": home_account_id}
                for credential_type in REMOVED_TYPES:
                    for entry in list(self._search(credential_type, owned)):
                        if isinstance(entry, dict) and sign_out.removes(
                            credential_type, env, entry.get("client_id"), entry.get("family_id")
                        ):
                            self._remove(credential_type, entry)

    def remove_app_tokens(self, *, client_id: str, environments: Sequence[str]) -> None:
        """MSAL's ``remove_tokens_for_client``: this client's app-only access tokens."""
        for env in strings(environments, "environments"):
            query = {"environment": env, "client_id": client_id}
            for entry in list(self._search(_CT.ACCESS_TOKEN, query)):
                if isinstance(entry, dict) and not entry.get("home_account_id"):
                    self._remove(_CT.ACCESS_TOKEN, entry)

    def _remove(self, credential_type: str, entry: dict[str, Any]) -> None:
        """The type's ``remove_*`` helper when the entry is one MSAL's helper accepts,
        else ``modify`` (removal) directly."""
        well_formed = (
            "authority_type" in entry
            if credential_type == _CT.ACCOUNT
            else entry.get("credential_type") == credential_type
        )
        if well_formed:
            getattr(self.cache, _REMOVERS[credential_type])(entry)
        else:
            self.cache.modify(credential_type, entry)

    def __repr__(self) -> str:
        return f"<HookedCache of {self.cache!r}>"
