"""The asyncio driver: :func:`tokensmith.drivers.sync.run_flow` with ``await``.

Requests go to an :class:`~tokensmith.transport.base.AsyncTransport`, sleeps are
``asyncio.sleep`` (so a device-code poll can be cancelled), shared flows wait without
blocking the loop, and a browser sign-in awaits the loopback listener. Cancelling the
task closes the flow.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from tokensmith._redact import logger
from tokensmith.concurrency.store_threads import submit as _submit
from tokensmith.progress import report_device_wait as _report_device_wait
from tokensmith.protocol.effects import BrokerCall, BrowserSignIn, Done, Effect, Flow, Shared, Sleep
from tokensmith.protocol.http import HttpRequest
from tokensmith.transport import deadline as _deadline
from tokensmith.transport.base import AsyncTransport

__all__ = ["off_loop", "run_flow_async"]

T = TypeVar("T")
P = ParamSpec("P")


def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
    """``fn(*args, **kwargs)``, submitted now to a store worker thread with a copy of
    the caller's context as it is now; await the future for the result."""
    return asyncio.wrap_future(_submit(fn, *args, **kwargs))


async def run_flow_async(
    flow: Flow[T],
    transport: AsyncTransport,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    deadline: float | None = None,
    threads: bool = False,
) -> T:
    """Drive ``flow`` to completion on the running loop and return its result.

    Same contract as :func:`~tokensmith.drivers.sync.run_flow`. With ``threads``, each
    step of the flow (the code between two effects) runs in a worker thread: the steps
    of an application whose cache reads and writes a store.
    """
    if type(flow) is Done:
        return flow.value  # type: ignore[no-any-return]
    reply: Any = None
    error: Exception | None = None
    window = _deadline.entered(deadline)
    step: concurrent.futures.Future[tuple[bool, Any]] | None = None
    try:
        while True:
            if threads:
                step = _submit(_step, flow, reply, error)
                finished, effect = await asyncio.wrap_future(step)
                step = None
                if finished:
                    return effect  # type: ignore[no-any-return]
            else:
                effect = flow.throw(error) if error is not None else flow.send(reply)
            error = None
            try:
                reply = await _carry_out(effect, transport, sleep, threads)
            except Exception as exc:  # handed to the flow, which may re-raise
                error = exc
                reply = None
    except StopIteration as stop:
        result: T = stop.value
        return result
    except BaseException:  # CancelledError included
        if step is None:
            flow.close()
        else:  # a worker thread may be in the step: close the flow once the step ends
            step.add_done_callback(lambda _: _close_after(step, flow))
        raise
    finally:
        _deadline.closed(window)


def _close_after(step: concurrent.futures.Future[Any], flow: Flow[Any]) -> None:
    """Close the flow of a cancelled call once its step has ended in its worker thread.
    A step that failed there (a store write) has no caller left to raise to: logged,
    by the error's type only (its message may carry what the store was given)."""
    if not step.cancelled() and step.exception() is not None:
        logger.warning(
            "token store: a step of a cancelled call failed (%s)",
            type(step.exception()).__name__,
        )
    flow.close()


def _step(flow: Flow[Any], reply: Any, error: Exception | None) -> tuple[bool, Any]:
    """One step of ``flow`` (in a worker thread): ``(False, effect)``, or ``(True,
    result)`` when it returned (a StopIteration cannot cross into a future)."""
    try:
        return False, (flow.throw(error) if error is not None else flow.send(reply))
    except StopIteration as stop:
        return True, stop.value


async def _carry_out(
    effect: Effect,
    transport: AsyncTransport,
    sleep: Callable[[float], Awaitable[object]],
    threads: bool,
) -> Any:
    if type(effect) is HttpRequest:
        return await transport.send(effect)
    if isinstance(effect, Sleep):
        if not effect.waits_for_user:
            _deadline.before_sleep(effect.seconds)
        elif effect.seconds_left is not None:
            _report_device_wait(effect.seconds_left)
        await sleep(effect.seconds)
        if effect.waits_for_user:
            _deadline.reopened()
        return None
    if isinstance(effect, Shared):
        make = effect.flow
        return await effect.group.run_async(
            effect.key, lambda: run_flow_async(make(), transport, sleep, threads=threads)
        )
    if isinstance(effect, BrowserSignIn):
        from tokensmith.interactive.session import sign_in_async

        answer = await sign_in_async(effect)
        _deadline.reopened()
        return answer
    if isinstance(effect, BrokerCall):
        answer = await asyncio.to_thread(effect.call)
        if effect.interactive:
            _deadline.reopened()
        return answer
    raise TypeError(f"a flow yielded {type(effect).__name__}, which is not an effect")
