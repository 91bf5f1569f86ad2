"""The argument checks of :class:`~tokensmith.stores.RedisStore`: the client (built
from a ``url``; no ``RedisCluster``, no ``decode_responses``), the ``prefix``, and the
durations (``idle_ttl``, ``flight_lease``, ``flight_wait``, ``backoff``), each refused
with a :class:`~tokensmith.errors.ConfigurationError` that quotes no URL (it may hold a
password).
"""

from __future__ import annotations

from typing import Any

from tokensmith.errors import ConfigurationError
from tokensmith.stores.base import utf8_encodable

__all__ = ["MAX_TTL", "check_backoff", "check_settings", "client_of"]

MAX_TTL = 100 * 365 * 24 * 3600
"""The longest ``idle_ttl`` (Redis accepts far more; a century is plenty)."""


def client_of(redis: Any, client: Any, url: str | None) -> Any:
    """``client``, or one built from ``url`` (1 s timeouts) when it is None; refused if
    it is a Redis Cluster or decodes responses."""
    if client is None:
        if url is None:
            raise ConfigurationError("RedisStore needs a client or a url")
        client = _from_url(redis, url)
    if isinstance(client, redis.RedisCluster):
        raise ConfigurationError(
            "RedisStore does not support Redis Cluster: a write is one MULTI/EXEC over "
            "several hashes (a user's, the shared accounts hash), which a cluster "
            "refuses across slots; use one Redis (with replicas or Sentinel)"
        )
    if isinstance(client, redis.Redis) and client.get_encoder().decode_responses:
        raise ConfigurationError(
            "RedisStore needs a client with decode_responses off: values are bytes "
            "(encrypted ones are not text at all)"
        )
    return client


def _from_url(redis: Any, url: object) -> Any:
    """A client built from ``url`` (1 s timeouts), or a :class:`ConfigurationError`
    that holds nothing of it: redis-py's ``ValueError`` may quote a password (an
    unescaped ``#`` or ``/`` in it ends the host part, and the rest is read as the
    port), so it is neither the error's cause nor its context."""
    try:
        if isinstance(url, str):
            return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    except (TypeError, ValueError):
        pass
    raise ConfigurationError("RedisStore url is not a Redis URL (redis://, rediss:// or unix://)")


def check_settings(prefix: str, idle_ttl: int, flight_lease: float, flight_wait: float) -> None:
    """Refuse a bad ``prefix``, ``idle_ttl``, ``flight_lease`` or ``flight_wait``."""
    if not (isinstance(prefix, str) and utf8_encodable(prefix)):
        raise ConfigurationError("prefix must be text UTF-8 can encode")
    if isinstance(idle_ttl, bool) or not isinstance(idle_ttl, int):
        raise ConfigurationError("idle_ttl must be a whole number of seconds")
    if not 0 < idle_ttl <= MAX_TTL:
        raise ConfigurationError("idle_ttl must be between 1 s and 100 years")
    for what, seconds, least in (
        ("flight_lease", flight_lease, 0.001),
        ("flight_wait", flight_wait, 0),
    ):
        if not (_seconds(seconds) and least <= seconds <= MAX_TTL):  # NaN compares False
            raise ConfigurationError(f"{what} must be a number of seconds, {least} to 100 years")


def check_backoff(backoff: float, max_backoff: float) -> None:
    """Refuse a ``backoff`` outside 0 to ``max_backoff`` (at most a century)."""
    numbers = all(_seconds(t) for t in (backoff, max_backoff))
    if not (numbers and 0 <= backoff <= max_backoff <= MAX_TTL):  # NaN compares False
        raise ConfigurationError(
            "backoff must be between 0 and max_backoff seconds (at most 100 years)"
        )


def _seconds(value: object) -> bool:
    """True for a number of seconds (an int or a float, not a bool: the annotations
    are not enforced, so callers may pass anything)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
