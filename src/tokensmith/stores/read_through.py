"""How a :class:`~tokensmith.stores.PersistentTokenCache` keeps memory as a cache of its
store: a partition is read when a lookup first needs it and again when a lookup
missed and the store changed since; a snapshot store is checked (one ``stat``) and
reloaded when it changed; writes reach the store through the :class:`Sink` after the
cache lock is released; a bounded cache forgets expired tokens, then the least
recently used partitions (:mod:`tokensmith.stores.bound`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tokensmith.cache.changes import Change
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.store_io import check_store_read
from tokensmith.stores import partition as part
from tokensmith.stores._known_held import KnownHeld
from tokensmith.stores._msaljson import rows_of
from tokensmith.stores.base import (
    DROPPED,
    NO_ANSWER,
    EntryStore,
    NotLanded,
    Row,
    SignOutWriter,
    SnapshotStore,
)
from tokensmith.stores.bound import PartitionLru, forget, shrink

if TYPE_CHECKING:  # the sign-out loads with the first one
    from tokensmith.cache.sign_out import SignOut

_RT = CredentialType.REFRESH_TOKEN

__all__ = ["ALL", "UNSYNCED", "ReadThrough", "Sink"]

T = TypeVar("T")
ALL = "*"
"""The partition name of a whole-store read (``serialize()``, ``search()``)."""
UNSYNCED = object()
"""The version of a store memory has not read yet."""


class ReadThrough(KnownHeld):
    """The reading-through half of ``PersistentTokenCache`` (its lookups are there).

    Every store read goes through :meth:`_read`, :meth:`_stale`, :meth:`_sync` or
    :meth:`_load_all`, which first call
    :func:`~tokensmith.cache.store_io.check_store_read` (an async application's
    memory-only mode); a store's ``version()`` that is a file ``stat`` is not a read.
    """

    store_backed = True

    _snapshot_store: SnapshotStore | None
    _entry_store: EntryStore | None
    _lru: PartitionLru | None
    _bounded: bool
    _loaded: dict[tuple[str, str | None], object]
    _synced: object
    _sign_out: SignOut | None
    """The sign-out the next batch carries to the entry store (see :meth:`_signing_out`)."""
    # -- reading through ------------------------------------------------------------

    def _need(self, name: str, username: str | None = None) -> None:
        if self._snapshot_store is not None:
            self._sync()
            return
        loaded = self._loaded
        if (name, username) in loaded or (name, None) in loaded or (ALL, None) in loaded:
            if self._bounded:
                with self._lock:
                    self._lru.touch(name)  # type: ignore[union-attr]
            return
        self._read(name, username)

    def _read(self, name: str, username: str | None = None) -> None:
        check_store_read()
        store = self._entry_store
        assert store is not None
        # No batch reaches the store while the read is in flight (the emit lock, as a
        # snapshot store's reload holds it): what this process wrote and the store
        # does not have yet is exactly the pending changes, which the rows skip.
        with self._emit_lock:
            version = store.version()
            rows = store.read(name, username=username)
            if rows is NO_ANSWER:  # the backend is down: memory stays as it is
                return
            with self._lock:
                self._take_rows(name, username, version, rows)

    def _unsaved(self) -> set[tuple[str, str]]:
        """``(credential_type, key)`` of the writes memory holds and the store does not
        yet (the pending changes); call with the cache lock held."""
        return {(change.credential_type, change.key) for change in self._pending}

    def _take_rows(
        self, name: str, username: str | None, version: object, rows: Sequence[Row]
    ) -> None:
        """Put a partition read into memory (call with the emit lock and the cache lock
        held): keys this process wrote and has not saved yet keep their state."""
        written = self._unsaved()
        if written:
            rows = [row for row in rows if (row[0], row[1]) not in written]
        self._absorb_rows(rows)
        self._loaded[(name, username)] = version
        lru = self._lru
        if lru is None:
            return
        held = {(ct, key) for ct, key, _ in rows}
        if username is None:  # the whole partition: what it lacks was removed
            if written:
                held |= lru.members(name) & written
            self._drop_removed(lru.replace(name, held))
        else:
            lru.add(name, held)
        self._bound(lru)

    def _drop_removed(self, gone: set[tuple[str, str]]) -> None:
        """Forget ``(credential_type, key)`` entries a store read showed gone (removed
        elsewhere), counting the removal of the accounts whose refresh tokens the store
        was known to hold. Call with the cache lock held."""
        if gone:
            section = self._section(_RT)
            self._note_removed_elsewhere((key, section.get(key)) for ct, key in gone if ct == _RT)
            forget(self, list(gone))

    def _advance(self, before: object, after: object) -> None:
        """This process's own write took the entry store from ``before`` to ``after``:
        what memory read at ``before`` is still current (the write came from memory)."""
        with self._lock:
            loaded = self._loaded
            for read in [k for k, version in loaded.items() if version == before]:
                loaded[read] = after

    def _unread(self, changes: Sequence[Change]) -> None:
        """A batch of these changes did not reach the entry store: memory no longer
        matches it where they go (a removal lost there still holds in memory), so the
        next lookup that misses there reads those partitions again."""
        names = {part.partition_of(c.credential_type, c.entry) for c in changes}
        with self._lock:
            loaded = self._loaded
            for read in [k for k in loaded if k[0] in names or k[0] == ALL]:
                del loaded[read]

    def _note_writes(self, lru: PartitionLru, changes: Sequence[Change]) -> None:
        with self._lock:
            lru.note(changes, part.partition_of)
            self._bound(lru)

    def _bound(self, lru: PartitionLru) -> None:
        """Keep memory under the bound (:func:`~tokensmith.stores.bound.shrink`); an
        evicted partition is read again from the store when next needed. Call with the
        cache lock held."""
        loaded = self._loaded
        for name, held in shrink(self, lru, part.partition_of).items():
            if held:  # memory no longer holds the whole store (an empty record: it does)
                loaded.pop((ALL, None), None)
            for read in [k for k in loaded if k[0] == name]:
                loaded.pop(read, None)
        if lru.max_entries is not None and len(loaded) > lru.max_entries:
            # reads narrowed to a username (find_accounts) are a record each, one per
            # username asked for: forgotten, the next such lookup reads its rows again
            for read in [k for k in loaded if k[1] is not None]:
                del loaded[read]

    def _stale(self, name: str, username: str | None = None) -> bool:
        store = self._entry_store
        if store is None:
            return False
        check_store_read()
        version = store.version()
        if version is None:
            return True
        loaded = self._loaded
        # a narrowed read (a username) is current if the whole partition read is
        at = loaded.get(
            (name, username), loaded.get((name, None), loaded.get((ALL, None), UNSYNCED))
        )
        return bool(at != version)

    def _read_after_miss(self, name: str) -> None:
        """After a lookup missed in memory: read ``name``'s partition if memory does
        not hold it or the entry store changed since."""
        if self._entry_store is None:
            return
        loaded = self._loaded
        held = (name, None) in loaded or (ALL, None) in loaded
        if held and not self._stale(name):
            if self._bounded:
                with self._lock:
                    self._lru.touch(name)  # type: ignore[union-attr]
            return
        self._read(name)

    def _through(
        self, name: str, call: Callable[[], T], missed: Callable[[T], bool], user: str | None = None
    ) -> T:
        with self._pinned(name):
            self._need(name, user)
            found = call()
            if missed(found) and self._stale(name, user):
                self._read(name, user)
                found = call()
            return found

    @contextmanager
    def _pinned(self, *names: str) -> Iterator[None]:
        """While a bounded cache reads these partitions and looks in them, another
        thread's eviction leaves them in memory (a lookup never misses what it just
        read)."""
        for name in names:
            self._pin(name)
        try:
            yield
        finally:
            for name in names:
                self._unpin(name)

    def holding_account(self, home_account_id: str) -> AbstractContextManager[object]:
        """A bounded cache keeps the account's partition from eviction until the
        refresh's write-back: evicted, it would no longer show which refresh tokens the
        store held there, and a sign-out made elsewhere meanwhile would be missed."""
        if not self._bounded:
            return super().holding_account(home_account_id)
        return self._pinned(part.user(home_account_id))

    def _pin(self, name: str) -> None:
        if self._bounded:
            with self._lock:
                self._lru.pin(name)  # type: ignore[union-attr]

    def _unpin(self, name: str) -> None:
        if self._bounded:
            with self._lock:
                self._lru.unpin(name)  # type: ignore[union-attr]

    def _absorb_rows(self, rows: Iterable[Row]) -> None:
        """Put rows read from the store into memory (call with the cache lock held)."""
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for credential_type, key, entry in rows:
            by_type.setdefault(credential_type, []).append((key, entry))
        self._stored_rts.update(key for key, _ in by_type.get(_RT, ()))
        for credential_type, entries in by_type.items():
            self._absorb(credential_type, entries)

    def _read_on_behalf_of(self, home_account_id: str) -> None:
        """Bring the account's on-behalf-of tokens (filed under assertion hashes, not
        under the account) into memory when the entry store can find them
        (:class:`~tokensmith.stores.base.OnBehalfOfReader`), so a sign-out removes
        them from the store too. Call with the emit lock held (no other thread's
        write evicts them before the removal)."""
        read = getattr(self._entry_store, "read_on_behalf_of", None)
        if read is None:  # a store without it: only what memory holds is removed
            return
        rows: list[Row] = read(home_account_id)
        with self._lock:
            self._absorb_bulk(rows)

    def _signing_out(self, sign_out: SignOut) -> None:
        """The sign-out's removals reach an entry store that can apply it whole
        (:class:`~tokensmith.stores.base.SignOutWriter`) with ``sign_out``, so it also
        removes what memory did not read; a store without it gets the removals only.
        Called under the cache lock by ``forget_account``, whose caller holds the emit
        lock: the next batch written is the sign-out's."""
        if callable(getattr(self._entry_store, "apply_sign_out", None)):
            self._sign_out = sign_out

    def _sync(self) -> None:
        store = self._snapshot_store
        assert store is not None
        if store.version() == self._synced:
            return
        check_store_read()
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
        if (ALL, None) in self._loaded and not self._stale(ALL):
            return
        check_store_read()
        with self._emit_lock:
            self._load_all_locked()

    def _load_all_locked(self, *, if_stale: bool = False) -> None:
        """Read the whole entry store into memory (call with the emit lock held);
        ``if_stale``: only when memory does not hold it already."""
        store = self._entry_store
        assert store is not None
        if if_stale and (ALL, None) in self._loaded and not self._stale(ALL):
            return
        version = store.version()
        rows, verbatim = rows_of(store.read_all())
        with self._lock:
            if rows and self._lru is not None:  # (no rows at all may be an outage: Redis)
                # what memory holds and the whole store lacks was removed elsewhere
                # (keys this process has not saved yet excepted), as for a partition
                present = {(ct, key) for ct, key, _ in rows} | self._unsaved()
                self._drop_removed(self._lru.keep_only(present))
            self._absorb_bulk(rows)
            self._cache.update(verbatim)  # sections kept as they are, never looked up
            self._loaded[(ALL, None)] = version

    def _absorb_bulk(self, rows: Sequence[Row]) -> None:
        """Rows read beyond one partition (call with the emit lock and the cache lock
        held): added to memory (nothing removed), except keys this process wrote and
        has not saved yet; counted toward the bound."""
        unsaved = self._unsaved()
        if unsaved:
            rows = [row for row in rows if (row[0], row[1]) not in unsaved]
        self._absorb_rows(rows)
        if self._lru is not None:
            self._count(self._lru, rows)

    @contextmanager
    def _whole_store(self) -> Iterator[None]:
        """Memory holds the whole store for the body (``serialize``, ``search``); a
        bounded cache evicts nothing until the body is done, then keeps its bound."""
        if not self._bounded:
            self._load_all()
            yield
            return
        check_store_read()
        with self._emit_lock:
            self._load_all_locked(if_stale=True)
            yield
            with self._lock:
                self._bound(self._lru)  # type: ignore[arg-type]

    def _count(self, lru: PartitionLru, rows: Iterable[Row]) -> None:
        """Count rows loaded in bulk; a partition new to memory comes in as the least
        recently used, and the order of the others is kept."""
        for credential_type, key, entry in rows:
            name = part.partition_of(credential_type, entry)
            if name is not None:
                lru.count(name, (credential_type, key))


class Sink:
    """Hands a write batch to the store, then notes it in the bound (entry stores) or
    the version memory holds (snapshot stores).

    A batch the entry store refused is noted too: memory holds its puts all the same,
    so the record of their partitions must count them, or a read of the partition
    would keep them (it drops only what the record holds and the store lacks) and the
    bound would never evict them."""

    def __init__(self, cache: ReadThrough) -> None:
        self.cache = cache

    def apply(self, changes: Sequence[Change]) -> None:
        cache = self.cache
        if cache._snapshot_store is None:
            assert cache._entry_store is not None
            sign_out, cache._sign_out = cache._sign_out, None
            try:
                if sign_out is None:
                    versions = cache._entry_store.apply(changes)
                else:
                    writer = cast("SignOutWriter", cache._entry_store)
                    versions = writer.apply_sign_out(changes, sign_out)
            except BaseException:
                cache._unread(changes)
                raise
            finally:
                if cache._lru is not None:
                    cache._note_writes(cache._lru, changes)
            if isinstance(versions, NotLanded):
                refused = {id(change) for change in versions.changes}
                cache._note_stored([c for c in changes if id(c) not in refused])
            elif versions is not DROPPED:
                cache._note_stored(changes)
            if isinstance(versions, tuple):
                cache._advance(*versions)
            return
        try:
            before, after = cache._snapshot_store.apply(changes)
        except BaseException:
            cache._synced = UNSYNCED  # memory no longer matches the file: read it again
            raise
        cache._note_stored(changes)
        if before == cache._synced:  # memory held the snapshot we merged into
            cache._synced = after
