"""Which refresh tokens a :class:`~tokensmith.stores.PersistentTokenCache`'s store is
known to hold (read from it, or written there by this process), so a store read that
no longer shows one is told apart as a removal made elsewhere (another process's
sign-out: a refresh in flight here is then not written back) from a write of this
process that never landed. A base class of
:class:`~tokensmith.stores.read_through.ReadThrough`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.token_cache import SerializableTokenCache

__all__ = ["KnownHeld"]

_RT = CredentialType.REFRESH_TOKEN


class KnownHeld(SerializableTokenCache):
    """The record of the refresh tokens the store is known to hold."""

    _stored_rts: set[str]
    """RefreshToken keys the store is known to hold (read from it, or written there by
    this process): only their absence at a later read is a removal elsewhere."""

    def _note_removed_elsewhere(self, refresh_tokens: Iterable[tuple[str, object]]) -> None:
        """A store read showed these ``(key, entry)`` refresh tokens gone: those the
        store was known to hold were removed by another process (its sign-out), so
        count a removal of their accounts: a refresh of one in flight here is then not
        written back. One only this process held (its write failed or was dropped) is
        no removal. Call under the lock (they are forgotten next)."""
        homes = {
            entry.get("home_account_id")
            for key, entry in refresh_tokens
            if key in self._stored_rts and isinstance(entry, dict)
        }
        for home in homes:
            if isinstance(home, str) and home:
                self._note_removal(home)

    def _note_stored(self, changes: Iterable[Change]) -> None:
        """A batch reached the store: its refresh tokens are known to be there (or
        gone, for its removals). Call without holding the lock."""
        rts = [c for c in changes if c.credential_type == _RT]
        if not rts:
            return
        with self._lock:
            for change in rts:
                if isinstance(change, EntryPut):
                    self._stored_rts.add(change.key)
                else:
                    self._stored_rts.discard(change.key)

    def _forget(self, entries: Iterable[tuple[str, str]]) -> int:
        entries = list(entries)
        with self._lock:
            self._stored_rts.difference_update(key for ct, key in entries if ct == _RT)
            return super()._forget(entries)

    def _reload_from_store(self, cache: dict[str, Any]) -> None:
        """See the base class; refresh tokens the new snapshot lacks that the store was
        known to hold were removed elsewhere (the writes not saved yet are replayed:
        not gone)."""
        loaded = cache.get(_RT)
        now_held = set(loaded) if isinstance(loaded, dict) else set()
        with self._lock:
            held = self._section(_RT)
            if held:
                kept = now_held | {c.key for c in self._pending if c.credential_type == _RT}
                self._note_removed_elsewhere(
                    (key, rt) for key, rt in held.items() if key not in kept
                )
            self._stored_rts = now_held
            super()._reload_from_store(cache)
