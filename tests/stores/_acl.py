"""A client of the test redis-server for a Redis user whose ACL leaves out some
commands (the RedisStore tests of what such a user can still do)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def limited_client(redis_client: Any, redis_url: str, user: str, *refused: str) -> Iterator[Any]:
    """A client logged in as ``user``, allowed every command but the ``refused`` ACL
    categories (``"@scripting"``); the user is deleted afterwards."""
    import redis

    commands = ["+@all", *("-" + category for category in refused)]
    redis_client.acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"], commands=commands)
    try:
        host, port = redis_url.split("//")[1].split("/")[0].split(":")
        limited = redis.Redis(host=host, port=int(port), username=user, password="pw")
        try:
            yield limited
        finally:
            limited.close()
    finally:
        redis_client.acl_deluser(user)
