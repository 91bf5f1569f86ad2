"""``SingleFlight``: one execution per key for concurrent threads and coroutines.

Every wait is gated on an event or on ``waiters()`` reaching a count, never on a sleep
being long enough; every thread is joined with a timeout, and every event loop runs in
a thread joined with a timeout (:func:`_bounded`), so a deadlock fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

import tokensmith.cache
from tokensmith.cache import TokenCache
from tokensmith.concurrency import SingleFlight

THREADS = 32
TIMEOUT = 10.0
T = TypeVar("T")


class _Killed(BaseException):
    """Stands for KeyboardInterrupt / SystemExit without touching the test runner."""


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def _run_all(flight: SingleFlight, key: str, fn: Callable[[], object]) -> list[object]:
    """Start THREADS callers, let ``fn`` finish only once all the others wait on it."""
    outcomes: list[object] = [None] * THREADS

    def call(i: int) -> None:
        try:
            outcomes[i] = flight.run(key, fn)
        except Exception as exc:  # recorded for the assertions
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return outcomes


async def _until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Like :func:`_wait_for`, yielding to the event loop between checks."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.001)


def _start(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "thread still blocked: deadlock"


def _capture(fn: Callable[[], object]) -> object:
    """``fn()``'s result, or the exception it raised (any BaseException)."""
    try:
        return fn()
    except BaseException as exc:
        return exc


def _bounded(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` in its own thread, failing instead of hanging."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(main()))
        except BaseException as exc:
            errors.append(exc)

    _join(_start(target))
    if errors:
        raise errors[0]
    return results[0]


def test_32_threads_share_one_execution_and_its_result() -> None:
    flight = SingleFlight()
    runs: list[int] = []
    result = object()

    def fn() -> object:
        runs.append(1)
        _wait_for(lambda: flight.waiters("k") == THREADS - 1)
        return result

    outcomes = _run_all(flight, "k", fn)
    assert len(runs) == 1
    assert all(o is result for o in outcomes)
    assert flight.in_flight() == 0 and flight.waiters("k") == 0


def test_the_same_exception_reaches_every_caller() -> None:
    flight = SingleFlight()
    runs: list[int] = []

    def fn() -> object:
        runs.append(1)
        _wait_for(lambda: flight.waiters("k") == THREADS - 1)
        raise ValueError("refresh failed")

    outcomes = _run_all(flight, "k", fn)
    assert len(runs) == 1
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 1


def test_key_is_free_again_after_completion() -> None:
    flight = SingleFlight()
    counter = iter(range(10))
    assert flight.run("k", lambda: next(counter)) == 0
    assert flight.run("k", lambda: next(counter)) == 1
    with pytest.raises(KeyError):
        flight.run("k", lambda: {}["missing"])
    assert flight.run("k", lambda: next(counter)) == 2


def test_different_keys_run_concurrently() -> None:
    flight = SingleFlight()
    b_ran = threading.Event()

    def slow_a() -> str:
        assert b_ran.wait(10), "key b was blocked behind key a"
        return "a"

    def fast_b() -> str:
        b_ran.set()
        return "b"

    results: dict[str, str] = {}
    thread = threading.Thread(target=lambda: results.update(a=flight.run("a", slow_a)))
    thread.start()
    _wait_for(lambda: flight.in_flight() == 1)
    results["b"] = flight.run("b", fast_b)
    thread.join(10)
    assert results == {"a": "a", "b": "b"}


def test_nested_call_for_the_same_key_does_not_deadlock() -> None:
    flight = SingleFlight()
    results: list[object] = []
    _join(_start(lambda: results.append(flight.run("k", lambda: flight.run("k", lambda: 41) + 1))))
    assert results == [42]


def test_each_cache_has_its_own_single_flight() -> None:
    assert tokensmith.cache.SingleFlight is SingleFlight
    first, second = TokenCache(), TokenCache()
    assert isinstance(first.single_flight, SingleFlight)
    assert first.single_flight is not second.single_flight


# --- asyncio, and both worlds sharing one registry ------------------------------------


def test_100_coroutines_on_one_loop_share_one_execution() -> None:
    flight = SingleFlight()
    runs: list[int] = []
    result = object()

    async def main() -> list[object]:
        release = asyncio.Event()

        async def fn() -> object:
            runs.append(1)
            await release.wait()
            return result

        tasks = [asyncio.create_task(flight.run_async("k", fn)) for _ in range(100)]
        await _until(lambda: flight.waiters("k") == 99)
        release.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)

    outcomes = _bounded(main)
    assert len(runs) == 1
    assert len(outcomes) == 100 and all(o is result for o in outcomes)
    assert flight.in_flight() == 0 and flight.waiters("k") == 0


def test_threads_and_coroutines_on_two_loops_share_one_execution() -> None:
    flight = SingleFlight()
    runs: list[str] = []
    loops: set[int] = set()
    outcomes: list[object] = []
    release = threading.Event()
    result = object()

    def sync_fn() -> object:
        runs.append("thread")
        assert release.wait(TIMEOUT)
        return result

    async def async_fn() -> object:
        runs.append("coroutine")
        await _until(release.is_set)
        return result

    def thread_caller() -> None:
        outcomes.append(_capture(lambda: flight.run("k", sync_fn)))

    async def loop_main() -> None:
        loops.add(id(asyncio.get_running_loop()))
        calls = [flight.run_async("k", async_fn) for _ in range(8)]
        outcomes.extend(await asyncio.gather(*calls, return_exceptions=True))

    threads = [_start(thread_caller) for _ in range(16)]
    threads += [_start(lambda: asyncio.run(loop_main())) for _ in range(2)]
    _wait_for(lambda: flight.waiters("k") == 31)
    release.set()
    _join(*threads)
    assert len(runs) == 1 and len(loops) == 2
    assert len(outcomes) == 32 and all(o is result for o in outcomes)
    assert flight.in_flight() == 0


def test_a_cancelled_async_leader_lets_its_waiters_retry() -> None:
    flight = SingleFlight()
    runs: list[str] = []
    thread_outcome: list[object] = []

    def sync_fn() -> str:
        runs.append("thread")
        _wait_for(lambda: flight.waiters("k") == 4)
        return "again"

    async def main() -> tuple[list[str | BaseException], threading.Thread]:
        started = asyncio.Event()

        async def async_fn() -> str:
            runs.append("coroutine")
            if len(runs) == 1:  # the first leader hangs until it is cancelled
                started.set()
                await asyncio.Event().wait()
            await _until(lambda: flight.waiters("k") == 4)
            return "again"

        leader = asyncio.create_task(flight.run_async("k", async_fn))
        await started.wait()
        thread = _start(lambda: thread_outcome.append(_capture(lambda: flight.run("k", sync_fn))))
        tasks = [asyncio.create_task(flight.run_async("k", async_fn)) for _ in range(4)]
        await _until(lambda: flight.waiters("k") == 5)
        leader.cancel()
        gathered = asyncio.gather(*tasks, return_exceptions=True)
        outcomes = await asyncio.wait_for(gathered, TIMEOUT)
        with pytest.raises(asyncio.CancelledError):
            await leader
        return outcomes, thread

    outcomes, thread = _bounded(main)
    _join(thread)
    assert [*outcomes, *thread_outcome] == ["again"] * 5  # no CancelledError among them
    assert len(runs) == 2
    assert flight.in_flight() == 0


def test_a_killed_sync_leader_lets_its_waiters_retry() -> None:
    flight = SingleFlight()
    runs: list[int] = []

    def killed() -> str:
        _wait_for(lambda: flight.waiters("k") == 3)
        raise _Killed

    def again() -> str:
        runs.append(1)
        _wait_for(lambda: flight.waiters("k") == 2)
        return "again"

    leader: list[object] = []
    outcomes: list[object] = []
    threads = [_start(lambda: leader.append(_capture(lambda: flight.run("k", killed))))]
    _wait_for(lambda: flight.in_flight() == 1)
    threads += [
        _start(lambda: outcomes.append(_capture(lambda: flight.run("k", again)))) for _ in range(3)
    ]
    _join(*threads)
    assert isinstance(leader[0], _Killed)
    assert outcomes == ["again"] * 3 and len(runs) == 1
    assert flight.in_flight() == 0


def test_a_cancelled_async_waiter_leaves_and_the_run_goes_on() -> None:
    flight = SingleFlight()
    runs: list[int] = []

    async def main() -> list[str]:
        release = asyncio.Event()

        async def fn() -> str:
            runs.append(1)
            await release.wait()
            return "r"

        tasks = [asyncio.create_task(flight.run_async("k", fn)) for _ in range(4)]
        await _until(lambda: flight.waiters("k") == 3)
        quitter = tasks.pop()
        quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        assert flight.waiters("k") == 2 and flight.in_flight() == 1
        release.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)

    assert _bounded(main) == ["r"] * 3
    assert len(runs) == 1
    assert flight.in_flight() == 0


def test_a_waiter_cancelled_while_being_woken_just_stops() -> None:
    flight = SingleFlight()
    loop_errors: list[dict[str, object]] = []

    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))

        async def fn() -> str:
            await _until(lambda: flight.waiters("k") == 1)
            return "r"

        async def lead() -> str:
            value = await flight.run_async("k", fn)
            waiter.cancel()  # its wake-up is scheduled but has not run yet
            return value

        leader = asyncio.create_task(lead())
        await _until(lambda: flight.in_flight() == 1)
        waiter = asyncio.create_task(flight.run_async("k", fn))
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiter, TIMEOUT)
        return await leader

    assert _bounded(main) == "r"
    assert loop_errors == [] and flight.in_flight() == 0


def test_an_exception_from_a_thread_leader_reaches_coroutines() -> None:
    flight = SingleFlight()
    release = threading.Event()
    leader: list[object] = []

    def fn() -> str:
        assert release.wait(TIMEOUT)
        raise ValueError("refresh failed")

    async def never() -> str:
        raise AssertionError("a waiter ran fn")

    async def main() -> tuple[list[str | BaseException], threading.Thread]:
        thread = _start(lambda: leader.append(_capture(lambda: flight.run("k", fn))))
        await _until(lambda: flight.in_flight() == 1)
        tasks = [asyncio.create_task(flight.run_async("k", never)) for _ in range(3)]
        await _until(lambda: flight.waiters("k") == 3)
        release.set()
        gathered = asyncio.gather(*tasks, return_exceptions=True)
        return await asyncio.wait_for(gathered, TIMEOUT), thread

    outcomes, thread = _bounded(main)
    _join(thread)
    assert isinstance(leader[0], ValueError)
    assert all(o is leader[0] for o in outcomes)


def test_an_exception_from_a_coroutine_leader_reaches_threads() -> None:
    flight = SingleFlight()
    outcomes: list[object] = []

    async def fn() -> str:
        await _until(lambda: flight.waiters("k") == 3)
        raise ValueError("refresh failed")

    def never() -> str:
        raise AssertionError("a waiter ran fn")

    async def main() -> tuple[BaseException, list[threading.Thread]]:
        leader = asyncio.create_task(flight.run_async("k", fn))
        await _until(lambda: flight.in_flight() == 1)
        threads = [
            _start(lambda: outcomes.append(_capture(lambda: flight.run("k", never))))
            for _ in range(3)
        ]
        with pytest.raises(ValueError) as info:
            await asyncio.wait_for(leader, TIMEOUT)
        return info.value, threads

    error, threads = _bounded(main)
    _join(*threads)
    assert len(outcomes) == 3 and all(o is error for o in outcomes)
    assert flight.in_flight() == 0


def test_sync_caller_on_the_loop_of_an_async_leader_does_not_deadlock() -> None:
    flight = SingleFlight()

    async def main() -> tuple[str, str]:
        release = asyncio.Event()

        async def fn() -> str:
            await release.wait()
            return "async"

        leader = asyncio.create_task(flight.run_async("k", fn))
        await _until(lambda: flight.in_flight() == 1)
        # Waiting here would block the loop the leader needs: it runs its fn instead.
        inline = flight.run("k", lambda: "sync")
        release.set()
        return inline, await asyncio.wait_for(leader, TIMEOUT)

    assert _bounded(main) == ("sync", "async")
    assert flight.in_flight() == 0


def test_nested_call_from_the_leading_task_does_not_deadlock() -> None:
    flight = SingleFlight()

    async def inner() -> int:
        return 41

    async def outer() -> int:
        return await flight.run_async("k", inner) + 1

    assert _bounded(lambda: flight.run_async("k", outer)) == 42


def test_event_loop_started_inside_a_sync_leader_does_not_deadlock() -> None:
    flight = SingleFlight()

    async def inner() -> int:
        return 41

    def fn() -> int:  # blocked in asyncio.run until the coroutine below returns
        return asyncio.run(flight.run_async("k", inner)) + 1

    results: list[object] = []
    _join(_start(lambda: results.append(_capture(lambda: flight.run("k", fn)))))
    assert results == [42]


def test_a_waiter_whose_loop_closed_does_not_break_the_leader() -> None:
    flight = SingleFlight()
    release = threading.Event()
    leader: list[object] = []

    def fn() -> str:
        assert release.wait(TIMEOUT)
        return "r"

    async def never() -> str:
        raise AssertionError("a waiter ran fn")

    thread = _start(lambda: leader.append(_capture(lambda: flight.run("k", fn))))
    _wait_for(lambda: flight.in_flight() == 1)
    loop = asyncio.new_event_loop()
    task = loop.create_task(flight.run_async("k", never))
    loop.run_until_complete(_until(lambda: flight.waiters("k") == 1))
    loop.set_exception_handler(lambda _loop, _context: None)  # "destroyed but pending"
    loop.close()  # the waiter's task is still pending on it
    release.set()
    _join(thread)
    assert leader == ["r"]
    assert flight.in_flight() == 0 and not task.done()


def test_key_is_free_again_after_async_runs() -> None:
    flight = SingleFlight()
    counter = iter(range(10))

    async def nxt() -> int:
        return next(counter)

    async def fail() -> int:
        raise KeyError("missing")

    async def main() -> list[int]:
        first = await flight.run_async("k", nxt)
        with pytest.raises(KeyError):
            await flight.run_async("k", fail)
        assert flight.in_flight() == 0
        return [first, await flight.run_async("k", nxt), flight.run("k", lambda: next(counter))]

    assert _bounded(main) == [0, 1, 2]
    assert flight.in_flight() == 0
