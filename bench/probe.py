"""What the bench runs in fresh processes: a CLI-style silent token from a cache file.

``python -m bench.probe <library> <cache.json> <username>`` imports the library, loads
the cache file, builds a ``PublicClientApplication`` on the in-process fake identity
provider, finds the account with ``get_accounts(username=...)``, calls
``acquire_token_silent(["User.Read"], account)``, and prints ``ok`` when the token came
from the cache. The parent times the whole process. Network access is forbidden.

Top-level imports are kept to the standard library the interpreter already loaded, so
the process measures the library and not this script.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.libs import Library

__all__ = ["main", "silent_token", "silent_token_from_file"]


def silent_token_from_file(library: str, cache_path: str, username: str) -> str:
    """Run the CLI-style flow once and return ``"ok"`` or a one-line error summary."""
    import importlib

    from bench.libs import Library
    from bench.netguard import forbid_network_for_good

    forbid_network_for_good()
    lib = Library(library, importlib.import_module(library))
    with open(cache_path, encoding="utf-8") as handle:
        cache = lib.cache_from_json(handle.read())
    return silent_token(lib, cache, username)


def silent_token(lib: Library, cache: object, username: str) -> str:
    """On a fake identity provider: find ``username``'s account, get a silent token
    from ``cache``; ``"ok"`` when it came from the cache, else a one-line error."""
    from bench.fakehttp import FakeHttpClient

    app = lib.public_app(cache, FakeHttpClient())
    accounts = app.get_accounts(username=username)
    if len(accounts) != 1:
        return f"error: {len(accounts)} accounts for {username}"
    result = app.acquire_token_silent(["User.Read"], accounts[0])
    if not isinstance(result, dict) or result.get("token_source") != "cache":
        return f"error: no cached token ({type(result).__name__})"
    return "ok"


def main(argv: list[str]) -> int:
    """Entry point; ``argv`` is ``[library, cache_path, username]``."""
    if len(argv) != 3:
        print("usage: python -m bench.probe <msal|tokensmith> <cache.json> <username>")
        return 2
    outcome = silent_token_from_file(*argv)
    print(outcome)
    return 0 if outcome == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
