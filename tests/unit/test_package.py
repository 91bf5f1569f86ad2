"""The package's public surface and its import cost (checked functionally, not timed)."""

from __future__ import annotations

import subprocess
import sys

import tokensmith

MSAL_EXPORTS = {
    "ClientApplication",
    "ConfidentialClientApplication",
    "PublicClientApplication",
    "AutoRefresher",
    "Prompt",
    "IdTokenError",
    "TokenCache",
    "SerializableTokenCache",
    "PopAuthScheme",
    "BrowserInteractionTimeoutError",
}


def test_every_name_in_all_resolves() -> None:
    for name in tokensmith.__all__:
        assert getattr(tokensmith, name) is not None


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert sorted(tokensmith.__all__) == sorted([*tokensmith._EXPORTS, "__version__"])


def test_msal_names_are_exported() -> None:
    assert set(tokensmith.__all__) >= MSAL_EXPORTS


def test_import_pulls_in_neither_httpx_nor_cryptography() -> None:
    code = (
        "import sys, tokensmith\n"
        "app = tokensmith.PublicClientApplication('id')\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'requests') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_exceptions_keep_msal_bases() -> None:
    from tokensmith import errors

    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.BrowserInteractionTimeoutError, RuntimeError)
    assert issubclass(errors.IdTokenError, RuntimeError)
    assert issubclass(errors.MsalServiceError, errors.MsalError)
