"""The write batches of :class:`~tokensmith.stores.RedisStore`: a batch's changes as
commands on one pipeline (each entry's ``HSET``/``HDEL``, then the username and
on-behalf-of indexes' commands and the hashes' expiries), sent in one MULTI/EXEC, and
what Redis refused in it, per command (a base class of the store, below its sign-out:
:mod:`~tokensmith.stores._redis_sign_out`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith.cache.changes import EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.stores._redis_index import ScriptsRefused, UsernameIndex, username_field
from tokensmith.stores._redis_layout import RedisLayout, _merge_expiry
from tokensmith.stores._redis_obo import OBO_PARTITIONS, OboIndex, SetsRefused
from tokensmith.stores.partition import ACCOUNTS

if TYPE_CHECKING:
    from tokensmith.cache.changes import Change

__all__ = ["RedisBatch"]


class RedisBatch(RedisLayout):
    """Queue and send a batch (the store sets the client, the indexes, the idle TTL and
    :attr:`conflict`)."""

    client: Any
    idle_ttl: int
    _index: UsernameIndex
    _obo: OboIndex
    conflict: type[BaseException]
    """What the client raises when a watched key changed (redis-py's ``WatchError``)."""

    def _queue(self, pipe: Any, changes: Sequence[Change], *, fresh: bool = False) -> list[str]:
        """Queue the changes' commands on ``pipe``, one per change first (then the
        username index's and the expiries); the key of each command, in order.
        ``fresh``: the accounts hash was deleted in this transaction (an import), so its
        username index is written whole rather than merged."""
        keys: list[str] = []
        expiries: dict[str, int | None] = {}
        listed: list[tuple[bool, str, str, str]] = []  # (put?, hash, username field, field)
        obo_of: dict[str, set[str]] = {}  # home account -> its on-behalf-of partitions
        hashes = self._hash("")
        for change in changes:
            name, field = self._place(change)
            if isinstance(change, EntryPut):
                pipe.hset(name, field, self._seal(name, field, change.entry))
                expiries[name] = _merge_expiry(expiries.get(name, 0), change)
                home = change.entry.get("home_account_id")
                if isinstance(home, str) and home and name.startswith(OBO_PARTITIONS, len(hashes)):
                    obo_of.setdefault(home, set()).add(name[len(hashes) :])
            else:
                pipe.hdel(name, field)
            keys.append(name)
            username = change.entry.get("username")
            if change.credential_type == CredentialType.ACCOUNT and isinstance(username, str):
                put = isinstance(change, EntryPut)
                listed.append((put, name, username_field(username), field))
        keys += self._index.queue(pipe, listed, fresh)
        keys += self._obo.queue(pipe, self.prefix, obo_of, self.idle_ttl)
        latest = int(time.time()) + self.idle_ttl  # no hash outlives its idle TTL
        accounts = self._hash(ACCOUNTS)
        if accounts not in expiries and any(k.startswith(self._user_hashes) for k in expiries):
            # A user's tokens were written (a refresh writes no Account): the shared
            # accounts hash lives on too, or every account would expire idle_ttl after
            # the last sign-in while the refresh tokens stay usable.
            expiries[accounts] = None
        for name, expires_on in expiries.items():
            if expires_on is None:
                pipe.expire(name, self.idle_ttl)
                keys.append(name)
            else:
                at = min(expires_on, latest)
                pipe.expireat(name, at, gt=True)
                pipe.expireat(name, at, nx=True)
                keys += [name, name]
        return keys

    def _transact(self, queue: Callable[[Any], list[str]], what: str) -> list[bool] | None:
        """One MULTI/EXEC of the commands ``queue`` puts on a pipeline (it returns the
        key of each), as :meth:`_execute` runs it; sent again without an index whose
        commands Redis refused (the username index's scripts, the on-behalf-of index's
        sets: each is given up once, so this ends)."""
        while True:
            pipe = self.client.pipeline(transaction=True)
            try:
                return self._execute(pipe, queue(pipe), what)
            except (ScriptsRefused, SetsRefused):
                continue

    def _execute(self, pipe: Any, keys: Sequence[str], what: str) -> list[bool] | None:
        """Run the MULTI/EXEC queued on ``pipe`` (``keys``: the key of each command), log
        what Redis refused; whether each command landed, or None if none did.

        A command that failed when EXEC ran it (``WRONGTYPE``) is in the results, and
        the others landed. ``execute`` itself raises an error reply when Redis refused a
        command while the transaction was queued (``OOM``, ``READONLY``): Redis then
        aborted the whole transaction (``EXECABORT``) and none of it landed."""
        try:
            results = pipe.execute(raise_on_error=False)
        except (*self.outages, self.conflict):
            raise  # (a watched key changed: the sign-out's transaction is tried again)
        except self._index.denied as exc:
            if self._index.refused(exc):
                raise ScriptsRefused from exc
            if self._obo.refused(exc):
                raise SetsRefused from exc
            self._aborted(what, keys, exc)
            return None
        except self.errors as exc:
            self._aborted(what, keys, exc)
            return None
        landed = []
        for key, result in zip(keys, results, strict=False):  # one per command
            refused = isinstance(result, Exception)
            if refused:
                self._refused(f"{what} dropped for that key", key, result)
            landed.append(not refused)
        return landed
