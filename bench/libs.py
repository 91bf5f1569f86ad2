"""The libraries under comparison, behind one small adapter.

MSAL and tokensmith are driven through MSAL Python's public API only:
``SerializableTokenCache``, ``PublicClientApplication`` and
``ConfidentialClientApplication`` built with the same authority, ``http_client`` and
``instance_discovery=False``. tokensmith's façade is detected with ``hasattr``; until it
exists its cells read "n/a", never a number.

azure-identity is a third, optional column: it has no MSAL-style API, so only the few
scenarios that list it in ``Scenario.libraries`` run it (through its own credential
classes, see :mod:`bench.fakeazure`); every other row has no cell for it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from bench import ids

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "AZURE_IDENTITY",
    "MSAL",
    "MSAL_VERSION",
    "TOKENSMITH",
    "BenchSetupError",
    "Library",
    "async_twin",
    "load_azure_identity",
    "load_library",
    "load_msal",
    "load_tokensmith",
]

MSAL = "msal"
TOKENSMITH = "tokensmith"
AZURE_IDENTITY = "azure-identity"
MSAL_VERSION = "1.39.0"
FACADE_NAMES = (
    "SerializableTokenCache",
    "PublicClientApplication",
    "ConfidentialClientApplication",
)
CLIENT_SECRET = "bench-client-secret"


class BenchSetupError(RuntimeError):
    """The bench cannot run (wrong msal version, library missing)."""


class Library:
    """One library under test.

    (A plain class, not a dataclass: the fresh-process probes use it, and importing
    ``dataclasses`` there would be timed as the library's.)

    Attributes:
        name: ``"msal"``, ``"tokensmith"`` or ``"azure-identity"``.
        module: the imported top-level module.
        missing: why the library cannot be measured (``None`` when it can).
    """

    __slots__ = ("missing", "module", "name")

    def __init__(self, name: str, module: ModuleType, missing: str | None = None) -> None:
        self.name = name
        self.module = module
        self.missing = missing

    def __repr__(self) -> str:
        return f"Library({self.name!r}, missing={self.missing!r})"

    @property
    def version(self) -> str:
        """The library's ``__version__``."""
        return str(getattr(self.module, "__version__", "?"))

    def cache_from_json(self, text: str | None) -> Any:
        """A new ``SerializableTokenCache`` holding ``text`` (``None``: empty)."""
        cache = self.module.SerializableTokenCache()
        if text is not None:
            cache.deserialize(text)
        return cache

    def public_app(self, cache: Any, http_client: Any) -> Any:
        """A ``PublicClientApplication`` on the bench tenant."""
        return self.module.PublicClientApplication(
            ids.CLIENT_ID,
            authority=ids.AUTHORITY,
            token_cache=cache,
            http_client=http_client,
            instance_discovery=False,
        )

    def confidential_app(self, cache: Any, http_client: Any) -> Any:
        """A ``ConfidentialClientApplication`` with a client secret."""
        return self.module.ConfidentialClientApplication(
            ids.CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=ids.AUTHORITY,
            token_cache=cache,
            http_client=http_client,
            instance_discovery=False,
        )


def async_twin(lib: Library) -> Library | None:
    """The library's asyncio API (``<module>.aio``, same names and arguments as the
    sync one, methods ``async def``), or ``None`` when it has none (MSAL Python)."""
    try:
        module = importlib.import_module(f"{lib.module.__name__}.aio")
    except ImportError:
        return None
    absent = [name for name in FACADE_NAMES if not hasattr(module, name)]
    missing = f"async API incomplete ({', '.join(absent)} missing)" if absent else None
    return Library(lib.name, module, missing)


def load_msal() -> Library:
    """Import msal and check it is exactly the version the figures compare against.

    Raises:
        BenchSetupError: msal is missing or not version 1.39.0.
    """
    try:
        module = importlib.import_module(MSAL)
    except ImportError as exc:
        raise BenchSetupError(
            f"msal is not installed; install the dev extra (msal=={MSAL_VERSION})"
        ) from exc
    version = getattr(module, "__version__", None)
    if version != MSAL_VERSION:
        raise BenchSetupError(
            f"the bench compares against MSAL Python {MSAL_VERSION}, found msal {version}; "
            f"run: .venv/bin/pip install msal=={MSAL_VERSION}"
        )
    return Library(MSAL, module)


def load_tokensmith() -> Library:
    """Import tokensmith; mark it unmeasurable if its MSAL-style façade is absent."""
    module = importlib.import_module(TOKENSMITH)
    absent = [name for name in FACADE_NAMES if not hasattr(module, name)]
    missing = f"façade not available ({', '.join(absent)} missing)" if absent else None
    return Library(TOKENSMITH, module, missing)


def load_azure_identity() -> Library:
    """Import azure-identity's async credentials; mark them unmeasurable if absent."""
    try:
        module = importlib.import_module("azure.identity")
        importlib.import_module("azure.identity.aio")
    except ImportError as exc:
        return Library(AZURE_IDENTITY, ModuleType("azure.identity"), f"not installed ({exc})")
    return Library(AZURE_IDENTITY, module)


def load_library(name: str) -> Library:
    """Load ``"msal"``, ``"tokensmith"`` or ``"azure-identity"`` by name.

    Raises:
        BenchSetupError: unknown name, or msal not usable.
    """
    if name == MSAL:
        return load_msal()
    if name == TOKENSMITH:
        return load_tokensmith()
    if name == AZURE_IDENTITY:
        return load_azure_identity()
    raise BenchSetupError(f"unknown library {name!r}")
