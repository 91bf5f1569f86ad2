"""The keywords an acquire method takes beyond its grant's own parameters, as MSAL
Python 1.39 reads them: ``data`` (extra body fields), ``fmi_path`` (client
credentials) and ``forwarded_client_claims`` (client credentials, on-behalf-of, code
redemption); the transport keywords MSAL hands on to its ``http_client`` (:func:`call_options`,
:func:`with_call_options`); and the check that no other keyword slips through unheard.

Both extras become fields of the request's ``data``, so they take part in the
extended cache key (``ext_cache_key``, :func:`tokensmith.cache.schema.compute_ext_cache_key`)
exactly as in MSAL: a token obtained for FMI path A is never served for path B, nor one
obtained with some forwarded claims for other (or no) claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from tokensmith.engine.context import AppContext
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.claims import (
    CLIENT_CLAIMS_FIELD,
    merge_claims_objects,
    parse_claims_object,
)
from tokensmith.protocol.effects import Done, Flow, Shared
from tokensmith.protocol.http import CallOptions, HttpRequest, check_timeout

__all__ = [
    "FMI_PATH_FIELD",
    "call_options",
    "check_keywords",
    "check_ssh_cert",
    "extra_form_fields",
    "request_data",
    "wire_claims",
    "with_call_options",
]

T = TypeVar("T")

FMI_PATH_FIELD = "fmi_path"
"""Body field of the Federated Managed Identity credential path."""


def extra_form_fields(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The caller's ``data={...}`` extra body parameters (MSAL's hidden kwarg), as strings."""
    return {str(k): str(v) for k, v in (data or {}).items() if v is not None}


def check_keywords(method: str, kwargs: Mapping[str, Any], accepted: frozenset[str]) -> None:
    """Refuse a keyword the method would not honour, as Python refuses an unknown one.

    Raises:
        TypeError: ``kwargs`` holds a name outside ``accepted``; the message names it.
    """
    if kwargs and not accepted.issuperset(kwargs):
        name = next(k for k in kwargs if k not in accepted)
        raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


def check_ssh_cert(data: Mapping[str, Any]) -> None:
    """MSAL's rule for an SSH certificate request (``data={"token_type": "ssh-cert"}``):
    it must name the public key (``req_cnf``, a JWK) and its ``key_id``.

    Raises:
        ValueError: one of the two is missing (``ConfigurationError``).
    """
    if data.get("token_type") != "ssh-cert":
        return
    for name, what in (
        ("req_cnf", "containing the public key in JWK format (RFC 7517)"),
        ("key_id", "which identifies the key in the 'req_cnf' argument"),
    ):
        if not data.get(name):
            raise ConfigurationError(
                f"When requesting an SSH certificate, you must include a string "
                f"parameter named {name!r} {what}."
            )


def request_data(
    data: Mapping[str, Any] | None,
    *,
    fmi_path: object = None,
    forwarded_client_claims: object = None,
) -> dict[str, str]:
    """The request's extra fields: the caller's ``data`` plus the two extras.

    Raises:
        ValueError: ``fmi_path`` or ``forwarded_client_claims`` is not a string, or the
            claims are not a JSON object (``ConfigurationError``; MSAL's wording).
    """
    fields = extra_form_fields(data) if data else {}
    if fmi_path is not None:
        if not isinstance(fmi_path, str):
            raise ConfigurationError(f"fmi_path must be a string, got {type(fmi_path).__name__}")
        fields[FMI_PATH_FIELD] = fmi_path
    if forwarded_client_claims is not None:
        if not isinstance(forwarded_client_claims, str):
            raise ConfigurationError(
                "forwarded_client_claims must be a string, got "
                f"{type(forwarded_client_claims).__name__}"
            )
        try:
            parse_claims_object(forwarded_client_claims)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        fields[CLIENT_CLAIMS_FIELD] = forwarded_client_claims
    return fields


def wire_claims(
    ctx: AppContext, claims_challenge: str | None, data: Mapping[str, str]
) -> str | None:
    """The ``claims`` to send: the challenge with the client capabilities, then the
    client-originated claims (``data``'s :data:`CLIENT_CLAIMS_FIELD`) merged in.

    Raises:
        ValueError: a claims value is not a JSON object.
    """
    forwarded = data.get(CLIENT_CLAIMS_FIELD) if data else None
    if forwarded is None:  # the usual case, on every silent call
        return ctx.claims(claims_challenge)
    return merge_claims_objects(ctx.claims(claims_challenge), forwarded)


_GRANT_KEYWORDS: dict[str, frozenset[str]] = {
    "acquire_token_silent": frozenset({"data", "auth_scheme", "forwarded_client_claims"}),
    "acquire_token_silent_with_error": frozenset(
        {"data", "auth_scheme", "forwarded_client_claims"}
    ),
    "acquire_token_by_refresh_token": frozenset({"data", "authority", "claims_challenge"}),
    "acquire_token_by_username_password": frozenset({"data", "authority", "auth_scheme"}),
    "initiate_device_flow": frozenset({"authority"}),
    "acquire_token_interactive": frozenset(
        {
            "welcome_template",
            "success_template",
            "error_template",
            "response_mode",
            "browser_name",
            "auth_uri_callback",
            "data",
            "verify_id_token_signature",
            "enable_msa_passthrough",
        }
    ),
    "acquire_token_by_device_flow": frozenset({"data", "authority", "exit_condition"}),
    "acquire_token_by_auth_code_flow": frozenset(
        {"data", "redirect_uri", "verify_id_token_signature"}
    ),
    "acquire_token_for_client": frozenset({"data", "authority", "force_refresh", "auth_scheme"}),
    "acquire_token_on_behalf_of": frozenset({"data", "authority"}),
    "acquire_token_by_authorization_code": frozenset({"data", "authority"}),
    "acquire_token_by_user_federated_identity_credential": frozenset({"data", "authority"}),
}
"""The keywords each method's grant reads itself (the rest go to the transport)."""

_MSAL_OWN = frozenset({"headers", "post", "grant_type", "on_obtaining_tokens", "scope", "data"})
"""Names MSAL 1.39 passes to its token request itself: given (and not read by the
grant, as ``data`` is), they are its ``TypeError`` ("got multiple values")."""

_OWN_TRANSPORT = "timeout", "params"


def call_options(
    method: str, kwargs: dict[str, Any], *, passthrough: bool
) -> tuple[Mapping[str, str] | None, CallOptions | None]:
    """Take the transport keywords out of ``kwargs`` (in place), as MSAL 1.39 hands
    them to ``http_client.post``: ``timeout=`` bounds each connect and read of the
    call's requests, ``params=`` joins the query string; any other keyword MSAL does
    not read itself goes to an MSAL-style ``http_client`` verbatim (``passthrough``),
    which decides (a ``requests.Session`` refuses an unknown one, as under MSAL).

    Returns:
        ``(params, options)``, both ``None`` when the call has no such keyword.

    Raises:
        TypeError: a keyword MSAL would refuse (``headers=``...), or, without an
            ``http_client``, one tokensmith's own transport cannot honour per call;
            the message names it.
        ValueError: ``timeout`` or ``params`` of the wrong shape.
    """
    grant = _GRANT_KEYWORDS.get(method, frozenset())
    names = [name for name in kwargs if name not in grant]
    if not names:
        return None, None
    for name in names:
        if name in _MSAL_OWN:
            raise TypeError(f"{method}() got multiple values for keyword argument {name!r}")
        if not passthrough and name not in _OWN_TRANSPORT:
            raise TypeError(
                f"{method}() got an unexpected keyword argument {name!r} (without an "
                "http_client, tokensmith takes only timeout= and params= per call)"
            )
    taken = {name: kwargs.pop(name) for name in names}
    params = _params(taken.pop("params", None))
    timeout = check_timeout(taken.pop("timeout", None))
    options = CallOptions(timeout, taken) if timeout is not None or taken else None
    return params, options


def _params(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigurationError("params must be a mapping of query parameter names to values")
    return {k: str(v) for k, v in value.items() if v is not None}


def with_call_options(
    flow: Flow[T], params: Mapping[str, str] | None, options: CallOptions | None
) -> Flow[T]:
    """``flow`` whose form POSTs (the token and device-code requests, where MSAL sends
    the keywords; not discovery, nor a WS-Trust envelope) carry ``params`` in their
    query and ``options`` as :attr:`HttpRequest.per_call`; shared flows it starts too."""
    if type(flow) is Done or (params is None and options is None):
        return flow
    return _stamping(flow, params, options)


def _stamping(
    flow: Flow[T], params: Mapping[str, str] | None, options: CallOptions | None
) -> Flow[T]:
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(effect, HttpRequest):
            if effect.method == "POST" and effect.content is None:
                query = {**(effect.params or {}), **params} if params else effect.params
                effect = effect._replace(params=query, per_call=options)
        elif isinstance(effect, Shared):
            effect = _shared(effect, params, options)
        try:
            reply, error = (yield effect), None
        except GeneratorExit:
            flow.close()
            raise
        except BaseException as exc:  # thrown back in where the flow yielded
            reply, error = None, exc


def _shared(
    effect: Shared[Any], params: Mapping[str, str] | None, options: CallOptions | None
) -> Shared[Any]:
    inner = effect.flow
    return Shared(effect.group, effect.key, lambda: with_call_options(inner(), params, options))
