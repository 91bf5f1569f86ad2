"""``tokensmith cache``: look into, import and export MSAL token cache files.

``inspect [FILE]`` counts the entries and lists the accounts and access tokens (never
a secret) of FILE or the CLI's cache; ``import FILE`` merges another MSAL cache (one
written by MSAL Python, azure-cli, azure-identity...) into the CLI's cache, entries of
FILE winning; ``export [FILE]`` writes the CLI's cache to FILE (0600) or stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from tokensmith.cli import exit_codes
from tokensmith.cli.cmd_accounts import account_rows, add_cache_argument, cache_path_of
from tokensmith.cli.output import Output
from tokensmith.cli.run import CommandFailed

__all__ = ["HELP", "configure", "run"]

HELP = "inspect, import or export MSAL token cache files"
_SECTIONS = ("Account", "IdToken", "AccessToken", "RefreshToken", "AppMetadata")


def configure(parser: argparse.ArgumentParser) -> None:
    """``cache``'s sub-actions."""
    add_cache_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    inspect = actions.add_parser("inspect", help="what a cache file holds (no secrets)")
    inspect.add_argument("file", nargs="?", help="the file (default: the CLI's cache)")
    importing = actions.add_parser("import", help="merge an MSAL cache file into the CLI's")
    importing.add_argument("file", help="the MSAL cache file to merge in")
    export = actions.add_parser("export", help="write the CLI's cache as an MSAL cache file")
    export.add_argument("file", nargs="?", help="where to write (default: stdout)")
    for sub in (inspect, importing, export):
        sub.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the chosen action."""
    if args.action == "inspect":
        return _inspect(args, out)
    if args.action == "import":
        return _import(args, out)
    return _export(args, out)


def _load(path: Path) -> Any:
    """An MSAL cache file, parsed (so that its problems name it)."""
    from tokensmith.cache import SerializableTokenCache
    from tokensmith.cli.store import load_into, read_cache_file

    cache = SerializableTokenCache()
    load_into(cache, read_cache_file(path), path)
    return cache


def _inspect(args: argparse.Namespace, out: Output) -> int:
    path = Path(args.file).absolute() if args.file else cache_path_of(args)
    cache = _load(path) if args.file or path.exists() else None
    if cache is None:
        raise CommandFailed("usage", f"cache file {path} does not exist", "tokensmith login", 2)
    counts = {s: len(list(cache.search(s))) for s in _SECTIONS}
    now = time.time()
    tokens = []
    for entry in cache.search("AccessToken"):
        text = str(entry.get("expires_on", ""))
        expires = int(text) if text.isdigit() else 0
        tokens.append(
            {
                "client_id": entry.get("client_id", ""),
                "scopes": entry.get("target", ""),
                "realm": entry.get("realm", ""),
                "expires_on": expires,
                "expires_in": max(0, expires - int(now)),
            }
        )
    data = {
        "file": str(path),
        "counts": counts,
        "accounts": account_rows(cache),
        "access_tokens": tokens,
    }

    def human() -> None:
        out.line(f"{path}")
        out.pairs([(name, str(n)) for name, n in counts.items()])
        if tokens:
            rows = [[t["client_id"], t["scopes"], _left(t["expires_in"])] for t in tokens]
            out.table(("CLIENT ID", "SCOPES", "EXPIRES IN"), rows)

    out.result(data, human)
    return exit_codes.OK


def _left(seconds: int) -> str:
    return "expired" if seconds <= 0 else f"{seconds // 60} min"


def _import(args: argparse.Namespace, out: Output) -> int:
    from tokensmith.cli.store import open_token_cache

    source = Path(args.file).absolute()
    incoming = json.loads(_load(source).serialize())
    target = open_token_cache(cache_path_of(args))
    merged = json.loads(target.cache.serialize())
    added = 0
    for section, entries in incoming.items():
        if isinstance(entries, dict):
            mine = merged.setdefault(section, {})
            if isinstance(mine, dict):
                added += sum(1 for key in entries if key not in mine)
                mine.update(entries)
    target.cache.deserialize(json.dumps(merged))  # the store writes it, under its lock
    data = {"imported_from": str(source), "cache": str(target.path), "new_entries": added}
    out.result(data, lambda: out.line(f"merged {source} into {target.path}: {added} new entries"))
    return exit_codes.OK


def _export(args: argparse.Namespace, out: Output) -> int:
    from tokensmith.cli.store import open_token_cache, write_atomically

    cache_file = open_token_cache(cache_path_of(args))
    text = cache_file.cache.serialize()
    if not args.file or args.file == "-":
        out.line(text)
        return exit_codes.OK
    target = Path(args.file).absolute()
    write_atomically(target, text)
    data = {"exported_to": str(target), "cache": str(cache_file.path)}
    out.result(data, lambda: out.line(f"wrote {target} (mode 0600)"))
    return exit_codes.OK
