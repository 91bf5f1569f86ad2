"""The state every token cache shares: the entries, the lock, the indexes, ``modify``.

``modify`` is the one mutation hook (MSAL's contract): every write and every removal
of the cache goes through it, so subclasses that persist or replicate entries
override only this method.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeGuard

from tokensmith._clock import Clock, system_clock
from tokensmith._redact import logger
from tokensmith.cache.changes import Change, ChangeSink, EntryDeleted, EntryPut
from tokensmith.cache.index import CacheIndex
from tokensmith.cache.schema import SECTIONS, AuthorityType, CredentialType, make_key_makers
from tokensmith.cache.validity import usable
from tokensmith.concurrency import SingleFlight
from tokensmith.errors import ConfigurationError, StoreError

__all__ = ["CacheBase"]

_NOT_HELD = nullcontext()

_VETTED_LIMIT = 200_000
"""Entries remembered as usable at most (then forgotten at once; cheap to refill)."""
_UNVETTED: Any = object()
"""What the memo answers for an entry it never vetted (so no entry, not even None, is
taken for vetted by default)."""


class CacheBase:
    """Entries in MSAL's layout, one re-entrant lock, and the secondary indexes.

    Attributes:
        key_makers: ``credential_type -> key function`` used by :meth:`modify`.
        single_flight: deduplicates concurrent network refreshes for this cache.
        account_generation: changes whenever an Account entry may have changed, so
            callers can memoize views of the accounts.
        generation: changes on every write, removal, reload or index rebuild, so
            lookups can memoize their answers (see ``FastLookups.find_access_token``).

    A per-account *removal generation* (:meth:`removal_generation`) counts the
    sign-outs of each home account: a refresh captures it when it starts and its
    write-back (an event's ``_removal_generation``) is dropped when it changed, so a
    token obtained for an account removed meanwhile is never cached.
    """

    CredentialType = CredentialType
    AuthorityType = AuthorityType

    def __init__(self, *, clock: Clock = system_clock) -> None:
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        self._clock = clock
        self._index = CacheIndex.build(self._cache)
        self.key_makers: dict[str, Callable[..., str]] = make_key_makers()
        self.single_flight = SingleFlight()
        self.account_generation = 0
        self.generation = 0
        self._index_checked = False  # True while a batch of writes holds the lock
        self._at_memo: dict[tuple[object, ...], tuple[int, str, dict[str, Any], object, int]] = {}
        self._removals: dict[str, int] = {}
        self._vetted: dict[int, dict[str, Any]] = {}
        self._sink: ChangeSink | None = None  # the store seam (cache/changes.py)
        self._pending: list[Change] = []
        self._ticket = _Ticket()  # the outcome of the batch _pending will go in
        self._depth = 0  # nesting of write calls by the lock holder
        self._mark = 0  # len(_pending) when the holder's outermost _writing() began
        self._emit_lock = threading.RLock()  # (a flush inside a held export re-enters it)
        self._writes = _Writing(self)

    def _usable(self, entry: object, credential_type: str) -> TypeGuard[dict[str, Any]]:
        """:func:`~tokensmith.cache.validity.usable`, remembered per entry object: the
        cache's entries are replaced, never edited in place, so an entry that passed
        once passes again (the entry is held, so its ``id`` cannot be reused)."""
        if self._vetted.get(id(entry), _UNVETTED) is entry:
            return True
        if not usable(entry, credential_type):
            return False
        if len(self._vetted) >= _VETTED_LIMIT:
            self._vetted.clear()
        self._vetted[id(entry)] = entry
        return True

    def removal_generation(self, home_account_id: str) -> int:
        """How many times this account was removed (signed out) from this cache."""
        with self._lock:
            return self._removals.get(home_account_id, 0)

    def holding_account(self, home_account_id: str) -> AbstractContextManager[object]:
        """Keep the account's entries in memory while its refresh is on the wire (see
        :class:`~tokensmith.stores.PersistentTokenCache`); a plain cache forgets
        nothing by itself, so this holds nothing."""
        return _NOT_HELD

    def _removed_since(self, guard: object) -> bool:
        """True if ``guard`` (``(home_account_id, removal_generation)``, captured when a
        refresh started) is stale: the account was removed since. Call under the lock."""
        if not (isinstance(guard, tuple) and len(guard) == 2 and isinstance(guard[0], str)):
            return False
        return bool(self._removals.get(guard[0], 0) != guard[1])

    def _note_removal(self, home_account_id: str) -> None:
        """Count one removal of the account (call under the lock, before removing)."""
        self._removals[home_account_id] = self._removals.get(home_account_id, 0) + 1

    def modify(
        self,
        credential_type: str,
        old_entry: dict[str, Any],
        new_key_value_pairs: dict[str, Any] | None = None,
    ) -> None:
        """Upsert or remove one entry: the single mutation hook.

        The key is computed from ``old_entry``. With ``new_key_value_pairs`` (non-empty)
        the entry stored under that key becomes ``old_entry`` updated with them;
        without, the entry under that key is removed (a missing entry is no error).

        Raises:
            ConfigurationError: unknown ``credential_type`` or ``old_entry`` not a dict.
        """
        key_maker = self.key_makers.get(credential_type)
        if key_maker is None:
            raise ConfigurationError(f"unknown credential type {credential_type!r}")
        if not isinstance(old_entry, dict):
            raise ConfigurationError("a cache entry must be a dict")
        key = key_maker(**old_entry)
        with self._lock:
            self._depth += 1
            try:
                self._modify_locked(credential_type, key, old_entry, new_key_value_pairs)
            finally:
                self._depth -= 1
            outermost = not self._depth  # (read under the lock: then it is another thread's)
            ticket = self._ticket
        if outermost and self._sink is not None:
            self._flush(ticket)

    def _modify_locked(
        self,
        credential_type: str,
        key: str,
        old_entry: dict[str, Any],
        new_key_value_pairs: dict[str, Any] | None,
    ) -> None:
        if not self._index_checked:
            self._ensure_index(credential_type)
        self.generation += 1
        if credential_type == CredentialType.ACCOUNT:
            self.account_generation += 1
        section = self._writable_section(credential_type)
        gone = section.get(key)  # (replaced or removed: no longer vetted, nor held by it)
        if gone is not None:
            self._vetted.pop(id(gone), None)
        entry: dict[str, Any] | None
        if new_key_value_pairs is old_entry and old_entry:  # add(): the whole entry
            entry = section[key] = dict(old_entry)
            self._index.put(self._cache, credential_type, key)
        elif new_key_value_pairs:
            entry = section[key] = dict(old_entry, **new_key_value_pairs)
            self._index.put(self._cache, credential_type, key)
        else:
            entry = section.pop(key, None)
            self._index.drop(self._cache, credential_type, key)
        if self._sink is not None:
            if new_key_value_pairs:
                self._pending.append(EntryPut(credential_type, key, entry or {}))
            else:
                stored = entry if isinstance(entry, dict) else old_entry
                self._pending.append(EntryDeleted(credential_type, key, stored))

    def _writing(self) -> _Writing:
        """Hold the lock for several writes; their changes reach the store once, when
        the outermost write call has released the lock."""
        return self._writes

    @contextmanager
    def _one_index_check(self) -> Iterator[None]:
        """Several writes made under the held lock (in :meth:`_writing`) with one
        staleness check of the index for all of them."""
        self._ensure_index()
        self._index_checked = True
        try:
            yield
        finally:
            self._index_checked = False

    def _set_sink(self, sink: ChangeSink | None) -> None:
        """Attach the store that receives this cache's writes (None: detach)."""
        self._flush()
        self._sink = sink

    def _flush(self, ticket: _Ticket | None = None) -> None:
        """Hand the pending changes to the store, outside the cache lock, in order;
        return once the batch that carried ``ticket``'s changes is written.

        Several calls' changes may go in one batch (written by whichever of them takes
        the emit lock first): each call raises the batch's error, not only the one that
        wrote it."""
        if ticket is not None and ticket.done:  # another call wrote it meanwhile
            ticket.outcome()
            return
        sink = self._sink
        with self._emit_lock:
            if ticket is not None and ticket.done:
                ticket.outcome()
                return
            with self._lock:  # (a ticket not done is the open one: batches go in order)
                batch, self._pending = self._pending, []
                taken, self._ticket = self._ticket, _Ticket()
            try:
                if batch and sink is not None:
                    sink.apply(batch)
            except BaseException as exc:
                # the other calls of the batch get an Exception, not this thread's
                # KeyboardInterrupt or SystemExit
                taken.error = exc if isinstance(exc, Exception) else _interrupted(exc)
                raise
            finally:
                taken.done = True

    def _absorb(self, credential_type: str, entries: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Put entries read from the store into memory without writing them back."""
        with self._lock:
            if not self._index_checked:
                self._ensure_index()
            section = self._writable_section(credential_type)
            vetted = self._vetted
            for key, entry in entries:
                held = section.get(key)
                if held != entry:
                    if held is not None:  # (replaced: no longer vetted, nor held by it)
                        vetted.pop(id(held), None)
                    section[key] = entry
                    self._index.put(self._cache, credential_type, key)
            self.generation += 1
            if credential_type == CredentialType.ACCOUNT:
                self.account_generation += 1

    def _writable_section(self, credential_type: str) -> dict[str, Any]:
        section = self._cache.setdefault(credential_type, {})
        if not isinstance(section, dict):
            logger.warning("token cache section %s was not an object; replaced", credential_type)
            section = self._cache[credential_type] = {}
        return section

    def _section(self, credential_type: str) -> dict[str, Any]:
        """The section for reading (an empty dict if absent or malformed)."""
        section = self._cache.get(credential_type)
        return section if isinstance(section, dict) else {}

    def _ensure_index(self, *sections: str) -> None:
        """Rebuild the indexes if ``_cache`` was changed without going through modify
        (before a lookup or a write in ``sections``; none named: in any)."""
        if not self._index.is_current(self._cache, sections):
            examined = self._index.examined
            self._index = CacheIndex.build(self._cache)
            self._index.examined = examined
            self.account_generation += 1
            self.generation += 1
            logger.debug("token cache index rebuilt")

    def _replace_state(self, cache: dict[str, Any]) -> None:
        """Swap in a whole new state (used by deserialize).

        The indexes are rebuilt lazily, each by the first lookup that needs it (a
        user's first few token lookups scan instead: :data:`~tokensmith.cache.index.
        SCANS`), so a process that loads a cache, makes a lookup or two and exits (a
        CLI, a web request with a session cache) builds only what it uses.
        """
        with self._lock:
            self._vetted.clear()
            self._cache = cache
            self.account_generation += 1
            self.generation += 1

    def _forget(self, entries: Iterable[tuple[str, str]]) -> int:
        """Drop ``(credential_type, key)`` entries from memory only: nothing reaches
        the store (they stay there). Returns how many were held."""
        with self._lock:
            if not self._index_checked:
                self._ensure_index()
            dropped = 0
            for credential_type, key in entries:
                section = self._section(credential_type)
                if key in section:
                    del section[key]
                    self._index.drop(self._cache, credential_type, key)
                    dropped += 1
            self.generation += 1
            self.account_generation += 1
            return dropped

    def _reload_from_store(self, cache: dict[str, Any]) -> None:
        """Swap in the state a snapshot store holds, then replay the writes not yet
        handed to it (they would otherwise vanish from memory until the next load)."""
        with self._lock:
            self._replace_state(cache)
            if self._pending:
                self._ensure_index()
                for change in self._pending:
                    section = self._writable_section(change.credential_type)
                    if isinstance(change, EntryPut):
                        section[change.key] = dict(change.entry)
                        self._index.put(self._cache, change.credential_type, change.key)
                    else:
                        section.pop(change.key, None)
                        self._index.drop(self._cache, change.credential_type, change.key)

    def _now(self, now: float | None) -> int:
        return int(self._clock() if now is None else now)

    def __repr__(self) -> str:
        with self._lock:
            sizes = "".join(f" {n}={len(self._section(n))}" for n in SECTIONS if n in self._cache)
        return f"<{type(self).__name__}{sizes}>"


class _Writing:
    """The context of :meth:`CacheBase._writing` (one per cache, re-entrant). It holds
    its cache weakly: a strong reference would be a cycle, and a cache (often large)
    would then wait for the cyclic collector instead of going with its last reference."""

    __slots__ = ("_cache",)

    def __init__(self, cache: CacheBase) -> None:
        self._cache = weakref.ref(cache)

    def __enter__(self) -> None:
        cache = self._cache()
        assert cache is not None  # the cache is calling: it is alive
        cache._lock.acquire()
        if not cache._depth:
            cache._mark = len(cache._pending)
        cache._depth += 1

    def __exit__(self, *exc: object) -> None:
        cache = self._cache()
        assert cache is not None
        cache._depth -= 1
        # outermost and wrote something (read under the lock, which this thread has
        # held throughout: the pending batch cannot have been taken meanwhile)
        wrote = not cache._depth and len(cache._pending) > cache._mark
        ticket = cache._ticket
        cache._lock.release()
        if wrote and cache._sink is not None:
            cache._flush(ticket)


def _interrupted(exc: BaseException) -> StoreError:
    error = StoreError(
        f"the store write carrying this change was interrupted ({type(exc).__name__})"
    )
    error.__cause__ = exc
    return error


class _Ticket:
    """The outcome of one write batch, for every call whose changes it carries:
    ``done`` once the store write returned or raised (``error``)."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False
        self.error: BaseException | None = None

    def outcome(self) -> None:
        """Return if the batch was written; raise its error if not."""
        if self.error is not None:
            raise self.error
