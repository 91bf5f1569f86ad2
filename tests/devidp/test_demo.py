"""`make demo` runs offline against the in-process dev IdP."""

from __future__ import annotations

import os

import pytest
from examples.demo import main, managed_identity_environment


def test_demo_runs_every_step_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    # client credentials, managed identity, device code, refresh
    assert out.count("-> identity_provider") == 4
    # sync daemon, async daemon, managed identity, a second process on the SQLite store,
    # silent
    assert out.count("-> cache") == 5
    assert "a second process, same SQLite store    -> cache" in out
    assert "source APP_SERVICE" in out
    assert "100 results, 1 distinct access token" in out  # async single flight
    assert "after remove_account: silent           -> nothing (None)" in out
    # the brokered step: one browser sign-in, the second app by single sign-on
    assert out.count("-> broker") == 2
    assert "refresh tokens in the app's cache: 0" in out
    assert "browser sign-ins: 1" in out
    assert "error" not in out


def test_the_managed_identity_step_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MSI_ENDPOINT", "http://127.0.0.1:3/token")
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    with managed_identity_environment({"IDENTITY_ENDPOINT": "http://127.0.0.1:4/msi/token"}):
        assert os.environ["IDENTITY_ENDPOINT"] == "http://127.0.0.1:4/msi/token"
        assert "MSI_ENDPOINT" not in os.environ
    assert "IDENTITY_ENDPOINT" not in os.environ
    assert os.environ["MSI_ENDPOINT"] == "http://127.0.0.1:3/token"
