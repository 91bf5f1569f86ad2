"""The "OBO API, N users in turn" rows: both libraries get figures without the
network, and tokensmith's cache holds no more than its bound while MSAL's grows."""

from __future__ import annotations

import pytest
from bench.libs import MSAL, TOKENSMITH, load_library
from bench.netguard import network_forbidden
from bench.scenarios import bounded, run_scenario
from bench.scenarios.base import Context
from bench.timing import Settings

TINY = Settings(repeats=1, warmup=1, budget_s=0.0005, max_iterations=3, max_cell_s=1.0)


def _cells(name: str, users: int) -> dict[str, object]:
    with network_forbidden():
        return run_scenario(bounded.SCENARIOS[0], load_library(name), users, Context(TINY))


def test_the_bounded_cache_keeps_to_its_bound_and_msal_keeps_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bounded, "BOUND", 40)
    ours, theirs = _cells(TOKENSMITH, 100), _cells(MSAL, 100)
    for cells in (ours, theirs):
        assert {cell.status for cell in cells.values()} == {"ok"}  # type: ignore[attr-defined]
        assert cells[bounded.CALL.key].value > 0  # type: ignore[attr-defined]
    assert ours[bounded.HELD.key].value <= 40  # type: ignore[attr-defined]
    assert theirs[bounded.HELD.key].value >= 200  # type: ignore[attr-defined]  # AT + RT per user
    assert "max_entries=40" in ours[bounded.HELD.key].note  # type: ignore[attr-defined]


def test_msal_is_not_run_past_the_fill_limit() -> None:
    with network_forbidden():
        ctx = Context(TINY, msal_fill_limit=10)
        cells = run_scenario(bounded.SCENARIOS[0], load_library(MSAL), 11, ctx)
    assert {cell.status for cell in cells.values()} == {"skipped"}
