"""The two drivers carry out the same effects the same way (sans-I/O flows)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tokensmith.concurrency import SingleFlight
from tokensmith.drivers.asyncio import run_flow_async
from tokensmith.drivers.sync import run_flow
from tokensmith.errors import TransportError
from tokensmith.protocol.effects import Done, Flow, Shared, Sleep, shared
from tokensmith.protocol.http import HttpRequest, HttpResponse
from tokensmith.transport.mock import AsyncMockTransport, MockTransport

REQUEST = HttpRequest("GET", "https://127.0.0.1/x")


def ok(_: HttpRequest) -> HttpResponse:
    return HttpResponse(200, "fine")


def fail(_: HttpRequest) -> HttpResponse:
    raise TransportError("refused")


def two_requests_and_a_sleep() -> Flow[list[Any]]:
    seen: list[Any] = []
    seen.append((yield REQUEST).text)
    seen.append((yield Sleep(2.5)))
    seen.append((yield REQUEST).status_code)
    return seen


def recovering() -> Flow[str]:
    try:
        yield REQUEST
    except TransportError as exc:  # thrown into the flow at its yield
        return f"handled {exc}"
    return "not reached"


def both(flow: Any, handler: Any) -> tuple[Any, Any, list[float], list[float]]:
    slept_sync: list[float] = []
    slept_async: list[float] = []

    async def async_sleep(seconds: float) -> None:
        slept_async.append(seconds)

    sync_result = run_flow(flow(), MockTransport(handler), slept_sync.append)
    async_result = asyncio.run(run_flow_async(flow(), AsyncMockTransport(handler), async_sleep))
    return sync_result, async_result, slept_sync, slept_async


def test_requests_and_sleeps_are_carried_out_alike() -> None:
    sync_result, async_result, slept_sync, slept_async = both(two_requests_and_a_sleep, ok)
    assert sync_result == async_result == ["fine", None, 200]
    assert slept_sync == slept_async == [2.5]


def test_transport_errors_are_thrown_into_the_flow() -> None:
    sync_result, async_result, _, _ = both(recovering, fail)
    assert sync_result == async_result == "handled refused"


def test_done_is_answered_without_a_transport() -> None:
    assert run_flow(Done(7), None) == 7  # type: ignore[arg-type]
    assert asyncio.run(run_flow_async(Done(8), None)) == 8  # type: ignore[arg-type]


def test_done_also_steps_like_a_finished_generator() -> None:
    def outer() -> Flow[int]:
        value = yield from Done(3)
        return value + 1

    assert run_flow(outer(), MockTransport(ok)) == 4


def test_unknown_effects_are_refused() -> None:
    def odd() -> Flow[None]:
        yield "not an effect"  # type: ignore[misc]

    with pytest.raises(TypeError, match="not an effect"):
        run_flow(odd(), MockTransport(ok))


def test_shared_flows_run_once_for_threads_and_coroutines() -> None:
    group = SingleFlight()
    release = threading.Event()
    runs: list[int] = []

    def slow() -> Flow[str]:
        runs.append(1)
        response = yield REQUEST
        return str(response.text)

    def handler(_: HttpRequest) -> HttpResponse:
        release.wait(5)
        return HttpResponse(200, "once")

    def flow() -> Flow[str]:
        return (yield from shared(group, "k", slow))

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(run_flow(flow(), MockTransport(handler))))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()

    async def coroutines() -> list[str]:
        transport = AsyncMockTransport(handler)
        tasks = [asyncio.ensure_future(run_flow_async(flow(), transport)) for _ in range(4)]
        while group.waiters("k") < 7:  # 3 threads + 4 coroutines wait on the leader
            await asyncio.sleep(0.005)
        release.set()
        return list(await asyncio.gather(*tasks))

    results.extend(asyncio.run(asyncio.wait_for(coroutines(), 10)))
    for thread in threads:
        thread.join(10)
    assert results == ["once"] * 8
    assert runs == [1]


def test_cancelling_an_async_flow_closes_it() -> None:
    closed: list[bool] = []

    def polling() -> Flow[None]:
        try:
            while True:
                yield Sleep(0.01)
        finally:
            closed.append(True)

    async def main() -> None:
        task = asyncio.ensure_future(run_flow_async(polling(), AsyncMockTransport(ok)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert closed == [True]


def test_shared_effect_repr_hides_the_flow() -> None:
    effect = Shared(SingleFlight(), "key", two_requests_and_a_sleep)
    assert "key" in repr(effect) and "flow" not in repr(effect)


def test_steps_in_worker_threads_give_the_same_answers() -> None:
    steps: list[int] = []

    def noting(flow: Any) -> Any:
        def wrapped() -> Flow[Any]:
            inner = flow()
            reply: Any = None
            error: BaseException | None = None
            while True:
                steps.append(threading.get_ident())
                try:
                    effect = inner.throw(error) if error is not None else inner.send(reply)
                except StopIteration as stop:
                    return stop.value
                error = None
                try:
                    reply = yield effect
                except TransportError as exc:
                    error, reply = exc, None

        return wrapped

    async def run(flow: Any, handler: Any) -> tuple[Any, int]:
        loop_thread = threading.get_ident()
        transport = AsyncMockTransport(handler)
        return await run_flow_async(flow(), transport, _no_sleep, threads=True), loop_thread

    result, loop_thread = asyncio.run(run(noting(two_requests_and_a_sleep), ok))
    assert result == ["fine", None, 200]  # the return value crosses back (no StopIteration)
    handled, _ = asyncio.run(run(noting(recovering), fail))
    assert handled == "handled refused"  # errors are thrown into the flow in its thread
    assert steps and loop_thread not in steps

    def raising() -> Flow[None]:
        yield REQUEST
        raise ValueError("from the flow")

    with pytest.raises(ValueError, match="from the flow"):
        asyncio.run(run(raising, ok))


async def _no_sleep(seconds: float) -> None:
    return None


def test_cancelling_during_a_threaded_step_leaves_the_step_to_finish() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_step() -> Flow[str]:
        started.set()
        release.wait(5)  # the step is busy in its worker thread
        yield REQUEST
        return "not reached"

    async def cancel_it() -> None:
        task = asyncio.ensure_future(
            run_flow_async(slow_step(), AsyncMockTransport(ok), _no_sleep, threads=True)
        )
        while not started.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # no "generator already executing" from closing it
        release.set()

    asyncio.run(cancel_it())
