"""Generate the async façade (src/tokensmith/aio/) from the sync one.

The sync façade methods only hand an engine flow to ``self._run``; their async twins
are the same source with ``async def`` and ``await self._run(...)``, so signatures,
docstrings and calls cannot drift (httpcore keeps its ``_sync`` code the same way).

    python scripts/unasync.py           # write src/tokensmith/aio/*.py
    python scripts/unasync.py --check   # fail if they differ from what would be written
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "tokensmith" / "application"
TARGET = ROOT / "src" / "tokensmith" / "aio"
MODULES = ("client_application", "public", "confidential", "managed_identity")

_REPLACEMENTS = (
    (
        "from tokensmith.application.core import SyncRunner",
        "from tokensmith.application.core import AsyncRunner",
    ),
    ("(SyncRunner)", "(AsyncRunner)"),
    (
        "from tokensmith.application.client_application import",
        "from tokensmith.aio.client_application import",
    ),
    ("self._run(", "await self._run("),
    ("self._close()", "await self._close()"),
    ("self.close()", "await self.close()"),
    ("def __enter__(", "def __aenter__("),
    ("def __exit__(", "def __aexit__("),
)
# the calls that read the cache when they are made (a cache-first flow's first lookup,
# get_accounts, sign-out) go through AsyncRunner._cache_call: with a store-backed cache
# an L1 hit stays on the loop and a store read moves to a worker thread
_CACHE_CALL = re.compile(
    r"(?<![\w.])(self\._silent_flow|accounts\.(?:get_accounts|remove_account|remove_tokens_for_client)"
    r"|client_credentials\.acquire_token_for_client|on_behalf_of\.acquire_token_on_behalf_of"
    r"|mi\.acquire_token_for_client)\("
)
# a public method that hands over to the parent's (or a sibling) awaits it
_AWAITED_CALL = re.compile(r"\b(super\(\)\.(?!_)|self\.acquire_token_silent_with_error\()")
_PUBLIC_METHOD = re.compile(r"^(    )def ((?!_)\w+|__aenter__|__aexit__)\(", re.MULTILINE)
_DOCSTRING = re.compile(r'\A"""(.*?)"""', re.DOTALL)


def transform(name: str, source: str) -> str:
    """The async twin of façade module ``name``."""
    text = source
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = _AWAITED_CALL.sub(r"await \1", text)
    text = _CACHE_CALL.sub(r"await self._cache_call(\1, ", text)
    text = _PUBLIC_METHOD.sub(r"\1async def \2(", text)
    doc = (
        f"The async twin of :mod:`tokensmith.application.{name}`: the same methods and\n"
        "parameters, ``async def``, over the asyncio driver and an async transport.\n\n"
        f"Generated from src/tokensmith/application/{name}.py by scripts/unasync.py;\n"
        "do not edit (``make check`` fails when it differs)."
    )
    text = _DOCSTRING.sub(lambda _: f'"""{doc}\n"""', text, count=1)
    return _formatted(text, TARGET / f"{name}.py")


def _formatted(text: str, path: Path) -> str:
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail on differences, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name in MODULES:
        wanted = transform(name, (SOURCE / f"{name}.py").read_text(encoding="utf-8"))
        path = TARGET / f"{name}.py"
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == wanted:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(wanted, encoding="utf-8")
    if args.check and stale:
        names = ", ".join(map(str, stale))
        print(f"out of date (run python scripts/unasync.py): {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
