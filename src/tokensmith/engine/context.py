"""What one application shares between its calls, and the authority of one request.

:class:`AppContext` holds everything the flows read: client id and authentication,
the token cache, the clock, the static headers, the scope and claims settings, and the
authorities (the constructor's default and any per-request override, each parsed once
per application). It does no I/O and holds no transport: the façade owns the transport
and a driver runs the flows the engine builds from this context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._clock import Clock
from tokensmith.authority import AuthorityKind, AuthoritySpec, parse_authority
from tokensmith.cache.access import CacheAccess
from tokensmith.cache.hooks import cache_access
from tokensmith.engine.dpop import DPoPSetting
from tokensmith.entra.tenants import is_multi_tenant, static_realm
from tokensmith.protocol.claims import merge_claims
from tokensmith.protocol.client_auth import ClientAuth
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.scopes import decorate_scopes

if TYPE_CHECKING:  # discovery loads with the first flow that needs it, not for a cache hit
    from tokensmith._http_cache import HttpCache
    from tokensmith.authority import AuthorityMetadata

__all__ = ["AppContext", "AuthorityHandle", "metadata_of", "realm_of"]


class AuthorityHandle:  # not a dataclass: see "Import cost" in docs/architecture.md
    """An authority as requests use it: parsed at once, discovered when a flow needs it.

    Attributes:
        spec: the parsed authority.
        environments: the cache ``environment`` of the authority, then its aliases.
        metadata: the discovered endpoints, once a flow resolved them.
        known_realm: the cache realm when known without discovery (Entra's GUID and
            multi-tenant segments, :func:`tokensmith.entra.tenants.static_realm`).
        multi_tenant: the tenant is ``common`` or ``organizations``.
        http_cache: the application's ``http_cache``, where discovery is persisted.
    """

    __slots__ = ("environments", "http_cache", "known_realm", "metadata", "multi_tenant", "spec")

    def __init__(
        self,
        spec: AuthoritySpec,
        environments: tuple[str, ...],
        metadata: AuthorityMetadata | None = None,
        known_realm: str | None = None,
        multi_tenant: bool = False,
        http_cache: HttpCache | None = None,
    ) -> None:
        self.spec = spec
        self.environments = environments
        self.metadata = metadata
        self.known_realm = known_realm
        self.multi_tenant = multi_tenant
        self.http_cache = http_cache

    def __repr__(self) -> str:
        return (
            f"AuthorityHandle(spec={self.spec!r}, environments={self.environments!r}, "
            f"known_realm={self.known_realm!r}, multi_tenant={self.multi_tenant!r})"
        )

    @property
    def instance(self) -> str:
        """The host the cache records as ``environment`` (no port, as MSAL records it)."""
        return self.spec.host

    @property
    def realm(self) -> str | None:
        """The cache ``realm`` if known now (without discovery), else None."""
        if self.known_realm is not None:
            return self.known_realm
        return None if self.metadata is None else self.metadata.tenant

    @property
    def token_endpoint(self) -> str:
        """The token endpoint of a resolved authority.

        Raises:
            RuntimeError: the authority was not resolved (a flow bug).
        """
        if self.metadata is None:
            raise RuntimeError("the authority was used before a flow resolved it")
        return self.metadata.token_endpoint


def metadata_of(handle: AuthorityHandle) -> Flow[AuthorityMetadata]:
    """Discovery as a step of a flow: the handle's endpoints (one discovery per process
    and authority, shared by concurrent callers, then remembered on the handle)."""
    metadata = handle.metadata
    if metadata is None:
        from tokensmith.authority.resolve import resolve_metadata  # first discovery only

        metadata = yield from resolve_metadata(handle.spec, http_cache=handle.http_cache)
        handle.metadata = metadata
    return metadata


def realm_of(handle: AuthorityHandle) -> Flow[str]:
    """The cache realm of ``handle``, discovering only when it is not known up front."""
    realm = handle.realm
    if realm is None:
        realm = (yield from metadata_of(handle)).tenant
    return realm


class AppContext:
    """Shared state of one application object (sync or async alike).

    Attributes:
        client_id: the application's client id.
        cache: what the flows read and write: the token cache itself, or the
            :class:`~tokensmith.cache.hooks.HookedCache` over one whose class overrides
            MSAL's hooks (every flow reads it anew).
        token_cache: the cache object the application was given (see
            :meth:`set_cache`).
        client_auth: how the client authenticates at the token endpoint.
        base_headers: the static request headers.
        clock: epoch seconds.
        is_public: a public client (no credential).
        exclude_scopes: reserved scopes this application opted out of.
        client_capabilities: merged into every claims request (``xms_cc``).
        default: the constructor's authority.
        memos: per-application memos of the flows (id token key sets, used auth code
            flows), by name.
    """

    dpop: DPoPSetting | None = None
    """The application's DPoP opt-in (:mod:`tokensmith.engine.dpop`), None when off."""

    def __init__(
        self,
        *,
        client_id: str,
        cache: Any,
        client_auth: ClientAuth,
        default_spec: AuthoritySpec,
        aliases: Callable[[str], tuple[str, ...]],
        base_headers: dict[str, str],
        clock: Clock,
        authority_options: Mapping[str, Any],
        is_public: bool,
        exclude_scopes: frozenset[str] = frozenset(),
        client_capabilities: tuple[str, ...] = (),
        http_cache: HttpCache | None = None,
    ) -> None:
        self.client_id = client_id
        self.http_cache = http_cache
        self.cache: CacheAccess = cache_access(cache)
        self.token_cache: object = cache
        self.client_auth = client_auth
        self.base_headers = base_headers
        self.clock = clock
        self.is_public = is_public
        self.exclude_scopes = exclude_scopes
        self.client_capabilities = client_capabilities
        self._plain_claims: str | None = None
        self._plain_made = False  # made on first use, as MSAL: bad capabilities fail the call
        self._aliases = aliases
        self._authority_options = dict(authority_options)
        self._handles: dict[str, AuthorityHandle] = {}
        self._memo_lock = threading.Lock()
        self.memos: dict[str, Any] = {}
        self.default = self.handle_for_spec(default_spec)

    def set_cache(self, cache: Any) -> None:
        """Use ``cache`` from the next call on (``app.token_cache = cache``): sets
        ``token_cache`` and ``cache`` (what the flows use, decided once per class)."""
        self.cache = cache_access(cache)
        self.token_cache = cache

    def handle(self, authority: object = None) -> AuthorityHandle:
        """The handle for ``authority`` (a URL; None: the default), parsed once.

        Raises:
            AuthorityError: the URL is not an acceptable authority.
        """
        if authority is None:
            return self.default
        key = str(authority)
        found = self._handles.get(key)
        if found is None:
            spec = parse_authority(key, **self._authority_options)
            found = self._handles[key] = self.handle_for_spec(spec)
        return found

    def handle_for_spec(self, spec: AuthoritySpec) -> AuthorityHandle:
        """Wrap a parsed authority."""
        envs = (spec.host, *(a for a in self._aliases(spec.host) if a != spec.host))
        known = static_realm(spec.tenant) if spec.kind is AuthorityKind.AAD else None
        return AuthorityHandle(
            spec,
            envs,
            known_realm=known,
            multi_tenant=is_multi_tenant(spec.tenant),
            http_cache=self.http_cache,
        )

    def decorate(self, scopes: Any) -> list[str]:
        """The scopes of a user flow plus the reserved ones (minus ``exclude_scopes``).

        Raises:
            ValueError: not a list/tuple/set of strings, or a reserved scope in it.
        """
        return decorate_scopes(scopes, exclude_scopes=self.exclude_scopes)

    def claims(self, claims_challenge: str | None) -> str | None:
        """The ``claims`` to send: the challenge merged with the client capabilities
        (without a challenge, the capabilities' claims, made once per application)."""
        if claims_challenge:
            return merge_claims(claims_challenge, self.client_capabilities)
        if not self._plain_made:
            self._plain_claims = merge_claims(None, self.client_capabilities)
            self._plain_made = True
        return self._plain_claims

    def memo(self, name: str, make: Callable[[], Any]) -> Any:
        """The per-application memo ``name``, made on first use."""
        found = self.memos.get(name)
        if found is None:
            with self._memo_lock:
                found = self.memos.get(name)
                if found is None:
                    found = self.memos[name] = make()
        return found
