"""Repeated timing: warm-up excluded, iterations sized by a time budget, median of runs.

A scenario hands :func:`measure` a *factory* that prepares state (untimed) and returns
``call(i)``. The factory is called once, or before every repeat when each repeat must
start from identical cache contents (calls that mutate the cache, like a refresh).
Iterations per repeat are chosen so one repeat lasts about ``budget_s``, capped by
``max_iterations``: a call that takes 60 ms runs a handful of times, a 1 us call many
thousands; calls of seconds also get fewer repeats. The chosen counts are part of the
result and printed beside the figures.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CPU", "WALL", "Measurement", "Settings", "measure"]

Call = Callable[[int], object]
"""One operation under test; receives the iteration index (to vary its input)."""

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
    if clock not in _CLOCKS:
        raise ValueError(f"unknown clock {clock!r}")
    if settings.repeats < 1:
        raise ValueError("at least one repeat is needed")
    now = _CLOCKS[clock]
    call = factory()
    estimate = _warm_up(call, settings, now, max_iterations)
    iterations = _iterations_for(estimate, settings, max_iterations)
    repeats = _repeats_for(estimate * iterations, settings)
    runs: list[float] = []
    for _ in range(repeats):
        if fresh_state_per_repeat:
            call = factory()
        start = now()
        for i in range(iterations):
            call(i)
        runs.append((now() - start) / iterations)
    return Measurement(statistics.median(runs), tuple(runs), iterations, clock)


def _warm_up(call: Call, settings: Settings, now: Callable[[], int], cap: int | None) -> int:
    """Run untimed warm-up calls (at least one, at most ``settings.warmup``, stopping
    once ``budget_s`` is spent) and return the duration of the last one."""
    count = max(1, settings.warmup if cap is None else min(settings.warmup, cap))
    deadline = now() + int(settings.budget_s * 1e9)
    last = 0
    for i in range(count):
        start = now()
        call(i)
        last = now() - start
        if start + last >= deadline:
            break
    return last


def _repeats_for(repeat_ns: int, settings: Settings) -> int:
    """Fewer repeats (never under ``min_repeats``) when one repeat is very long."""
    affordable = int(settings.max_cell_s * 1e9 / max(repeat_ns, 1))
    return max(min(settings.min_repeats, settings.repeats), min(settings.repeats, affordable))
