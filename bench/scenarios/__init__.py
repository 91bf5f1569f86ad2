"""The benchmark scenarios, in table order, and the loop that runs them.

Each scenario runs for each of its libraries at each size; its failures become "error"
cells (a broken library yields no figure), and an unavailable library yields "n/a"
cells. A library a scenario does not list (azure-identity on MSAL-API rows) gets none.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.libs import Library
from bench.scenarios import (
    aio,
    app,
    bounded,
    dpop,
    first_lookup,
    managed_identity,
    process,
    serial,
    stores,
    user,
)
from bench.scenarios.base import Cell, Context, Row, Scenario

__all__ = ["ALL", "Result", "run_all", "run_scenario"]

ALL: tuple[Scenario, ...] = (
    *user.SCENARIOS,
    *app.SCENARIOS,
    *bounded.SCENARIOS,
    *managed_identity.SCENARIOS,
    *serial.SCENARIOS,
    *first_lookup.SCENARIOS,
    *process.SCENARIOS,
    *aio.SCENARIOS,
    *dpop.SCENARIOS,
    *stores.SCENARIOS,
)


@dataclass(frozen=True, slots=True)
class Result:
    """One table line: a row at a size (``None`` for size-independent rows)."""

    row: Row
    size: int | None
    cells: dict[str, Cell]


def run_scenario(scenario: Scenario, lib: Library, size: int, ctx: Context) -> dict[str, Cell]:
    """Run one scenario for one library; never raises for a library failure."""
    if lib.missing:
        return {row.key: Cell("n/a", note=lib.missing) for row in scenario.rows}
    try:
        cells = dict(scenario.run(lib, size, ctx))
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        note = f"{type(exc).__name__}: {exc} ({where.name}:{where.lineno})"
        return {row.key: Cell("error", note=note[:300]) for row in scenario.rows}
    if "" in cells:
        cells[scenario.rows[0].key] = cells.pop("")
    return cells


def run_all(
    libs: Sequence[Library],
    sizes: Sequence[int],
    ctx: Context,
    *,
    scenarios: Sequence[Scenario] = ALL,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Result]:
    """Run ``scenarios`` for every library and size, size by size.

    Size-independent scenarios run once, before the sized ones.
    """
    results: list[Result] = []
    plan: list[tuple[int | None, Scenario]] = [(None, s) for s in scenarios if not s.sized]
    plan += [(size, s) for size in sizes for s in scenarios if s.sized]
    for size, scenario in plan:
        per_lib = {}
        for lib in libs:
            if lib.name not in scenario.libraries:
                continue
            progress(f"{scenario.rows[0].title} | size {size or '-'} | {lib.name}")
            per_lib[lib.name] = run_scenario(scenario, lib, size or 0, ctx)
        for row in scenario.rows:
            cells = {
                name: found.get(row.key, Cell("error", note="no result"))
                for name, found in per_lib.items()
            }
            results.append(Result(row, size, cells))
    return results
