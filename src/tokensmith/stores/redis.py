"""``RedisStore``: cache entries in Redis, for services on several machines.

Each partition (:mod:`tokensmith.stores.partition`) is one Redis hash,
``<prefix>p:<partition>``, whose fields are ``<credential_type>|<cache key>`` and whose
values are the entries' JSON (encrypted with AES-GCM when the app gives a key; the
field name is the associated data, so a value cannot be moved to another field). A
user's tokens are one hash per home account; an app's tokens one hash per client and
tenant, which expires with its last token (``EXPIREAT`` the latest ``expires_on``);
the other hashes expire ``idle_ttl`` after their last write.

The persistent cache in front of it is the in-process L1: hits never reach Redis.
Redis unreachable is never an exception: a read answers nothing (the app goes to the
network), a write is dropped, and a warning is logged (at most every 30 s). After a
failure the store leaves Redis alone for a while (``backoff`` seconds, doubled per
failure in a row up to ``max_backoff``), so a Redis that hangs costs one socket timeout
per back-off period, not one per cache miss.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from tokensmith._redact import logger
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.schema import CredentialType
from tokensmith.errors import ConfigurationError, StoreUnavailableError
from tokensmith.stores._msaljson import rows_of, state_of
from tokensmith.stores.base import NO_ANSWER, Row
from tokensmith.stores.partition import partition_of

__all__ = ["DEFAULT_IDLE_TTL", "RedisStore"]

DEFAULT_IDLE_TTL = 90 * 24 * 3600
"""Seconds a user's hash lives after its last write (a refresh token's lifetime)."""
_WARN_EVERY_S = 30.0
_NONCE = 12
T = TypeVar("T")


class RedisStore:
    """An entry store in Redis.

    Args:
        client: a ``redis.Redis`` client (decode_responses off), or None with ``url``.
        url: ``redis://host:port/db`` used to build a client when none is given.
        prefix: the namespace of every key this store writes.
        encryption_key: 16, 24 or 32 bytes: values are encrypted at rest (AES-GCM).
        idle_ttl: seconds a hash that holds more than access tokens lives after its
            last write.
        backoff: seconds Redis is left alone after a failed command (reads answer
            nothing, writes are dropped); doubled for each failure in a row.
        max_backoff: the longest such pause.
        timer: monotonic seconds (tests give a fake).

    Raises:
        StoreUnavailableError: the ``redis`` package is not installed
            (``pip install tokensmith[redis]``).
        ConfigurationError: neither ``client`` nor ``url``, or a key of a bad length.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        prefix: str = "tokensmith:",
        encryption_key: bytes | None = None,
        idle_ttl: int = DEFAULT_IDLE_TTL,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise StoreUnavailableError("RedisStore needs: pip install tokensmith[redis]") from exc
        if client is None:
            if url is None:
                raise ConfigurationError("RedisStore needs a client or a url")
            client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.client = client
        self.prefix = prefix
        self.idle_ttl = idle_ttl
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        """What a lost connection raises: caught at this boundary, logged, never raised."""
        self._cipher: Any = None
        if encryption_key is not None:
            if not isinstance(encryption_key, bytes) or len(encryption_key) not in (16, 24, 32):
                raise ConfigurationError("encryption_key must be 16, 24 or 32 bytes")
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(encryption_key)
        if not 0 <= backoff <= max_backoff:
            raise ConfigurationError("backoff must be between 0 and max_backoff seconds")
        self._backoff, self._max_backoff, self._timer = backoff, max_backoff, timer
        self._failures = 0
        self._failed_at = float("-inf")
        self._resume_at = 0.0
        self._warned_at: float | None = None
        self._outage_lock = threading.Lock()

    def __repr__(self) -> str:
        sealed = " encrypted" if self._cipher is not None else ""
        return f"<RedisStore prefix={self.prefix!r}{sealed}>"

    # -- the entry-store protocol --------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> None:
        """Write the changes in one pipelined transaction (MULTI/EXEC)."""

        def write() -> None:
            pipe = self.client.pipeline(transaction=True)
            self._queue(pipe, changes)
            pipe.execute()

        self.attempt("write dropped", write, None)

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        """The entries of one partition (one ``HGETALL``); :data:`NO_ANSWER` (an empty
        list) when Redis is down."""
        name = self._hash(partition)
        fields: Mapping[bytes, bytes] | None = self.attempt(
            "read skipped", lambda: self.client.hgetall(name), None
        )
        return NO_ANSWER if fields is None else self._rows(fields)

    def read_prefix(self, prefix: str) -> list[Row]:
        """The entries of every partition whose name starts with ``prefix`` (SCAN)."""

        def scan() -> list[Row]:
            rows: list[Row] = []
            for name in self._scan(self._hash(prefix)):
                rows.extend(self._rows(self.client.hgetall(name)))
            return rows

        return self.attempt("read skipped", scan, NO_ANSWER)

    def read_all(self) -> dict[str, Any]:
        """Every entry under this prefix, in MSAL's layout."""
        return state_of(self.read_prefix(""), {})

    def replace_all(self, state: Mapping[str, Any]) -> None:
        """Delete every hash under this prefix, then write ``state``'s entries."""
        rows, _ = rows_of(state)

        def replace() -> None:
            pipe = self.client.pipeline(transaction=True)
            for name in self._scan(self._hash("")):
                pipe.delete(name)
            self._queue(pipe, [EntryPut(ct, key, entry) for ct, key, entry in rows])
            pipe.execute()

        self.attempt("import dropped", replace, None)

    def single_flight(self) -> Any:
        """A single flight whose leaders hold a Redis lock per key (across processes)."""
        from tokensmith.stores.redis_flight import RedisSingleFlight

        return RedisSingleFlight(self)

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

    def _hash(self, partition: str) -> str:
        return f"{self.prefix}p:{partition}"

    def _scan(self, literal: str) -> list[Any]:
        """The keys whose name starts with ``literal`` (SCAN, the text glob-escaped: a
        prefix such as ``svc[1]:`` matches only itself, not ``svc1:``)."""
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in literal) + "*"
        return list(self.client.scan_iter(match=pattern))

    def _queue(self, pipe: Any, changes: Sequence[Change]) -> None:
        expiries: dict[str, int | None] = {}
        for change in changes:
            name = self._hash(partition_of(change.credential_type, change.entry))
            field = f"{change.credential_type}|{change.key}"
            if isinstance(change, EntryPut):
                pipe.hset(name, field, self._seal(field, change.entry))
                expiries[name] = _merge_expiry(expiries.get(name, 0), change)
            else:
                pipe.hdel(name, field)
        for name, expires_on in expiries.items():
            if expires_on is None:
                pipe.expire(name, self.idle_ttl)
            else:
                pipe.expireat(name, expires_on, gt=True)
                pipe.expireat(name, expires_on, nx=True)

    def _seal(self, field: str, entry: Mapping[str, Any]) -> bytes:
        body = json.dumps(entry, separators=(",", ":")).encode()
        if self._cipher is None:
            return body
        nonce = os.urandom(_NONCE)
        sealed: bytes = self._cipher.encrypt(nonce, body, field.encode())
        return nonce + sealed

    def _rows(self, fields: Mapping[bytes, bytes]) -> list[Row]:
        rows: list[Row] = []
        now = time.time()
        for raw_field, raw in fields.items():
            try:
                field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
            except UnicodeDecodeError:  # not written by a tokensmith store
                continue
            credential_type, _, key = field.partition("|")
            entry = self._open(field, raw)
            if entry is None:
                continue
            if credential_type == CredentialType.ACCESS_TOKEN and _expired(entry, now):
                continue
            rows.append((credential_type, key, entry))
        return rows

    def _open(self, field: str, raw: bytes) -> dict[str, Any] | None:
        try:
            if self._cipher is not None:
                raw = self._cipher.decrypt(raw[:_NONCE], raw[_NONCE:], field.encode())
            entry = json.loads(raw)
        except Exception:  # a wrong key, a value written without encryption, damage
            logger.warning("token store: a Redis entry could not be read (wrong key?)")
            return None
        return entry if isinstance(entry, dict) else None

    # -- an unreachable Redis ----------------------------------------------------------

    def attempt(self, what: str, command: Callable[[], T], fallback: T) -> T:
        """``command()``, or ``fallback`` when Redis failed (logged) or is being left
        alone after a failure; a success ends the back-off."""
        started = self._timer()
        if self._failures and started < self._resume_at:
            return fallback
        try:
            result = command()
        except self.errors as exc:
            self._failed(what, exc, started)
            return fallback
        if self._failures:
            with self._outage_lock:  # a command sent before the last failure proves nothing
                if started > self._failed_at:
                    self._failures = 0
        return result

    def _failed(self, what: str, exc: BaseException, started: float) -> None:
        with self._outage_lock:
            now = self._timer()
            if started <= self._failed_at:  # in flight when another one failed: one outage
                return
            pause = min(self._backoff * 2 ** min(self._failures, 32), self._max_backoff)
            self._failures += 1
            self._failed_at = now
            self._resume_at = now + pause
            if self._warned_at is not None and now - self._warned_at < _WARN_EVERY_S:
                return
            self._warned_at = now
        logger.warning(
            "token store: Redis unreachable, %s (%s); serving from memory and the network "
            "(writes are dropped) until the next try in %.3g s",
            what,
            type(exc).__name__,
            pause,
        )


def _merge_expiry(current: int | None, change: EntryPut) -> int | None:
    """The hash's expiry after this put: the latest ``expires_on`` of its access
    tokens, or None (idle TTL) once it holds anything else."""
    if current is None or change.credential_type != CredentialType.ACCESS_TOKEN:
        return None
    try:
        expires_on = int(change.entry.get("expires_on", 0))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(current, expires_on)


def _expired(entry: Mapping[str, Any], now: float) -> bool:
    try:
        return int(entry.get("expires_on", 0)) < now
    except (TypeError, ValueError, OverflowError):
        return False
