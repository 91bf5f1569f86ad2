"""Fault switches: make the token endpoint misbehave on purpose, per client or user.

A fault matches a request when its ``client_id`` (if set) equals the requesting
client and its ``user`` (if set) equals the signed-in user; it fires ``count`` times
(``None`` = until cleared). The errors are the ones Entra sends
(reference/entra-protocol.md §4.7, §5, §8, §11.5)::

    authorization_pending  device flow: AADSTS70016, keep polling
    slow_down              device flow: RFC 8628 §3.5, poll less often
    expired_token          device flow: AADSTS70020, code expired
    bad_token              invalid_grant AADSTS700082 + suberror bad_token
    consent_required       invalid_grant AADSTS65001 + suberror consent_required
    mfa_required           invalid_grant AADSTS50076 + suberror basic_action + claims
    throttle               HTTP 429 with Retry-After (JSON body, or plain text)
    server_error           HTTP 5xx (503 by default) with a JSON body
    delay                  answer normally after ``seconds``
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tokensmith.devidp.errors import OAuthError
from tokensmith.errors import ConfigurationError

__all__ = ["DEVICE_FAULTS", "FAULT_KINDS", "MFA_CLAIMS_CHALLENGE", "Fault", "Faults", "fault_error"]

DEVICE_FAULTS = frozenset({"authorization_pending", "slow_down", "expired_token"})
USER_FAULTS = frozenset({"bad_token", "consent_required", "mfa_required"})
FAULT_KINDS = DEVICE_FAULTS | USER_FAULTS | {"throttle", "server_error", "delay"}

MAX_DELAY = 300.0

MFA_POLICY_ID = "f3a4c2d1-7b6e-4d5c-9a8b-1e2f3a4b5c6d"
MFA_CLAIMS_CHALLENGE = (
    '{"access_token":{"capolids":{"essential":true,"values":["' + MFA_POLICY_ID + '"]}}}'
)


@dataclass
class Fault:
    """One armed fault switch (see the module docstring for the kinds)."""

    kind: str
    client_id: str | None = None
    user: str | None = None
    remaining: int | None = 1
    retry_after: int = 5
    status: int = 503
    seconds: float = 1.0
    plain_text: bool = False


@dataclass
class Faults:
    """The programmatic fault switches of a running dev IdP (``DevIdP.faults``)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _armed: list[Fault] = field(default_factory=list)

    def add(
        self,
        kind: str,
        *,
        client_id: str | None = None,
        user: str | None = None,
        count: int | None = 1,
        retry_after: int = 5,
        status: int = 503,
        seconds: float = 1.0,
        plain_text: bool = False,
    ) -> Fault:
        """Arm a fault and return it.

        Raises:
            ConfigurationError: unknown kind, bad count, a non-5xx ``status``, or
                ``seconds`` / ``retry_after`` out of range.
        """
        if kind not in FAULT_KINDS:
            raise ConfigurationError(f"unknown fault {kind!r}; known: {sorted(FAULT_KINDS)}")
        if count is not None and count < 1:
            raise ConfigurationError("fault count must be >= 1, or None for 'until cleared'")
        if kind == "server_error" and not 500 <= status <= 599:
            raise ConfigurationError("server_error status must be 5xx")
        if not 0 <= seconds <= MAX_DELAY:  # also refuses NaN
            raise ConfigurationError(f"fault seconds must be between 0 and {MAX_DELAY}")
        if not 0 <= retry_after <= 3600:
            raise ConfigurationError("fault retry_after must be between 0 and 3600")
        fault = Fault(kind, client_id, user.lower() if user else None, count)
        fault.retry_after, fault.status = retry_after, status
        fault.seconds, fault.plain_text = seconds, plain_text
        with self._lock:
            self._armed.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def armed(self) -> list[Fault]:
        """A snapshot of the armed faults."""
        with self._lock:
            return list(self._armed)

    def take(self, *, client_id: str, user: str | None, device: bool) -> Fault | None:
        """Consume and return the first fault matching this request, if any.

        Args:
            client_id: the requesting client.
            user: the signed-in user's UPN, or None before it is known (then only
                faults without a ``user`` match).
            device: the request polls a device code (device faults apply only then).
        """
        with self._lock:
            for fault in self._armed:
                if fault.client_id not in (None, client_id):
                    continue
                if fault.user is not None and (user is None or fault.user != user.lower()):
                    continue
                if (user is None) != (fault.user is None):
                    continue
                if fault.kind in DEVICE_FAULTS and not device:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._armed.remove(fault)
                return fault
        return None


def fault_error(fault: Fault, client_id: str) -> OAuthError | None:
    """The error a fault answers with (None for ``delay``)."""
    kind = fault.kind
    if kind == "authorization_pending":
        msg = "OAuth 2.0 device flow error. Authorization is pending. Continue polling."
        return OAuthError(kind, 70016, msg)
    if kind == "slow_down":
        return OAuthError(kind, 0, "Polling too frequently. Slow down.")
    if kind == "expired_token":
        msg = "The provided value for the input parameter 'device_code' is not valid. "
        return OAuthError(kind, 70020, msg + "This device code has expired.")
    if kind == "bad_token":
        msg = "The refresh token has expired due to inactivity."
        return OAuthError("invalid_grant", 700082, msg, suberror="bad_token")
    if kind == "consent_required":
        return consent_required_error(client_id)
    if kind == "mfa_required":
        return mfa_required_error()
    if kind == "throttle":
        return OAuthError(
            "temporarily_unavailable",
            90055,
            "Too many requests. Retry after the time in the Retry-After header.",
            status=429,
            headers={"Retry-After": str(fault.retry_after)},
            plain_text=fault.plain_text,
        )
    if kind == "server_error":
        msg = "A transient error has occurred. Please try again."
        return OAuthError("server_error", 90033, msg, status=fault.status)
    return None


def consent_required_error(client_id: str) -> OAuthError:
    """AADSTS65001: the user has not consented to the app."""
    msg = (
        f"The user or administrator has not consented to use the application with ID "
        f"'{client_id}'. Send an interactive authorization request for this user and resource."
    )
    return OAuthError("invalid_grant", 65001, msg, suberror="consent_required")


def mfa_required_error() -> OAuthError:
    """AADSTS50076: multi-factor authentication required, with a claims challenge."""
    msg = (
        "Due to a configuration change made by your administrator, or because you moved "
        "to a new location, you must use multi-factor authentication to access the resource."
    )
    return OAuthError(
        "invalid_grant", 50076, msg, suberror="basic_action", claims=MFA_CLAIMS_CHALLENGE
    )
