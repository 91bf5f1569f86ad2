"""Repeated timing: warm-up excluded, iterations sized by a time budget, median of runs.

A scenario hands :func:`measure` a *factory* that prepares state (untimed) and returns
``call(i)``. The factory is called once, or before every repeat when each repeat must
start from identical cache contents (calls that mutate the cache, like a refresh).
Iterations per repeat are chosen so one repeat lasts about ``budget_s``, capped by
``max_iterations``: a call that takes 60 ms runs a handful of times, a 1 us call many
thousands; calls of seconds also get fewer repeats. The chosen counts are part of the
result and printed beside the figures.

:func:`measure_async` is the same procedure for coroutines: the factory and the call
are ``async``, and each batch of calls (a warm-up call, a timed repeat) is awaited in
a loop inside one event loop that lives for the whole measurement, timed from inside
the coroutine, so neither loop start-up nor ``run_until_complete`` is in the figure.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["CPU", "WALL", "AsyncCall", "Measurement", "Settings", "measure", "measure_async"]

Call = Callable[[int], object]
"""One operation under test; receives the iteration index (to vary its input)."""

AsyncCall = Callable[[int], Awaitable[object]]
"""The coroutine twin of :data:`Call`."""

Batch = Callable[[int, int], int]
"""``batch(first, count)`` runs calls ``first .. first + count - 1`` and returns the
nanoseconds they took."""

WALL = "wall"
CPU = "cpu"
_CLOCKS: dict[str, Callable[[], int]] = {
    WALL: time.perf_counter_ns,
    CPU: time.process_time_ns,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to measure.

    Attributes:
        repeats: timed runs; the median of their per-call means is reported.
        warmup: untimed calls before the first timed run.
        budget_s: target duration of one timed run, in seconds.
        max_iterations: upper bound on calls per run.
        max_cell_s: when one run is long (a single call of seconds), repeats are
            reduced so a cell takes about this long, but never below ``min_repeats``.
        min_repeats: lower bound on repeats.
    """

    repeats: int = 7
    warmup: int = 10
    budget_s: float = 0.25
    max_iterations: int = 20_000
    max_cell_s: float = 30.0
    min_repeats: int = 3


@dataclass(frozen=True, slots=True)
class Measurement:
    """The outcome of :func:`measure`: nanoseconds per call."""

    median_ns: float
    runs_ns: tuple[float, ...]
    iterations: int
    clock: str

    @property
    def runs(self) -> str:
        """How it was measured, e.g. ``"7x2000"`` (repeats x calls per repeat)."""
        return f"{len(self.runs_ns)}x{self.iterations}"


def _iterations_for(estimate_ns: int, settings: Settings, cap: int | None) -> int:
    wanted = int(settings.budget_s * 1e9 / max(estimate_ns, 1))
    limit = settings.max_iterations if cap is None else min(cap, settings.max_iterations)
    return max(1, min(wanted, limit))


def measure(
    factory: Callable[[], Call],
    settings: Settings,
    *,
    clock: str = WALL,
    fresh_state_per_repeat: bool = False,
    max_iterations: int | None = None,
) -> Measurement:
    """Time ``call(i)`` and return the median per-call cost.

    Args:
        factory: prepares state and returns the call to time (never timed).
        settings: repeats, warm-up and time budget.
        clock: :data:`WALL` (``perf_counter_ns``) or :data:`CPU` (``process_time_ns``).
        fresh_state_per_repeat: call ``factory`` again before each repeat, so every
            repeat sees the same initial state; warm-up then uses its own state.
        max_iterations: cap on calls per repeat (e.g. the number of prepared inputs).

    Raises:
        ValueError: unknown clock or fewer than one repeat.
        Exception: whatever ``factory`` or ``call`` raises (a failing library must not
            produce numbers).
    """
    now = _clock(clock, settings)
    return _run(
        lambda: _sync_batch(factory(), now), settings, fresh_state_per_repeat, max_iterations, clock
    )


def measure_async(
    factory: Callable[[], Awaitable[AsyncCall]],
    settings: Settings,
    *,
    clock: str = WALL,
    fresh_state_per_repeat: bool = False,
    max_iterations: int | None = None,
) -> Measurement:
    """:func:`measure` for coroutines: ``await call(i)`` in a loop inside one event loop.

    Args:
        factory: a coroutine function preparing state (never timed) and returning the
            coroutine function to time; awaited in the same event loop as the calls.
        settings, clock, fresh_state_per_repeat, max_iterations: as for :func:`measure`.

    Raises:
        ValueError: unknown clock or fewer than one repeat.
        Exception: whatever ``factory`` or ``call`` raises.
    """
    now = _clock(clock, settings)
    loop = asyncio.new_event_loop()
    try:

        def prepare() -> Batch:
            call = loop.run_until_complete(factory())

            async def timed(first: int, count: int) -> int:
                start = now()
                for i in range(first, first + count):
                    await call(i)
                return now() - start

            return lambda first, count: loop.run_until_complete(timed(first, count))

        return _run(prepare, settings, fresh_state_per_repeat, max_iterations, clock)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _clock(clock: str, settings: Settings) -> Callable[[], int]:
    if clock not in _CLOCKS:
        raise ValueError(f"unknown clock {clock!r}")
    if settings.repeats < 1:
        raise ValueError("at least one repeat is needed")
    return _CLOCKS[clock]


def _sync_batch(call: Call, now: Callable[[], int]) -> Batch:
    def batch(first: int, count: int) -> int:
        start = now()
        for i in range(first, first + count):
            call(i)
        return now() - start

    return batch


def _run(
    prepare: Callable[[], Batch],
    settings: Settings,
    fresh_state_per_repeat: bool,
    cap: int | None,
    clock: str,
) -> Measurement:
    """Warm up, size the repeats, time them: the procedure both front ends share."""
    batch = prepare()
    estimate = _warm_up(batch, settings, cap)
    iterations = _iterations_for(estimate, settings, cap)
    repeats = _repeats_for(estimate * iterations, settings)
    runs: list[float] = []
    for _ in range(repeats):
        if fresh_state_per_repeat:
            # release the previous repeat's state before preparing the next one, not after
            # (freeing it right before the timed calls leaves them cold, for acyclic state)
            del batch
            batch = prepare()
        runs.append(batch(0, iterations) / iterations)
    return Measurement(statistics.median(runs), tuple(runs), iterations, clock)


def _warm_up(batch: Batch, settings: Settings, cap: int | None) -> int:
    """Run untimed warm-up calls (at least one, at most ``settings.warmup``, stopping
    once ``budget_s`` is spent) and return the duration of the last one."""
    count = max(1, settings.warmup if cap is None else min(settings.warmup, cap))
    budget = int(settings.budget_s * 1e9)
    spent = last = 0
    for i in range(count):
        last = batch(i, 1)
        spent += last
        if spent >= budget:
            break
    return last


def _repeats_for(repeat_ns: int, settings: Settings) -> int:
    """Fewer repeats (never under ``min_repeats``) when one repeat is very long."""
    affordable = int(settings.max_cell_s * 1e9 / max(repeat_ns, 1))
    return max(min(settings.min_repeats, settings.repeats), min(settings.repeats, affordable))
