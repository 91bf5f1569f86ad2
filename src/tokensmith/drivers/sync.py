"""The synchronous driver: runs a flow over a transport, sleeping where it says."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tokensmith.protocol.effects import Flow, Sleep
from tokensmith.transport.base import HttpResponse, Transport

__all__ = ["run_flow"]

T = TypeVar("T")


def run_flow(
    flow: Flow[T],
    transport: Transport,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Drive ``flow`` to completion and return its result.

    Exceptions raised by the transport are thrown into the flow, so a flow may handle
    them (for example to fall back to a cached token); unhandled, they propagate.
    """
    reply: HttpResponse | None = None
    error: BaseException | None = None
    try:
        while True:
            effect = flow.throw(error) if error is not None else flow.send(reply)
            error = None
            if isinstance(effect, Sleep):
                sleep(effect.seconds)
                reply = None
                continue
            try:
                reply = transport.send(effect)
            except Exception as exc:  # handed to the flow, which may re-raise
                error = exc
                reply = None
    except StopIteration as stop:
        result: T = stop.value
        return result
