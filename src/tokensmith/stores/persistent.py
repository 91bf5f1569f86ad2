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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any, TypeVar

from tokensmith._clock import Clock, system_clock
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.token_cache import SerializableTokenCache
from tokensmith.errors import ConfigurationError, ProtocolError
from tokensmith.stores import partition as part
from tokensmith.stores._msaljson import rows_of
from tokensmith.stores.base import EntryStore, Row, SnapshotStore
from tokensmith.stores.bound import PartitionLru

__all__ = ["PersistentTokenCache"]

T = TypeVar("T")
_ALL = "*"
_UNSYNCED = object()


class PersistentTokenCache(SerializableTokenCache):
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
        ConfigurationError: ``store`` is neither kind of store.
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
        self._synced: object = _UNSYNCED
        self._set_sink(self._Sink(self))
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

    class _Sink:
        def __init__(self, cache: PersistentTokenCache) -> None:
            self.cache = cache

        def apply(self, changes: Sequence[Change]) -> None:
            cache = self.cache
            if cache._snapshot_store is None:
                assert cache._entry_store is not None
                cache._entry_store.apply(changes)
                if cache._lru is not None:
                    cache._note_writes(cache._lru, changes)
                return
            before, after = cache._snapshot_store.apply(changes)
            if before == cache._synced:  # memory held the snapshot we merged into
                cache._synced = after

    # -- reading through ------------------------------------------------------------

    def _need(self, name: str, username: str | None = None) -> None:
        if self._snapshot_store is not None:
            self._sync()
            return
        loaded = self._loaded
        if (name, username) in loaded or (name, None) in loaded or (_ALL, None) in loaded:
            if self._bounded:
                self._lru.touch(name)  # type: ignore[union-attr]
            return
        self._read(name, username)

    def _read(self, name: str, username: str | None = None) -> None:
        store = self._entry_store
        assert store is not None
        version = store.version()
        rows = store.read(name, username=username)
        self._absorb_rows(rows)
        self._loaded[(name, username)] = version
        if self._lru is not None:
            held = ((ct, key) for ct, key, _ in rows)
            if username is None:  # the whole partition: what it no longer has was removed
                gone = self._lru.replace(name, held)
                if gone:
                    self._forget(gone)
            else:
                self._lru.add(name, held)
            self._bound(self._lru)

    def _note_writes(self, lru: PartitionLru, changes: Sequence[Change]) -> None:
        for change in changes:
            name = part.partition_of(change.credential_type, change.entry)
            if isinstance(change, EntryPut):
                lru.add(name, [(change.credential_type, change.key)])
            else:
                lru.discard(name, (change.credential_type, change.key))
        self._bound(lru)

    def _bound(self, lru: PartitionLru) -> None:
        """Keep memory under the bound: expired tokens first, then LRU partitions."""
        if not lru.over():
            return
        for key, entry in self.expired_access_tokens():
            if self._forget([(part.ACCESS_TOKEN, key)]):
                lru.discard(part.partition_of(part.ACCESS_TOKEN, entry), (part.ACCESS_TOKEN, key))
        for name, members in lru.evict():
            self._forget(members)
            for loaded in [k for k in self._loaded if k[0] == name]:
                del self._loaded[loaded]

    def _stale(self, name: str, username: str | None = None) -> bool:
        store = self._entry_store
        if store is None:
            return False
        version = store.version()
        if version is None:
            return True
        loaded = self._loaded.get((name, username), self._loaded.get((_ALL, None), _UNSYNCED))
        return bool(loaded != version)

    def _read_after_miss(self, name: str) -> bool:
        """After a lookup missed in memory: read ``name``'s partition if memory does
        not hold it or the entry store changed since; True if it was read."""
        if self._entry_store is None:
            return False
        loaded = self._loaded
        held = (name, None) in loaded or (_ALL, None) in loaded
        if held and not self._stale(name):
            if self._bounded:
                self._lru.touch(name)  # type: ignore[union-attr]
            return False
        self._read(name)
        return True

    def _through(
        self, name: str, call: Callable[[], T], missed: Callable[[T], bool], user: str | None = None
    ) -> T:
        self._need(name, user)
        found = call()
        if missed(found) and self._stale(name, user):
            self._read(name, user)
            found = call()
        return found

    def _absorb_rows(self, rows: Iterable[Row]) -> None:
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for credential_type, key, entry in rows:
            by_type.setdefault(credential_type, []).append((key, entry))
        for credential_type, entries in by_type.items():
            self._absorb(credential_type, entries)

    def _sync(self) -> None:
        store = self._snapshot_store
        assert store is not None
        if store.version() == self._synced:
            return
        with self._emit_lock:  # no batch is being written meanwhile
            if store.version() == self._synced:
                return
            version, state = store.load()
            self._reload_from_store(state or {})
            self._synced = version

    def _load_all(self) -> None:
        if self._snapshot_store is not None:
            self._sync()
            return
        store = self._entry_store
        assert store is not None
        if (_ALL, None) in self._loaded and not self._stale(_ALL):
            return
        version = store.version()
        rows, verbatim = rows_of(store.read_all())
        self._absorb_rows(rows)
        with self._lock:
            self._cache.update(verbatim)  # sections kept as they are, never looked up
        self._loaded[(_ALL, None)] = version

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
            if found is not None:
                if self._bounded:
                    self._lru.touch(  # type: ignore[union-attr]
                        part.of_lookup(home_account_id, client_id, realm, user_assertion_hash)
                    )
                return found
            if attempt or not self._read_after_miss(
                part.of_lookup(home_account_id, client_id, realm, user_assertion_hash)
            ):
                return None
        return None  # pragma: no cover - the loop always returns

    def find_refresh_tokens(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        client_id: str | None = None,
        family_id: str | None = None,
    ) -> list[dict[str, Any]]:
        name = part.user(home_account_id)
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

    # -- removals: read the newest state first, so no entry of another process stays --

    def forget_account(
        self, *, home_account_id: str, environments: Sequence[str], client_id: str
    ) -> None:
        if self._entry_store is None:
            self._sync()
        else:
            for name in (part.user(home_account_id), part.ACCOUNTS, part.META):
                self._read(name)
        super().forget_account(
            home_account_id=home_account_id, environments=environments, client_id=client_id
        )

    def remove_app_tokens(self, *, client_id: str, environments: Sequence[str]) -> None:
        if self._entry_store is None:
            self._sync()
        else:
            self._absorb_rows(self._entry_store.read_prefix(f"app:{client_id}:"))
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
        self._load_all()
        return super().search(credential_type, target=target, query=query, now=now)

    def serialize(self) -> str:
        """The whole cache (every partition of the store) as MSAL's JSON."""
        self._load_all()
        return super().serialize()

    def deserialize(self, state: str | bytes | None) -> None:
        """Replace the store's whole content with a serialized MSAL cache (an import).

        Raises:
            ProtocolError: not a JSON object; the store is left as it was.
        """
        probe = SerializableTokenCache()
        probe.deserialize(state)  # validates first: a bad document changes nothing
        loaded = json.loads(probe.serialize())
        if not isinstance(loaded, dict):  # pragma: no cover - serialize gives an object
            raise ProtocolError("token cache state is not a JSON object")
        with self._emit_lock:
            if self._snapshot_store is not None:
                _, after = self._snapshot_store.replace_all(loaded)
                self._synced = after
            else:
                assert self._entry_store is not None
                self._entry_store.replace_all(loaded)
                self._loaded = {(_ALL, None): self._entry_store.version()}
            with self._lock:
                self._pending.clear()
                self._replace_state(loaded)
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
