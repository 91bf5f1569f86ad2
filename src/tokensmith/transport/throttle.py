"""Client-side throttling of token POSTs, with MSAL Python's semantics (sans-I/O).

MSAL Python answers some repeated POSTs from memory instead of the network
(reference: msal-python.md §4.3, entra-protocol.md §8):

* **Retry-After rule.** A POST answered with 429, any 5xx, or any response carrying a
  ``Retry-After`` header blocks identical POSTs (same URL, ``client_id``, ``scope`` and
  "account" field: ``refresh_token``, ``code``, ``username``, ``user_id``,
  ``device_code`` or ``assertion``, first one present) for ``Retry-After`` seconds,
  capped at 3600. Without a usable header the block lasts ``default_retry_after``
  (MSAL: 60 s for public clients, 5 s for others).
* **HTTP 400 rule.** A POST answered with exactly 400 and no ``Retry-After`` is replayed
  for 60 s to requests identical in every query parameter and form field, except
  device-code polls (RFC 8628 §3.4 ``grant_type``, or the legacy ``device_code``), whose
  repetition is the protocol, and except a DPoP server's ``use_dpop_nonce`` answer
  (it carries ``DPoP-Nonce``: the retry with that nonce is the protocol, RFC 9449 §8).

GETs are not throttled by that policy. A managed-identity client (MSAL's
``ManagedIdentityClient`` throttles its source requests, whatever their method) uses
:meth:`Throttle.for_managed_identity`: only the Retry-After rule, on every request, keyed
by method, URL, query and form (MSAL hashes the parameters, because each source names
them differently), 5 s by default. Keys are SHA-256 digests: no token, code or secret is
kept in clear. Memory is bounded by ``capacity``; when full, the entry that expires
soonest is evicted first. Safe to share between threads.

Given the application's ``http_cache`` (:class:`~tokensmith._http_cache.HttpCache`),
the error answers it remembers (status 400 and up: never a token) are also written
there until they expire, and a request the memory does not know is looked up there,
so the next process waits out a ``Retry-After`` too, as under MSAL.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from tokensmith._clock import Clock
from tokensmith._http_cache import HttpCache
from tokensmith.errors import ConfigurationError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.retry import retry_after_of

__all__ = ["DEVICE_CODE_GRANT_TYPES", "MAX_RETRY_AFTER", "Throttle"]

MAX_RETRY_AFTER = 3600.0
"""The longest block a ``Retry-After`` can impose, in seconds."""

BAD_REQUEST_TTL = 60.0
"""How long an HTTP 400 answer is replayed, in seconds."""

DEVICE_CODE_GRANT_TYPES = frozenset({"urn:ietf:params:oauth:grant-type:device_code", "device_code"})
"""``grant_type`` values of a device-code poll (RFC 8628 §3.4 and the legacy short form)."""

_ACCOUNT_FIELDS = ("refresh_token", "code", "username", "user_id", "device_code", "assertion")


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: float
    seq: int
    response: HttpResponse


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(mapping: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (mapping or {}).items()}


def _retry_after_key(request: HttpRequest) -> str:
    data = _plain(request.data)
    account = next((data[name] for name in _ACCOUNT_FIELDS if name in data), None)
    return _digest("retry-after", request.url, data.get("client_id"), data.get("scope"), account)


def _source_key(request: HttpRequest) -> str:
    return _digest(
        "source", request.method.upper(), request.url, _plain(request.params), _plain(request.data)
    )


def _bad_request_key(request: HttpRequest) -> str:
    return _digest("400", request.url, _plain(request.params), _plain(request.data))


def _response_of(plain: object) -> HttpResponse | None:
    """The response an ``http_cache`` entry holds: ``(status, text, headers)``."""
    if not (isinstance(plain, tuple) and len(plain) == 3):
        return None
    status, text, headers = plain
    if not (isinstance(status, int) and isinstance(text, str) and isinstance(headers, dict)):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        return None
    return HttpResponse(status, text, headers)


def _has_retry_after_header(response: HttpResponse) -> bool:
    return any(name.lower() == "retry-after" for name in response.headers)


class Throttle:
    """Remembers throttling answers to POSTs and replays them to identical POSTs.

    Args:
        clock: epoch-seconds clock deciding when entries expire.
        default_retry_after: block length when a throttling answer has no usable
            ``Retry-After`` (60.0 for public clients, 5.0 for confidential ones).
        capacity: the most entries kept at once.

    Raises:
        ConfigurationError: for a negative ``default_retry_after`` or ``capacity < 1``.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        default_retry_after: float,
        capacity: int = 1024,
        persist: HttpCache | None = None,
    ) -> None:
        if (
            isinstance(default_retry_after, bool)
            or not isinstance(default_retry_after, (int, float))
            or not (math.isfinite(default_retry_after) and default_retry_after >= 0)
        ):
            raise ConfigurationError("default_retry_after must be a finite number >= 0")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigurationError("capacity must be an int >= 1")
        self._clock = clock
        self.default_retry_after = min(float(default_retry_after), MAX_RETRY_AFTER)
        self.capacity = capacity
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, int, str]] = []  # may hold stale items
        self._seq = 0
        self._lock = threading.Lock()
        self._sources_only = False
        self._persist = persist

    @classmethod
    def for_managed_identity(
        cls, clock: Clock, *, capacity: int = 1024, persist: HttpCache | None = None
    ) -> Throttle:
        """The throttle of a managed-identity client: a 429, 5xx or ``Retry-After``
        answer of a source blocks identical requests (any method) for ``Retry-After``
        seconds, 5 s without one; no HTTP 400 rule (MSAL 1.39's ``ManagedIdentityClient``)."""
        throttle = cls(clock, default_retry_after=5.0, capacity=capacity, persist=persist)
        throttle._sources_only = True
        return throttle

    def _covers(self, request: HttpRequest) -> bool:
        return self._sources_only or request.method.upper() == "POST"

    def _retry_after_key(self, request: HttpRequest) -> str:
        return _source_key(request) if self._sources_only else _retry_after_key(request)

    def __len__(self) -> int:
        """Return how many entries are stored (expired ones included until purged)."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Throttle({len(self._entries)}/{self.capacity} entries)"

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """Return the remembered response for ``request``, or ``None`` to send it.

        Only requests a rule covers are answered; expired entries are dropped on the way.
        """
        if (not self._entries and self._persist is None) or not self._covers(request):
            return None  # nothing remembered (no need to hash the request), or no rule
        keys = [self._retry_after_key(request)]
        if not self._sources_only:
            keys.append(_bad_request_key(request))
        with self._lock:
            now = self._clock()
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if entry.expires_at > now:
                    return entry.response
                del self._entries[key]
        if self._persist is not None:
            for key in keys:
                found = _response_of(self._persist.get(HttpCache.key("throttle", key), now))
                if found is not None:
                    return found
        return None

    def record(self, request: HttpRequest, response: HttpResponse) -> None:
        """Remember ``response`` to ``request`` if a rule says identical requests must wait."""
        if not self._covers(request):
            return
        now = self._clock()
        status = response.status_code
        has_retry_after = _has_retry_after_header(response)
        if status == 429 or status >= 500 or has_retry_after:
            delay = retry_after_of(response, now)
            ttl = self.default_retry_after if delay is None else min(delay, MAX_RETRY_AFTER)
            self._store(self._retry_after_key(request), now + ttl, response, now)
        if self._sources_only:
            return
        if status == 400 and not has_retry_after and not self._is_device_code_poll(request):
            if "dpop-nonce" in response.headers:  # "retry with this nonce" (RFC 9449 §8)
                return
            self._store(_bad_request_key(request), now + BAD_REQUEST_TTL, response, now)

    @staticmethod
    def _is_device_code_poll(request: HttpRequest) -> bool:
        grant_type = (request.data or {}).get("grant_type")
        return grant_type in DEVICE_CODE_GRANT_TYPES

    def _store(self, key: str, expires_at: float, response: HttpResponse, now: float) -> None:
        if expires_at <= now:
            return
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.capacity:
                self._purge_expired(now)
                while len(self._entries) >= self.capacity:
                    self._evict_soonest()
            self._seq += 1
            self._entries[key] = _Entry(expires_at, self._seq, response)
            heapq.heappush(self._heap, (expires_at, self._seq, key))
            if len(self._heap) > 2 * self.capacity + 16:
                self._rebuild_heap()
        if self._persist is not None and response.status_code >= 400:
            plain = (response.status_code, response.text, dict(response.headers))
            self._persist.put(HttpCache.key("throttle", key), plain, expires_at, now)

    def _is_live(self, item: tuple[float, int, str]) -> bool:
        entry = self._entries.get(item[2])
        return entry is not None and entry.seq == item[1]

    def _purge_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            item = heapq.heappop(self._heap)
            if self._is_live(item):
                del self._entries[item[2]]

    def _evict_soonest(self) -> None:
        while self._heap:
            item = heapq.heappop(self._heap)
            if self._is_live(item):
                del self._entries[item[2]]
                return
        # The heap lost track (cannot happen unless entries were edited directly).
        self._entries.clear()

    def _rebuild_heap(self) -> None:
        self._heap = [(e.expires_at, e.seq, key) for key, e in self._entries.items()]
        heapq.heapify(self._heap)
