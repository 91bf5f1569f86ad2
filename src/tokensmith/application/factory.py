"""Assembling an application's context from MSAL's constructor arguments."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from tokensmith._clock import Clock
from tokensmith.application.context import AppContext, AuthorityHandle
from tokensmith.application.headers import library_headers
from tokensmith.authority import (
    Authority,
    AuthorityMetadata,
    AuthoritySpec,
    discover,
    parse_authority,
)
from tokensmith.authority.memo import metadata_memo
from tokensmith.cache import TokenCache
from tokensmith.entra.instance_discovery import aliases_for
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.client_auth import (
    ClientAuth,
    PublicClientAuth,
    client_auth_from_credential,
)
from tokensmith.transport.base import Transport

__all__ = ["base_headers", "build_context", "public_authority"]

base_headers = library_headers


def build_context(
    *,
    client_id: str,
    client_credential: Any,
    authority: Any,
    oidc_authority: str | None,
    validate_authority: bool,
    instance_discovery: bool | str | None,
    known_authorities: Collection[str],
    cache: TokenCache,
    http_client: Any,
    transport: Transport | None,
    verify: bool | str,
    proxies: Any,
    timeout: Any,
    client_claims: dict[str, Any] | None,
    headers: dict[str, str],
    clock: Clock,
    sleep: Callable[[float], None],
    is_public: bool,
) -> tuple[AppContext, AuthoritySpec]:
    """Parse the authority, build client authentication, and wire the lazy transport.

    Raises:
        ValueError: bad credential or authority (``ConfigurationError``).
    """
    options: dict[str, Any] = {
        "validate_authority": validate_authority,
        "instance_discovery": instance_discovery,
        "known_authorities": tuple(known_authorities),
    }
    spec = parse_authority(authority, oidc_authority=oidc_authority, **options)
    client_auth = _client_auth(client_credential, client_id, spec, client_claims, is_public)
    use_aliases = instance_discovery is not False and not spec.is_known_to_developer

    def make_transport() -> Transport:
        return _transport_stack(
            http_client, transport, verify, proxies, timeout, clock, sleep, is_public
        )

    ctx = AppContext(
        client_id=client_id,
        cache=cache,
        client_auth=client_auth,
        transport_factory=make_transport,
        resolve=_resolve,
        aliases=(lambda host: aliases_for(host)) if use_aliases else (lambda host: ()),
        base_headers=headers,
        clock=clock,
        sleep=sleep,
        authority_options=options,
    )
    return ctx, spec


def public_authority(handle: AuthorityHandle) -> Authority:
    """MSAL's ``app.authority`` object, lazy like the handle it wraps."""
    return Authority(handle.spec, lambda _spec: handle.metadata)


def _resolve(spec: AuthoritySpec, ctx: AppContext) -> AuthorityMetadata:
    return metadata_memo.resolve(spec, lambda: ctx.run(discover(spec)))


def _client_auth(
    credential: Any,
    client_id: str,
    spec: AuthoritySpec,
    client_claims: dict[str, Any] | None,
    is_public: bool,
) -> ClientAuth:
    if is_public:
        if credential is not None:
            raise ConfigurationError(
                "A public client application does not take a client_credential; "
                "use ConfidentialClientApplication"
            )
        return PublicClientAuth()
    if credential is None:
        raise ConfigurationError("ConfidentialClientApplication needs a client_credential")
    return client_auth_from_credential(
        credential, client_id=client_id, is_adfs=spec.is_adfs, client_claims=client_claims
    )


def _transport_stack(
    http_client: Any,
    transport: Transport | None,
    verify: bool | str,
    proxies: Any,
    timeout: Any,
    clock: Clock,
    sleep: Callable[[float], None],
    is_public: bool,
) -> Transport:
    from tokensmith.transport.resilient import ResilientTransport
    from tokensmith.transport.retry import RetryPolicy
    from tokensmith.transport.throttle import Throttle

    inner: Transport
    if transport is not None:
        inner = transport
    elif http_client is not None:
        from tokensmith.transport.http_client_adapter import HttpClientTransport

        inner = HttpClientTransport(http_client)
    else:
        from tokensmith.transport.httpx_transport import DEFAULT_TIMEOUT, HttpxTransport

        inner = HttpxTransport(
            verify=verify,
            proxies=proxies,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        )
    throttle = Throttle(clock, default_retry_after=60.0 if is_public else 5.0)
    return ResilientTransport(inner, retry=RetryPolicy(clock=clock), throttle=throttle, sleep=sleep)
