"""The timing loop: warm-up excluded, fresh state per repeat, caps honoured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bench.timing import CPU, Settings, measure

TINY = Settings(repeats=3, warmup=2, budget_s=0.001, max_iterations=50)


def test_fresh_state_per_repeat_and_iteration_cap() -> None:
    states: list[list[int]] = []

    def factory() -> Callable[[int], object]:
        seen: list[int] = []
        states.append(seen)
        return seen.append

    result = measure(factory, TINY, fresh_state_per_repeat=True, max_iterations=4)
    assert len(states) == 1 + TINY.repeats  # warm-up state, then one per repeat
    assert states[0] == [0, 1]  # warm-up calls on their own state
    for seen in states[1:]:
        assert seen == list(range(result.iterations))
    assert 1 <= result.iterations <= 4
    assert len(result.runs_ns) == TINY.repeats
    assert result.runs == f"3x{result.iterations}"
    assert min(result.runs_ns) <= result.median_ns <= max(result.runs_ns)


def test_shared_state_is_built_once_and_clock_is_recorded() -> None:
    built: list[int] = []

    def factory() -> Callable[[int], object]:
        built.append(1)
        return lambda i: sum(range(100))

    result = measure(factory, TINY, clock=CPU)
    assert built == [1]
    assert result.clock == CPU
    assert result.iterations <= TINY.max_iterations


def test_slow_calls_get_fewer_repeats_but_not_below_the_minimum() -> None:
    import time

    settings = Settings(repeats=7, warmup=1, budget_s=0.001, max_cell_s=0.001, min_repeats=2)
    result = measure(lambda: lambda i: time.sleep(0.002), settings)
    assert len(result.runs_ns) == 2
    assert result.iterations == 1
    assert result.median_ns >= 2e6


def test_errors_propagate_and_bad_settings_are_rejected() -> None:
    def failing(i: int) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        measure(lambda: failing, TINY)
    with pytest.raises(ValueError):
        measure(lambda: lambda i: None, TINY, clock="sundial")
    with pytest.raises(ValueError):
        measure(lambda: lambda i: None, Settings(repeats=0))


def test_async_calls_are_awaited_in_one_event_loop_with_fresh_state() -> None:
    import asyncio

    from bench.timing import measure_async

    loops: set[int] = set()
    states: list[list[int]] = []

    async def factory() -> Callable[[int], Any]:
        loops.add(id(asyncio.get_running_loop()))
        seen: list[int] = []
        states.append(seen)

        async def call(i: int) -> None:
            loops.add(id(asyncio.get_running_loop()))
            seen.append(i)

        return call

    result = measure_async(factory, TINY, fresh_state_per_repeat=True, max_iterations=4)
    assert len(loops) == 1
    assert len(states) == 1 + TINY.repeats
    assert states[0] == [0, 1]
    assert all(seen == list(range(result.iterations)) for seen in states[1:])
    assert result.runs == f"3x{result.iterations}"
