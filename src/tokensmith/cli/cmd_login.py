"""``tokensmith login``: sign in through the browser (default) or with a device code,
and keep the tokens in the CLI's cache (like ``az login`` / ``gh auth login``).

While it waits it shows how long is left and that Ctrl-C cancels; Ctrl-C ends it
with status 130 and leaves the cache as it was.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tokensmith.cli import exit_codes, settings
from tokensmith.cli.output import Output

__all__ = ["HELP", "configure", "run"]

HELP = "sign in (browser, or --device-code) and cache the tokens"
_QUIET_PIPE_PERIOD = 60.0
"""In a pipe a countdown line is printed this often (seconds), not every second."""


def configure(parser: argparse.ArgumentParser) -> None:
    """``login``'s arguments."""
    settings.add_arguments(parser)
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--device-code", action="store_true", help="sign in on another device with a code"
    )
    how.add_argument("--browser", action="store_true", help="sign in in the browser (default)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the browser (300)"
    )
    parser.add_argument("--login-hint", help="username to suggest on the sign-in page")


def run(args: argparse.Namespace, out: Output) -> int:
    """Sign in, save the cache, say who signed in."""
    from tokensmith.cli.session import check_result, open_session
    from tokensmith.progress import on_progress

    resolved = settings.resolve(args)
    session = open_session(resolved, public_only=True)
    scopes = list(resolved.scopes)
    countdown = _Countdown(out)
    with on_progress(countdown.show):
        if args.device_code:
            result = _device_code(session.app, scopes, out)
        else:
            result = session.app.acquire_token_interactive(
                scopes,
                timeout=args.timeout,
                login_hint=args.login_hint,
                auth_uri_callback=lambda url: out.note(f"Open this address to sign in:\n  {url}"),
            )
    out.clear_status()
    checked = check_result(result, signed_in_hint="sign in again (tokensmith login)")
    session.save()
    claims = checked.get("id_token_claims") or {}
    summary = {
        "username": claims.get("preferred_username"),
        "tenant_id": claims.get("tid"),
        "authority": resolved.authority,
        "client_id": resolved.client_id,
        "scope": checked.get("scope"),
        "expires_on": int(time.time()) + int(checked.get("expires_in") or 0),
        "cache": str(resolved.cache_path),
    }
    out.result(
        summary, lambda: out.line(f"Signed in as {summary['username']} ({resolved.authority})")
    )
    return exit_codes.OK


def _device_code(app: Any, scopes: list[str], out: Output) -> Any:
    flow = app.initiate_device_flow(scopes)
    if "user_code" not in flow:
        return flow  # an error dict: check_result reports it
    out.note(
        str(flow.get("message") or f"Enter {flow['user_code']} at {flow.get('verification_uri')}")
    )
    return app.acquire_token_by_device_flow(flow)


class _Countdown:
    """Shows the progress reports: a line that counts down on a terminal, a line a
    minute in a pipe."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._last_printed = float("-inf")
        self._browser_noted = False

    def show(self, event: Any) -> None:
        if event.kind == "browser":
            if not self._browser_noted:
                limit = f" (gives up in {_clock(event.seconds_left)})" if event.seconds_left else ""
                self._out.note(f"Waiting for you to sign in in the browser{limit}; Ctrl-C cancels.")
                self._browser_noted = True
            return
        left = event.seconds_left or 0.0
        text = f"Waiting for the sign-in: {_clock(left)} left (Ctrl-C cancels)"
        if self._out.interactive_stderr:
            self._out.status(text)
            return
        now = time.monotonic()
        if now - self._last_printed >= _QUIET_PIPE_PERIOD:
            self._out.status(text)
            self._last_printed = now


def _clock(seconds: float | None) -> str:
    total = max(0, int(seconds or 0))
    return f"{total // 60}:{total % 60:02d}"
