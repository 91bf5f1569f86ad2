"""A direct D-Bus client of the Linux identity broker, in pure Python (jeepney).

It speaks the broker's JSON protocol (:mod:`tokensmith.broker.wire`) to whatever owns
``com.microsoft.identity.broker1`` on the session bus: Microsoft's
``microsoft-identity-broker``, himmelblau, or ``tokensmith broker``. Unlike
pymsalruntime it needs no native library (pymsalruntime on Linux loads WebKitGTK just
to import). Methods are called without introspection (brokers > 2.0.1 do not answer
it); interactive calls have no timeout, the others 60 s.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tokensmith.broker import wire
from tokensmith.broker.base import (
    BrokerAccount,
    BrokerCapabilities,
    BrokerError,
    BrokerStatus,
    BrokerToken,
    BrokerUnavailable,
    InteractiveRequest,
    PopParams,
    TokenRequest,
)
from tokensmith.broker.policy import LINUX_REDIRECT_URI

__all__ = ["DBusBroker"]

CALL_TIMEOUT = 60.0


class DBusBroker:
    """:class:`~tokensmith.broker.base.BrokerBackend` over the session bus.

    Use :meth:`connect`. PoP goes through only to a broker that says it signs HTTP
    requests (tokensmith's answers ``getLinuxBrokerVersion`` with
    ``openBrokerVersion``); MSAL sends no PoP to Linux brokers.
    """

    name = "dbus"
    redirect_uri = LINUX_REDIRECT_URI

    def __init__(self, connection: DBusConnection, bus: str, capabilities: BrokerCapabilities):
        self._conn = connection
        self._bus = bus
        self._lock = threading.Lock()
        self._address = DBusAddress(
            wire.OBJECT_PATH, bus_name=wire.BUS_NAME, interface=wire.INTERFACE
        )
        self.capabilities = capabilities

    @classmethod
    def connect(cls, bus: str = "SESSION") -> DBusBroker:
        """Connect to the session bus and ask the broker its version (starting it
        through D-Bus activation when it is not running).

        Raises:
            BrokerUnavailable: no session bus, or no broker on it.
        """
        try:
            connection = open_dbus_connection(bus=bus)
        except (OSError, KeyError, ValueError) as exc:  # KeyError: no bus address set
            raise BrokerUnavailable(f"no D-Bus session bus: {exc}") from exc
        probe = cls(connection, bus, BrokerCapabilities())
        try:
            version = probe._call("getLinuxBrokerVersion", {"msalCppVersion": "tokensmith"}, 10.0)
        except BrokerError as exc:
            connection.close()
            raise BrokerUnavailable(f"no broker on the session bus: {exc.context}") from exc
        ours = isinstance(version.get("openBrokerVersion"), str)  # tokensmith broker
        probe.capabilities = BrokerCapabilities(pop=ours, force_refresh=ours)
        return probe

    def _call(self, method: str, request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        correlation_id = str(uuid.uuid4())
        args = (wire.PROTOCOL_VERSION, correlation_id, _json(request))
        message = new_method_call(self._address, method, "sss", args)
        try:
            if timeout is None:  # waits for a person: a connection of its own
                with open_dbus_connection(bus=self._bus) as own:
                    reply = own.send_and_get_reply(message)
            else:
                with self._lock:
                    reply = self._conn.send_and_get_reply(message, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise BrokerError(BrokerStatus.TRANSIENT_ERROR, f"D-Bus {method}: {exc}") from exc
        if reply.header.message_type == MessageType.error:
            name = reply.header.fields.get(4, "org.freedesktop.DBus.Error.Failed")  # ERROR_NAME
            detail = reply.body[0] if reply.body else ""
            raise BrokerError(BrokerStatus.UNEXPECTED, f"D-Bus {method}: {name}: {detail}")
        if not reply.body or not isinstance(reply.body[0], str):
            raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, f"{method} answered no JSON")
        return wire.decode(reply.body[0])

    def get_accounts(self, client_id: str, correlation_id: str) -> list[BrokerAccount]:
        response = self._call(
            "getAccounts", {"clientId": client_id, "redirectUri": correlation_id}, CALL_TIMEOUT
        )
        return wire.accounts_from_json(response)

    def read_account(
        self, client_id: str, account_id: str, correlation_id: str
    ) -> BrokerAccount | None:
        for account in self.get_accounts(client_id, correlation_id):
            if account.account_id == account_id:
                return account
        return None

    def _token(
        self, method: str, request: TokenRequest, kind: int, timeout: float | None
    ) -> BrokerToken:
        body: dict[str, Any] = {"authParameters": wire.auth_parameters(request, kind)}
        if request.account is not None:
            body["account"] = wire.account_to_json(request.account)
        return wire.token_from_json(self._call(method, body, timeout), request.account)

    def sign_in_silently(self, request: TokenRequest) -> BrokerToken:
        """The protocol has no "default account": the one account the broker knows."""
        accounts = self.get_accounts(request.client_id, request.correlation_id)
        if len(accounts) != 1:
            raise BrokerError(
                BrokerStatus.INTERACTION_REQUIRED, f"the broker knows {len(accounts)} accounts"
            )
        return self.acquire_token_silently(_for(request, accounts[0]))

    def sign_in_interactively(self, request: InteractiveRequest) -> BrokerToken:
        return self._token("acquireTokenInteractively", request, wire.AUTH_INTERACTIVE, None)

    def acquire_token_silently(self, request: TokenRequest) -> BrokerToken:
        if request.account is None:
            return self.sign_in_silently(request)
        return self._token("acquireTokenSilently", request, wire.AUTH_SILENT, CALL_TIMEOUT)

    def sign_out(self, client_id: str, account: BrokerAccount, correlation_id: str) -> None:
        request = {"clientId": client_id, "account": wire.account_to_json(account)}
        wire.raise_error(self._call("removeAccount", request, CALL_TIMEOUT))

    def generate_signed_http_request(
        self,
        client_id: str,
        account: BrokerAccount,
        pop: PopParams,
        correlation_id: str,
        access_token: str | None = None,
    ) -> str:
        params = dict(wire.pop_to_json(pop), homeAccountId=account.home_account_id or "")
        request = {
            "clientId": client_id,
            "account": wire.account_to_json(account),
            "popParams": params,
        }
        if access_token is not None:
            request["accessToken"] = access_token
        response = self._call("generateSignedHttpRequest", request, CALL_TIMEOUT)
        wire.raise_error(response)
        shr = response.get("signedHttpRequest")
        if not isinstance(shr, str) or not shr:
            raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "no signedHttpRequest")
        return shr

    def close(self) -> None:
        self._conn.close()


def _for(request: TokenRequest, account: BrokerAccount) -> TokenRequest:
    from dataclasses import replace

    return replace(request, account=account)


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
