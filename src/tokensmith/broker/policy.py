"""Whether an application uses a broker: MSAL Python's opt-in and fallback rules.

The rules (MSAL 1.39, ``PublicClientApplication`` docstring; docs/brokers.md):

1. the broker is used only where the app opted in for the platform it runs on
   (``enable_broker_on_windows`` / ``_mac`` / ``_linux`` / ``_wsl``; the deprecated
   ``allow_broker`` means Windows), and only for authorities a broker serves: never for
   AD FS, B2C, CIAM, dSTS or a generic OpenID provider, nor on an Intel Mac;
2. opted in but the broker package missing: ``ImportError`` naming the extra;
3. installed but failing to initialise: deactivated silently (a logged warning), the
   in-process flows run;
4. initialised but a request fails: the caller gets the error, nothing falls back
   (:mod:`tokensmith.engine.broker`).
"""

from __future__ import annotations

import platform as _platform
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith._redact import logger
from tokensmith.authority import AuthorityKind
from tokensmith.broker import opted_in_anywhere
from tokensmith.broker.base import BrokerBackend, BrokerUnavailable
from tokensmith.errors import ConfigurationError

__all__ = [
    "BYPASSED_KINDS",
    "INSTALL_HINT",
    "LINUX_REDIRECT_URI",
    "MAC_REDIRECT_URI",
    "BrokerSession",
    "Platform",
    "broker_for",
    "broker_redirect_uri",
    "choose_broker",
    "opted_in",
    "redirect_uris_to_register",
    "session_for",
    "windows_redirect_uri",
]

BYPASSED_KINDS = frozenset(
    {
        AuthorityKind.ADFS,
        AuthorityKind.B2C,
        AuthorityKind.CIAM,
        AuthorityKind.DSTS,
        AuthorityKind.OIDC,
    }
)
"""Authorities no broker serves: the broker is bypassed for them (rule 1)."""

MAC_REDIRECT_URI = "msauth.com.msauth.unsignedapp://auth"
LINUX_REDIRECT_URI = "https://login.microsoftonline.com/common/oauth2/nativeclient"
INSTALL_HINT = 'You must install the broker dependency: pip install "tokensmith[broker]"'
_UNAVAILABLE = "Broker is unavailable on this platform. We will fallback to non-broker."


def windows_redirect_uri(client_id: str) -> str:
    """The redirect URI WAM (Windows and WSL) needs registered for ``client_id``."""
    return f"ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}"


def redirect_uris_to_register(client_id: str) -> tuple[str, str, str]:
    """The three broker redirect URIs (Windows/WSL, macOS, Linux)."""
    return windows_redirect_uri(client_id), MAC_REDIRECT_URI, LINUX_REDIRECT_URI


@dataclass(frozen=True)
class Platform:
    """The facts of the running system the rules read (injectable for tests).

    Attributes:
        system: ``sys.platform`` (``"win32"``, ``"darwin"``, ``"linux"``).
        wsl: Linux inside WSL.
        machine: ``platform.machine()`` (``"arm64"`` on Apple Silicon).
    """

    system: str
    wsl: bool = False
    machine: str = ""

    @classmethod
    def current(cls) -> Platform:
        """This machine."""
        uname = _platform.uname()
        wsl = sys.platform == "linux" and "microsoft" in uname.release.lower()
        return cls(sys.platform, wsl, uname.machine)


def broker_redirect_uri(system: str) -> str:
    """The redirect URI MSAL hands the broker on ``system``: macOS's, else the
    native-client one (WAM ignores it; MSALRuntime and the Linux broker need one)."""
    return MAC_REDIRECT_URI if system == "darwin" else LINUX_REDIRECT_URI


def opted_in(
    where: Platform,
    *,
    windows: object = None,
    mac: object = None,
    linux: object = None,
    wsl: object = None,
    allow_broker: object = None,
) -> bool:
    """MSAL's opt-in rule: the flag of the platform the app runs on (Linux includes
    WSL); ``allow_broker`` (deprecated, warns) means Windows."""
    if allow_broker:
        warnings.warn(
            "allow_broker is deprecated. "
            "Please use PublicClientApplication(..., enable_broker_on_windows=True, ...)",
            DeprecationWarning,
            stacklevel=4,
        )
    system = where.system
    return bool(
        (windows and system == "win32")
        or (mac and system == "darwin")
        or (linux and system == "linux")
        or (wsl and where.wsl)
        or (allow_broker and system == "win32")
    )


@dataclass(frozen=True)
class BrokerSession:
    """An application's working broker."""

    backend: BrokerBackend

    @property
    def redirect_uri(self) -> str:
        """The redirect URI of the backend's platform."""
        return self.backend.redirect_uri


def broker_for(
    kind: AuthorityKind,
    *,
    windows: object,
    mac: object,
    linux: object,
    wsl: object,
    allow_broker: object,
    backend: Any,
    where: Platform | None = None,
) -> BrokerSession | None:
    """:func:`opted_in` then :func:`choose_broker` on this machine (or ``where``)."""
    if not opted_in_anywhere(
        windows=windows, mac=mac, linux=linux, wsl=wsl, allow_broker=allow_broker
    ):  # the common case: no look at the platform
        return None
    where = where or Platform.current()
    opted = opted_in(
        where, windows=windows, mac=mac, linux=linux, wsl=wsl, allow_broker=allow_broker
    )
    return choose_broker(kind, opted, where, backend)


def session_for(
    kind: AuthorityKind, opt_ins: Mapping[str, object], backend: Any
) -> BrokerSession | None:
    """:func:`broker_for` with the façade's ``enable_broker_on_*`` values by name
    (``windows``, ``mac``, ``linux``, ``wsl``, ``allow_broker``)."""
    return broker_for(
        kind,
        windows=opt_ins.get("windows"),
        mac=opt_ins.get("mac"),
        linux=opt_ins.get("linux"),
        wsl=opt_ins.get("wsl"),
        allow_broker=opt_ins.get("allow_broker"),
        backend=backend,
    )


def choose_broker(
    kind: AuthorityKind, opted: bool, where: Platform, backend: Any = None
) -> BrokerSession | None:
    """The broker of a new application, or None (rules 1 to 3).

    Args:
        kind: the kind of the application's authority.
        opted: the result of :func:`opted_in`.
        where: the platform.
        backend: tokensmith's ``broker_backend=``: None (the platform's default:
            ``"dbus"`` on Linux, ``"pymsalruntime"`` elsewhere and in WSL), one of those
            names, or an object implementing :class:`BrokerBackend`.

    Raises:
        ImportError: opted in, but the backend's package is not installed.
        ValueError: ``backend`` is neither a known name nor a backend.
    """
    if not opted:
        return None
    if kind in BYPASSED_KINDS:
        logger.debug("Broker bypassed: a %s authority is not served by brokers", kind.value)
        return None
    if where.system == "darwin" and where.machine != "arm64":
        logger.warning(
            "Broker on macOS is supported only on Apple Silicon (arm64). "
            "We will fallback to non-broker."
        )
        return None
    try:
        loaded = _load(backend, where)
    except BrokerUnavailable as exc:
        logger.warning("%s (%s)", _UNAVAILABLE, exc)
        return None
    return BrokerSession(loaded)


def _load(backend: Any, where: Platform) -> BrokerBackend:
    if backend is None:
        backend = "dbus" if where.system == "linux" and not where.wsl else "pymsalruntime"
    if isinstance(backend, BrokerBackend):
        return backend
    if backend == "dbus":
        try:
            from tokensmith.broker.dbus_client import DBusBroker
        except ImportError as exc:
            raise ImportError(f"{INSTALL_HINT} (the D-Bus client needs jeepney)") from exc
        return DBusBroker.connect()
    if backend == "pymsalruntime":
        from tokensmith.broker.runtime import RuntimeBroker, import_runtime

        return RuntimeBroker(import_runtime(), where.system)
    raise ConfigurationError(
        "broker_backend must be 'dbus', 'pymsalruntime' or a BrokerBackend object"
    )
