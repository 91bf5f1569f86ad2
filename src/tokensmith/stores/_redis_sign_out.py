"""A sign-out over :class:`~tokensmith.stores.RedisStore` removes, in the MULTI/EXEC of
its batch, every field of the account the sign-out covers
(:class:`~tokensmith.cache.sign_out.SignOut`), not only those memory read: a sign-in
another process landed since that read, and values no key opens (damaged, or sealed
by a key this process lacks), which reads skip.

The store ``WATCH``es the account's hash (``<prefix>p:user:<home>``), its on-behalf-of
set and the hashes that set lists, reads them, and the account's Account fields of the
shared accounts hash (``HSCAN`` on the key MSAL's rule starts with the lower-cased home
account id), then queues the removals before the batch's commands. Another write to a
watched key aborts the transaction (``WatchError``) and it is read and sent again, at
most :data:`WATCHED_TRIES` times; then once more unwatched (what the last read found,
removed with the batch), so the sign-out's own removals still land. The accounts hash
is not watched: every write of any user's tokens renews its expiry, which would abort
nearly every sign-out of a busy service, and a sign-in of this account also writes its
hash (or, on behalf of a user, its set), which is watched.

Each field is judged by :meth:`SignOut.removes`: a value that opens, by its entry (its
``home_account_id`` must be the account's, its ``environment``, ``client_id`` and
``family_id``); a damaged one, by its field name alone, as SQLite judges a damaged row
by its columns: its credential type, its environment (the key starts with
``<home>-<environment>-``, lower-cased, for an environment of the sign-out) and, for a
refresh token, its client (this client's if the key starts with the key this client's
refresh token has there, :func:`~tokensmith.cache.schema.refresh_token_key`; else
unknown). Its family cannot be read, so a damaged refresh token of another client of
the family stays. A field name that is not UTF-8 is left (no tokensmith store wrote it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from tokensmith._redact import logger
from tokensmith.cache.schema import CredentialType, refresh_token_key
from tokensmith.cache.sign_out import REMOVED_TYPES
from tokensmith.stores._redis_batch import RedisBatch
from tokensmith.stores._redis_health import text_of
from tokensmith.stores._redis_index import username_field
from tokensmith.stores._redis_layout import glob_escaped
from tokensmith.stores._redis_obo import index_key, listed_partitions
from tokensmith.stores.partition import ACCOUNTS, user

if TYPE_CHECKING:
    from tokensmith.cache.changes import Change
    from tokensmith.cache.sign_out import SignOut

__all__ = ["WATCHED_TRIES", "RedisSignOut"]

WATCHED_TRIES = 4
"""Watched transactions a sign-out tries before it sends its removals unwatched."""
_Doomed = tuple[str, bytes, "str | None"]
"""A field to remove: its hash, its name, and the username field listing it (an Account)."""


class RedisSignOut(RedisBatch):
    """A sign-out's transaction (a base class of the store; its batches'
    ``_transact`` and ``_queue`` are :class:`~tokensmith.stores._redis_batch.RedisBatch`'s)."""

    def _sign_out_transaction(
        self, changes: Sequence[Change], sign_out: SignOut
    ) -> list[bool] | None:
        """Remove what ``sign_out`` covers, then write ``changes``, in one MULTI/EXEC
        (as ``_transact``); whether each change landed, or None if none did."""
        for tries in range(WATCHED_TRIES + 1):
            try:
                return self._sign_out_try(changes, sign_out, watched=tries < WATCHED_TRIES)
            except self.conflict as exc:
                if isinstance(exc.__context__, self.outages):
                    raise exc.__context__ from None  # the connection died while watching
        raise AssertionError("unreachable: the last try is not watched")  # pragma: no cover

    def _sign_out_try(
        self, changes: Sequence[Change], sign_out: SignOut, *, watched: bool
    ) -> list[bool] | None:
        """One try of :meth:`_sign_out_transaction`."""
        removals = 0

        def queue(pipe: Any) -> list[str]:
            nonlocal removals
            keys = self._queue_removals(pipe, sign_out, watched)
            removals = len(keys)
            return keys + self._queue(pipe, changes)

        landed = self._transact(queue, "sign-out")
        return None if landed is None else landed[removals:]

    def _queue_removals(self, pipe: Any, sign_out: SignOut, watched: bool) -> list[str]:
        """Read what ``sign_out`` covers (watched: through ``pipe``, its keys watched
        first), then queue its removals on ``pipe``; the key of each command."""
        if not watched and self._first_in_a_while("\0sign-out raced"):
            logger.warning(
                "token store: other writes to a signed-out account's Redis keys aborted "
                "its transaction %d times: its removals are sent unwatched",
                WATCHED_TRIES,
            )
        reader = pipe if watched else self.client
        home = sign_out.home_account_id
        own = self._hash(user(home))
        listed: list[str] = []
        members = index_key(self.prefix, home)
        if watched:
            pipe.watch(own, members)
        if self._obo.kept:
            partitions = listed_partitions(
                self._read_part(members, lambda: reader.smembers(members))
            )
            listed = [self._hash(p) for p in partitions]
        if watched and listed:
            pipe.watch(*listed)
        doomed: list[_Doomed] = []
        for name in [own, *listed]:
            fields = self._read_part(name, partial(reader.hgetall, name))
            doomed += self._covered(sign_out, name, fields.items())
        accounts = self._hash(ACCOUNTS)
        match = glob_escaped(f"{CredentialType.ACCOUNT}|{home.lower()}-") + "*"
        found = self._read_part(
            accounts, lambda: list(reader.hscan_iter(accounts, match=match, count=1000))
        )
        doomed += self._covered(sign_out, accounts, found)
        if watched:
            pipe.multi()
        keys: list[str] = []
        for name, field, _ in doomed:
            pipe.hdel(name, field)
            keys.append(name)
        drops = [(False, n, by, f.decode()) for n, f, by in doomed if by is not None]
        return keys + self._index.queue(pipe, drops, False)

    def _read_part(self, key: str, read: Callable[[], Any]) -> Any:
        """``read()``; nothing when Redis refused it (that key only: logged), raised on
        an outage or a watched key's change."""
        try:
            return read()
        except (*self.outages, self.conflict):
            raise
        except self.errors as exc:
            self._refused("sign-out's read of it skipped", key, exc)
            return {}

    def _covered(
        self, sign_out: SignOut, name: str, fields: Iterable[tuple[bytes, bytes]]
    ) -> list[_Doomed]:
        """The fields of hash ``name`` that ``sign_out`` removes (see the module)."""
        doomed: list[_Doomed] = []
        place = text_of(name)
        home = sign_out.home_account_id
        for raw_field, raw in fields:
            try:
                field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
            except UnicodeDecodeError:
                continue
            credential_type, _, key = field.partition("|")
            if credential_type not in REMOVED_TYPES:
                continue  # (AppMetadata, the username index)
            entry = self._open(place, field, raw)
            by_name = None
            if entry is None:
                removed = _removed_by_name(sign_out, credential_type, key)
            else:
                env = entry.get("environment")
                removed = (
                    entry.get("home_account_id") == home
                    and isinstance(env, str)
                    and sign_out.removes(
                        credential_type, env, entry.get("client_id"), entry.get("family_id")
                    )
                )
                username = entry.get("username")
                if credential_type == CredentialType.ACCOUNT and isinstance(username, str):
                    by_name = username_field(username)
            if removed:
                doomed.append((name, field.encode(), by_name))
        return doomed


def _removed_by_name(sign_out: SignOut, credential_type: str, key: str) -> bool:
    """Whether ``sign_out`` removes a damaged value of ``credential_type`` under cache
    key ``key``, judged by the key alone (see the module)."""
    home = sign_out.home_account_id.lower()
    for env in sign_out.families:
        if key.startswith(f"{home}-{env}-"):
            ours = refresh_token_key(
                home_account_id=home, environment=env, client_id=sign_out.client_id
            )
            client = sign_out.client_id if key.startswith(ours) else None
            return sign_out.removes(credential_type, env, client, None)
    return False
