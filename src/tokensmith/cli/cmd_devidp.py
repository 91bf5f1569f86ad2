"""``tokensmith dev-idp``: run the offline Entra-compatible identity provider.

Errors in the arguments or the configuration are one line on stderr and exit status
2; SIGINT (Ctrl-C) and SIGTERM stop the server cleanly with status 0. While it runs,
``--profile dev-idp`` in the other commands finds it (:mod:`tokensmith.cli.devidp_record`).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tokensmith.cli import devidp_record
from tokensmith.cli.output import Output
from tokensmith.cli.run import one_line
from tokensmith.cli.xdg import state_home

if TYPE_CHECKING:
    from tokensmith.devidp import DevIdP

__all__ = ["DEFAULT_PORT", "HELP", "configure", "default_state_dir", "run"]

HELP = "run the offline Entra-compatible identity provider"
DEFAULT_PORT = 8443
PORT_ENV = "TOKENSMITH_DEV_IDP_PORT"
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


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/tokensmith/dev-idp`` (absolute)."""
    return state_home() / "dev-idp"


def configure(idp: argparse.ArgumentParser) -> None:
    """The dev IdP's arguments."""
    idp.add_argument("--config", type=Path, help="TOML merged over the built-in configuration")
    idp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    idp.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"port (default ${PORT_ENV}, else {DEFAULT_PORT}; 0 = any free one)",
    )
    idp.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"CA, TLS and signing keys, reused across runs (default {default_state_dir()})",
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
        help="log to stderr from this level (info: a line per request; never logs secrets)",
    )


def _chosen_port(args: argparse.Namespace) -> int:
    if args.port is not None:
        return int(args.port)
    text = os.environ.get(PORT_ENV)
    if not text:
        return DEFAULT_PORT
    try:
        return _port(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{PORT_ENV}: {exc}") from None


def run(args: argparse.Namespace, out: Output) -> int:
    """Serve until Ctrl-C or SIGTERM."""
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    devidp_logger = logging.getLogger("tokensmith.devidp")
    previous_level = devidp_logger.level
    devidp_logger.addHandler(handler)
    devidp_logger.setLevel(args.log_level.upper())
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    idp: DevIdP | None = None
    port = None
    try:
        port = _chosen_port(args)
        config = load_config(args.config) if args.config else default_config()
        state_dir = (args.state_dir or default_state_dir()).absolute()
        idp = DevIdP(config, host=args.host, port=port, state_dir=state_dir)
        idp.start()
        if args.auto_complete_device:
            idp.device_code_auto_complete_user = args.auto_complete_device
        devidp_record.record(idp.base_url, idp.ca_path)
        _banner(idp, out)
        while True:  # sleep in short steps so SIGINT and SIGTERM are seen at once
            time.sleep(0.5)
    except (ConfigurationError, OSError, OverflowError, ValueError) as exc:
        print(f"tokensmith dev-idp: {_describe(exc, args.host, port)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated):
        print("\nstopped", flush=True, file=sys.stderr if out.json_mode else sys.stdout)
    finally:
        if idp is not None:
            devidp_record.forget()
            idp.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        devidp_logger.removeHandler(handler)
        devidp_logger.setLevel(previous_level)
    return 0


def _describe(exc: BaseException, host: str, port: int | None) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another dev IdP?): stop it, or pass "
            f"--port N (0 picks a free one) or set {PORT_ENV}"
        )
    if isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot bind {host}: not an address of this machine"
    return one_line(exc)


def _banner(idp: DevIdP, out: Output) -> None:
    ca = idp.ca_path.absolute()
    if out.json_mode:  # one line, then the server runs: a script reads it and goes on
        summary = {
            "base_url": idp.base_url,
            "ca": str(ca),
            "authority": idp.authority("organizations"),
            "tenants": [t.id for t in idp.config.tenants],
            "pid": os.getpid(),
        }
        print(json.dumps(summary, sort_keys=True), flush=True)
        return
    tenants = ", ".join(t.domains[0] if t.domains else t.id for t in idp.config.tenants)
    print(
        f"tokensmith dev-idp listening on {idp.base_url}\n"
        f"  CA certificate : {ca}\n"
        f"  authorities    : {idp.authority('organizations')} (also /common, /consumers,\n"
        f"                   /<tenant GUID or domain>; tenants: {tenants})\n"
        f"  trust the CA   : export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}\n"
        f"  tokensmith CLI : tokensmith login --profile dev-idp --device-code\n"
        f"  tokensmith     : PublicClientApplication(..., authority=..., verify='{ca}')\n"
        f"  MSAL Python    : PublicClientApplication(..., authority=..., verify='{ca}',\n"
        f"                   instance_discovery=False)\n"
        f"  device auto-complete user: {idp.device_code_auto_complete_user or '(off)'}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
