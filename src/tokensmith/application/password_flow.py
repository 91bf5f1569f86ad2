"""Resource-owner password credentials (RFC 6749 §4.3) as MSAL runs it against Entra.

Entra first answers a user-realm query; a federated realm would need WS-Trust, which
tokensmith does not speak yet, so it gets a clear error dict instead of a failed grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokensmith.application.acquire import exchange, extra_form_fields, record
from tokensmith.application.headers import request_headers
from tokensmith.application.results import TokenResult, error_result
from tokensmith.authority import AuthorityKind
from tokensmith.entra.userrealm import user_realm
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.password import password_form

if TYPE_CHECKING:
    from tokensmith.application.client_application import ClientApplication

__all__ = ["acquire"]


def acquire(
    app: ClientApplication,
    username: str,
    password: str,
    scopes: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> TokenResult:
    """Run the password grant for ``app`` and cache the result."""
    if not username or not isinstance(username, str):
        raise ConfigurationError("username must be a non-empty string")
    if not isinstance(password, str):
        raise ConfigurationError("password must be a string")
    ctx = app._ctx
    handle = app._handle(kwargs.get("authority"))
    decorated = app._decorate(scopes)
    if handle.spec.kind is AuthorityKind.AAD:
        realm_headers = request_headers(ctx.base_headers, "by_username_password")
        spec = handle.spec  # the authority's own host and port (the cache's instance has none)
        realm = ctx.run(
            user_realm(spec.instance, username, headers=realm_headers, scheme=spec.scheme)
        )
        if str(realm.get("account_type", "")).lower() == "federated":
            return error_result(
                "invalid_request",
                "This account is federated (its sign-in happens at another identity provider "
                "over WS-Trust), which tokensmith does not support yet. Use device code or "
                "interactive sign-in for this account.",
            )
    data = extra_form_fields(kwargs.get("data"))
    form = dict(data)
    form.update(
        password_form(
            client_id=ctx.client_id,
            username=username,
            password=password,
            scopes=decorated,
            claims=app._claims(claims_challenge),
        )
    )
    headers = request_headers(
        ctx.base_headers, "by_username_password", anchor_mailbox=f"upn:{username}"
    )
    response = ctx.run(exchange(ctx, handle, form, headers))
    return record(
        ctx, handle, response, scopes=decorated, grant_type="password", data=data, username=username
    )
