"""The XDG base directories (freedesktop.org Base Directory Specification): where the
command line keeps state (tokens, the dev IdP's keys) and reads configuration."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["config_home", "state_home"]


def state_home() -> Path:
    """``$XDG_STATE_HOME/tokensmith`` (default ``~/.local/state/tokensmith``), absolute."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return (Path(base) / "tokensmith").absolute()


def config_home() -> Path:
    """``$XDG_CONFIG_HOME/tokensmith`` (default ``~/.config/tokensmith``), absolute."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return (Path(base) / "tokensmith").absolute()
