"""The broker backend interface and the values that cross it.

A broker is a component of the device (Windows WAM, the macOS Enterprise SSO plug-in,
Microsoft's Linux identity broker, tokensmith's open broker) that signs users in and
keeps their refresh tokens, bound to the device, away from the application.
:class:`BrokerBackend` is modelled on msal-node's ``INativeBrokerPlugin``: accounts,
silent and interactive acquisition, sign-out, and a signed HTTP request (PoP). The
values here belong to no backend: :mod:`tokensmith.broker.runtime` maps them onto
Microsoft's pymsalruntime, :mod:`tokensmith.broker.dbus_client` onto the Linux
broker's D-Bus JSON protocol.

Backend calls block (interactive ones until the person is done). Engine flows never
call a backend themselves: they yield :class:`~tokensmith.protocol.effects.BrokerCall`
and the driver makes the call (in a worker thread under asyncio).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tokensmith.errors import TokensmithError

__all__ = [
    "BrokerAccount",
    "BrokerBackend",
    "BrokerCapabilities",
    "BrokerError",
    "BrokerStatus",
    "BrokerToken",
    "BrokerUnavailable",
    "InteractiveRequest",
    "PopParams",
    "TokenRequest",
]


class BrokerStatus(enum.Enum):
    """Why a broker call failed: MSALRuntime's ``Response_Status`` names, lower-cased.

    The values are MSALRuntime's numbering (``@azure/msal-node-runtime`` ``ErrorStatus``),
    which the D-Bus protocol's ``status`` field carries too.
    """

    UNEXPECTED = 0
    RESERVED = 1
    INTERACTION_REQUIRED = 2
    NO_NETWORK = 3
    NETWORK_TEMPORARILY_UNAVAILABLE = 4
    SERVER_TEMPORARILY_UNAVAILABLE = 5
    API_CONTRACT_VIOLATION = 6
    USER_CANCELED = 7
    APPLICATION_CANCELED = 8
    INCORRECT_CONFIGURATION = 9
    INSUFFICIENT_BUFFER = 10
    AUTHORITY_UNTRUSTED = 11
    USER_SWITCH = 12
    ACCOUNT_UNUSABLE = 13
    USER_DATA_REMOVAL_REQUIRED = 14
    KEY_NOT_FOUND = 15
    ACCOUNT_NOT_FOUND = 16
    TRANSIENT_ERROR = 17
    ACCOUNT_SWITCH = 18
    REQUIRED_BROKER_MISSING = 19
    DEVICE_NOT_REGISTERED = 20
    FALLBACK_TO_NATIVE_MSAL = 21

    @classmethod
    def of(cls, value: object) -> BrokerStatus:
        """The status numbered ``value`` (a number or a numeric string); ``UNEXPECTED``
        for anything else."""
        try:
            return cls(int(str(value)))
        except ValueError:
            return cls.UNEXPECTED

    @property
    def recoverable_by_interaction(self) -> bool:
        """A silent failure that an interactive sign-in may fix (MSAL's rule)."""
        return self in (BrokerStatus.INTERACTION_REQUIRED, BrokerStatus.ACCOUNT_UNUSABLE)


class BrokerError(TokensmithError):
    """A broker answered a request with an error (not a transport failure).

    Attributes:
        status: the broker's :class:`BrokerStatus`.
        context: the broker's description (may quote Entra's ``AADSTS...`` text).
        error_code: the broker's numeric error code (0 when none).
        tag: the broker's source tag (0 when none).
    """

    def __init__(
        self, status: BrokerStatus, context: str, *, error_code: int = 0, tag: int = 0
    ) -> None:
        super().__init__(f"{context} (status {status.name})")
        self.status = status
        self.context = context
        self.error_code = error_code
        self.tag = tag


class BrokerUnavailable(TokensmithError):
    """The broker cannot be reached or initialised (no session bus, no broker
    installed, a runtime that refuses to start). Only this one deactivates a broker,
    and only while the application is being built."""


@dataclass(frozen=True)
class BrokerCapabilities:
    """What a backend can do beyond bearer tokens.

    Attributes:
        pop: signed HTTP requests (SHR PoP tokens, ``auth_scheme=PopAuthScheme(...)``).
        username_password: the resource-owner password grant through the broker.
        force_refresh: the broker honours ``force_refresh`` (WAM and MSALRuntime do not).
    """

    pop: bool = False
    username_password: bool = False
    force_refresh: bool = False


@dataclass(frozen=True)
class BrokerAccount:
    """An account as the broker knows it.

    Attributes:
        account_id: the broker's own id of the account (MSAL keeps it as the cache
            account's ``local_account_id``).
        home_account_id: ``<oid>.<tid>``.
        environment: the cloud host the broker signed the account into.
        realm: the tenant id.
        username: the sign-in name (UPN).
        display_name: the person's name.
        client_info: base64url ``{"uid", "utid"}``, when the broker has it.
        raw: the broker's own record, handed back verbatim on later calls.
    """

    account_id: str
    home_account_id: str | None = None
    environment: str | None = None
    realm: str | None = None
    username: str | None = field(default=None, repr=False)
    display_name: str | None = field(default=None, repr=False)
    client_info: str | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class PopParams:
    """A signed HTTP request to bind a PoP token to (MSAL's ``PopAuthScheme``).

    Attributes:
        http_method: uppercase HTTP method of the resource request.
        host: ``host[:port]`` of the resource URL.
        path: path of the resource URL (no query).
        nonce: the resource's nonce (``WWW-Authenticate: PoP nonce=...``).
    """

    http_method: str
    host: str
    path: str
    nonce: str


@dataclass(frozen=True)
class TokenRequest:
    """One token request to a broker.

    Attributes:
        client_id: the application's client id.
        authority: ``https://{instance}/{tenant}``.
        scopes: the scopes asked for, undecorated (brokers add the reserved ones).
        redirect_uri: the broker redirect URI of the platform.
        correlation_id: a UUID for the broker's logs.
        account: the account for a silent call (None: the broker's default account).
        claims: the claims request (challenge merged with the client capabilities).
        pop: bind the token to a signed HTTP request.
        extra: additional parameters (``domain_hint``, ``max_age``, MSAL's ``data``).
        force_refresh: skip the broker's cache (where the broker honours it:
            :attr:`BrokerCapabilities.force_refresh`).
    """

    client_id: str
    authority: str
    scopes: Sequence[str]
    redirect_uri: str
    correlation_id: str
    account: BrokerAccount | None = None
    claims: str | None = field(default=None, repr=False)
    pop: PopParams | None = None
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)
    force_refresh: bool = False


@dataclass(frozen=True)
class InteractiveRequest(TokenRequest):
    """An interactive sign-in through the broker's UI.

    Attributes:
        login_hint: the account to sign in (None: let the person pick).
        prompt: ``"select_account"``, ``"login"``, ``"consent"`` or None.
        parent_window: the window the broker's dialog belongs to (None: the console
            or desktop window, MSAL's ``CONSOLE_WINDOW_HANDLE``).
    """

    login_hint: str | None = None
    prompt: str | None = None
    parent_window: Any = None


@dataclass(frozen=True)
class BrokerToken:
    """What a broker sign-in or silent call returns.

    Attributes:
        access_token: the access token, or for PoP the signed HTTP request.
        token_type: ``"Bearer"`` or ``"pop"``.
        expires_on: epoch seconds.
        scopes: the granted scopes.
        id_token: the raw id_token, when there is one.
        account: the account the token is for.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_on: int
    scopes: tuple[str, ...]
    account: BrokerAccount
    id_token: str | None = field(default=None, repr=False)


@runtime_checkable
class BrokerBackend(Protocol):
    """A broker, as the engine's flows use it (every method blocks).

    Failures the broker reports are :class:`BrokerError`; a broker that cannot be
    reached is :class:`BrokerUnavailable`.
    """

    name: str
    capabilities: BrokerCapabilities
    redirect_uri: str

    def get_accounts(self, client_id: str, correlation_id: str) -> list[BrokerAccount]:
        """The accounts the broker knows for ``client_id``."""
        ...

    def read_account(
        self, client_id: str, account_id: str, correlation_id: str
    ) -> BrokerAccount | None:
        """The account the broker knows by ``account_id`` (for ``client_id``); None if
        it knows none."""
        ...

    def sign_in_silently(self, request: TokenRequest) -> BrokerToken:
        """A token for the device's default account, without UI."""
        ...

    def sign_in_interactively(self, request: InteractiveRequest) -> BrokerToken:
        """A token after the broker's sign-in UI."""
        ...

    def acquire_token_silently(self, request: TokenRequest) -> BrokerToken:
        """A token for ``request.account``, without UI."""
        ...

    def sign_out(self, client_id: str, account: BrokerAccount, correlation_id: str) -> None:
        """Sign ``account`` out of ``client_id``."""
        ...

    def generate_signed_http_request(
        self,
        client_id: str,
        account: BrokerAccount,
        pop: PopParams,
        correlation_id: str,
        access_token: str | None = None,
    ) -> str:
        """A signed HTTP request (SHR) for ``pop`` with the broker's PoP key, wrapping
        ``access_token`` (tokensmith's broker needs it; Microsoft's signs its own)."""
        ...

    def close(self) -> None:
        """Release the connection or runtime."""
        ...
