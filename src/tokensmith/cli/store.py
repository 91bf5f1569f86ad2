"""Where the command line keeps its tokens: one MSAL-format JSON file.

The file is MSAL's unified cache (so ``msal``, ``azure-identity`` and msal-extensions
read it too), at ``$XDG_STATE_HOME/tokensmith/token_cache.json``
(``~/.local/state/...``) unless ``--cache`` or ``TOKENSMITH_CACHE`` names another. It is
the library's persistent store :class:`~tokensmith.stores.snapshot.FileStore` behind a
:class:`~tokensmith.stores.PersistentTokenCache`: every change is written through at
once (mode 0600, a temporary file, fsync, rename) under msal-extensions' lock file, so
two ``tokensmith`` processes, or one and an msal-extensions app, never lose each
other's writes.

:func:`open_token_cache` is the one place that decides how tokens persist. A file that
is not JSON is refused with its name, line and column before the store opens it (the
store would set it aside and start afresh).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tokensmith.cache import SerializableTokenCache
from tokensmith.cli.xdg import state_home
from tokensmith.errors import ConfigurationError, ProtocolError

__all__ = [
    "CacheFile",
    "default_cache_path",
    "load_into",
    "open_token_cache",
    "read_cache_file",
    "write_atomically",
]


def default_cache_path() -> Path:
    """``$XDG_STATE_HOME/tokensmith/token_cache.json`` (absolute)."""
    return state_home() / "token_cache.json"


@dataclass
class CacheFile:
    """The CLI's token cache, persisted at ``path``."""

    path: Path
    cache: SerializableTokenCache

    def save(self) -> None:
        """Nothing to do for a store that writes through; kept for a cache that does
        not (a plain :class:`SerializableTokenCache` is written back when changed)."""
        if type(self.cache) is SerializableTokenCache and self.cache.has_state_changed:
            write_atomically(self.path, self.cache.serialize())


def open_token_cache(path: Path) -> CacheFile:
    """The CLI's token cache in the file ``path`` (created on the first write).

    Raises:
        ConfigurationError: the file cannot be read or is not an MSAL cache; the
            message names the file and, for JSON errors, the line and column.
    """
    from tokensmith.stores import FileStore, PersistentTokenCache

    text = read_cache_file(path, missing_ok=True)
    if text:
        load_into(SerializableTokenCache(), text, path)  # checked: errors name the file
    return CacheFile(path, PersistentTokenCache(FileStore(path)))


def read_cache_file(path: Path, *, missing_ok: bool = False) -> str:
    """The text of a cache file; ``""`` for a missing one when ``missing_ok``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise ConfigurationError(f"cache file {path} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read cache file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"cache file {path} is not UTF-8 text (byte {exc.start})"
        ) from None


def load_into(cache: SerializableTokenCache, text: str, path: Path) -> None:
    """``cache.deserialize(text)``, its errors naming ``path``."""
    try:
        cache.deserialize(text)
    except ProtocolError as exc:
        raise ConfigurationError(f"cache file {path}: {exc}") from None


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a 0600 temporary file beside it, then a rename.

    Raises:
        ConfigurationError: the directory or the file cannot be written.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ConfigurationError(f"cannot write cache file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise ConfigurationError(f"cannot write cache file {path}: {exc.strerror}") from None
