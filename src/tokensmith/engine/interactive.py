"""``acquire_token_interactive``: the authorization code flow with the browser step as
an effect (:class:`~tokensmith.protocol.effects.BrowserSignIn`).

The driver listens on loopback (RFC 8252: ``state`` checked by the listener, one
response accepted), asks this flow for the request to open, and hands back the
browser's answer; the code is then redeemed as in
:func:`~tokensmith.engine.auth_code.complete_flow` (state again, nonce in the id_token).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.engine.auth_code import FORM_POST_ADVICE, check_max_age, complete_flow, new_flow
from tokensmith.engine.context import AppContext, metadata_of
from tokensmith.engine.results import TokenResult
from tokensmith.entra import headers as api
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import BrowserSignIn, Flow, sign_in_in_browser

__all__ = ["acquire_token_interactive"]


def acquire_token_interactive(
    ctx: AppContext,
    scopes: Any,
    *,
    prompt: str | None,
    login_hint: str | None,
    domain_hint: str | None,
    claims_challenge: str | None,
    timeout: float | None,
    port: int | None,
    extra_scopes_to_consent: Any,
    max_age: int | None,
    on_before_launching_ui: Callable[..., object] | None,
    auth_scheme: Any,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The flow of ``acquire_token_interactive`` (arguments checked now).

    Raises:
        ValueError: bad arguments (``auth_scheme`` needs a broker).
    """
    if auth_scheme is not None:
        raise ConfigurationError("auth_scheme (PoP) needs a broker, which is not enabled")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        raise ConfigurationError("timeout must be a number of seconds or None")
    check_max_age(max_age)
    decorated = ctx.decorate(scopes or [])
    extra = _extra_scopes(extra_scopes_to_consent)
    # no http.server until a sign-in
    from tokensmith.interactive.listener import RESPONSE_MODES
    from tokensmith.interactive.templates import Pages

    pages = Pages(
        welcome=kwargs.get("welcome_template"),
        success=kwargs.get("success_template"),
        error=kwargs.get("error_template"),
    )
    response_mode = kwargs.get("response_mode") or "form_post"
    if response_mode not in RESPONSE_MODES:
        raise ConfigurationError(f"response_mode must be one of {RESPONSE_MODES}")
    if response_mode != "form_post":
        warnings.warn(FORM_POST_ADVICE, UserWarning, stacklevel=3)
    request = sorted(set(decorated) | extra)
    auth_params = {"prompt": prompt, "login_hint": login_hint, "domain_hint": domain_hint}

    def sign_in(endpoint: str, flows: list[dict[str, Any]]) -> BrowserSignIn:
        def start(redirect_uri: str) -> tuple[str, str]:
            flow = new_flow(
                ctx,
                endpoint,
                request,
                redirect_uri=redirect_uri,
                state=None,
                claims_challenge=claims_challenge,
                max_age=max_age,
                response_mode=response_mode,
                **auth_params,
            )
            flows.append(flow)
            return flow["state"], flow["auth_uri"]

        return BrowserSignIn(
            start=start,
            port=port,
            response_mode=response_mode,
            pages=pages,
            timeout=timeout,
            browser_name=kwargs.get("browser_name"),
            auth_uri_callback=kwargs.get("auth_uri_callback"),
            on_before_launching_ui=on_before_launching_ui,
        )

    return _interactive(ctx, sign_in, decorated, kwargs)


def _interactive(
    ctx: AppContext,
    sign_in: Callable[[str, list[dict[str, Any]]], BrowserSignIn],
    decorated: list[str],
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    metadata = yield from metadata_of(ctx.default)
    flows: list[dict[str, Any]] = []
    auth_response = yield from sign_in_in_browser(sign_in(metadata.authorization_endpoint, flows))
    return (
        yield from complete_flow(
            ctx, flows[-1], auth_response, decorated, kwargs, api=api.ACQUIRE_TOKEN_INTERACTIVE
        )
    )


def _extra_scopes(extra: Any) -> set[str]:
    if not extra:
        return set()
    if not isinstance(extra, (list, tuple, set)) or not all(isinstance(s, str) for s in extra):
        raise ConfigurationError("extra_scopes_to_consent must be a list of strings")
    return set(extra)
