"""The built-in ``dev-idp`` profile: how other commands find a running dev IdP.

``tokensmith dev-idp`` writes ``$XDG_STATE_HOME/tokensmith/dev-idp-running.json``
(base URL, CA file, process id) once it listens and removes it when it stops;
``--profile dev-idp`` reads it and signs in with the built-in configuration's public
desktop app, asking for ``User.Read`` of the simulated Graph unless told otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokensmith.cli.xdg import state_home
from tokensmith.errors import ConfigurationError

__all__ = ["PROFILE", "PUBLIC_CLIENT_ID", "forget", "profile", "record", "record_path"]

PROFILE = "dev-idp"
PUBLIC_CLIENT_ID = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
"""The built-in configuration's "Desktop app (public)"."""


def record_path() -> Path:
    """``$XDG_STATE_HOME/tokensmith/dev-idp-running.json`` (absolute)."""
    return state_home() / "dev-idp-running.json"


def record(base_url: str, ca_path: Path) -> Path:
    """Write the record of this process's dev IdP; returns its path."""
    path = record_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"base_url": base_url, "ca": str(ca_path.absolute()), "pid": os.getpid()}
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def forget() -> None:
    """Remove the record if this process wrote it."""
    path = record_path()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def profile() -> Mapping[str, Any]:
    """The settings of the running dev IdP.

    Raises:
        ConfigurationError: no dev IdP is running (or its record is stale).
    """
    path = record_path()
    start = "start one with `tokensmith dev-idp` in another terminal"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        base_url, ca, pid = data["base_url"], data["ca"], data["pid"]
    except FileNotFoundError:
        raise ConfigurationError(f"profile dev-idp: no dev IdP is running ({start})") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(f"profile dev-idp: {path} is unreadable ({start})") from None
    if not _alive(pid):
        raise ConfigurationError(
            f"profile dev-idp: the dev IdP that wrote {path} (pid {pid}) is gone ({start})"
        )
    return {
        "client_id": PUBLIC_CLIENT_ID,
        "authority": f"{base_url}/organizations",
        "ca_bundle": ca,
        "scopes": ["User.Read"],
    }


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
