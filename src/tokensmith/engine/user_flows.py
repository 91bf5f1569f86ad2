"""Public-client grants that start from what the user holds: device code (RFC 8628),
username/password (RFC 6749 §4.3, with Entra's user realm discovery), and the import
of a refresh token obtained elsewhere (RFC 6749 §6)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.authority import AuthorityKind
from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.dpop import binding_of
from tokensmith.engine.keywords import extra_form_fields
from tokensmith.engine.results import TokenResult
from tokensmith.engine.token_call import obtain, record
from tokensmith.entra import headers as api
from tokensmith.entra.headers import anchor_for_username, new_correlation_id, request_headers
from tokensmith.entra.userrealm import user_realm
from tokensmith.errors import ConfigurationError
from tokensmith.protocol import device_code, password, refresh_token
from tokensmith.protocol.effects import Flow

__all__ = [
    "DEVICE_FLOW_CORRELATION_ID",
    "acquire_token_by_device_flow",
    "acquire_token_by_refresh_token",
    "acquire_token_by_username_password",
    "initiate_device_flow",
]

DEVICE_FLOW_CORRELATION_ID = device_code.CORRELATION_ID_KEY


def initiate_device_flow(
    ctx: AppContext, scopes: Any, claims_challenge: str | None, kwargs: Mapping[str, Any]
) -> Flow[dict[str, Any]]:
    """The flow of ``initiate_device_flow``: MSAL's flow dict, or the provider's error.

    Raises:
        ValueError: bad scopes or authority; the authority offers no device code flow
            (raised by the flow, after discovery).
    """
    handle = ctx.handle(kwargs.get("authority"))
    decorated = ctx.decorate(scopes or [])
    return _initiate(ctx, handle, decorated, ctx.claims(claims_challenge), kwargs.get("authority"))


def _initiate(
    ctx: AppContext,
    handle: AuthorityHandle,
    decorated: list[str],
    claims: str | None,
    authority: Any,
) -> Flow[dict[str, Any]]:
    metadata = yield from metadata_of(handle)
    endpoint = metadata.device_authorization_endpoint
    if not endpoint:
        raise ConfigurationError(
            f"The authority {handle.spec.canonical_url} does not offer the device code flow"
        )
    correlation_id = new_correlation_id()
    headers = request_headers(
        ctx.base_headers, api.ACQUIRE_TOKEN_BY_DEVICE_FLOW, correlation_id=correlation_id
    )
    flow = yield from device_code.initiate_device_flow(
        endpoint,
        client_id=ctx.client_id,
        scopes=decorated,
        claims=claims,
        headers=headers,
        now=ctx.clock(),
        correlation_id=correlation_id,
    )
    if "error" not in flow:
        if "message" not in flow:  # RFC 8628 has none; apps print it, as Entra sends one
            flow["message"] = (
                "To sign in, use a web browser to open the page "
                f"{flow.get('verification_uri')} and enter the code "
                f"{flow.get('user_code')} to authenticate."
            )
        flow["_scope"] = decorated
        flow["_authority"] = authority
    return flow


def acquire_token_by_device_flow(
    ctx: AppContext,
    flow: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_by_device_flow``: poll, then cache the result.

    Raises:
        ValueError: ``flow`` is not the dict ``initiate_device_flow`` returned.
    """
    if not isinstance(flow, dict) or "device_code" not in flow:
        raise ConfigurationError("flow must be the dict initiate_device_flow returned")
    scope = flow.get("_scope")
    if scope is not None and (
        not isinstance(scope, list) or not all(isinstance(s, str) for s in scope)
    ):
        raise ConfigurationError("flow['_scope'] is damaged: not the list of scopes it held")
    handle = ctx.handle(flow.get("_authority"))
    exit_condition: Callable[[dict[str, Any]], bool] | None = kwargs.get("exit_condition")
    return _poll(ctx, handle, flow, ctx.claims(claims_challenge), exit_condition, kwargs)


def _poll(
    ctx: AppContext,
    handle: AuthorityHandle,
    flow: dict[str, Any],
    claims: str | None,
    exit_condition: Callable[[dict[str, Any]], bool] | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    metadata = yield from metadata_of(handle)
    correlation_id = flow.get(DEVICE_FLOW_CORRELATION_ID) or new_correlation_id()
    headers = request_headers(
        ctx.base_headers, api.ACQUIRE_TOKEN_BY_DEVICE_FLOW, correlation_id=correlation_id
    )
    response = yield from device_code.poll_device_flow(
        metadata.token_endpoint,
        flow,
        client_id=ctx.client_id,
        client_auth=ctx.client_auth,
        headers=headers,
        clock=ctx.clock,
        claims=claims,
        exit_condition=exit_condition,
        dpop=binding_of(ctx) if ctx.dpop is not None else None,
    )
    return record(
        ctx,
        handle,
        response,
        scopes=flow.get("_scope") or ctx.decorate([]),
        grant_type=device_code.GRANT_TYPE,
        data=kwargs.get("data"),
    )


def acquire_token_by_username_password(
    ctx: AppContext,
    username: Any,
    secret: Any,
    scopes: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_by_username_password`` (arguments checked now).

    Entra first answers a user-realm query; a federated realm signs in over WS-Trust
    at its federation server (:mod:`tokensmith.engine.federated`).

    Raises:
        ValueError: an empty username, a password that is not a string, bad scopes.
    """
    if ctx.is_public:
        warnings.warn(
            "The username/password flow is deprecated for public clients; "
            "use device code or interactive sign-in.",
            DeprecationWarning,
            stacklevel=3,
        )
    if not username or not isinstance(username, str):
        raise ConfigurationError("username must be a non-empty string")
    if not isinstance(secret, str):
        raise ConfigurationError("password must be a string")
    handle = ctx.handle(kwargs.get("authority"))
    form = password.password_form(
        client_id=ctx.client_id,
        username=username,
        password=secret,
        scopes=ctx.decorate(scopes),
        claims=ctx.claims(claims_challenge),
    )
    return _password(ctx, handle, username, form, extra_form_fields(kwargs.get("data")))


def _password(
    ctx: AppContext,
    handle: AuthorityHandle,
    username: str,
    form: dict[str, str],
    data: dict[str, str],
) -> Flow[TokenResult]:
    if handle.spec.kind is AuthorityKind.AAD:
        realm_headers = request_headers(ctx.base_headers, api.ACQUIRE_TOKEN_BY_USERNAME_PASSWORD)
        spec = handle.spec  # the authority's own host and port (the cache's instance has none)
        realm = yield from user_realm(
            spec.instance, username, headers=realm_headers, scheme=spec.scheme
        )
        from tokensmith.engine.federated import is_federated, sign_in_federated  # XML: lazily

        if is_federated(realm):  # WS-Trust at the federation server, then a SAML grant
            return (
                yield from sign_in_federated(
                    ctx,
                    handle,
                    realm,
                    username=username,
                    password=form["password"],
                    scopes=form["scope"].split(),
                    claims=form.get("claims"),
                    data=data,
                )
            )
    return (
        yield from obtain(
            ctx,
            handle,
            form,
            api=api.ACQUIRE_TOKEN_BY_USERNAME_PASSWORD,
            scopes=form["scope"].split(),
            grant_type=password.GRANT_TYPE,
            data=data,
            anchor=anchor_for_username(username),
            username=username,
        )
    )


def acquire_token_by_refresh_token(
    ctx: AppContext, token: Any, scopes: Any, kwargs: Mapping[str, Any]
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_by_refresh_token``: redeem a refresh token obtained
    elsewhere and cache what comes back.

    Raises:
        ValueError: an empty refresh token, bad scopes or authority.
    """
    if not token or not isinstance(token, str):
        raise ConfigurationError("refresh_token must be a non-empty string")
    handle = ctx.handle(kwargs.get("authority"))
    decorated = ctx.decorate(scopes)
    form = refresh_token.refresh_token_form(
        client_id=ctx.client_id,
        refresh_token=token,
        scopes=decorated,
        claims=ctx.claims(kwargs.get("claims_challenge")),
    )
    return obtain(
        ctx,
        handle,
        form,
        api=api.ACQUIRE_TOKEN_BY_REFRESH_TOKEN,
        scopes=decorated,
        grant_type=refresh_token.GRANT_TYPE,
        data=kwargs.get("data"),
        refresh_reason=1,
    )
