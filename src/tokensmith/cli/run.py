"""Parse the command line, run the command, turn failures into one line and a status.

Every failure ends here: a :class:`~tokensmith.errors.TokensmithError` becomes
``tokensmith: <message>`` on stderr (and a JSON error with ``--json``) and the exit
status of its kind; Ctrl-C becomes status 130 with nothing half-written. No traceback
reaches the person.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from tokensmith._version import __version__
from tokensmith.cli import exit_codes
from tokensmith.cli.commands import COMMANDS
from tokensmith.cli.output import Output
from tokensmith.errors import (
    ConfigurationError,
    MsalServiceError,
    ProtocolError,
    TokensmithError,
    TransportError,
)

__all__ = ["CommandFailed", "build_parser", "failure_status", "one_line", "run"]


class CommandFailed(Exception):
    """A command's own failure with a code, a message, a hint and a status."""

    def __init__(self, code: str, message: str, hint: str | None, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.status = code, message, hint, status


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser of every registered command, and the modules by command name."""
    parser = argparse.ArgumentParser(
        prog="tokensmith",
        description="Tokens from Microsoft Entra ID and OpenID providers, and an offline "
        "Entra for development. Exit statuses: 0 ok, 1 refused, 2 usage, 3 unreachable, "
        "4 not signed in, 5 not verified, 130 cancelled (docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=f"tokensmith {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print a JSON document (for scripts)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, ModuleType] = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP, parents=[common])
        module.configure(sub)
        modules[name] = module
    return parser, modules


def failure_status(exc: TokensmithError) -> tuple[str, int]:
    """The JSON error code and the exit status of a library exception."""
    if isinstance(exc, ConfigurationError):
        return "usage", exit_codes.USAGE
    if isinstance(exc, (TransportError, MsalServiceError, ProtocolError)):
        return "unreachable", exit_codes.UNREACHABLE
    return "failed", exit_codes.FAILED


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``tokensmith`` with ``argv`` (``sys.argv[1:]`` when None)."""
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return exit_codes.USAGE
    out = Output(json_mode=getattr(args, "json", False))
    try:
        status: int = modules[args.command].run(args, out)
    except CommandFailed as failed:
        return out.error(failed.code, failed.message, failed.hint, failed.status)
    except KeyboardInterrupt:
        return out.error("cancelled", "cancelled (Ctrl-C); nothing was saved", None, 130)
    except TokensmithError as exc:
        code, status = failure_status(exc)
        return out.error(code, one_line(exc), _hint(exc), status)
    except Exception as exc:  # a bug: named, not dumped (its text might hold a token)
        if os.environ.get("TOKENSMITH_DEBUG"):
            raise
        message = f"internal error ({type(exc).__name__}); this is a bug in tokensmith"
        hint = "run again with TOKENSMITH_DEBUG=1 for the traceback, and report it"
        return out.error("internal", message, hint, exit_codes.FAILED)
    return status


def _hint(exc: TokensmithError) -> str | None:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, MsalServiceError) and isinstance(status, int) and status >= 500:
        return "the identity provider failed on its side; try again in a moment"
    if isinstance(exc, MsalServiceError) and status == 429:
        return "the identity provider is throttling; wait a little before trying again"
    return None


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its class name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
