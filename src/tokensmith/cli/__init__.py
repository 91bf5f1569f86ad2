"""The ``tokensmith`` command line (docs/cli.md).

Commands: ``login``, ``token``, ``accounts``, ``logout``, ``decode``, ``cache``,
``dev-idp`` (and those registered in :mod:`tokensmith.cli.commands`). ``--json`` on
every command prints a JSON document for scripts; exit statuses are stable
(:mod:`tokensmith.cli.exit_codes`).

Importing this package costs nothing: the parser and the commands are imported when
:func:`main` runs, rich only when a terminal shows a table.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tokensmith`` script and of ``python -m tokensmith``."""
    from tokensmith.cli.run import run

    return run(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
