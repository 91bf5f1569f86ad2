"""``RedisStore``: cache entries in Redis, for services on several machines.

Each partition (:mod:`tokensmith.stores.partition`) is one Redis hash of the entries'
JSON, encrypted with AES-GCM when the app gives a key (layout, sealing and expiry:
:mod:`tokensmith.stores._redis_layout`). The accounts hash also indexes its accounts by
username, naming none in clear (:mod:`tokensmith.stores._redis_index`), and a set per
account lists the on-behalf-of hashes that hold its tokens, so a sign-out removes those
too (:mod:`tokensmith.stores._redis_obo`). A batch of changes is one MULTI/EXEC
(:mod:`~tokensmith.stores._redis_batch`). A sign-out removes, in its batch's watched
MULTI/EXEC, every field of the account it covers (:mod:`~tokensmith.stores.
_redis_sign_out`), not only those memory read.

The persistent cache in front of it is the in-process L1: hits never reach Redis.
Redis unreachable is never an exception: a read answers nothing (the app goes to the
network), a write is dropped, and a warning is logged (at most every 30 s); after a
lost connection or a timeout the store backs off (``backoff`` seconds, doubled per
failure in a row up to ``max_backoff``). An error reply is no outage: ``WRONGTYPE``
affects only its key, an aborted transaction (``EXECABORT``: ``OOM``, ``READONLY``)
lands none of its batch. docs/persistence.md ("RedisStore") gives each case.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from tokensmith._redact import logger
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.errors import StoreUnavailableError
from tokensmith.stores._msaljson import rows_of, state_of
from tokensmith.stores._redis_checks import check_backoff, check_settings, client_of
from tokensmith.stores._redis_health import text_of
from tokensmith.stores._redis_index import UsernameIndex
from tokensmith.stores._redis_layout import _VERBATIM_DATA, _of, glob_escaped
from tokensmith.stores._redis_obo import OboIndex, index_key, listed_partitions
from tokensmith.stores._redis_seal import ciphers_of
from tokensmith.stores._redis_sign_out import RedisSignOut
from tokensmith.stores.base import DROPPED, NO_ANSWER, NotLanded, Row, utf8_encodable
from tokensmith.stores.partition import ACCOUNTS

if TYPE_CHECKING:
    from tokensmith.cache.sign_out import SignOut

__all__ = ["DEFAULT_IDLE_TTL", "RedisStore"]

DEFAULT_IDLE_TTL = 90 * 24 * 3600
"""Seconds a user's hash lives after its last write (a refresh token's lifetime)."""


class RedisStore(RedisSignOut):
    """An entry store in Redis.

    Args:
        client: a ``redis.Redis`` client (decode_responses off), or None with ``url``.
        url: ``redis://host:port/db`` used to build a client when none is given.
        prefix: the namespace of every key this store writes.
        encryption_key: 16, 24 or 32 bytes: values are encrypted at rest (AES-GCM).
            Or a sequence of such keys: values are encrypted with the first and read
            with whichever of them opens them. To rotate, give every process
            ``[old, new]``, then ``[new, old]``, then ``new`` alone once no value under
            the old key is left (docs/persistence.md): a process can read only what one
            of its keys sealed.
        idle_ttl: seconds a hash that holds more than access tokens lives after its
            last write (a whole number, at most a century); no hash lives longer.
        backoff: seconds Redis is left alone after a lost connection or a timeout
            (reads answer nothing, writes are dropped); doubled for each failure in a
            row. An error reply (``WRONGTYPE``, ``OOM``, ``READONLY``) starts none.
        max_backoff: the longest such pause.
        flight_lease: seconds the single flight's Redis lock lives unless renewed; its
            holder renews it every third of that while its token request runs, so it
            expires by itself only once its holder died (or lost Redis).
        flight_wait: the longest a process waits for another's lock (for its token)
            before it sends its own request: 120 s, as long as one call may take (the
            holder renews its lock while it runs, and a dead holder's lock expires
            within ``flight_lease``), so a slow request is still sent once.
        timer: monotonic seconds (tests give a fake).

    Raises:
        StoreUnavailableError: the ``redis`` package is not installed
            (``pip install tokensmith[redis]``).
        ConfigurationError: neither ``client`` nor ``url``, a bad ``url``, a client that decodes
            responses or a ``RedisCluster``, a key of a bad length (or no key in a
            sequence of them), or a
            bad ``prefix``, ``idle_ttl``,
            ``backoff``, ``flight_lease`` or ``flight_wait``.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        prefix: str = "tokensmith:",
        encryption_key: bytes | Sequence[bytes] | None = None,
        idle_ttl: int = DEFAULT_IDLE_TTL,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        flight_lease: float = 30.0,
        flight_wait: float = 120.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise StoreUnavailableError("RedisStore needs: pip install tokensmith[redis]") from exc
        client = client_of(redis, client, url)
        check_settings(prefix, idle_ttl, flight_lease, flight_wait)
        self.client = client
        self.prefix = prefix
        self.idle_ttl = idle_ttl
        self.flight_lease = float(flight_lease)
        self.flight_wait = float(flight_wait)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        """What a Redis command may raise: caught at this boundary, logged, never raised."""
        self.outages: tuple[type[BaseException], ...] = (
            redis.ConnectionError,
            redis.TimeoutError,
            OSError,
        )
        """Those of :attr:`errors` that mean Redis is unreachable: the store backs off.
        The others (``ResponseError``: Redis answered with an error) do not."""
        self.client_code = os.path.join(os.path.dirname(redis.__file__), "")
        from redis.exceptions import NoPermissionError, WatchError

        self.conflict = WatchError
        self._index = UsernameIndex(NoPermissionError)
        self._obo = OboIndex()
        self._ciphers: tuple[Any, ...] = ciphers_of(encryption_key)
        """The AES-GCM of each key: the first seals, any of them opens."""
        check_backoff(backoff, max_backoff)
        self._start_health(backoff, max_backoff, timer)

    def __repr__(self) -> str:
        sealed = " encrypted" if self._ciphers else ""
        return f"<RedisStore prefix={self.prefix!r}{sealed}>"

    # -- the entry-store protocol --------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> object:
        """Write the changes in one pipelined transaction (MULTI/EXEC); never raises:
        :data:`~tokensmith.stores.base.DROPPED` when the write did not land (logged)."""
        return self._apply(changes, None)

    def apply_sign_out(self, changes: Sequence[Change], sign_out: SignOut) -> object:
        """As :meth:`apply`, and first, in its MULTI/EXEC, remove every field of the
        account that ``sign_out`` removes, whoever wrote it, a value no key opens too
        (judged by its field name: :mod:`~tokensmith.stores._redis_sign_out`); the
        changes come after, in order."""
        return self._apply(changes, sign_out)

    def _apply(self, changes: Sequence[Change], sign_out: SignOut | None) -> object:
        unsendable = [c for c in changes if not utf8_encodable(*self._place(c))]
        if unsendable:
            self._not_unicode("write", len(unsendable))
            changes = [c for c in changes if all(c is not u for u in unsendable)]
            if not changes and sign_out is None:
                return DROPPED
        if sign_out is not None and not utf8_encodable(sign_out.home_account_id):
            sign_out = None  # no tokensmith store holds its keys

        def write() -> object:
            if sign_out is None:
                landed = self._transact(lambda pipe: self._queue(pipe, changes), "write")
            else:
                landed = self._sign_out_transaction(changes, sign_out)
            if landed is None:
                return DROPPED
            refused = [change for change, ok in zip(changes, landed, strict=False) if not ok]
            refused += unsendable
            return NotLanded(refused) if refused else None

        return self.attempt("write dropped", write, DROPPED)

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        """The entries of one partition (one ``HGETALL``; ``accounts`` narrowed to a
        username: one script reading those accounts only, or the whole hash when that
        username's list names none present, then mended); :data:`NO_ANSWER` (an empty
        list) when Redis is down."""
        name = self._hash(partition)
        if not utf8_encodable(name):
            return []  # no tokensmith store can have written it
        if partition == ACCOUNTS and isinstance(username, str) and self._index.scripts:
            found = self.attempt(
                "read skipped",
                lambda: self._index.accounts(self.client, name, username),
                None,
                key=name,
            )
            if found is None:
                return NO_ANSWER
            rows = self._rows(name, found[0])
            if found[1]:  # the username's list named none of them: listed again
                mend = partial(self._index.mend, self.client, name, username, rows)
                self.attempt("username index not mended", mend, None, key=name)
            return rows
        fields: Mapping[bytes, bytes] | None = self.attempt(
            "read skipped", lambda: self.client.hgetall(name), None, key=name
        )
        return NO_ANSWER if fields is None else self._rows(name, fields)

    def read_prefix(self, prefix: str) -> list[Row]:
        """The entries of every partition whose name starts with ``prefix`` (SCAN); a
        key Redis refuses to read (not a hash) is skipped."""

        if not utf8_encodable(prefix):
            return []  # no tokensmith store can have written it

        def scan() -> list[Row]:
            rows: list[Row] = []
            for name in self._scan(self._hash(prefix)):
                try:
                    fields = self.client.hgetall(name)
                except self.outages:
                    raise  # the whole read answers nothing
                except self.errors as exc:  # that key only
                    self._refused("read skipped", name, exc)
                    continue
                rows.extend(self._rows(name, fields))
            return rows

        return self.attempt("read skipped", scan, NO_ANSWER)

    def read_on_behalf_of(self, home_account_id: str) -> list[Row]:
        """The account's entries in on-behalf-of partitions: one ``SMEMBERS`` of its
        index (:mod:`~tokensmith.stores._redis_obo`), then, if it lists any, one
        pipelined ``HGETALL`` per hash; :data:`NO_ANSWER` when Redis is down or refused
        the index's read. A hash Redis refuses to read (not a hash) is skipped."""
        index = index_key(self.prefix, home_account_id)

        def read() -> list[Row]:
            names = [self._hash(p) for p in listed_partitions(self.client.smembers(index))]
            if not names:
                return []
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(name)
            rows: list[Row] = []
            for name, fields in zip(names, pipe.execute(raise_on_error=False), strict=True):
                if isinstance(fields, BaseException):  # that key only
                    self._refused("read skipped", name, fields)
                    continue
                rows += [r for r in self._rows(name, fields) if _of(r, home_account_id)]
            return rows

        return self.attempt("read skipped", read, NO_ANSWER, key=index)

    def read_all(self) -> dict[str, Any]:
        """Every entry under this prefix, and the sections kept verbatim, in MSAL's
        layout."""
        rows = self.read_prefix("")
        name = self._verbatim_hash()
        fields: Mapping[bytes, bytes] = self.attempt(
            "read skipped", lambda: self.client.hgetall(name), {}, key=name
        )
        verbatim: dict[str, Any] = {}
        unreadable = 0
        for raw_field, raw in fields.items():
            section = text_of(raw_field)
            kept = self._open(name, _VERBATIM_DATA + section, raw)
            if kept is not None and "verbatim" in kept:
                verbatim[section] = kept["verbatim"]
            else:
                unreadable += 1
        self._unreadable(name, unreadable)
        return state_of(rows, verbatim)

    def replace_all(self, state: Mapping[str, Any]) -> object:
        """Delete every hash under this prefix, then write ``state``'s entries and its
        sections kept verbatim (one MULTI/EXEC); never raises: :data:`~tokensmith.
        stores.base.DROPPED` when not all of it landed (logged), else None."""
        rows, verbatim = rows_of(state)
        every = len(rows) + len(verbatim)
        rows = [
            (ct, key, e)
            for ct, key, e in rows
            if utf8_encodable(*self._place(EntryPut(ct, key, e)))
        ]
        verbatim = {name: body for name, body in verbatim.items() if utf8_encodable(name)}
        unsendable = every - len(rows) - len(verbatim)
        if unsendable:
            self._not_unicode("import", unsendable)

        def queue(pipe: Any) -> list[str]:
            keys: list[str] = []
            for name in [*self._scan(self._hash("")), self._verbatim_hash()]:
                pipe.delete(name)
                keys.append(text_of(name))
            puts = [EntryPut(ct, key, entry) for ct, key, entry in rows]
            keys += self._queue(pipe, puts, fresh=True)
            if verbatim:
                name = self._verbatim_hash()
                for section, body in verbatim.items():
                    pipe.hset(
                        name,
                        section,
                        self._seal(name, _VERBATIM_DATA + section, {"verbatim": body}),
                    )
                    keys.append(name)
                pipe.expire(name, self.idle_ttl)
                keys.append(name)
            return keys

        def replace() -> object:
            landed = self._transact(queue, "import")
            return None if landed is not None and all(landed) and not unsendable else DROPPED

        return self.attempt("import dropped", replace, DROPPED)

    def single_flight(self) -> Any:
        """A single flight whose leaders hold a Redis lock per key (across processes)."""
        from tokensmith.stores.redis_flight import RedisSingleFlight

        return RedisSingleFlight(self, lease=self.flight_lease, wait=self.flight_wait)

    def version(self) -> None:
        """Unknown: a miss always reads its partition again."""
        return None

    def close(self) -> None:
        """Close the client's connections."""
        try:
            self.client.close()
        except self.errors as exc:  # pragma: no cover - closing never talks
            logger.warning("token store: closing the Redis client failed (%s)", type(exc).__name__)

    # -- helpers ----------------------------------------------------------------------

    def _scan(self, literal: str) -> list[Any]:
        """The keys whose name starts with ``literal`` (SCAN, the text glob-escaped: a
        prefix such as ``svc[1]:`` matches only itself, not ``svc1:``)."""
        return list(self.client.scan_iter(match=glob_escaped(literal) + "*"))
