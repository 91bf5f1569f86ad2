"""A review by testing of the persistent caches under the async API when a call is
cancelled or times out: while its store read runs in a store thread, while its token
request is on the wire, while its write-back runs; a cancelled leader of the single
flight; a sign-out cancelled mid-way; an event loop closed with store work in flight;
a second event loop in another thread on the same cache.

What must hold: no hang, no exception but ``CancelledError`` / ``TimeoutError`` to the
cancelled caller and none to the others, the store left consistent with memory, and
no thread left running. Interleavings are forced with events, never with sleeps, and
every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from tests.stores import test_concurrency_review as _review
from tests.stores._apps import async_cca, cca
from tests.stores.test_concurrency_review import (  # the same stores and helpers
    SCOPES,
    WAIT,
    NewStore,
    _clock,
    _left_in_store,
    _run,
    _signed_in,
)
from tests.unit.application.fake_entra import FakeEntra

from tokensmith._clock import FakeClock
from tokensmith.concurrency import store_threads
from tokensmith.errors import StoreError
from tokensmith.stores import FileStore, PersistentTokenCache, RedisStore

API = ["api://a/.default"]
_STORE_THREADS = store_threads._threads()._max_workers  # how many store calls run at once
new_store = _review.new_store  # the fixture: SQLite, a file, a real Redis


@pytest.fixture(autouse=True)
def _settles(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After each test: no thread of the test's making left running (the idle workers
    of the store pool and of asyncio's executors stay), nothing logged at ERROR."""
    before = set(threading.enumerate())
    caplog.set_level(logging.DEBUG)
    yield
    deadline = time.monotonic() + WAIT
    while True:
        left = [
            t
            for t in set(threading.enumerate()) - before
            if not t.name.startswith(("tokensmith-store", "asyncio_"))
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert left == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    for record in caplog.records:  # nothing secret on the way
        assert "s3cret" not in record.getMessage()
        assert "rt-" not in record.getMessage() and "at-" not in record.getMessage()


class _Gate:
    """Holds the next call of a store method in its thread until :meth:`release`."""

    def __init__(self) -> None:
        self.entered, self.go, self.exited = threading.Event(), threading.Event(), threading.Event()
        self.error: Exception | None = None  # raised instead of making the held call

    def release(self) -> None:
        self.go.set()

    def passed(self) -> bool:
        """Released, and the held call has returned (or raised)."""
        self.release()
        return self.exited.wait(WAIT)


class _Gated:
    """A store that delegates, holding the next call of a named method on a gate."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._gates: dict[str, _Gate] = {}
        self._lock = threading.Lock()

    def hold_at(self, held_at: str) -> _Gate:
        """A gate for the next read (``"read"``) or write (``"write"``) of the store."""
        return self.hold(*_held_method(self._store, held_at))

    def hold(self, *names: str) -> _Gate:
        """A gate for the next call of the first of ``names`` the cache makes."""
        gate = _Gate()
        with self._lock:
            for name in names:
                self._gates[name] = gate
        return gate

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                gate = self._gates.get(name)
                if gate is not None:
                    self._gates = {k: g for k, g in self._gates.items() if g is not gate}
            if gate is None:
                return attr(*args, **kwargs)
            gate.entered.set()
            try:
                assert gate.go.wait(WAIT)
                if gate.error is not None:
                    raise gate.error
                return attr(*args, **kwargs)
            finally:
                gate.exited.set()

        return call


class _HeldRequests:
    """Holds the token requests on the wire until :meth:`release`."""

    def __init__(self, entra: FakeEntra) -> None:
        self.on_wire, self.go = threading.Event(), threading.Event()
        self._issue = entra.issue
        entra.token_handler = self._handle

    def _handle(self, form: dict[str, str]) -> Any:
        self.on_wire.set()
        assert self.go.wait(WAIT)
        return self._issue(form)

    def release(self) -> None:
        self.go.set()


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, WAIT)


async def _cancel_when_held(gate: _Gate, call: Awaitable[Any]) -> None:
    """Run ``call``; cancel it once it is held at ``gate``; return once the held store
    call has gone on and returned."""
    task = asyncio.ensure_future(call)
    await _until(gate.entered)
    await _cancelled(task)
    assert await asyncio.to_thread(gate.passed)


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _gated_app(new_store: NewStore, clock: FakeClock, entra: FakeEntra) -> tuple[_Gated, Any]:
    """An async application over a gated store of its own."""
    gated = _Gated(new_store())
    return gated, async_cca(entra, clock, PersistentTokenCache(gated, clock=clock))


def _held_method(store: Any, held_at: str) -> tuple[str, ...]:
    """The store methods that make a read (``"read"``) or a write (``"write"``)."""
    if held_at == "write":
        return ("apply", "apply_sign_out")
    return ("load",) if isinstance(store, FileStore) else ("read", "read_prefix")


def _from_store(new_store: NewStore, clock: FakeClock, entra: FakeEntra) -> str:
    """Where a fresh process's app-only token for ``API`` comes from."""
    app = cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    source: str = app.acquire_token_for_client(API)["token_source"]
    return source


# -- one call cancelled ---------------------------------------------------------------


@pytest.mark.parametrize("held_at", ["read", "write"])
def test_a_call_cancelled_while_its_store_call_runs(new_store: NewStore, held_at: str) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    if held_at == "read":  # the token is in the store, not in this process's memory
        assert _from_store(new_store, clock, entra) == "identity_provider"
    gated, app = _gated_app(new_store, clock, entra)
    gate = gated.hold_at(held_at)

    async def main() -> Any:
        await _cancel_when_held(gate, app.acquire_token_for_client(API))
        return await app.acquire_token_for_client(API)

    assert _run(main())["token_source"] == "cache"  # read, or written by the cancelled call
    assert entra.tokens_posted() == 1
    assert _from_store(new_store, clock, entra) == "cache"


@pytest.mark.parametrize("ended_by", ["cancel", "timeout"])
def test_a_call_ended_while_its_request_is_on_the_wire(new_store: NewStore, ended_by: str) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    app = async_cca(entra, clock, cache)
    held = _HeldRequests(entra)

    async def main() -> Any:
        if ended_by == "timeout":  # wherever it lands: the request is held past it
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(app.acquire_token_for_client(API), 0.05)
        else:
            task = asyncio.create_task(asyncio.wait_for(app.acquire_token_for_client(API), WAIT))
            await _until(held.on_wire)
            await _cancelled(task)
        held.release()
        return await app.acquire_token_for_client(API)

    got = _run(main())
    assert got["token_source"] == "identity_provider"  # the cancelled answer was dropped
    # (a timeout that fired before the request went out: it never went)
    assert entra.tokens_posted() in ((1, 2) if ended_by == "timeout" else (2,))
    assert _from_store(new_store, clock, entra) == "cache"
    assert cache.single_flight.in_flight() == 0


def test_a_cancelled_call_whose_write_back_fails_says_so(
    new_store: NewStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    gated, app = _gated_app(new_store, clock, entra)
    gate = gated.hold_at("write")
    gate.error = StoreError("the disk is full")

    async def main() -> Any:
        await _cancel_when_held(gate, app.acquire_token_for_client(API))
        return await app.acquire_token_for_client(["api://b/.default"])  # a write: it lands

    assert _run(main())["token_source"] == "identity_provider"
    # no caller is left to raise it to: the failure is logged, its type only (once the
    # step has ended in its thread)
    deadline = time.monotonic() + WAIT
    while not (warned := [r for r in caplog.records if r.levelno == logging.WARNING]):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    (record,) = warned
    assert "StoreError" in record.getMessage() and "disk" not in record.getMessage()


@pytest.mark.parametrize("call", ["token", "sign-out"])
def test_a_call_cancelled_while_it_queues_for_a_store_thread(
    new_store: NewStore, call: str
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    account = _signed_in(entra, cca(entra, clock, cache))
    app = async_cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    busy, free = threading.Barrier(_STORE_THREADS + 1, timeout=WAIT), threading.Event()

    def occupy() -> None:
        busy.wait()
        assert free.wait(WAIT)

    async def main() -> list[Any]:
        taken = [store_threads.submit(occupy) for _ in range(_STORE_THREADS)]
        await asyncio.to_thread(busy.wait)  # every store thread is taken
        if call == "token":
            queued = asyncio.ensure_future(app.acquire_token_for_client(API))
        else:
            queued = asyncio.ensure_future(app.remove_account(account))
        await asyncio.sleep(0)  # (it submits its store work, which waits for a thread)
        await _cancelled(queued)
        free.set()
        for future in taken:
            await asyncio.wrap_future(future)
        accounts: list[Any] = await app.get_accounts()  # the store threads serve again
        return accounts

    assert _run(main()) == [account]  # the queued sign-out was never made...
    assert entra.tokens_posted() == 1  # (the sign-in's) nor the queued call's request
    if call == "sign-out":
        _run(app.remove_account(account))  # ...and can be made now
        assert _left_in_store(new_store, clock, account["home_account_id"]) == []


# -- many callers, one flight ---------------------------------------------------------


def _key_waiters(cache: Any) -> int:
    flight = cache.single_flight
    return sum(flight.waiters(key) for key in list(flight._calls))


@pytest.mark.parametrize("cancel", ["leader", "waiter"])
def test_fifty_callers_missing_one_token_with_one_cancelled(
    new_store: NewStore, cancel: str
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    app = async_cca(entra, clock, cache)
    held = _HeldRequests(entra)

    async def main() -> list[Any]:
        leader = asyncio.create_task(app.acquire_token_for_client(API))
        await _until(held.on_wire)
        others = [asyncio.create_task(app.acquire_token_for_client(API)) for _ in range(50)]
        deadline = time.monotonic() + WAIT
        while _key_waiters(cache) < len(others):  # every other caller waits on the flight
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        if cancel == "leader":
            await _cancelled(leader)
        else:
            await _cancelled(others.pop())
        held.release()
        return list(await asyncio.gather(*others, *([leader] if cancel == "waiter" else [])))

    results = _run(main())
    assert all(r["token_source"] in ("identity_provider", "cache") for r in results)
    assert len({r["access_token"] for r in results}) == 1
    assert entra.tokens_posted() == (2 if cancel == "leader" else 1)  # one more at most
    assert cache.single_flight.in_flight() == 0
    assert _from_store(new_store, clock, entra) == "cache"


def _on_another_loop(
    entra: FakeEntra, clock: FakeClock, cache: Any, calls: int, got: list[Any]
) -> threading.Thread:
    """A thread, started, that makes ``calls`` calls at once on an event loop of its
    own (with an application of its own); their results go to ``got``."""

    async def at_once() -> list[Any]:
        app = async_cca(entra, clock, cache)
        return list(
            await asyncio.gather(*(app.acquire_token_for_client(API) for _ in range(calls)))
        )

    thread = threading.Thread(target=lambda: got.extend(_run(at_once())))
    thread.start()
    return thread


def test_a_cancelled_leader_on_one_loop_leaves_a_waiter_on_another(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    cache = PersistentTokenCache(new_store(), clock=clock)
    held = _HeldRequests(entra)
    got: list[Any] = []

    async def main() -> None:
        leader = asyncio.create_task(async_cca(entra, clock, cache).acquire_token_for_client(API))
        await _until(held.on_wire)
        thread = _on_another_loop(entra, clock, cache, 20, got)
        deadline = time.monotonic() + WAIT
        while _key_waiters(cache) < 20:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        await _cancelled(leader)
        held.release()
        await asyncio.to_thread(thread.join, WAIT)
        assert not thread.is_alive()

    _run(main())
    assert len(got) == 20 and len({r["access_token"] for r in got}) == 1
    assert entra.tokens_posted() == 2


# -- a sign-out cancelled ---------------------------------------------------------------


def test_a_sign_out_cancelled_mid_way_is_made_or_can_be_made_again(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    account = _signed_in(entra, cca(entra, clock, PersistentTokenCache(new_store(), clock=clock)))
    home = account["home_account_id"]
    gated, app = _gated_app(new_store, clock, entra)

    async def main() -> list[Any]:
        assert await app.get_accounts() == [account]
        gate = gated.hold_at("write")
        await _cancel_when_held(gate, app.remove_account(account))
        seen: list[Any] = await app.get_accounts()
        await app.remove_account(account)  # again: nothing left to do, no error
        return seen

    assert _run(main()) == []  # the sign-out went through
    assert _left_in_store(new_store, clock, home) == []


def test_a_sign_in_cancelled_during_its_write_lands_the_account_with_its_tokens(
    new_store: NewStore,
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    gated, app = _gated_app(new_store, clock, entra)
    gate = gated.hold_at("write")

    async def main() -> None:
        await _cancel_when_held(gate, app.acquire_token_by_refresh_token("rt-imported", SCOPES))

    _run(main())
    fresh = cca(entra, clock, PersistentTokenCache(new_store(), clock=clock))
    [account] = fresh.get_accounts()  # the account, and with it the tokens it came with
    left = _left_in_store(new_store, clock, account["home_account_id"])
    assert sorted({entry.split(":", 1)[0] for entry in left}) == [
        "AccessToken",
        "Account",
        "IdToken",
        "RefreshToken",
    ]
    silent = fresh.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert silent and silent["token_source"] == "identity_provider"  # its refresh token


# -- the loop goes away ---------------------------------------------------------------


@pytest.mark.parametrize("held_at", ["read", "write"])
def test_a_loop_ended_with_store_work_in_flight(new_store: NewStore, held_at: str) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    if held_at == "read":
        assert _from_store(new_store, clock, entra) == "identity_provider"
    gated = _Gated(new_store())
    cache = PersistentTokenCache(gated, clock=clock)
    gate = gated.hold_at(held_at)
    tasks: list[asyncio.Task[Any]] = []

    async def walk_away() -> None:  # asyncio.run cancels the call, then closes the loop
        tasks.append(
            asyncio.create_task(async_cca(entra, clock, cache).acquire_token_for_client(API))
        )
        await _until(gate.entered)

    asyncio.run(walk_away())
    assert tasks[0].cancelled()
    assert gate.passed()
    assert cache.single_flight.in_flight() == 0
    again = _run(async_cca(entra, clock, cache).acquire_token_for_client(API))
    assert again["token_source"] == "cache"
    assert entra.tokens_posted() == 1
    assert _from_store(new_store, clock, entra) == "cache"


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_a_leader_cancelled_during_its_write_back_leaves_the_others_a_token(
    new_store: NewStore, grant: str
) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    gated = _Gated(new_store())
    cache = PersistentTokenCache(gated, clock=clock)
    app = async_cca(entra, clock, cache)
    account: dict[str, Any] | None = None
    if grant == "refresh_token":
        account = _signed_in(entra, cca(entra, clock, cache))
        clock.advance(7200)  # its access token expired: the next silent call refreshes

    def call() -> Any:
        if account is None:
            return app.acquire_token_for_client(API)
        return app.acquire_token_silent_with_error(SCOPES, account)

    gate = gated.hold_at("write")

    async def main() -> list[Any]:
        leader = asyncio.create_task(call())
        await _until(gate.entered)
        # memory holds the token already: the others answer from it, or wait
        others = [asyncio.create_task(call()) for _ in range(50)]
        await asyncio.sleep(0)
        await _cancelled(leader)
        assert await asyncio.to_thread(gate.passed)
        return list(await asyncio.gather(*others))

    posted = entra.tokens_posted()
    results = _run(main())
    assert all("access_token" in r for r in results), results[:1]
    assert entra.tokens_posted() - posted <= 2  # one more at most
    assert cache.single_flight.in_flight() == 0
    fresh = PersistentTokenCache(new_store(), clock=clock)
    if account is None:
        assert cca(entra, clock, fresh).acquire_token_for_client(API)["token_source"] == "cache"
    else:  # the cancelled call's step goes on to store the rotated refresh token
        home, envs = account["home_account_id"], [account["environment"]]

        def secrets(of: Any) -> list[str]:
            found = of.find_refresh_tokens(home_account_id=home, environments=envs)
            return [rt["secret"] for rt in found]

        deadline = time.monotonic() + WAIT
        while secrets(fresh) != secrets(cache):  # it lands, after the cancel returned
            assert time.monotonic() < deadline
            time.sleep(0.005)


def test_a_loop_closed_under_its_leader_leaves_no_one_waiting(new_store: NewStore) -> None:
    clock = _clock()
    entra = FakeEntra(clock)
    store = new_store()
    if isinstance(store, RedisStore):  # a short lease: its renewal sees the orphan soon
        store = RedisStore(store.client, flight_lease=0.3)
    cache = PersistentTokenCache(store, clock=clock)
    held = _HeldRequests(entra)
    loop = asyncio.new_event_loop()
    leading: list[asyncio.Task[Any]] = []  # kept: the collector cannot end it for us

    async def lead() -> None:
        app = async_cca(entra, clock, cache)
        leading.append(asyncio.create_task(app.acquire_token_for_client(API)))
        await _until(held.on_wire)

    loop.run_until_complete(lead())  # the leader's request is on the wire; the loop stops
    got: list[Any] = []

    def a_thread() -> None:
        got.append(cca(entra, clock, cache).acquire_token_for_client(API))

    threads = [_on_another_loop(entra, clock, cache, 20, got), threading.Thread(target=a_thread)]
    threads[1].start()
    deadline = time.monotonic() + WAIT
    while _key_waiters(cache) < 21:  # all waiting on the leader's flight
        assert time.monotonic() < deadline
        time.sleep(0.005)
    loop.close()  # with the leader in it: that Task will never run again
    held.release()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert len(got) == 21 and len({r["access_token"] for r in got}) == 1
    assert entra.tokens_posted() == 2  # the orphan's, and one for all the others
    assert cache.single_flight.in_flight() == 0
    assert _from_store(new_store, clock, entra) == "cache"
    (task,) = leading
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # (it is, by design)
    # Closed by hand, as the collector would: outside its context and its loop, its
    # clean-up cannot wait for its store step (RuntimeError: it ignored GeneratorExit),
    # which the collector would only print. What matters came before: no one waits.
    with contextlib.suppress(RuntimeError):
        task.get_coro().close()
