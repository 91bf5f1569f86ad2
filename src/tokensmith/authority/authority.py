"""MSAL's ``Authority`` object (``app.authority``), with lazy discovery.

Constructing an :class:`Authority` does no I/O: the endpoints are resolved the first
time one of them is read, through the resolver given at construction (usually
the application's, which runs :func:`~tokensmith.authority.resolve.resolve_metadata`
over its transport, memoised process-wide).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from tokensmith.authority.parse import (
    AuthorityBuilder,
    AuthorityKind,
    AuthoritySpec,
    parse_authority,
)

if TYPE_CHECKING:  # discovery loads with the first resolution, not with the authority
    from tokensmith.authority.discovery import AuthorityMetadata

__all__ = ["Authority", "Resolver"]

Resolver = Callable[[AuthoritySpec], "AuthorityMetadata"]
"""Turns a parsed authority into its metadata (may do I/O, may raise)."""


class Authority:
    """An authority: parsed eagerly, discovered lazily.

    Attributes:
        spec: the parsed authority.
        instance: lower-cased host without port, MSAL's cache ``environment``.
        tenant: the tenant segment of the URL as given. Note: MSAL Python overwrites
            its ``tenant`` with the realm after discovery; here that is :attr:`realm`.
        is_adfs: the tenant segment is ``adfs``.
        is_b2c: B2C-like (B2C, CIAM, dSTS, OIDC): no broker.
    """

    def __init__(self, spec: AuthoritySpec, resolver: Resolver) -> None:
        self.spec = spec
        self.instance = spec.host
        self.tenant = spec.tenant
        self.is_adfs = spec.is_adfs
        self.is_b2c = spec.is_b2c
        self._resolver = resolver
        self._lock = threading.Lock()
        self._metadata: AuthorityMetadata | None = None

    @classmethod
    def from_url(
        cls,
        authority: str | AuthorityBuilder | None,
        resolver: Resolver,
        *,
        oidc_authority: str | None = None,
        validate_authority: bool = True,
        instance_discovery: bool | str | None = None,
        known_authorities: Collection[str] = (),
    ) -> Authority:
        """Parse ``authority`` (see :func:`parse_authority`) and wrap it; no I/O.

        Raises:
            AuthorityError: the authority cannot be parsed.
        """
        spec = parse_authority(
            authority,
            oidc_authority=oidc_authority,
            validate_authority=validate_authority,
            instance_discovery=instance_discovery,
            known_authorities=known_authorities,
        )
        return cls(spec, resolver)

    @property
    def kind(self) -> AuthorityKind:
        """What sort of provider this is."""
        return self.spec.kind

    @property
    def is_known_to_developer(self) -> bool:
        """True when instance discovery and alias look-ups are skipped."""
        return self.spec.is_known_to_developer

    @property
    def is_resolved(self) -> bool:
        """True once discovery has succeeded."""
        return self._metadata is not None

    @property
    def metadata(self) -> AuthorityMetadata:
        """The discovered metadata; the first read resolves it (once, thread-safe).

        Raises:
            AuthorityError, MsalServiceError, TransportError: from the resolver. A
                failure is not remembered; the next read tries again.
        """
        metadata = self._metadata
        if metadata is None:
            with self._lock:
                if self._metadata is None:
                    self._metadata = self._resolver(self.spec)
                metadata = self._metadata
        return metadata

    @property
    def authorization_endpoint(self) -> str:
        """The authorization endpoint (resolves on first use)."""
        return self.metadata.authorization_endpoint

    @property
    def token_endpoint(self) -> str:
        """The token endpoint (resolves on first use)."""
        return self.metadata.token_endpoint

    @property
    def device_authorization_endpoint(self) -> str | None:
        """The device authorization endpoint, if the provider has one."""
        return self.metadata.device_authorization_endpoint

    @property
    def issuer(self) -> str | None:
        """The issuer of the discovery document, if any."""
        return self.metadata.issuer

    @property
    def jwks_uri(self) -> str | None:
        """Where the signing keys are, if advertised."""
        return self.metadata.jwks_uri

    @property
    def end_session_endpoint(self) -> str | None:
        """The logout endpoint, if advertised."""
        return self.metadata.end_session_endpoint

    @property
    def realm(self) -> str:
        """The tenant of the token endpoint: MSAL's cache ``realm``."""
        return self.metadata.tenant

    def __repr__(self) -> str:
        state = "resolved" if self.is_resolved else "not resolved"
        return f"Authority({self.spec.canonical_url!r}, {self.kind.value}, {state})"
