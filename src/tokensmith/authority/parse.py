"""Parse an authority URL into an :class:`AuthoritySpec` (no I/O).

Covers every authority form Entra and MSAL Python 1.39 accept: Entra (``common``,
``organizations``, ``consumers``, a tenant GUID or domain, national clouds), B2C
(including the legacy ``/tfp/`` form), CIAM (path-less or with a tenant), AD FS,
dSTS and any OpenID provider (``oidc_authority``). Where the OpenID Connect
discovery document lives follows OpenID Connect Discovery 1.0 §4 for generic
providers and Entra's ``/v2.0`` convention otherwise.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations would
# be strings, and typing compiles each into a forward reference; the first compile()
# of a process sets up the AST types (~10 million instructions, every CLI process).

import enum
from collections.abc import Collection
from typing import NamedTuple

from tokensmith.authority._url import FORMS, Url, split_url
from tokensmith.authority.builder import AuthorityBuilder
from tokensmith.entra.hosts import (
    CIAM_HOST_SUFFIX,
    WELL_KNOWN_AUTHORITY_HOSTS,
    WORLD_WIDE,
    instance_discovery_host,
    is_b2c_host,
    is_loopback_host,
)
from tokensmith.errors import AuthorityError

__all__ = [
    "DEFAULT_AUTHORITY",
    "AuthorityBuilder",
    "AuthorityKind",
    "AuthoritySpec",
    "parse_authority",
]

DEFAULT_AUTHORITY = f"https://{WORLD_WIDE}/common/"
"""The authority used when none is given (MSAL Python's default)."""

_WELL_KNOWN_SUFFIX = "/.well-known/openid-configuration"


class AuthorityKind(str, enum.Enum):
    """What sort of identity provider an authority names."""

    AAD = "AAD"
    ADFS = "ADFS"
    B2C = "B2C"
    CIAM = "CIAM"
    DSTS = "DSTS"
    OIDC = "OIDC"


class AuthoritySpec(NamedTuple):
    """A parsed authority: everything known about it before any network call.

    Attributes:
        authority_url: the URL as the caller gave it (stringified builder included).
        kind: the sort of provider.
        scheme: ``"https"``, or ``"http"`` for a loopback host.
        instance: lower-cased ``host[:port]`` (IPv6 hosts in brackets).
        host: lower-cased host name, without port or brackets.
        tenant: the tenant path segment as given; ``{sub}.onmicrosoft.com`` for a
            path-less CIAM authority; for B2C ``/tfp/`` and dSTS the segment after the
            marker; for a generic OIDC provider the first path segment ("" at the root).
        policy: the B2C user flow / policy segment, if any.
        canonical_url: ``{scheme}://{instance}/{tenant}`` (the form MSAL hands the
            broker; B2C keeps its policy, OIDC and dSTS keep their whole path), no
            trailing slash.
        discovery_url: where the OpenID configuration document is, if instance
            discovery does not say otherwise. Port and query are preserved.
        needs_instance_discovery: the host must be validated by Entra instance
            discovery before use (an unknown Entra host, with validation on; a
            loopback host only when a custom instance discovery endpoint is given).
        instance_discovery_endpoint: the instance discovery URL to use, or ``None``
            when instance discovery is turned off.
        is_known_to_developer: the developer vouched for the host (AD FS, B2C-like,
            ``validate_authority=False``, ``known_authorities``, OIDC); no instance
            discovery and no alias look-ups.
        is_adfs: the tenant segment is ``adfs``.
        is_b2c: B2C-like in MSAL's sense: B2C, CIAM, dSTS and OIDC authorities, which
            bypass the broker.
    """

    authority_url: str
    kind: AuthorityKind
    scheme: str
    instance: str
    host: str
    tenant: str
    policy: str | None
    canonical_url: str
    discovery_url: str
    needs_instance_discovery: bool
    instance_discovery_endpoint: str | None
    is_known_to_developer: bool
    is_adfs: bool
    is_b2c: bool

    @property
    def is_oidc(self) -> bool:
        """True for generic OpenID providers and dSTS, whose issuer is validated."""
        return self.kind in (AuthorityKind.OIDC, AuthorityKind.DSTS)

    @property
    def is_well_known(self) -> bool:
        """True when the host is one of :data:`WELL_KNOWN_AUTHORITY_HOSTS`."""
        return self.host in WELL_KNOWN_AUTHORITY_HOSTS


def parse_authority(
    authority: str | AuthorityBuilder | None = None,
    *,
    oidc_authority: str | None = None,
    validate_authority: bool = True,
    instance_discovery: bool | str | None = None,
    known_authorities: Collection[str] = (),
) -> AuthoritySpec:
    """Parse an authority the way MSAL Python's constructor does, without any I/O.

    Args:
        authority: an authority URL or :class:`AuthorityBuilder`; ``None`` or ``""``
            means ``https://login.microsoftonline.com/common/``. A URL whose path
            starts with ``/dstsv2`` is a dSTS authority.
        oidc_authority: the issuer URL of a generic OpenID provider; exclusive with
            ``authority``.
        validate_authority: ``False`` trusts the host (no instance discovery).
        instance_discovery: ``None``/``True`` use Entra's instance discovery,
            ``False`` turns it off, a string is a custom instance discovery URL.
        known_authorities: hosts (or authority URLs) the developer trusts; such an
            authority skips instance discovery. Not in MSAL.

    Raises:
        AuthorityError: the URL has no scheme or host, is not https (http is allowed
            only on 127.0.0.1, ::1 and localhost), has no tenant segment where one is
            required, carries user information or a fragment, or both ``authority``
            and ``oidc_authority`` were given.
    """
    if authority and oidc_authority:
        raise AuthorityError("You can not provide both authority and oidc_authority")
    custom_endpoint = _check_instance_discovery(instance_discovery)
    trusted = _normalise_known(known_authorities)
    if oidc_authority:
        if not isinstance(oidc_authority, str):
            raise AuthorityError(
                f"oidc_authority must be a URL string, got {_type(oidc_authority)}"
            )
        return _generic_oidc(oidc_authority, AuthorityKind.OIDC)
    if isinstance(authority, AuthorityBuilder):
        authority = str(authority)
    elif not authority:
        authority = DEFAULT_AUTHORITY
    elif not isinstance(authority, str):
        raise AuthorityError(
            f"authority must be a URL string or AuthorityBuilder, got {_type(authority)}"
        )
    url = split_url(authority)
    if url.segments and url.segments[0].lower() == "dstsv2":
        return _generic_oidc(authority, AuthorityKind.DSTS)
    return _entra(authority, url, validate_authority, instance_discovery, custom_endpoint, trusted)


def _type(value: object) -> str:
    return type(value).__name__


def _check_instance_discovery(value: object) -> str | None:
    """Validate ``instance_discovery``; return the custom endpoint if one was given."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str):
        raise AuthorityError(
            f"instance_discovery must be a bool, None or a URL, got {_type(value)}"
        )
    split_url(value, what="instance_discovery endpoint")
    return value


def _normalise_known(hosts: Collection[str]) -> frozenset[str]:
    """Lower-case ``known_authorities``; accept bare hosts, ``host:port`` and URLs."""
    if isinstance(hosts, str):
        raise AuthorityError("known_authorities must be a collection of host names, not one string")
    out: set[str] = set()
    for entry in hosts:
        if not isinstance(entry, str) or not entry.strip():
            raise AuthorityError(f"known_authorities entries must be host names, got {entry!r}")
        entry = entry.strip().lower()
        if "://" in entry:
            out.add(split_url(entry, what="known_authorities entry").instance)
        else:
            out.add(entry.rstrip("/"))
    return frozenset(out)


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _generic_oidc(text: str, kind: AuthorityKind) -> AuthoritySpec:
    """A generic OpenID provider or dSTS: discovery under the issuer path (OIDC Discovery §4)."""
    url = split_url(text, what="oidc_authority" if kind is AuthorityKind.OIDC else "authority")
    base = f"{url.scheme}://{url.instance}" + "".join("/" + s for s in url.segments)
    tenant_index = 1 if kind is AuthorityKind.DSTS and len(url.segments) > 1 else 0
    tenant = url.segments[tenant_index] if url.segments else ""
    return AuthoritySpec(
        authority_url=text,
        kind=kind,
        scheme=url.scheme,
        instance=url.instance,
        host=url.host,
        tenant=tenant,
        policy=None,
        canonical_url=base,
        discovery_url=_with_query(base + _WELL_KNOWN_SUFFIX, url.query),
        needs_instance_discovery=False,
        instance_discovery_endpoint=None,
        is_known_to_developer=True,
        is_adfs=tenant.lower() == "adfs",
        is_b2c=True,
    )


class _Shape:  # a plain class, as Url
    """How an Entra-family path reads: kind, tenant, policy and the MSAL flags."""

    __slots__ = ("is_adfs", "is_b2c", "kind", "policy", "segments", "tenant")

    def __init__(
        self,
        kind: AuthorityKind,
        segments: tuple[str, ...],
        tenant: str,
        policy: str | None,
        is_adfs: bool,
        is_b2c: bool,
    ) -> None:
        self.kind = kind
        self.segments = segments
        self.tenant = tenant
        self.policy = policy
        self.is_adfs = is_adfs
        self.is_b2c = is_b2c


def _entra_shape(text: str, url: Url) -> _Shape:
    """Classify an Entra-family authority (MSAL Python's rules, plus ``/tfp/``)."""
    is_ciam = url.host.endswith(CIAM_HOST_SUFFIX)
    if not url.segments and not is_ciam:
        raise AuthorityError(
            f"The authority {text!r} should be an https URL with a host name and at least one "
            f"path segment (the tenant), {FORMS}"
        )
    segments = url.segments or (url.host[: -len(CIAM_HOST_SUFFIX)] + ".onmicrosoft.com",)
    is_adfs = segments[0].lower() == "adfs" and not is_ciam
    is_b2c = is_b2c_host(url.host) or (
        len(segments) == 2 and segments[1].lower().startswith("b2c_")
    )
    legacy_b2c = is_b2c and not is_ciam and segments[0].lower() == "tfp" and len(segments) > 1
    tenant_index = 1 if legacy_b2c else 0
    policy = segments[tenant_index + 1] if is_b2c and len(segments) > tenant_index + 1 else None
    if is_ciam:
        kind = AuthorityKind.CIAM
    elif is_adfs:
        kind = AuthorityKind.ADFS
    elif is_b2c:
        kind = AuthorityKind.B2C
    else:
        kind = AuthorityKind.AAD
    return _Shape(kind, segments, segments[tenant_index], policy, is_adfs, is_b2c)


def _entra(
    text: str,
    url: Url,
    validate_authority: bool,
    instance_discovery: bool | str | None,
    custom_endpoint: str | None,
    trusted: frozenset[str],
) -> AuthoritySpec:
    """An Entra-family authority: AAD, AD FS, B2C or CIAM."""
    shape = _entra_shape(text, url)
    known_to_developer = (
        shape.is_adfs
        or shape.is_b2c
        or not validate_authority
        or url.instance in trusted
        or url.host in trusted
    )
    endpoint: str | None = None
    if instance_discovery is not False:
        endpoint = (
            custom_endpoint
            or f"https://{instance_discovery_host(url.host)}/common/discovery/instance"
        )
    # Entra's own instance discovery cannot vouch for a loopback host: skip it there,
    # unless the developer named an instance discovery endpoint (e.g. a local emulator).
    needs_discovery = (
        endpoint is not None
        and not known_to_developer
        and url.host not in WELL_KNOWN_AUTHORITY_HOSTS
        and (custom_endpoint is not None or not is_loopback_host(url.host))
    )
    prefix = f"{url.scheme}://{url.instance}" + "".join("/" + s for s in shape.segments)
    version = "" if shape.is_adfs else "/v2.0"
    canonical_tail = "/".join(s for s in (shape.tenant, shape.policy) if s)
    return AuthoritySpec(
        authority_url=text,
        kind=shape.kind,
        scheme=url.scheme,
        instance=url.instance,
        host=url.host,
        tenant=shape.tenant,
        policy=shape.policy,
        canonical_url=f"{url.scheme}://{url.instance}/{canonical_tail}",
        discovery_url=_with_query(prefix + version + _WELL_KNOWN_SUFFIX, url.query),
        needs_instance_discovery=needs_discovery,
        instance_discovery_endpoint=endpoint,
        is_known_to_developer=known_to_developer,
        is_adfs=shape.is_adfs,
        is_b2c=shape.is_b2c,
    )
