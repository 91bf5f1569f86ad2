"""The Linux Secret Service over D-Bus (pure Python, jeepney), as msal-extensions uses it.

msal-extensions' ``LibsecretPersistence`` keeps the cache as one libsecret password:
attributes the app chooses plus ``xdg:schema`` = the schema name (by default the
SHA-256 of the signal file's path), label ``""``, content type ``text/plain``, in the
default collection unless it is given another (libsecret's ``collection``: an alias
such as ``"session"`` or a collection's object path); after each save it touches a
*signal file* whose mtime tells readers the secret changed. :class:`SecretServiceMedium`
reads and writes the same item and touches the same file, so both libraries share one
encrypted cache (and the same ``.lockfile`` beside the signal file).

No session bus, or no ``org.freedesktop.secrets`` on it (a headless machine, an SSH
session, a container): :class:`~tokensmith.errors.StoreUnavailableError`, unless the
caller opted in to a plain 0600 file with ``allow_unencrypted=True``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tokensmith._redact import logger
from tokensmith.errors import StoreError, StoreUnavailableError
from tokensmith.stores._secret_layout import (
    checked_attributes,
    checked_collection,
    checked_text,
)
from tokensmith.stores.lockfile import LOCK_TIMEOUT_S
from tokensmith.stores.snapshot import (
    FileMedium,
    Medium,
    SnapshotStoreBase,
    checked_lock_timeout,
    decode_snapshot,
    touch_signal_file,
)

__all__ = [
    "GONE_HINT",
    "HEADLESS_HINT",
    "LOCKED_HINT",
    "SecretServiceMedium",
    "SecretServiceStore",
]

GONE_HINT = (
    "the Secret Service this store used no longer answers on the D-Bus session bus "
    "(its daemon stopped?): start it again (gnome-keyring-daemon, KeePassXC); the "
    "cache in memory is kept and the store reconnects at its next call"
)
"""The error of a store whose Secret Service answered before and no longer does."""

HEADLESS_HINT = (
    "no Secret Service on the D-Bus session bus (a headless machine, an SSH session or a "
    "container?): start one (gnome-keyring-daemon, KeePassXC) or pass "
    "allow_unencrypted=True to keep the cache in a plain 0600 file"
)
_BUS_NAME = "org.freedesktop.secrets"
_SERVICE_PATH = "/org/freedesktop/secrets"
_SECRET = "org.freedesktop.Secret."
_NO_SERVICE = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
)
LOCKED_HINT = (
    "the keyring holding the token cache is locked: unlock it (a desktop session does "
    "at login); allow_unencrypted=True does not apply here, it is only for a machine "
    "with no Secret Service at all"
)
_NO_KEYRING = (
    " (a service started without one, as gnome-keyring-daemon is in a container without"
    " --unlock): create or unlock a login keyring, name another collection, or pass"
    " allow_unencrypted=True to keep the cache in a plain 0600 file"
)
_IS_LOCKED = "org.freedesktop.Secret.Error.IsLocked"
_NO_SESSION = "org.freedesktop.Secret.Error.NoSession"


class _SessionGone(StoreError):
    """The service knows no such session: it restarted since the session was opened."""


def _open_bus(address: str) -> Any:
    """jeepney's ``open_dbus_connection``, but a socket whose Hello fails is closed (a
    D-Bus peer that is no message bus refuses it: jeepney raised its bare
    DBusErrorResponse and left the socket open), and that refusal is a ValueError."""
    from jeepney.bus import get_bus
    from jeepney.io.blocking import DBusConnection, prep_socket
    from jeepney.wrappers import DBusErrorResponse

    sock = prep_socket(get_bus(address), timeout=1.0)  # (closed by it when it fails)
    try:
        return DBusConnection(sock)
    except DBusErrorResponse as exc:
        sock.close()
        raise ValueError(f"the Hello was refused: {exc.name}") from exc
    except BaseException:
        sock.close()
        raise


def default_schema_name(location: str | os.PathLike[str]) -> str:
    """msal-extensions' default: the SHA-256 hex of the signal file's path as given."""
    return hashlib.sha256(os.fspath(location).encode("utf-8")).hexdigest()


class SecretServiceMedium:
    """One Secret Service item (libsecret's layout) plus a signal file."""

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        schema_name: str | None = None,
        attributes: Mapping[str, str] | None = None,
        label: str = "",
        collection: str | None = None,
        address: str | None = None,
    ) -> None:
        try:
            import jeepney  # noqa: F401
        except ImportError as exc:
            raise StoreUnavailableError(
                "the Secret Service needs: pip install tokensmith[secretservice]"
            ) from exc
        layout = checked_attributes(attributes)  # (before a bus or a folder is touched)
        name = checked_text(schema_name or default_schema_name(location), "schema_name")
        self.label = checked_text(label, "label")
        collection = checked_collection(collection)
        if address is not None:
            checked_text(address, "address")
        self.location = Path(location).expanduser()
        self._signal = FileMedium(self.location)
        self.attributes = {**layout, "xdg:schema": name}
        self.collection = collection or "default"
        self._address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        self._lock = threading.Lock()
        self._conn: Any = None
        self._session = ""
        self._answered = False  # the service answered once: later failures say it is gone
        with self._lock:
            self._connect()
            if collection is None:  # no default keyring: unavailable, as msal-extensions has it
                try:
                    self._collection_path()
                except BaseException:
                    self._disconnect()
                    raise

    def _connect(self) -> None:
        if self._conn is not None:
            return
        if not self._address:
            raise self._unavailable("DBUS_SESSION_BUS_ADDRESS is not set")
        try:
            self._conn = _open_bus(self._address)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:  # tcp: is a RuntimeError
            raise self._unavailable(type(exc).__name__) from exc
        try:
            self._open_session()
        except BaseException:
            self._disconnect()
            raise
        self._answered = True

    def _unavailable(self, detail: str = "") -> StoreUnavailableError:
        """No Secret Service: :data:`HEADLESS_HINT` until one answered, then
        :data:`GONE_HINT` (a store that worked is on no headless machine)."""
        hint = GONE_HINT if self._answered else HEADLESS_HINT
        return StoreUnavailableError(f"{hint} ({detail})" if detail else hint)

    def _open_session(self) -> None:
        _, self._session = self._call(
            _SERVICE_PATH, "Service", "OpenSession", "sv", ("plain", ("s", "")), returns="vo"
        )

    def _in_session(self, call: Callable[[str], Any]) -> Any:
        """``call(session)``; when the service no longer knows the session (a restarted
        gnome-keyring-daemon knows none of the old one's), a new one is opened and
        ``call`` made once more, so a long-lived store outlives the restart."""
        try:
            return call(self._session)
        except _SessionGone:
            self._open_session()
            return call(self._session)

    def _call(
        self,
        path: str,
        interface: str,
        method: str,
        signature: str,
        body: tuple[Any, ...],
        *,
        returns: str,
    ) -> Any:
        """``method``'s reply body, checked to have the signature ``returns`` (the
        specification's): a service answering another shape is a StoreError naming the
        call and the signature, never its values, not an unpacking error later."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.low_level import HeaderFields, SizeLimitError
        from jeepney.wrappers import DBusErrorResponse

        target = DBusAddress(path, bus_name=_BUS_NAME, interface=_SECRET + interface)
        try:
            reply = self._conn.send_and_get_reply(
                new_method_call(target, method, signature, body), timeout=10
            )
            from jeepney import MessageType

            if reply.header.message_type == MessageType.error:
                raise DBusErrorResponse(reply)
        except DBusErrorResponse as exc:
            if exc.name in _NO_SERVICE:
                raise self._unavailable() from exc
            if exc.name == _NO_SESSION:
                raise _SessionGone(f"Secret Service {method} failed: {exc.name}") from exc
            if exc.name == _IS_LOCKED:  # (gnome-keyring's CreateItem in a locked keyring)
                raise StoreUnavailableError(LOCKED_HINT) from exc
            raise StoreError(f"Secret Service {method} failed: {exc.name}") from exc
        except SizeLimitError as exc:  # (raised before anything is sent)
            raise StoreError(
                f"Secret Service {method}: the token cache is too large for D-Bus "
                "(an array holds at most 64 MiB)"
            ) from exc
        except (OSError, TimeoutError) as exc:
            self._conn.close()
            self._conn = None
            raise StoreUnavailableError(f"Secret Service connection lost ({exc})") from exc
        answered = reply.header.fields.get(HeaderFields.signature, "")
        if answered != returns:
            raise StoreError(f"Secret Service {method} answered {answered!r}, not {returns!r}")
        return reply.body

    def _item(self) -> str | None:
        unlocked, locked = self._call(
            _SERVICE_PATH, "Service", "SearchItems", "a{ss}", (self.attributes,), returns="aoao"
        )
        if unlocked:
            return str(unlocked[0])
        if locked:
            raise StoreUnavailableError(LOCKED_HINT)
        return None

    def read(self) -> str | None:
        with self._lock:
            value = self._secret()
        if value is None:
            return None
        return decode_snapshot(value, f"the Secret Service item of {self.location}")

    def _secret(self) -> bytes | None:
        """The item's secret as stored; None if there is no item (call with the lock)."""
        self._connect()
        item = self._item()
        if item is None:
            return None
        ((_, _, value, _),) = self._in_session(
            lambda session: self._call(
                item, "Item", "GetSecret", "o", (session,), returns="(oayays)"
            )
        )
        return bytes(value)

    def write(self, text: str) -> None:
        with self._lock:
            self._connect()
            self._create(self.label, self.attributes, text.encode("utf-8"), replace=True)
        touch_signal_file(self.location)

    def keep_damaged(self, stamp: str) -> str | None:
        """Copy the item, as it is, to another item of the same collection (encrypted
        there too): ``xdg:schema`` = this one's plus ``.corrupt`` (so neither library
        finds it as the cache), attribute ``tokensmith:corrupt`` = ``stamp``."""
        schema = f"{self.attributes['xdg:schema']}.corrupt"
        attributes = {**self.attributes, "xdg:schema": schema, "tokensmith:corrupt": stamp}
        with self._lock:
            value = self._secret()
            if value is None:
                return None
            self._create(f"damaged token cache {stamp}", attributes, value, replace=False)
        return f"the Secret Service item xdg:schema={schema} tokensmith:corrupt={stamp}"

    def _create(
        self, label: str, attributes: Mapping[str, str], data: bytes, *, replace: bool
    ) -> None:
        """CreateItem in the collection (``replace``: the item with these attributes)."""
        properties = {
            _SECRET + "Item.Label": ("s", label),
            _SECRET + "Item.Attributes": ("a{ss}", dict(attributes)),
        }
        collection = self._collection_path()
        _, prompt = self._in_session(
            lambda session: self._call(
                collection,
                "Collection",
                "CreateItem",
                "a{sv}(oayays)b",
                (properties, (session, b"", data, "text/plain"), replace),
                returns="oo",
            )
        )
        if prompt != "/":
            raise StoreUnavailableError(f"{LOCKED_HINT} (it asks for a prompt)")

    def _collection_path(self) -> str:
        """libsecret's reading of ``collection``: an object path as is, else an alias."""
        if "/" in self.collection:
            return self.collection
        (path,) = self._call(
            _SERVICE_PATH, "Service", "ReadAlias", "s", (self.collection,), returns="o"
        )
        if path == "/":
            raise StoreUnavailableError(
                f"the Secret Service has no {self.collection!r} keyring{_NO_KEYRING}"
            )
        return str(path)

    def version(self) -> object | None:
        return self._signal.version()

    def close(self) -> None:
        """Close the D-Bus connection (idempotent)."""
        with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def delete(self) -> None:
        """Remove the item (tests and sign-out-everything tools)."""
        with self._lock:
            self._connect()
            item = self._item()
            if item is not None:
                self._call(item, "Item", "Delete", "", (), returns="o")


class SecretServiceStore(SnapshotStoreBase):
    """The cache encrypted by the Secret Service, shared with msal-extensions'
    ``LibsecretPersistence(location, schema_name, attributes)``.

    Args:
        location: the signal file (its ``.lockfile`` is the cross-process lock).
        schema_name, attributes, label, collection: libsecret's, as given to
            msal-extensions (``collection``: ``None`` is the default keyring).
        address: the D-Bus session bus address (default ``$DBUS_SESSION_BUS_ADDRESS``).
        allow_unencrypted: with no Secret Service (or no default keyring), keep the
            cache in ``location`` as a plain 0600 file (a warning is logged) instead
            of raising.

    Raises:
        StoreUnavailableError: no Secret Service (see :data:`HEADLESS_HINT`), or
            ``collection`` not given and the service has no default keyring (a
            gnome-keyring-daemon started in a container without ``--unlock``), and
            ``allow_unencrypted`` is false. A keyring that exists but is locked is no
            reason to fall back (it may be unlocked later, and the cache would be split
            into a plain file): its reads and writes raise this error
            (:data:`LOCKED_HINT`), ``allow_unencrypted`` or not.
        ConfigurationError: ``schema_name``, ``attributes`` (a mapping), ``label``,
            ``collection`` or ``address`` is not text D-Bus carries (a str, valid
            Unicode, no NUL), or ``collection`` has a ``/`` and is no object path;
            ``lock_timeout`` is not a number of seconds (0 to 2,000,000).
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        schema_name: str | None = None,
        attributes: Mapping[str, str] | None = None,
        label: str = "",
        collection: str | None = None,
        address: str | None = None,
        allow_unencrypted: bool = False,
        lock_timeout: float = LOCK_TIMEOUT_S,
    ) -> None:
        checked_lock_timeout(lock_timeout)  # (before a bus is opened)
        medium: Medium
        try:
            medium = SecretServiceMedium(
                location,
                schema_name=schema_name,
                attributes=attributes,
                label=label,
                collection=collection,
                address=address,
            )
            self.is_encrypted = True
        except StoreUnavailableError:
            if not allow_unencrypted:
                raise
            logger.warning(
                "token store: no Secret Service (or no default keyring); the cache is a plain"
                " file (opted in)"
            )
            medium = FileMedium(location)
            self.is_encrypted = False
        super().__init__(medium, lock_timeout=lock_timeout)
