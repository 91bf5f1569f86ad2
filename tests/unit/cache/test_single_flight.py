"""``SingleFlight``: one execution per key for concurrent callers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tokensmith.cache import SingleFlight, TokenCache

THREADS = 32


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
    assert flight.run("k", lambda: flight.run("k", lambda: 41) + 1) == 42


def test_each_cache_has_its_own_single_flight() -> None:
    first, second = TokenCache(), TokenCache()
    assert isinstance(first.single_flight, SingleFlight)
    assert first.single_flight is not second.single_flight
