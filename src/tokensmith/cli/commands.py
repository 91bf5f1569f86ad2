"""The subcommands of ``tokensmith``, by name: the one registration point.

Each entry names a module with three things: ``HELP`` (one line), ``configure(parser)``
(adds its arguments to an :class:`argparse.ArgumentParser`) and ``run(args, out)``
(does the work, returns an exit status from :mod:`tokensmith.cli.exit_codes`; ``out``
is a :class:`tokensmith.cli.output.Output`). A module is imported when the parser is
built, so keep its top level to the standard library and import the heavy parts inside
``run``.

A new command is one line in :data:`COMMANDS`, or :func:`register_command` from code
that runs before :func:`tokensmith.cli.main` (the ``broker`` command registers here).
"""

from __future__ import annotations

__all__ = ["COMMANDS", "register_command"]

COMMANDS: dict[str, str] = {
    "login": "tokensmith.cli.cmd_login",
    "token": "tokensmith.cli.cmd_token",
    "accounts": "tokensmith.cli.cmd_accounts",
    "logout": "tokensmith.cli.cmd_logout",
    "decode": "tokensmith.cli.cmd_decode",
    "cache": "tokensmith.cli.cmd_cache",
    "dev-idp": "tokensmith.cli.cmd_devidp",
    "broker": "tokensmith.brokerd.command",  # the open broker (docs/brokers.md)
}


def register_command(name: str, module: str) -> None:
    """Add (or replace) the subcommand ``name``, implemented by ``module``."""
    COMMANDS[name] = module
