"""The one registration point for subcommands (the broker's goes there too), and a
bug in a command: one line and status 1, no traceback, not the exception's text."""

from __future__ import annotations

import pytest

from tokensmith.cli import main
from tokensmith.cli.commands import COMMANDS, register_command


def test_a_registered_command_runs_and_a_bug_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOKENSMITH_DEBUG", raising=False)
    monkeypatch.setitem(COMMANDS, "placeholder", "tests.cli._boom")  # restored afterwards
    register_command("boom", "tests.cli._boom")
    try:
        assert main(["boom"]) == 1
    finally:
        del COMMANDS["boom"]
    err = capsys.readouterr().err
    assert "tokensmith: internal error (RuntimeError); this is a bug" in err
    assert "secret-token-value" not in err and "Traceback" not in err
    monkeypatch.setenv("TOKENSMITH_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["placeholder"])


def test_the_built_in_commands() -> None:
    assert list(COMMANDS)[:7] == [
        "login", "token", "accounts", "logout", "decode", "cache", "dev-idp",
    ]  # fmt: skip
