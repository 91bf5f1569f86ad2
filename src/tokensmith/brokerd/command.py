"""``tokensmith broker`` (also ``python -m tokensmith.brokerd``): run the open broker
on the session bus until SIGINT or SIGTERM.

Errors in the arguments, the state directory or the bus are one line on stderr and
exit status 2 (another broker owning the name included).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["HELP", "configure", "default_state_dir", "main", "run"]

HELP = "run the open authentication broker on the D-Bus session bus (Linux)"
DEFAULT_AUTHORITY = "https://127.0.0.1:8443/organizations"
"""The dev IdP's default address (``tokensmith dev-idp``)."""


def _state_home() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/tokensmith/broker``."""
    return (_state_home() / "tokensmith" / "broker").absolute()


def _default_ca() -> str | None:
    ca = _state_home() / "tokensmith" / "dev-idp" / "ca.pem"
    return str(ca) if ca.is_file() else None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "--authority",
        default=os.environ.get("TOKENSMITH_BROKER_AUTHORITY", DEFAULT_AUTHORITY),
        help=f"the provider's authority URL (default: the dev IdP, {DEFAULT_AUTHORITY})",
    )
    parser.add_argument(
        "--oidc", action="store_true", help="the authority is a generic OpenID issuer URL"
    )
    parser.add_argument(
        "--ca", default=None, help="CA bundle to trust (default: the dev IdP's, if it ran)"
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="where the vault lives")
    parser.add_argument(
        "--key-store",
        choices=("file", "secret-service"),
        default="file",
        help="where the device key lives: a 0600 file (default) or the Secret Service",
    )
    parser.add_argument("--bus", default="SESSION", help="the bus address (default: session)")
    parser.add_argument(
        "--interactive-timeout", type=float, default=600.0, help="seconds for a browser sign-in"
    )
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning"))


def run(args: argparse.Namespace, out: Any = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 then, 2 on a bad argument, state or bus."""
    from tokensmith.brokerd.core import OpenBroker
    from tokensmith.brokerd.service import BrokerService, NameTaken
    from tokensmith.brokerd.vault import Vault
    from tokensmith.errors import TokensmithError

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log = logging.getLogger("tokensmith")
    log.addHandler(handler)
    log.setLevel(args.log_level.upper())
    try:
        ca = args.ca or _default_ca()
        vault = Vault(args.state_dir or default_state_dir(), args.key_store)
        broker = OpenBroker(
            args.authority,
            vault=vault,
            oidc=args.oidc,
            verify=ca or True,
            interactive_timeout=args.interactive_timeout,
        )
        service = BrokerService(broker, args.bus)
        _stop_on_signals(service)
        banner = f"tokensmith broker serving on the {args.bus.lower()} bus for {args.authority}"
        service.serve(on_ready=lambda: print(banner, flush=True))
    except OSError as exc:
        print(f"tokensmith broker: cannot use the bus ({args.bus}): {exc}", file=sys.stderr)
        return 2
    except (NameTaken, TokensmithError, ValueError) as exc:
        print(f"tokensmith broker: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    finally:
        log.removeHandler(handler)
    return 0


def _stop_on_signals(service: Any) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: service.stop())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tokensmith.brokerd [options]``."""
    parser = argparse.ArgumentParser(prog="tokensmith broker", description=HELP)
    configure(parser)
    return run(parser.parse_args(argv))
