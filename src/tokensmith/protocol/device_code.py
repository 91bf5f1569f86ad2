"""Device authorization grant (RFC 8628): sign in on another device with a user code.

:func:`initiate_device_flow` is the device authorization request (§3.1-§3.2) and
returns MSAL's flow dict; :func:`poll_device_flow` polls the token endpoint (§3.4-§3.5)
until the user finishes, the code expires, or the caller aborts by setting
``flow["expires_at"] = 0`` (from any thread) or through ``exit_condition``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tokensmith._clock import Clock
from tokensmith.errors import ProtocolError
from tokensmith.protocol._forms import base_form
from tokensmith.protocol._wire import (
    FORM_HEADERS,
    exchange,
    json_object,
    seconds,
    service_error,
    text,
)
from tokensmith.protocol.client_auth import ClientAuth
from tokensmith.protocol.dpop_client import DPoPBinding
from tokensmith.protocol.effects import Flow, Sleep
from tokensmith.protocol.http import HttpRequest, describe_url
from tokensmith.protocol.scopes import scope_string
from tokensmith.protocol.token_endpoint import token_request

__all__ = [
    "CORRELATION_ID_KEY",
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_INTERVAL",
    "GRANT_TYPE",
    "RETRIABLE_ERRORS",
    "initiate_device_flow",
    "poll_device_flow",
]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
DEFAULT_EXPIRES_IN = 1800
SLOW_DOWN_STEP = 5
MAX_INTERVAL = 3600
"""The longest polling interval accepted from a server (seconds)."""
MAX_EXPIRES_IN = 86400
"""The longest device code lifetime accepted from a server (seconds; Entra's is 900)."""
EXPIRED = {
    "error": "expired_token",
    "error_description": "The device code expired before the user finished signing in "
    "(RFC 8628 §3.5); start again with initiate_device_flow.",
}
CORRELATION_ID_KEY = "_correlation_id"
RETRIABLE_ERRORS = frozenset({"authorization_pending", "slow_down"})


def _with_correlation(headers: Mapping[str, str] | None, correlation_id: object) -> dict[str, str]:
    merged = dict(FORM_HEADERS)
    merged.update(headers or {})
    has_id = any(k.lower() == "client-request-id" for k in merged)
    if isinstance(correlation_id, str) and correlation_id and not has_id:
        merged["client-request-id"] = correlation_id
    return merged


def _invalid(what: str, status: int) -> dict[str, Any]:
    return {"error": "invalid_response", "error_description": f"{what} (HTTP {status})"}


def initiate_device_flow(
    device_authorization_endpoint: str,
    *,
    client_id: str,
    scopes: list[str] | tuple[str, ...] | set[str],
    claims: str | None = None,
    headers: Mapping[str, str] | None = None,
    now: float,
    correlation_id: str | None = None,
) -> Flow[dict[str, Any]]:
    """Ask for a device code and user code.

    Returns:
        A flow returning the server's fields plus ``interval`` (int, default 5),
        ``expires_in`` (int, default 1800), ``expires_at`` (``now + expires_in``) and
        ``_correlation_id``; or the server's error dict; or ``invalid_response`` when
        the answer lacks ``device_code``/``user_code`` or is not a JSON object.

    Raises:
        MsalServiceError: the endpoint answered HTTP 5xx.
    """
    form = {"client_id": client_id, "scope": scope_string(scopes)}
    if claims:
        form["claims"] = claims
    request = HttpRequest(
        "POST",
        device_authorization_endpoint,
        data=form,
        headers=_with_correlation(headers, correlation_id),
        secret_fields=frozenset({"claims"}),
    )
    response = yield from exchange(request)
    status = response.status_code
    body, reason = json_object(response.text)
    if status >= 500:
        where = f"device authorization endpoint {describe_url(device_authorization_endpoint)}"
        raise service_error(where, status, body)
    if body is None:
        return _invalid(reason, status)
    if "error" in body:
        if isinstance(body["error"], str):
            return body
        return _invalid("'error' is not a string", status)
    if not body.get("device_code") or not body.get("user_code"):
        return _invalid("the response lacks 'device_code' or 'user_code'", status)
    try:
        for name in ("device_code", "user_code", "verification_uri", "message"):
            if name in body:
                text(body[name], name)
        body["interval"] = seconds(
            body.get("interval", DEFAULT_INTERVAL), "interval", high=MAX_INTERVAL
        )
        body["expires_in"] = seconds(
            body.get("expires_in", DEFAULT_EXPIRES_IN), "expires_in", high=MAX_EXPIRES_IN
        )
    except ProtocolError as exc:
        return _invalid(str(exc), status)
    body["expires_at"] = now + body["expires_in"]
    body[CORRELATION_ID_KEY] = correlation_id
    return body


def _interval(flow: Mapping[str, Any]) -> float:
    value = flow.get("interval", DEFAULT_INTERVAL)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_INTERVAL
    if not 0 <= value <= MAX_INTERVAL + 10 * SLOW_DOWN_STEP:  # NaN and inf too
        return DEFAULT_INTERVAL
    return value


def poll_device_flow(
    token_endpoint: str,
    flow: dict[str, Any],
    *,
    client_id: str,
    client_auth: ClientAuth,
    headers: Mapping[str, str] | None = None,
    clock: Clock,
    claims: str | None = None,
    exit_condition: Callable[[dict[str, Any]], bool] | None = None,
    dpop: DPoPBinding | None = None,
) -> Flow[dict[str, Any]]:
    """Poll until the user signs in, the code expires, or the caller gives up.

    Sends ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` with both
    ``device_code`` and ``code`` (MSAL's spelling). Between polls it waits
    ``flow["interval"]`` seconds, as one-second :class:`Sleep` slices so that an abort
    is noticed within a second; ``slow_down`` adds 5 s to ``flow["interval"]``.
    Before every slice and every poll it checks ``flow["expires_at"]`` (re-read each
    time): once ``clock()`` reaches it, the code has expired and the result is
    ``{"error": "expired_token", ...}`` (RFC 8628 §3.5). An abort (``expires_at`` set
    to 0 or a non-number, or ``exit_condition(flow)`` true) returns the last
    ``authorization_pending``/``slow_down`` error, as MSAL does.

    Returns:
        A flow returning the token response or the first non-retriable error dict.

    Raises:
        ValueError: ``flow`` is not a device flow dict (no ``device_code``).
        MsalServiceError: the token endpoint answered HTTP 5xx.
    """
    device_code = flow.get("device_code") if isinstance(flow, dict) else None
    if not isinstance(device_code, str) or not device_code:
        raise ValueError("flow has no 'device_code'; pass the dict initiate_device_flow returned")
    merged_headers = _with_correlation(headers, flow.get(CORRELATION_ID_KEY))

    def stop(last: dict[str, Any]) -> dict[str, Any] | None:
        """The result to stop with (the last one on an abort), or None to go on."""
        if exit_condition is not None and exit_condition(flow):
            return last
        expires_at = flow.get("expires_at", 0)  # re-read: another thread may set it to 0
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
            return last
        if expires_at <= 0:  # MSAL's abort: flow["expires_at"] = 0
            return last
        return dict(EXPIRED) if clock() >= expires_at else None

    while True:
        form = base_form(
            GRANT_TYPE, client_id=client_id, scopes=None, claims=claims, client_info=True
        )
        form["device_code"] = device_code
        form["code"] = device_code
        result = yield from token_request(
            token_endpoint,
            form,
            headers=merged_headers,
            client_auth=client_auth,
            now=clock(),
            dpop=dpop,
        )
        if result.get("error") not in RETRIABLE_ERRORS:
            return result
        if result["error"] == "slow_down":
            flow["interval"] = _interval(flow) + SLOW_DOWN_STEP
        waited, interval = 0.0, _interval(flow)
        while True:
            stopped = stop(result)
            if stopped is not None:
                return stopped
            if waited >= interval:
                break
            step = min(1.0, interval - waited)
            left = float(flow["expires_at"]) - clock()
            yield Sleep(step, waits_for_user=True, seconds_left=max(0.0, left))
            waited += step
