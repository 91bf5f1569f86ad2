"""Run in a subprocess by tests/broker/test_pymsalruntime.py: MSAL Python 1.39 (or
tokensmith with ``broker_backend="pymsalruntime"``) with ``enable_broker_on_linux=True``,
so Microsoft's pymsalruntime talks to whatever owns the broker name on the session
bus. Prints one JSON line per step (tokens masked)."""

from __future__ import annotations

import json
import sys
from typing import Any


def _shown(result: Any) -> dict[str, Any]:
    if result is None:
        return {"none": True}
    masked = ("access_token", "id_token", "refresh_token", "client_info")
    return {k: ("***" if k in masked else v) for k, v in dict(result).items()}


def _emit(step: str, value: Any) -> None:
    print(json.dumps({"step": step, "value": value}, default=str), flush=True)


def main(library: str, client_id: str, authority: str, scope: str) -> None:
    if library == "msal":
        import msal as lib

        options: dict[str, Any] = {"instance_discovery": False}
    else:
        import tokensmith as lib  # type: ignore[no-redef]

        options = {"broker_backend": "pymsalruntime"}
    app = lib.PublicClientApplication(
        client_id, authority=authority, enable_broker_on_linux=True, **options
    )
    _emit(
        "broker_enabled",
        bool(getattr(app, "_enable_broker", None) or getattr(app, "_broker", None)),
    )
    console = app.CONSOLE_WINDOW_HANDLE
    _emit(
        "interactive", _shown(app.acquire_token_interactive([scope], parent_window_handle=console))
    )
    accounts = app.get_accounts()
    _emit("accounts", [dict(a) for a in accounts])
    if accounts:
        silent = app.acquire_token_silent_with_error([scope], accounts[0], force_refresh=True)
        _emit("silent", _shown(silent))
        app.remove_account(accounts[0])
        _emit("after_remove", [dict(a) for a in app.get_accounts()])


if __name__ == "__main__":
    main(*sys.argv[1:5])
