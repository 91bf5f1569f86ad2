"""The ``tokensmith`` command line.

Subcommands:
    dev-idp   run the offline Entra-compatible identity provider (docs/dev-idp.md)

Subcommand modules are imported only when their subcommand runs, so importing this
module (or ``tokensmith``) stays cheap. Errors in the arguments or the configuration
are one line on stderr and exit status 2; SIGINT (Ctrl-C) and SIGTERM stop the server
cleanly with status 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokensmith.devidp import DevIdP

__all__ = ["main"]

DEFAULT_PORT = 8443
_LOG_LEVELS = ("debug", "info", "warning", "error")


class _Terminated(Exception):
    """Raised in the main thread by the SIGTERM handler."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tokensmith" / "dev-idp"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokensmith", description="The tokensmith command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    idp = commands.add_parser(
        "dev-idp",
        help="run the offline Entra-compatible identity provider",
        description="Serve Entra's v2.0 protocol over HTTPS on loopback (docs/dev-idp.md).",
    )
    idp.add_argument("--config", type=Path, help="TOML configuration (default: built-in)")
    idp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    idp.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    idp.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"CA, TLS and signing keys, reused across runs (default {_default_state_dir()})",
    )
    idp.add_argument(
        "--auto-complete-device",
        metavar="USER",
        default=None,
        help="complete every device-code sign-in at once as USER (unattended demos)",
    )
    idp.add_argument(
        "--print-config", action="store_true", help="print the built-in configuration and exit"
    )
    idp.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        default="warning",
        help="log to stderr from this level (default warning; never logs secrets)",
    )
    return parser


def _dev_idp(args: argparse.Namespace) -> int:
    try:
        from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, default_config, load_config
    except ImportError as exc:  # pragma: no cover - Python 3.10 without the extra
        print(
            f"tokensmith dev-idp needs: pip install 'tokensmith[devidp]' ({exc})", file=sys.stderr
        )
        return 2
    from tokensmith.errors import ConfigurationError

    if args.print_config:
        print(DEFAULT_CONFIG_TOML, end="")
        return 0
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    idp: DevIdP | None = None
    try:
        config = load_config(args.config) if args.config else default_config()
        idp = DevIdP(
            config,
            host=args.host,
            port=args.port,
            state_dir=args.state_dir or _default_state_dir(),
        )
        idp.start()
        if args.auto_complete_device:
            idp.device_code_auto_complete_user = args.auto_complete_device
        _banner(idp)
        while True:  # sleep in short steps so SIGINT and SIGTERM are seen at once
            time.sleep(0.5)
    except (ConfigurationError, OSError, OverflowError) as exc:
        print(f"tokensmith dev-idp: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated):
        print("\nstopped", flush=True)
    finally:
        if idp is not None:
            idp.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _banner(idp: DevIdP) -> None:
    ca = idp.ca_path
    tenants = ", ".join(t.domains[0] if t.domains else t.id for t in idp.config.tenants)
    print(
        f"tokensmith dev-idp listening on {idp.base_url}\n"
        f"  CA certificate : {ca}\n"
        f"  authorities    : {idp.authority('organizations')} (also /common, /consumers,\n"
        f"                   /<tenant GUID or domain>; tenants: {tenants})\n"
        f"  trust the CA   : export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}\n"
        f"  tokensmith     : PublicClientApplication(..., authority=..., verify='{ca}')\n"
        f"  MSAL Python    : PublicClientApplication(..., authority=..., verify='{ca}',\n"
        f"                   instance_discovery=False)\n"
        f"  device auto-complete user: {idp.device_code_auto_complete_user or '(off)'}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tokensmith`` script."""
    args = _parser().parse_args(argv)
    if args.command == "dev-idp":
        return _dev_idp(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
