"""RedisStore against what it did not write itself (issue 11): values and keys another
writer left under its prefix, a lock key holding garbage, and a URL whose password
must not leak, on a real redis-server (loopback)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import traceback
from typing import Any

import pytest
from tests.stores._acl import limited_client
from tests.stores._apps import SCOPE, cca
from tests.unit.application.fake_entra import FakeEntra

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import EntryPut
from tokensmith.errors import ConfigurationError
from tokensmith.stores import PersistentTokenCache, RedisStore
from tokensmith.stores.redis_flight import flight_name


@pytest.mark.parametrize(
    "url", ["redis://:s3cret#x@127.0.0.1:6379/0", "redis://:s3cret/x@127.0.0.1/0"]
)
def test_a_url_that_does_not_parse_leaks_its_password_nowhere(url: str) -> None:
    # A password with an unescaped '#' or '/' cuts the URL short: redis-py's ValueError
    # then quotes the password as the port, and was chained to the ConfigurationError,
    # so a logged traceback (logger.exception, an error tracker) showed it.
    with pytest.raises(ConfigurationError, match="not a Redis URL") as raised:
        RedisStore(url=url)
    shown = "".join(traceback.format_exception(raised.value))
    assert "s3cret" not in shown
    assert "s3cret" not in repr((raised.value.__cause__, raised.value.__context__))


def _lock_of(key: str) -> str:
    return f"tokensmith:lock:{flight_name(key)}"


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["string", "hash", "list"])
def test_a_lock_key_that_never_expires_gets_a_lease(
    redis_client: Any, kind: str, mode: str
) -> None:
    # A lock key left without an expiry (another writer's value, a PERSIST) was never
    # taken: every fetch of its key, in every process, waited flight_wait (120 s) for
    # ever. A tokensmith lock always has one, so such a key is given a lease.
    name = _lock_of("key")
    {
        "string": lambda: redis_client.set(name, b"garbage"),
        "hash": lambda: redis_client.hset(name, "a", "b"),
        "list": lambda: redis_client.rpush(name, b"x"),
    }[kind]()
    flight = RedisStore(redis_client, flight_lease=30.0, flight_wait=0).single_flight()

    async def fetch() -> str:
        return "token"

    if mode == "sync":
        assert flight.run("key", lambda: "token") == "token"
    else:
        assert asyncio.run(flight.run_async("key", fetch)) == "token"
    assert 0 < redis_client.pttl(name) <= 30_000


def test_a_live_holders_lock_keeps_its_own_lease(redis_client: Any) -> None:
    name = _lock_of("key")
    redis_client.set(name, b"another-holder", px=60_000)
    store = RedisStore(redis_client, flight_lease=30.0, flight_wait=0)
    assert store.single_flight().run("key", lambda: "token") == "token"
    assert redis_client.get(name) == b"another-holder"
    assert redis_client.pttl(name) > 30_000


@pytest.mark.parametrize("planted", [5, {"k": {}}])
@pytest.mark.parametrize("section", ["AccessToken", "AppMetadata"])
def test_a_verbatim_field_named_after_a_modelled_section_is_ignored(
    redis_client: Any, section: str, planted: Any
) -> None:
    # tokensmith keeps only the sections it does not model in <prefix>verbatim; such a
    # field another writer put there replaced the real section in serialize(): every
    # access token (or AppMetadata) was missing from the export, or a bogus {} entry
    # was added to it (fixed for every entry store in _msaljson.state_of, 326fecb).
    clock = FakeClock(time.time())
    app = cca(FakeEntra(clock), clock, PersistentTokenCache(RedisStore(redis_client), clock=clock))
    assert app.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
    expected = json.loads(PersistentTokenCache(RedisStore(redis_client)).serialize())
    redis_client.hset("tokensmith:verbatim", section, json.dumps({"verbatim": planted}))
    exported = json.loads(PersistentTokenCache(RedisStore(redis_client)).serialize())
    assert exported == expected


def test_a_refusal_is_told_apart_by_redis_reply_not_by_the_command_text(
    redis_client: Any, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Which index Redis refused (the username index's scripts, the on-behalf-of set)
    # was read from the whole error text, which quotes the refused command and so the
    # store's keys and values: under a prefix holding "script" (or a token, a username
    # holding "eval"), a user without @set also lost the username index for good.
    account = EntryPut("Account", "u1.t-env-t", {"home_account_id": "u1.t", "username": "d@x"})
    obo = EntryPut(
        "AccessToken",
        "u1.t-h1",
        {
            "credential_type": "AccessToken",
            "home_account_id": "u1.t",
            "secret": "s",
            "user_assertion_hash": "h1",
            "expires_on": str(int(time.time()) + 3600),
        },
    )
    with limited_client(redis_client, redis_url, "nosets", "@set") as limited:
        store = RedisStore(limited, prefix="scripts:")
        with caplog.at_level(logging.WARNING, logger="tokensmith"):
            assert store.apply([obo]) is None
            assert store.apply([account]) is None
        assert "refuses set commands" in caplog.text
        assert "refuses scripts" not in caplog.text
        fields = redis_client.hkeys("scripts:p:accounts")
        assert any(f.startswith(b"#username|") for f in fields)  # the index is kept


@pytest.fixture
def not_redis() -> Any:
    """A loopback server that answers every request with one fixed reply (a server that
    is not Redis, a broken proxy): yields a function of the reply giving its URL."""
    servers: list[socket.socket] = []

    def serving(reply: bytes) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def answer(conn: socket.socket) -> None:
            with conn:
                while conn.recv(65536):
                    conn.sendall(reply)

        def accept() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:  # closed: the test is over
                    return
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"redis://127.0.0.1:{server.getsockname()[1]}/0"

    yield serving
    for server in servers:
        server.close()


@pytest.mark.parametrize("reply", [b"+OK\r\n", b":1\r\n"])
def test_a_server_that_is_not_redis_is_an_outage_not_an_exception(
    not_redis: Any, reply: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # redis-py reads such a reply to its HELLO handshake with an AttributeError, which
    # is no RedisError: it escaped every read (get_accounts raised from the library).
    clock = FakeClock(time.time())
    cache = PersistentTokenCache(RedisStore(url=not_redis(reply)), clock=clock)
    app = cca(FakeEntra(clock), clock, cache)
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert app.get_accounts() == []
        assert app.acquire_token_for_client(SCOPE)["token_source"] == "identity_provider"
        assert app.acquire_token_for_client(SCOPE)["token_source"] == "cache"  # memory
    assert "Redis unreachable" in caplog.text
    assert "AttributeError" in caplog.text


@pytest.mark.parametrize(
    ("kind", "warned"), [("hash", "could not be read"), ("string", "refused a command")]
)
def test_a_key_name_another_writer_chose_stays_on_one_log_line(
    redis_client: Any, caplog: pytest.LogCaptureFixture, kind: str, warned: str
) -> None:
    # Key names come from SCAN: another writer chooses them. One holding a newline
    # wrote a forged line into the log ("... of tokensmith:p:user:x" then "CRITICAL").
    name = b"tokensmith:p:user:x\nCRITICAL forged\x1b[2J"
    if kind == "hash":  # a value no key opens
        redis_client.hset(name, b"AccessToken|k", b"junk")
    else:  # not a hash: WRONGTYPE
        redis_client.set(name, b"junk")
    cache = PersistentTokenCache(RedisStore(redis_client))
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        json.loads(cache.serialize())
    refused = [r.getMessage() for r in caplog.records if warned in r.getMessage()]
    assert refused, caplog.text
    assert all("\n" not in m and "\x1b" not in m for m in refused)
    assert "tokensmith:p:user:x\\nCRITICAL forged\\x1b[2J" in refused[0]
