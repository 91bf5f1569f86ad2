"""What the command line prints, and where.

* Results go to stdout: a JSON document with ``--json``; otherwise text, with tables
  and colour (rich, imported only then) when stdout is a terminal and ``NO_COLOR`` is
  unset, plain aligned columns in a pipe.
* Messages for the person (progress, hints, errors) go to stderr, so
  ``tokensmith token | xclip`` copies the token only.
* An error is one line ``tokensmith: <message>`` (plus ``hint: ...``) on stderr; with
  ``--json`` stdout also gets ``{"error": {"code", "message", "hint", "exit_code"}}``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

__all__ = ["Output"]


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    """Printing for one command run.

    Args:
        json_mode: ``--json`` was given.
        stdout, stderr: the streams (the process's by default).
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        colour_allowed = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        self.styled = (
            not json_mode and colour_allowed and _is_terminal(self.stdout) and _rich_available()
        )
        self.interactive_stderr = _is_terminal(self.stderr)
        self._status_shown = False

    # -- results (stdout) ----------------------------------------------------------

    def result(self, data: Any, human: Callable[[], None]) -> None:
        """Print ``data`` as JSON with ``--json``, else call ``human`` to print text."""
        if self.json_mode:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
            self.stdout.flush()
        else:
            human()

    def line(self, text: str = "") -> None:
        """One line of the human result on stdout."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> None:
        """A table: rich's on a terminal, tab-free aligned columns in a pipe."""
        if self.styled:
            from rich.console import Console
            from rich.table import Table

            table = Table(*columns, title=title or None, header_style="bold cyan")
            for row in rows:
                table.add_row(*row)
            Console(file=self.stdout).print(table)
            return
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
        for row in [list(columns), *rows]:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.line("  ".join(cells).rstrip())

    def pairs(self, items: Sequence[tuple[str, str]]) -> None:
        """``name: value`` lines, names aligned (bold on a terminal)."""
        width = max((len(k) for k, _ in items), default=0)
        if self.styled:
            from rich.console import Console
            from rich.markup import escape

            console = Console(file=self.stdout, highlight=False)
            for key, value in items:
                console.print(f"[bold]{escape(key.ljust(width))}[/bold]  {escape(value)}")
            return
        for key, value in items:
            self.line(f"{key.ljust(width)}  {value}")

    # -- messages (stderr) ---------------------------------------------------------

    def note(self, text: str) -> None:
        """A message for the person, on stderr."""
        self.clear_status()
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def status(self, text: str) -> None:
        """A line that replaces itself on a terminal (a countdown); in a pipe each call
        is its own line, so callers print it rarely there."""
        if self.interactive_stderr:
            self.stderr.write("\r\x1b[2K" + text)
            self._status_shown = True
        else:
            self.stderr.write(text + "\n")
        self.stderr.flush()

    def clear_status(self) -> None:
        """End a :meth:`status` line on a terminal."""
        if self._status_shown:
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()
            self._status_shown = False

    def error(self, code: str, message: str, hint: str | None, exit_code: int) -> int:
        """Report a failure; returns ``exit_code``."""
        self.clear_status()
        text = f"tokensmith: {message}"
        if hint:
            text += f"\n  hint: {hint}"
        self.stderr.write(text + "\n")
        self.stderr.flush()
        if self.json_mode:
            error = {"code": code, "message": message, "hint": hint, "exit_code": exit_code}
            self.stdout.write(json.dumps({"error": error}, indent=2, sort_keys=True) + "\n")
            self.stdout.flush()
        return exit_code
