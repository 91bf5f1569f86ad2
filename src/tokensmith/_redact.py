"""The one place that decides what may be logged.

Use :func:`redact_mapping` for request bodies and event dicts before they reach a log
line, and :func:`mask` for a single secret. Reprs of objects that hold secrets call
these too.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging

__all__ = ["DEBUG", "SECRET_FIELDS", "lazy_logger", "logger", "mask", "one_line", "redact_mapping"]

DEBUG = 10
"""``logging.DEBUG``, for ``logger.isEnabledFor(DEBUG)`` without importing logging."""


_RECORDING = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)


def _drop(*args: object, **kwargs: object) -> None:
    return None


def _never(level: object) -> bool:
    return False


class _LazyLogger:
    """A named logger made on its first use, so that a process that never logs (a CLI
    answered from its cache) never imports :mod:`logging`, which brings ``traceback``,
    ``tokenize``, ``string`` and ``textwrap`` with it (about 6 ms). Once made it is the
    very ``logging.getLogger(name)`` object: levels and handlers set by the application
    on that name apply, and a ``NullHandler`` is added to it.

    Until some code has imported :mod:`logging`, no handler or level can have been set
    anywhere, so a record would reach only that ``NullHandler``: logging calls made
    before then are dropped (``isEnabledFor`` answers False) without importing it.
    """

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: logging.Logger | None = None

    def _made(self) -> logging.Logger:
        made = self._logger
        if made is None:
            import logging

            made = logging.getLogger(self._name)
            made.addHandler(logging.NullHandler())
            self._logger = made
        return made

    def getChild(self, suffix: str) -> logging.Logger:
        return lazy_logger(f"{self._name}.{suffix}")

    def __getattr__(self, name: str) -> Any:
        if self._logger is None and "logging" not in sys.modules:
            if name in _RECORDING:
                return _drop
            if name == "isEnabledFor":
                return _never
        return getattr(self._made(), name)

    def __repr__(self) -> str:
        return f"<lazy logger {self._name!r}>"


def lazy_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, made (and given a ``NullHandler``) on first use."""
    return cast("logging.Logger", _LazyLogger(name))


logger = lazy_logger("tokensmith")
"""The library's logger, ``tokensmith`` (children: ``tokensmith.transport``...)."""

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "assertion",
        "client_assertion",
        "client_claims",
        "client_secret",
        "code",
        "code_verifier",
        "device_code",
        "id_token",
        "password",
        "refresh_token",
        "secret",
        "user_federated_identity_credential",
        "claims",
        "username",
        "nonce",
        "client_info",
        "authorization",
        "private_key",
        "passphrase",
    }
)
"""Field names whose values never reach logs, reprs or error messages."""


def mask(value: object) -> str:
    """Return a placeholder that tells a secret was present without showing it."""
    if value is None or value == "":
        return repr(value)
    return "***"


def one_line(text: str) -> str:
    """``text`` from outside (a key name another writer chose) fit for one log line:
    characters that are not printable (a newline that would forge a record, a control
    sequence for a terminal) are shown escaped, as ``\\n`` or ``\\x1b``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def redact_mapping(
    data: Mapping[str, Any] | None, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Return a copy of ``data`` with every secret field masked (recursively)."""
    if not data:
        return {}
    hidden = SECRET_FIELDS | extra
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.lower() in hidden:
            out[key] = mask(value)
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value, extra)
        else:
            out[key] = value
    return out
