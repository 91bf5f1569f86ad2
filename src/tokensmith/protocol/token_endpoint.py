"""One request to the token endpoint and the reading of its answer (RFC 6749 §3.2, §5).

:func:`token_request` POSTs a form (RFC 6749 §3.2), adding only the client
authentication fields, and returns a dict:

* 2xx with ``access_token``: the response (RFC 6749 §5.1), with ``expires_in``,
  ``ext_expires_in`` and ``refresh_in`` made integers, once every field tokensmith
  reads has been checked (:func:`check_token_response`): tokens, ``token_type``,
  ``scope``, ``client_info`` and ``foci`` strings (UTF-8 text), lifetimes finite and
  at most ten years, ``expires_on`` an epoch before year 3000; otherwise
  ``invalid_response`` (the id_token is checked by the flow that reads it);
* 4xx (incl. 429) with a JSON object carrying ``error``: that object untouched
  (RFC 6749 §5.2, plus Entra's ``error_codes``, ``suberror``, ``claims``...);
* anything malformed: ``{"error": "invalid_response", "error_description": ...}``;
  a plain-text 429: ``{"error": "temporarily_unavailable", ...}``.

HTTP 5xx raises :class:`~tokensmith.errors.MsalServiceError`, as MSAL Python does.
Descriptions never quote the body, which may echo secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith._redact import SECRET_FIELDS, logger
from tokensmith.errors import ProtocolError
from tokensmith.protocol._wire import (
    FORM_HEADERS,
    MAX_EPOCH,
    exchange,
    json_object,
    seconds,
    service_error,
    text,
)
from tokensmith.protocol.client_auth import ClientAuth
from tokensmith.protocol.dpop_client import DPoPBinding, dpop_exchange, require_bound
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse, describe_url, retry_after_of

__all__ = ["INTEGER_FIELDS", "check_token_response", "parse_token_response", "token_request"]

INTEGER_FIELDS = ("expires_in", "ext_expires_in", "refresh_in")
"""Lifetime fields that some servers send as strings and that are returned as ints."""


def token_request(
    token_endpoint: str,
    form: Mapping[str, str],
    *,
    headers: Mapping[str, str],
    client_auth: ClientAuth,
    now: float,
    dpop: DPoPBinding | None = None,
    audience: str | None = None,
) -> Flow[dict[str, Any]]:
    """POST ``form`` plus the client authentication fields to ``token_endpoint``.

    Args:
        token_endpoint: absolute URL of the token endpoint.
        form: every body field of the grant (``grant_type``, ``client_id``, ``scope``,
            ``client_info``...).
        headers: request headers; ``Accept: application/json`` is added if absent.
        client_auth: adds ``client_secret`` or ``client_assertion`` fields.
        now: epoch seconds, used to time client assertions.
        dpop: the application's DPoP key and nonces: the request carries a fresh
            proof, a ``use_dpop_nonce`` answer is retried once with the server's
            newest nonce, and a success that is not ``token_type=DPoP`` is refused
            (:mod:`tokensmith.protocol.dpop_client`).
        audience: the ``aud`` of a signed client assertion when it is not
            ``token_endpoint`` (a regional request names the authority's endpoint,
            as MSAL's does).

    Returns:
        A flow returning the token response or an error dict (see the module doc).

    Raises:
        MsalServiceError: the endpoint answered HTTP 5xx.
        ConfigurationError: the client assertion callable returned no usable value.
        TransportError: from the driver, when the request got no answer.
    """
    data = dict(form)
    data.update(
        client_auth.form_fields(
            token_endpoint, now, fmi_path=data.get("fmi_path"), audience=audience
        )
    )
    merged_headers = dict(FORM_HEADERS)
    merged_headers.update(headers)
    secret = frozenset(k for k in data if k.lower() in SECRET_FIELDS)
    request = HttpRequest(
        "POST",
        token_endpoint,
        data=data,
        headers=merged_headers,
        secret_fields=secret | client_auth.secret_field_names,
    )
    if dpop is None:
        response = yield from exchange(request)
        return parse_token_response(response, now=now, url=token_endpoint)
    response = yield from dpop_exchange(request, dpop, now)
    return require_bound(parse_token_response(response, now=now, url=token_endpoint))


def _invalid(what: str, status: int) -> dict[str, Any]:
    logger.warning("token endpoint: %s (HTTP %d)", what, status)
    return {"error": "invalid_response", "error_description": f"{what} (HTTP {status})"}


_TEXT_FIELDS = ("refresh_token", "id_token", "token_type", "scope", "client_info", "foci")


def check_token_response(body: dict[str, Any]) -> None:
    """Check every field of a successful token response that tokensmith reads or
    caches, and make the lifetimes integers (in place).

    Raises:
        ProtocolError: the first field of the wrong type or out of range, by name.
    """
    text(body.get("access_token"), "access_token", empty=False)
    for name in _TEXT_FIELDS:
        if name in body:
            text(body[name], name)
    for name in INTEGER_FIELDS:
        if name in body:
            body[name] = seconds(body[name], name)
    if "expires_on" in body:
        seconds(body["expires_on"], "expires_on", high=MAX_EPOCH)
    # client_info's content is checked where it is decoded, before anything is
    # cached (tokensmith.cache.events): decoding it twice would cost every refresh


def parse_token_response(
    response: HttpResponse, *, now: float, url: str | None = None
) -> dict[str, Any]:
    """Turn a token endpoint response into a result dict (see the module doc).

    Args:
        url: the token endpoint, named (scheme, host, path) in an error's message.

    Raises:
        MsalServiceError: HTTP 5xx.
    """
    status = response.status_code
    body, reason = json_object(response.text)
    if status >= 500:
        where = f"token endpoint {describe_url(url)}" if url else "token endpoint"
        raise service_error(where, status, body)
    if 400 <= status < 500:
        if body is not None and isinstance(body.get("error"), str):
            return body
        if status == 429:
            result: dict[str, Any] = {
                "error": "temporarily_unavailable",
                "error_description": "the token endpoint is throttling requests (HTTP 429)",
            }
            retry_after = retry_after_of(response, now)
            if retry_after is not None:
                result["retry_after"] = int(retry_after)
            return result
        return _invalid(reason or "the error body has no 'error' field", status)
    if not 200 <= status < 300:
        return _invalid("unexpected HTTP status", status)
    if body is None:
        return _invalid(reason, status)
    if "error" in body:
        if isinstance(body["error"], str):
            return body
        return _invalid("'error' is not a string", status)
    if not body.get("access_token"):
        return _invalid("the response has neither 'access_token' nor 'error'", status)
    try:
        check_token_response(body)
    except ProtocolError as exc:
        return _invalid(str(exc), status)
    return body
