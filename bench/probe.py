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

__all__ = ["ProbeHttp", "main", "silent_token", "silent_token_from_file"]


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


class _Response:
    """What ``requests.Response`` gives MSAL's ``http_client`` users."""

    __slots__ = ("headers", "status_code", "text")

    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text
        self.headers = {"content-type": "application/json; charset=utf-8"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")

    def json(self) -> object:
        import json

        return json.loads(self.text)


class ProbeHttp:
    """The probe's ``http_client``: the discovery documents of the bench tenant (what
    MSAL's constructor fetches) and nothing else; a token request gets an error, as a
    probe is a cache hit. Lighter than :class:`bench.fakehttp.FakeHttpClient` (no
    dataclasses, no threading, no URL parser), so a probe times the library."""

    def __init__(self) -> None:
        self.posts = 0

    def get(
        self, url: str, params: object = None, headers: object = None, **kw: object
    ) -> _Response:
        import json

        from bench import ids

        document = ids.discovery_answer(url.partition("://")[2].partition("/")[2].partition("?")[0])
        if document is None:
            return _Response(404, '{"error": "not_found"}')
        return _Response(200, json.dumps(document))

    def post(self, url: str, params: object = None, **kw: object) -> _Response:
        self.posts += 1
        return _Response(400, '{"error": "invalid_request", "error_description": "no tokens"}')


def silent_token(lib: Library, cache: object, username: str) -> str:
    """On the probe's identity provider: find ``username``'s account, get a silent
    token from ``cache``; ``"ok"`` when it came from the cache (no token request),
    else a one-line error."""
    http = ProbeHttp()
    app = lib.public_app(cache, http)
    accounts = app.get_accounts(username=username)
    if len(accounts) != 1:
        return f"error: {len(accounts)} accounts for {username}"
    result = app.acquire_token_silent(["User.Read"], accounts[0])
    if not isinstance(result, dict) or result.get("token_source") != "cache" or http.posts:
        return f"error: no cached token ({type(result).__name__}, {http.posts} token requests)"
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
