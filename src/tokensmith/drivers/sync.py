"""The synchronous driver: runs a flow, carrying out each effect it yields.

See :mod:`tokensmith.protocol.effects` for the effects and what each is answered with.
The async driver (:mod:`tokensmith.drivers.asyncio`) is the same loop with ``await``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from tokensmith.progress import report_device_wait as _report_device_wait
from tokensmith.protocol.effects import BrokerCall, BrowserSignIn, Done, Effect, Flow, Shared, Sleep
from tokensmith.protocol.http import HttpRequest
from tokensmith.transport import deadline as _deadline
from tokensmith.transport.base import Transport

__all__ = ["run_flow"]

T = TypeVar("T")


def run_flow(
    flow: Flow[T],
    transport: Transport,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> T:
    """Drive ``flow`` to completion and return its result.

    Exceptions raised while carrying out an effect are thrown into the flow, so a flow
    may handle them (for example to fall back to a cached token); unhandled, they
    propagate. A flow left unfinished (``KeyboardInterrupt``...) is closed.

    ``deadline`` (seconds) opens the call's time bound
    (:mod:`tokensmith.transport.deadline`) around the flow; it starts afresh after a
    wait for the user (a ``Sleep(waits_for_user=True)``, a browser sign-in). ``None``
    leaves any enclosing bound in place (a shared flow runs under its leader's).
    """
    if type(flow) is Done:
        return flow.value  # type: ignore[no-any-return]
    reply: Any = None
    error: Exception | None = None
    window = _deadline.entered(deadline)
    try:
        while True:
            effect = flow.throw(error) if error is not None else flow.send(reply)
            error = None
            try:
                reply = _carry_out(effect, transport, sleep)
            except Exception as exc:  # handed to the flow, which may re-raise
                error = exc
                reply = None
    except StopIteration as stop:
        result: T = stop.value
        return result
    except BaseException:
        flow.close()
        raise
    finally:
        _deadline.closed(window)


def _carry_out(effect: Effect, transport: Transport, sleep: Callable[[float], None]) -> Any:
    if type(effect) is HttpRequest:
        return transport.send(effect)
    if isinstance(effect, Sleep):
        if not effect.waits_for_user:
            _deadline.before_sleep(effect.seconds)
        elif effect.seconds_left is not None:
            _report_device_wait(effect.seconds_left)
        sleep(effect.seconds)
        if effect.waits_for_user:
            _deadline.reopened()
        return None
    if isinstance(effect, Shared):
        make = effect.flow
        return effect.group.run(effect.key, lambda: run_flow(make(), transport, sleep))
    if isinstance(effect, BrowserSignIn):
        from tokensmith.interactive.session import sign_in

        answer = sign_in(effect)
        _deadline.reopened()
        return answer
    if isinstance(effect, BrokerCall):
        answer = effect.call()
        if effect.interactive:
            _deadline.reopened()
        return answer
    raise TypeError(f"a flow yielded {type(effect).__name__}, which is not an effect")
