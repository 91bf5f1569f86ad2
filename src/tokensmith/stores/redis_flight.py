"""Single flight across processes: a Redis lock around the in-process single flight.

Eight worker processes asking at once for the same missing token send one request:
within a process :class:`~tokensmith.concurrency.SingleFlight` lets one caller lead;
that leader then takes ``<prefix>lock:<sha256 of the flight key>`` (``SET NX PX``)
before it runs. The first process to take it fetches and writes the token to Redis;
the others wait for the lock, then run their leader, whose first step looks the token
up again, reading its partition from Redis first (``STORE_FIRST``: memory may hold the
old token, still usable but due for refresh), and finds it. Every holder of the lock
reads Redis first, not only one that waited: a process that takes the lock just after
another one released it finds that one's token too (one more read of the partition
per fetch).

The lock expires by itself (``lease`` seconds) if its holder dies; while the holder
runs, a daemon thread renews it every ``lease / 3`` seconds (``PEXPIRE`` only while it
holds this holder's token), so a token request slower than the lease keeps it. A
waiter gives up waiting after ``wait`` seconds and fetches anyway (``RedisStore``'s
``flight_lease`` and ``flight_wait``, 30 s each). Redis unreachable: no lock, the
in-process single flight alone. The release and the renewals are sent even while the
store backs off after a failure (once, bounded by the client's socket timeout; they
never raise): a lock left behind would make every other process wait out its lease.

A re-entry takes no lock: the caller that :class:`SingleFlight` lets run ``fn``
directly because the key's leader depends on it (a call from inside that leader's
``fn``, or sync code on the event loop an async leader runs on) would otherwise wait,
blocking, for the lock its own leader holds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Any, TypeVar

from tokensmith._redact import logger
from tokensmith.cache.store_io import STORE_FIRST
from tokensmith.concurrency import SingleFlight
from tokensmith.concurrency.store_threads import submit

__all__ = ["RedisSingleFlight", "flight_name"]

T = TypeVar("T")
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


_LEADS: ContextVar[bool] = ContextVar("tokensmith_redis_flight_leads", default=False)
"""True from :meth:`RedisSingleFlight._leading` until the ``fn`` it precedes starts:
that caller leads the key (a re-entry runs ``fn`` without ``_leading``)."""


def _lead_now() -> bool:
    """Whether the ``fn`` starting now leads its key (and should take the Redis lock);
    consumes the mark, so a re-entry from inside that ``fn`` does not."""
    if not _LEADS.get():
        return False
    _LEADS.set(False)
    return True


def _in_a_loop() -> bool:
    """Whether an event loop runs this code (not so in a coroutine closed by the
    garbage collector after its loop was closed)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def flight_name(key: Hashable) -> str:
    """A name for ``key`` that every process computes alike (sets are sorted)."""
    return hashlib.sha256(json.dumps(_canonical(key)).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, (frozenset, set)):
        return ["set", sorted((_canonical(v) for v in value), key=json.dumps)]
    if isinstance(value, (tuple, list)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class RedisSingleFlight(SingleFlight):
    """:class:`SingleFlight` whose leaders also hold a Redis lock per key."""

    def __init__(
        self, store: Any, *, lease: float = 30.0, wait: float = 120.0, poll: float = 0.01
    ) -> None:
        super().__init__()
        self._store, self._lease, self._wait, self._poll = store, lease, wait, poll
        self._sent: dict[str, int] = {}
        """The tokens of the locks this process asked Redis for and has not released,
        each with the pid that asked (a child forked inside a leader's ``fn`` must not
        release its parent's lock)."""
        self._leased: set[str] = set()
        """The tokens whose wait has given a lock without an expiry its lease (once
        per wait)."""

    def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """See :meth:`SingleFlight.run`; the leader holds the key's Redis lock, a
        re-entry (in the thread that leads ``key``) runs ``fn`` without it."""

        def leader() -> T:
            return self._run_locked(key, fn) if _lead_now() else fn()

        return super().run(key, leader)

    async def run_async(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """See :meth:`SingleFlight.run_async`; the leader holds the key's Redis lock, a
        re-entry (the Task that leads ``key``) runs ``fn`` without it."""

        async def leader() -> T:  # the lock's round trips run in the store threads
            if not _lead_now():
                return await fn()
            name, token = self._lock_name(key), os.urandom(16).hex()
            deadline = time.monotonic() + self._wait
            trying: concurrent.futures.Future[bool] | None = None
            store_first = renewal = None
            try:
                while True:
                    trying = submit(self._try_lock, name, token)
                    if await asyncio.shield(asyncio.wrap_future(trying)):
                        loop = asyncio.get_running_loop()
                        renewal = self._renewal(name, token, orphaned=loop.is_closed)
                        break
                    if time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(self._poll)
                store_first = STORE_FIRST.set(True)  # another process may have just fetched
                return await fn()
            finally:
                if renewal is not None:
                    renewal.stop()
                if store_first is not None:
                    STORE_FIRST.reset(store_first)
                if trying is not None and not trying.done():  # cancelled while trying:
                    # release once that SET NX has landed (in its thread, whatever
                    # happens to this task or its loop)
                    trying.add_done_callback(lambda _: submit(self._unlock, name, token))
                else:  # submitted now: a second cancel does not skip the release
                    unlocking = submit(self._unlock, name, token)
                    if _in_a_loop():  # (an orphan closed outside any loop cannot wait)
                        await asyncio.shield(asyncio.wrap_future(unlocking))

        return await super().run_async(key, leader)

    def _leading(self, key: Hashable, call: Any) -> Any:
        """The leading path only (never a re-entry): ``fn``, called next in this
        context, takes the Redis lock."""
        _LEADS.set(True)
        return super()._leading(key, call)

    def _run_locked(self, key: Hashable, fn: Callable[[], T]) -> T:
        name, token = self._lock_name(key), os.urandom(16).hex()
        deadline = time.monotonic() + self._wait
        store_first = renewal = None
        try:
            while True:
                if self._try_lock(name, token):
                    renewal = self._renewal(name, token)
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(self._poll)
            store_first = STORE_FIRST.set(True)  # another process may have just fetched
            return fn()
        finally:
            if renewal is not None:
                renewal.stop()
            if store_first is not None:
                STORE_FIRST.reset(store_first)
            self._unlock(name, token)

    def _lock_name(self, key: Hashable) -> str:
        return f"{self._store.prefix}lock:{flight_name(key)}"

    def _try_lock(self, name: str, token: str) -> bool:
        """True if this caller now holds the lock, or Redis cannot say (go ahead).

        The first time a wait finds the lock taken, the lock is given a lease if it has
        none (``PEXPIRE NX``): a tokensmith lock always has one, so that key is another
        writer's value (or was made to persist), and would make every fetch of its key
        wait ``wait`` seconds for ever; now it expires as a dead holder's lock does."""
        client, lease_ms = self._store.client, int(self._lease * 1000)

        def take() -> Any:
            self._sent[token] = os.getpid()  # it may land unanswered: release it then
            return client.set(name, token, nx=True, px=lease_ms)

        taken = bool(self._store.attempt("single flight without a lock", take, True))
        if not taken and token not in self._leased:
            self._leased.add(token)
            self._store.attempt(
                "lock left without a lease",
                lambda: client.pexpire(name, lease_ms, nx=True),
                None,
                key=name,
            )
        return taken

    def _renewal(
        self, name: str, token: str, orphaned: Callable[[], bool] = lambda: False
    ) -> _Renewal | None:
        """Keep the lock just taken while its holder runs (None: Redis was not asked, so
        nothing was taken). ``orphaned``: true once the holder can never finish (an
        async holder's event loop closed under it): the lock is then released."""
        return _Renewal(self, name, token, orphaned) if token in self._sent else None

    def _renew(self, name: str, token: str) -> bool:
        """Extend the lock's lease if it is still ours (sent even while the store backs
        off); False once it is not (expired, taken by another process)."""
        client, lease_ms = self._store.client, int(self._lease * 1000)
        renewed = self._anyway(
            "lock lease not renewed", lambda: client.eval(_RENEW, 1, name, token, lease_ms)
        )
        return renewed != 0  # None (no answer): try again next time

    def _unlock(self, name: str, token: str) -> None:
        """Delete the lock if it is still ours; sent even while the store backs off (a
        lock left behind makes every other process wait out its lease), never raises.
        Nothing is sent for a lock this caller never asked Redis for."""
        self._leased.discard(token)
        if self._sent.pop(token, None) != os.getpid():
            return  # never asked for, or asked for by the parent of this forked child
        client = self._store.client
        self._anyway("lock release skipped", lambda: client.eval(_RELEASE, 1, name, token))

    def _anyway(self, what: str, command: Callable[[], T]) -> T | None:
        """``command()`` through the store's :meth:`attempt` (its back-off and log), or
        sent once directly when the store is backing off (bounded by the client's socket
        timeout); None when it failed. Never raises."""
        sent = False

        def send() -> T:
            nonlocal sent
            sent = True
            return command()

        try:
            result: T | None = self._store.attempt(what, send, None)
            if sent:
                return result
            return command()
        except Exception as exc:  # a release or a renewal must not fail the caller
            logger.debug("token store: Redis %s (%s)", what, type(exc).__name__)
            return None


class _Renewal:
    """Renews a held lock's lease every third of it while the holder's fetch runs (a
    token request may take longer than the lease: connect and read timeouts, retries),
    so that no other process takes the lock and sends a second request meanwhile. A
    daemon thread, whatever the caller (sync or async): stopped when the fetch ends, or
    by itself once the lock is not ours, or once its holder is orphaned (an async
    holder whose event loop was closed while it ran never ends its fetch: the lock is
    released then, rather than renewed for ever while every other process waits)."""

    __slots__ = ("_stopped",)

    def __init__(
        self, flight: RedisSingleFlight, name: str, token: str, orphaned: Callable[[], bool]
    ) -> None:
        self._stopped = threading.Event()
        threading.Thread(
            target=self._run,
            args=(flight, name, token, orphaned),
            name="tokensmith-lease",
            daemon=True,
        ).start()

    def _run(
        self, flight: RedisSingleFlight, name: str, token: str, orphaned: Callable[[], bool]
    ) -> None:
        while not self._stopped.wait(flight._lease / 3):
            if orphaned():
                flight._unlock(name, token)
                return
            if not flight._renew(name, token):
                return

    def stop(self) -> None:
        """Renew no more (a renewal on the wire may still land: before the release,
        which then deletes the lock, or after it, and then finds the lock not ours)."""
        self._stopped.set()
