"""``SingleFlight`` in a child made by ``os.fork()`` while calls are in flight.

The child inherits the registry, but not the threads and event loops leading and
waiting on its calls: a caller there must lead its own run, never join the parent's.
Each child runs under a watchdog that exits it with :data:`HUNG`; the parent waits for
it with a timeout and kills it if even the watchdog did not fire.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable

import pytest
from tests.unit.concurrency.test_single_flight import _join, _start

from tokensmith.concurrency import SingleFlight

TIMEOUT = 10.0
CHILD_TIMEOUT = 3.0
OK, WRONG, RAISED, HUNG = 0, 1, 2, 3


def _fork() -> int:
    """``os.fork()``; the child also starts a watchdog that exits it with HUNG."""
    with warnings.catch_warnings():  # 3.12+ warns about forking with threads running
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage does not follow it
        watchdog = threading.Timer(CHILD_TIMEOUT, os._exit, (HUNG,))
        watchdog.daemon = True
        watchdog.start()
    return pid


def _exit_code(pid: int) -> int:
    """Wait for the child ``pid`` with a timeout (killing it then); its exit code."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung and was killed")
        time.sleep(0.005)


def _in_child(body: Callable[[], bool]) -> int:
    """Fork; in the child run ``body`` (True: it got its own result) and exit with
    OK, WRONG, RAISED or HUNG. Returns the child's exit code."""
    pid = _fork()
    if pid == 0:  # pragma: no cover - the child
        code = RAISED
        try:
            code = OK if body() else WRONG
        finally:
            os._exit(code)
    return _exit_code(pid)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


class _ParentFlight:
    """A call for ``"k"`` led by a parent thread blocked on an Event, with a thread
    waiter and a coroutine waiter (on a loop in another thread) parked on it."""

    def __init__(self) -> None:
        self.flight = SingleFlight()
        self.release = threading.Event()
        self.results: list[object] = []
        entered = threading.Event()

        def fn() -> str:
            entered.set()
            self.release.wait(TIMEOUT)
            return "parent"

        async def leader_result() -> str:
            return "not run: the thread leads"

        self.threads = [_start(lambda: self.results.append(self.flight.run("k", fn)))]
        assert entered.wait(TIMEOUT)
        self.threads.append(_start(lambda: self.results.append(self.flight.run("k", fn))))
        self.threads.append(
            _start(
                lambda: self.results.append(asyncio.run(self.flight.run_async("k", leader_result)))
            )
        )
        _wait_for(lambda: self.flight.waiters("k") == 2)

    def finish(self) -> None:
        """Let the parent's call complete; every parent caller gets its result."""
        self.release.set()
        _join(*self.threads)
        assert self.results == ["parent"] * 3
        assert self.flight.in_flight() == 0


def test_a_sync_caller_in_a_forked_child_leads_its_own_run() -> None:
    parent = _ParentFlight()

    def child() -> bool:  # the child's main thread: the one the reviewer saw hang
        result = parent.flight.run("k", lambda: "child")
        return result == "child" and parent.flight.in_flight() == 0

    assert _in_child(child) == OK
    parent.finish()


def test_callers_in_a_forked_child_share_a_run_of_their_own() -> None:
    parent = _ParentFlight()

    def child() -> bool:
        # A new thread here may get the ident of the parent's dead leader (glibc reuses
        # its stack): it must lead a run, not take itself for a re-entry.
        runs: list[int] = []
        results: list[str] = []
        leading = threading.Event()

        def fn() -> str:
            runs.append(1)
            leading.set()
            _wait_for(lambda: parent.flight.waiters("k") == 1)
            return "child"

        thread = _start(lambda: results.append(parent.flight.run("k", fn)))
        if not leading.wait(CHILD_TIMEOUT):
            return False
        results.append(parent.flight.run("k", fn))  # the main thread waits for it
        thread.join(CHILD_TIMEOUT)
        return results == ["child", "child"] and runs == [1]

    assert _in_child(child) == OK
    parent.finish()


def test_an_async_caller_in_a_forked_child_leads_its_own_run() -> None:
    parent = _ParentFlight()

    def child() -> bool:
        async def fn() -> str:
            await asyncio.sleep(0)
            return "child"

        async def main() -> list[str]:
            return list(await asyncio.gather(*(parent.flight.run_async("k", fn) for _ in range(3))))

        return asyncio.run(main()) == ["child"] * 3 and parent.flight.in_flight() == 0

    assert _in_child(child) == OK
    parent.finish()


def test_the_registry_lock_held_by_a_parent_thread_at_fork_is_usable_in_the_child() -> None:
    flight = SingleFlight()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # white box: stands for a parent caller inside the lock
        with flight._lock:
            held.set()
            release.wait(TIMEOUT)

    thread = _start(hold)
    assert held.wait(TIMEOUT)
    try:
        assert _in_child(lambda: flight.run("k", lambda: "child") == "child") == OK
    finally:
        release.set()
        _join(thread)
    assert flight.run("k", lambda: "parent") == "parent"


def test_a_leader_that_forks_inside_fn_finishes_in_both_processes() -> None:
    flight = SingleFlight()
    parent_pid, child_pid = os.getpid(), 0
    results: list[str] = []
    waiters: list[threading.Thread] = []
    in_child = threading.Event()

    def fn() -> str:
        nonlocal child_pid
        waiters.append(_start(lambda: results.append(flight.run("k", lambda: "not run"))))
        _wait_for(lambda: flight.waiters("k") == 1)
        child_pid = _fork()
        if child_pid == 0:  # pragma: no cover - the child: another thread leads "k"
            _start(lambda: flight.run("k", lambda: in_child.wait(CHILD_TIMEOUT)))
            _wait_for(lambda: flight.in_flight() == 1)
        return "led"

    code = RAISED
    try:
        value = flight.run("k", fn)
        if os.getpid() != parent_pid:  # pragma: no cover - the child
            # the forking leader's release left the child's own call for "k" alone
            still = flight.in_flight() == 1
            in_child.set()
            _wait_for(lambda: flight.in_flight() == 0)
            code = OK if value == "led" and still else WRONG
    finally:
        if os.getpid() != parent_pid:  # pragma: no cover - never back into pytest
            os._exit(code)
    assert value == "led"
    assert _exit_code(child_pid) == OK
    _join(*waiters)
    assert results == ["led"]
    assert flight.in_flight() == 0
