"""``PersistentTokenCache``: a token cache whose entries live in a store.

Memory is a cache of the store. Hits are answered from memory; a partition is read
from an entry store when a lookup first needs it, and read again when a lookup misses
and the store changed since (another process wrote), so a fresh process reads only
the rows its call needs. A snapshot store is checked (one ``stat``) before each
lookup and reloaded when it changed. Writes reach the store through the cache's seam
(:mod:`tokensmith.cache.changes`) after the cache lock is released.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any

from tokensmith._clock import Clock, system_clock
from tokensmith._redact import logger
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.store_io import STORE_FIRST, check_store_read
from tokensmith.cache.token_cache import SerializableTokenCache
from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.stores import partition as part
from tokensmith.stores._msaljson import rows_of
from tokensmith.stores.base import DROPPED, EntryStore, SnapshotStore
from tokensmith.stores.bound import PartitionLru
from tokensmith.stores.read_through import ALL, UNSYNCED, ReadThrough, Sink

__all__ = ["PersistentTokenCache"]


class PersistentTokenCache(ReadThrough):
    """A :class:`~tokensmith.SerializableTokenCache` backed by a store.

    Use it as ``token_cache=`` of any sync or async application. ``serialize()`` and
    ``deserialize()`` export and import MSAL's JSON (a deserialize replaces the store's
    content); there is nothing to save by hand.

    Args:
        store: an entry store (:class:`~tokensmith.stores.SqliteStore`,
            :class:`~tokensmith.stores.RedisStore`) or a snapshot store
            (:class:`~tokensmith.stores.FileStore`, ...).
        clock: epoch-seconds clock.
        max_entries: bound on the entries held in memory (entry stores only):
            expired access tokens are dropped first, then the least recently used
            partitions (they stay in the store). None: no bound.

    Raises:
        ConfigurationError: ``store`` is neither kind of store, or ``max_entries`` is
            not a whole number of at least 1 (or is given for a snapshot store).
    """

    def __init__(
        self,
        store: EntryStore | SnapshotStore,
        *,
        clock: Clock = system_clock,
        max_entries: int | None = None,
    ) -> None:
        super().__init__(clock=clock)
        if getattr(store, "snapshot", False) is True and isinstance(store, SnapshotStore):
            self._snapshot_store: SnapshotStore | None = store
            self._entry_store: EntryStore | None = None
        elif isinstance(store, EntryStore):
            self._snapshot_store, self._entry_store = None, store
        else:
            raise ConfigurationError("store must be an entry store or a snapshot store")
        self.store = store
        self._lru: PartitionLru | None = None
        if max_entries is not None and self._entry_store is None:
            raise ConfigurationError("max_entries bounds caches in front of entry stores")
        if self._entry_store is not None:
            self._lru = PartitionLru(max_entries)
        self._bounded = max_entries is not None
        self._loaded: dict[tuple[str, str | None], object] = {}
        self._synced: object = UNSYNCED
        self._stored_rts: set[str] = set()
        self._sign_out = None
        self._set_sink(Sink(self))
        make_flight = getattr(store, "single_flight", None)
        if callable(make_flight):  # e.g. Redis: one fetch across processes
            self.single_flight = make_flight()

    @property
    def has_state_changed(self) -> bool:
        """Always False: every change is already in the store, so code written for
        MSAL (``if cache.has_state_changed: save(cache.serialize())``) saves nothing."""
        return False

    @has_state_changed.setter
    def has_state_changed(self, value: bool) -> None:
        pass  # the base class sets it on every write; there is nothing left to save

    # -- the lookups the engine makes -------------------------------------------------

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
    ) -> dict[str, Any] | None:
        # Memory first: a hit costs one call more than a plain cache's (no partition
        # name, no super() look-up). A miss reads the partition when memory does not
        # hold it or the store changed since, then looks again.
        if self._snapshot_store is not None:
            self._sync()
        elif STORE_FIRST.get():  # after another process's fetch: its token, not ours
            name = part.of_lookup(home_account_id, client_id, realm, user_assertion_hash)
            check_store_read()
            if self._stale(name):
                self._read(name)

        pinned = None
        try:
            for attempt in (0, 1):
                found = _find_at(
                    self,
                    home_account_id=home_account_id,
                    environments=environments,
                    client_id=client_id,
                    realm=realm,
                    scopes=scopes,
                    now=now,
                    ext_cache_key=ext_cache_key,
                    key_id=key_id,
                    user_assertion_hash=user_assertion_hash,
                )
                if found is not None or attempt:
                    break
                # a miss: read the partition if needed, kept from another thread's
                # eviction until the second look (which also sees another thread's read)
                pinned = part.of_lookup(home_account_id, client_id, realm, user_assertion_hash)
                self._pin(pinned)
                self._read_after_miss(pinned)
        finally:
            if pinned is not None:
                self._unpin(pinned)
        if found is not None and self._bounded:
            name = pinned or part.of_lookup(home_account_id, client_id, realm, user_assertion_hash)
            with self._lock:
                self._lru.touch(name)  # type: ignore[union-attr]
        return found

    def find_refresh_tokens(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        client_id: str | None = None,
        family_id: str | None = None,
    ) -> list[dict[str, Any]]:
        name = part.user(home_account_id)
        with self._pinned(name):
            self._need(name)
            if self._stale(name):  # a refresh goes to the network: read the newest first
                self._read(name)
            return super().find_refresh_tokens(
                home_account_id=home_account_id,
                environments=environments,
                client_id=client_id,
                family_id=family_id,
            )

    def find_obo_refresh_token(
        self, *, user_assertion_hash: str, environments: Sequence[str], client_id: str
    ) -> dict[str, Any] | None:
        return self._through(
            part.obo(user_assertion_hash),
            lambda: super(PersistentTokenCache, self).find_obo_refresh_token(
                user_assertion_hash=user_assertion_hash,
                environments=environments,
                client_id=client_id,
            ),
            _is_none,
        )

    def find_accounts(
        self,
        *,
        environments: Sequence[str] | None = None,
        username: str | None = None,
        home_account_id: str | None = None,
    ) -> list[dict[str, Any]]:
        user = username.lower() if isinstance(username, str) else None
        return self._through(
            part.ACCOUNTS,
            lambda: super(PersistentTokenCache, self).find_accounts(
                environments=environments, username=username, home_account_id=home_account_id
            ),
            _is_empty,
            user,
        )

    def find_id_token(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        realm: str | None,
        client_id: str,
    ) -> dict[str, Any] | None:
        return self._through(
            part.user(home_account_id),
            lambda: super(PersistentTokenCache, self).find_id_token(
                home_account_id=home_account_id,
                environments=environments,
                realm=realm,
                client_id=client_id,
            ),
            _is_none,
        )

    def get_app_metadata(self, *, environment: str, client_id: str) -> dict[str, Any] | None:
        return self._through(
            part.META,
            lambda: super(PersistentTokenCache, self).get_app_metadata(
                environment=environment, client_id=client_id
            ),
            _is_none,
        )

    # -- a refresh's write-back: after the newest state, so a sign-out elsewhere wins --

    def add(self, event: Mapping[str, Any], now: float | None = None) -> None:
        self._before_write_back(event.get("_removal_generation"))
        super().add(event, now)

    def update_rt(
        self,
        rt_item: dict[str, Any],
        new_rt: str,
        *,
        removal_generation: tuple[str, int] | None = None,
    ) -> None:
        self._before_write_back(removal_generation)
        super().update_rt(rt_item, new_rt, removal_generation=removal_generation)

    def _before_write_back(self, guard: object) -> None:
        """A refresh's write-back (it carries the account's removal guard) reads the
        account's partition again first when the store changed: refresh tokens another
        process removed meanwhile (its sign-out) count as a removal here, and the
        write-back is dropped. (The window left is this read to the write, not the
        whole round trip to the identity provider.)"""
        if not (isinstance(guard, tuple) and guard and isinstance(guard[0], str)):
            return
        check_store_read()
        if self._entry_store is None:
            self._sync()
            return
        name = part.user(guard[0])
        if self._stale(name):
            self._read(name)

    # -- removals: read the newest state first, so no entry of another process stays --

    def forget_account(
        self, *, home_account_id: str, environments: Sequence[str], client_id: str
    ) -> None:
        check_store_read()  # a removal writes to the store: never in memory-only mode
        if self._entry_store is None:
            self._sync()
            super().forget_account(
                home_account_id=home_account_id, environments=environments, client_id=client_id
            )
            return
        names = (part.user(home_account_id), part.ACCOUNTS, part.META)
        with self._pinned(*names), self._emit_lock:
            for name in names:  # (pinned: the bound keeps each read until it is removed)
                self._read(name)
            self._read_on_behalf_of(home_account_id)  # (held by the emit lock)
            # a store that can (SignOutWriter) also removes, in the transaction of the
            # batch, the rows of the account these reads did not bring in
            try:
                super().forget_account(
                    home_account_id=home_account_id,
                    environments=environments,
                    client_id=client_id,
                )
                if self._sign_out is not None:  # memory held none of it: no batch went
                    assert self._sink is not None
                    self._sink.apply([])  # the store still removes what it holds
            finally:
                self._sign_out = None

    def remove_app_tokens(self, *, client_id: str, environments: Sequence[str]) -> None:
        check_store_read()  # a removal writes to the store: never in memory-only mode
        if self._entry_store is None:
            self._sync()
            super().remove_app_tokens(client_id=client_id, environments=environments)
            return
        # the emit lock until the removal is made: no other thread's write can evict
        # what the read brings in (and the read skips what is not saved yet)
        with self._emit_lock:
            rows = self._entry_store.read_prefix(f"app:{client_id}:")
            with self._lock:
                self._absorb_bulk(rows)
            super().remove_app_tokens(client_id=client_id, environments=environments)

    # -- MSAL's whole-cache API ---------------------------------------------------------

    def search(
        self,
        credential_type: str,
        target: Iterable[str] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        now: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        with self._whole_store():
            found = super().search(credential_type, target=target, query=query, now=now)
            if self._bounded:  # taken now: no eviction until then
                found = iter(list(found))
        return found

    def serialize(self) -> str:
        """The whole cache (every partition of the store) as MSAL's JSON."""
        with self._whole_store():
            return super().serialize()

    def deserialize(self, state: str | bytes | None) -> None:
        """Replace the store's whole content with a serialized MSAL cache (an import).

        An empty document (``None``, ``""``: MSAL-style code reading an empty file)
        changes nothing, with a warning: it would empty the store every process shares;
        ``"{}"`` empties it.

        Raises:
            ProtocolError: not a JSON object; the store is left as it was.
        """
        if not state:
            logger.warning(
                "token cache: deserialize() of an empty document; the store is left as "
                "it was (deserialize('{}') empties it)"
            )
            return
        probe = SerializableTokenCache()
        probe.deserialize(state)  # validates first: a bad document changes nothing
        loaded = json.loads(probe.serialize())
        if not isinstance(loaded, dict):  # pragma: no cover - serialize gives an object
            raise ProtocolError("token cache state is not a JSON object")
        landed = True
        with self._emit_lock:
            if self._snapshot_store is not None:
                _, after = self._snapshot_store.replace_all(loaded)
                self._synced = after
            else:
                assert self._entry_store is not None
                after = self._entry_store.replace_all(loaded)
                landed = after is not DROPPED
                known = after is not None and landed
                version = after if known else self._entry_store.version()
                self._loaded = {(ALL, None): version}
            with self._lock:
                self._pending.clear()
                self._replace_state(loaded)
                section = loaded.get(CredentialType.REFRESH_TOKEN)
                landed_rts = section if landed and isinstance(section, dict) else {}
                self._stored_rts = set(landed_rts)  # what the store holds: the import
                if self._lru is not None:  # what memory holds now: the whole import
                    self._lru.clear()
                    self._count(self._lru, rows_of(loaded, quiet=True)[0])
                    self._bound(self._lru)
                self.has_state_changed = False

    def close(self) -> None:
        """Close the store."""
        self.store.close()


_find_at = SerializableTokenCache.find_access_token
"""The in-memory lookup, called without ``super()``: on Python 3.11 its look-up costs
about half a microsecond per L1 hit."""


def _is_none(found: object) -> bool:
    return found is None


def _is_empty(found: Sized) -> bool:
    return not found
