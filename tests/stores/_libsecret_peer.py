"""msal-extensions' own ``LibsecretPersistence``, as the peer of the Secret Service tests.

Run by Debian's ``/usr/bin/python3`` (its ``python3-gi`` and ``gir1.2-secret-1`` give
PyGObject's ``Secret``) with ``PYTHONPATH`` at the test venv's site-packages (the real
msal and msal-extensions): ``python3 _libsecret_peer.py <job> <signal> <layout>``, with
``DBUS_SESSION_BUS_ADDRESS`` set to the test's private bus. It imports no tokensmith.

``layout`` is JSON: ``{}`` for msal-extensions' defaults
(``build_encrypted_persistence(signal)``), else the keyword arguments of
``LibsecretPersistence(signal, schema_name, attributes, label=...)``.

Jobs:
- ``probe``: print the versions of msal-extensions and libsecret's typelib.
- ``add``: add the MSAL event read as JSON from stdin through ``PersistedTokenCache``.
- ``accounts``: print the cache's accounts' ``home_account_id`` values (a JSON list).
- ``raw``: print the item's text as ``LibsecretPersistence.load`` returns it.
- ``headless``: print the exception ``LibsecretPersistence`` raises (exit 3 if none).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _persistence(signal: str, layout: str) -> Any:
    import msal_extensions

    spec = json.loads(layout)
    if not spec:
        return msal_extensions.build_encrypted_persistence(signal)
    return msal_extensions.LibsecretPersistence(signal, **spec)


def main(job: str, signal: str, layout: str) -> int:
    import msal_extensions

    if job == "probe":
        import gi

        gi.require_version("Secret", "1")
        from gi.repository import Secret

        print(msal_extensions.__version__, Secret._version)
        return 0
    if job == "headless":
        try:
            _persistence(signal, layout)
        except Exception as exc:  # what azure-identity catches to fall back or refuse
            print(f"{type(exc).__name__}: {exc}")
            return 0
        return 3
    persistence = _persistence(signal, layout)
    if job == "raw":
        print(persistence.load(), end="")
        return 0
    cache = msal_extensions.PersistedTokenCache(persistence)
    if job == "add":
        cache.add(json.load(sys.stdin))
    elif job == "accounts":
        print(json.dumps(sorted(a["home_account_id"] for a in cache.search("Account"))))
    else:
        raise SystemExit(f"unknown job {job}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
