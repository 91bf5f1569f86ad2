"""In-memory grant state: authorization codes, refresh tokens, device codes, consent.

All methods take the store's lock, so the threaded server may call them concurrently.
Nothing is persisted: restarting the dev IdP invalidates outstanding codes and
refresh tokens (signed access tokens stay verifiable because the key persists).
Pending sign-ins and device authorizations, which anyone can start without a
credential, are capped (:data:`MAX_OUTSTANDING`, oldest forgotten first) so a request
loop cannot exhaust memory.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "MAX_OUTSTANDING",
    "AuthCode",
    "DeviceCode",
    "GrantStore",
    "PendingSignIn",
    "RefreshGrant",
    "Session",
]

MAX_OUTSTANDING = 1000


@dataclass(frozen=True)
class Session:
    """Who signed in, where, and how strongly.

    Attributes:
        oid: the user's object id.
        tenant_id: the tenant the tokens are issued for (``tid``).
        mfa: the sign-in satisfied multi-factor authentication.
        policy: the B2C policy the sign-in ran under, if any.
    """

    oid: str
    tenant_id: str
    mfa: bool = False
    policy: str | None = None


@dataclass(frozen=True)
class AuthCode:
    """An authorization code (single use, 10 minutes; §3.2)."""

    client_id: str
    redirect_uri: str
    scope: str
    session: Session
    expires_at: float
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    claims: str | None = None


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for: a user session for one client (or family)."""

    client_id: str
    family_id: str | None
    session: Session


@dataclass
class DeviceCode:
    """A device authorization (RFC 8628 §3.2) and its progress."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    tenant_segment: str
    expires_at: float
    claims: str | None = None
    status: str = "pending"  # pending | approved | declined | redeemed
    session: Session | None = None


@dataclass
class PendingSignIn:
    """An authorization request between the sign-in page and the redirect back.

    Attributes:
        params: the authorization request's parameters.
        segment: the tenant segment it was addressed to.
        policy: the B2C policy segment, if any.
        expires_at: when the pending sign-in is forgotten.
        oid: the user, once the password was checked.
        mfa: the simulated second factor was approved.
    """

    params: dict[str, str]
    segment: str
    policy: str | None
    expires_at: float
    oid: str | None = None
    mfa: bool = False


@dataclass
class GrantStore:
    """Thread-safe store of outstanding grants."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _codes: dict[str, AuthCode] = field(default_factory=dict)
    _used_codes: set[str] = field(default_factory=set)
    _refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    _devices: dict[str, DeviceCode] = field(default_factory=dict)
    _consents: set[tuple[str, str]] = field(default_factory=set)
    _pending: dict[str, PendingSignIn] = field(default_factory=dict)

    def add_pending(self, pending: PendingSignIn) -> str:
        """Store a pending sign-in and return the opaque key the pages carry."""
        key = secrets.token_urlsafe(24)
        with self._lock:
            _evict_oldest(self._pending)
            self._pending[key] = pending
        return key

    def pending(self, key: str, now: float) -> PendingSignIn | None:
        """The pending sign-in behind ``key`` unless it expired (the object is shared)."""
        with self._lock:
            found = self._pending.get(key)
            if found is not None and found.expires_at < now:
                del self._pending[key]
                return None
            return found

    def drop_pending(self, key: str) -> None:
        """Forget a pending sign-in (it finished)."""
        with self._lock:
            self._pending.pop(key, None)

    def add_code(self, code: AuthCode) -> str:
        """Store an authorization code and return its value."""
        value = "0.dev." + secrets.token_urlsafe(32)
        with self._lock:
            self._codes[value] = code
        return value

    def redeem_code(self, value: str) -> AuthCode | str:
        """Consume a code; returns it, or ``"used"`` / ``"unknown"``."""
        with self._lock:
            if value in self._used_codes:
                return "used"
            code = self._codes.pop(value, None)
            if code is None:
                return "unknown"
            self._used_codes.add(value)
            return code

    def add_refresh(self, grant: RefreshGrant) -> str:
        """Store a refresh grant and return a new opaque refresh token."""
        value = "1.dev." + secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[value] = grant
        return value

    def refresh(self, value: str) -> RefreshGrant | None:
        """The grant behind a refresh token (old tokens stay valid, as in Entra)."""
        with self._lock:
            return self._refresh.get(value)

    def add_device(self, device: DeviceCode) -> None:
        """Store a new device authorization."""
        with self._lock:
            _evict_oldest(self._devices)
            self._devices[device.device_code] = device

    def device(self, device_code: str) -> DeviceCode | None:
        """A copy of the device authorization with this device code."""
        with self._lock:
            found = self._devices.get(device_code)
            return replace(found) if found else None

    def device_by_user_code(self, user_code: str) -> DeviceCode | None:
        """A copy of the pending device authorization with this user code."""
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for device in self._devices.values():
                if device.user_code == wanted and device.status == "pending":
                    return replace(device)
        return None

    def settle_device(self, device_code: str, status: str, session: Session | None) -> bool:
        """Move a pending device authorization to ``status``; False if it was not pending."""
        with self._lock:
            device = self._devices.get(device_code)
            if device is None or device.status != "pending":
                return False
            device.status, device.session = status, session
            return True

    def redeem_device(self, device_code: str) -> bool:
        """Mark an approved device authorization as redeemed; False if it was not approved."""
        with self._lock:
            device = self._devices.get(device_code)
            if device is None or device.status != "approved":
                return False
            device.status = "redeemed"
            return True

    def grant_consent(self, oid: str, client_id: str) -> None:
        """Record that the user consented to the app."""
        with self._lock:
            self._consents.add((oid, client_id))

    def has_consent(self, oid: str, client_id: str) -> bool:
        """Whether the user consented to the app."""
        with self._lock:
            return (oid, client_id) in self._consents


def _evict_oldest(table: dict[str, Any]) -> None:
    """Make room for one more entry under :data:`MAX_OUTSTANDING` (insertion order)."""
    while len(table) >= MAX_OUTSTANDING:
        del table[next(iter(table))]
