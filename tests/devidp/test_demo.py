"""`make demo` runs offline against the in-process dev IdP."""

from __future__ import annotations

import pytest
from examples.demo import main


def test_demo_runs_every_step_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.count("-> identity_provider") == 3  # client credentials, device code, refresh
    assert out.count("-> cache") == 3  # the sync daemon, the async daemon, silent
    assert "100 results, 1 distinct access token" in out  # async single flight
    assert "after remove_account: silent           -> nothing (None)" in out
    assert "error" not in out
