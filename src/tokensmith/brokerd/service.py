"""The open broker on the session bus: owns ``com.microsoft.identity.broker1`` and
serves interface ``com.microsoft.identity.Broker1`` at ``/com/microsoft/identity/broker1``
with jeepney, as Microsoft's broker does (reference/broker-pop.md §1.1, §1.2).

Besides the broker's eight ``(sss) -> s`` methods it answers
``org.freedesktop.DBus.Peer.Ping`` (MSALRuntime pings the broker when it starts) and
``org.freedesktop.DBus.Introspectable.Introspect``. Each call runs in a worker thread
(an interactive one may take minutes); only callers of the daemon's own Unix user are
served (``GetConnectionUnixUser``).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jeepney import HeaderFields, MatchRule, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tokensmith._redact import logger
from tokensmith.broker import wire
from tokensmith.brokerd.core import OpenBroker

__all__ = ["BrokerService", "NameTaken"]

_PEER = "org.freedesktop.DBus.Peer"
_INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
_DO_NOT_QUEUE = 4
_PRIMARY_OWNER = 1
_ERROR_PREFIX = "org.tokensmith.Broker1.Error"


class NameTaken(RuntimeError):
    """Another process owns the broker's bus name."""


def introspection_xml() -> str:
    """The interface as D-Bus introspection data (Microsoft's broker > 2.0.1 sends
    none; clients call without it)."""
    methods = "".join(
        f'<method name="{name}"><arg name="protocolVersion" type="s" direction="in"/>'
        '<arg name="correlationId" type="s" direction="in"/>'
        '<arg name="requestJson" type="s" direction="in"/>'
        '<arg name="responseJson" type="s" direction="out"/></method>'
        for name in wire.METHODS
    )
    return (
        '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" '
        '"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">'
        f'<node><interface name="{wire.INTERFACE}">{methods}</interface>'
        f'<interface name="{_PEER}"><method name="Ping"/></interface></node>'
    )


class BrokerService:
    """Serves ``broker`` on a bus until :meth:`stop`.

    Args:
        broker: the method handlers.
        bus: ``"SESSION"`` (``$DBUS_SESSION_BUS_ADDRESS``) or a bus address.
    """

    def __init__(self, broker: OpenBroker, bus: str = "SESSION") -> None:
        self.broker = broker
        self._bus = bus
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._ask_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="broker-call")
        self._conn: DBusConnection | None = None
        self._ask: DBusConnection | None = None
        self.ready = threading.Event()

    def serve(self, on_ready: Callable[[], object] | None = None) -> None:
        """Own the name and answer calls until :meth:`stop` (blocking).

        Raises:
            NameTaken: another broker owns the name.
            OSError: no bus to connect to.
        """
        self._conn = conn = open_dbus_connection(bus=self._bus)
        self._ask = open_dbus_connection(bus=self._bus)
        try:
            # calls queued for an activated broker arrive right behind the name's reply:
            # keep them (jeepney drops what comes before a reply, unless filtered)
            early: deque[Any] = deque()
            with conn.filter(MatchRule(type="method_call"), queue=early):
                request = message_bus.RequestName(wire.BUS_NAME, _DO_NOT_QUEUE)
                reply = conn.send_and_get_reply(request)
            if reply.body[0] != _PRIMARY_OWNER:
                raise NameTaken(f"{wire.BUS_NAME} is owned by another process")
            self.ready.set()
            if on_ready is not None:
                on_ready()
            while early:
                self._dispatch(early.popleft())
            while not self._stop.is_set():
                try:
                    message = conn.receive(timeout=0.25)
                except TimeoutError:
                    continue
                if message.header.message_type == MessageType.method_call:
                    self._dispatch(message)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            conn.close()
            self._ask.close()

    def stop(self) -> None:
        """End :meth:`serve` (within a quarter of a second)."""
        self._stop.set()

    def _send(self, message: Any) -> None:
        assert self._conn is not None
        with self._send_lock:
            self._conn.send_message(message)

    def _dispatch(self, message: Any) -> None:
        fields = message.header.fields
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        if member == "Ping" and interface in (_PEER, None):
            self._send(new_method_return(message))
        elif member == "GetMachineId" and interface == _PEER:
            self._send(new_method_return(message, "s", (_machine_id(),)))
        elif member == "Introspect" and interface in (_INTROSPECTABLE, None):
            self._send(new_method_return(message, "s", (introspection_xml(),)))
        elif member in wire.METHODS and interface in (wire.INTERFACE, None):
            self._pool.submit(self._call, message, member)
        else:
            error = "org.freedesktop.DBus.Error.UnknownMethod"
            self._send(new_error(message, error, "s", (f"no method {interface}.{member}",)))

    def _call(self, message: Any, member: str) -> None:
        try:
            if not self._same_user(message.header.fields.get(HeaderFields.sender)):
                text = "the broker serves its own user only"
                self._send(new_error(message, f"{_ERROR_PREFIX}.AccessDenied", "s", (text,)))
                return
            body = message.body
            if message.header.fields.get(HeaderFields.signature) != "sss" or len(body) != 3:
                text = "the arguments must be (protocolVersion, correlationId, requestJson)"
                self._send(new_error(message, f"{_ERROR_PREFIX}.InvalidRequest", "s", (text,)))
                return
            self._send(new_method_return(message, "s", (self.broker.handle(member, body[2]),)))
        except Exception:  # a bug must not end the daemon; the caller gets an error
            logger.exception("broker %s failed", member)
            text = f"{member} failed inside the broker"
            self._send(new_error(message, "org.freedesktop.DBus.Error.Failed", "s", (text,)))

    def _same_user(self, sender: object) -> bool:
        if not isinstance(sender, str) or self._ask is None:
            return False
        with self._ask_lock:
            reply = self._ask.send_and_get_reply(message_bus.GetConnectionUnixUser(sender))
        return bool(reply.body) and reply.body[0] == os.getuid()


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii") as f:
                return f.read().strip()
        except OSError:
            continue
    return ""
