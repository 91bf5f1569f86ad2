"""OpenID Connect discovery of an authority's endpoints (sans-I/O).

OpenID Connect Discovery 1.0 §4 (obtaining the configuration) and §3 (the metadata
fields). Entra's unknown hosts are first validated by instance discovery
(:mod:`tokensmith.entra.instance_discovery`), whose answer says where the
configuration is. For generic OpenID providers and dSTS the ``issuer`` is checked
against the authority with MSAL Python 1.39's rules (:func:`issuer_matches`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tokensmith._redact import logger
from tokensmith.authority.parse import AuthorityKind, AuthoritySpec
from tokensmith.entra.hosts import WELL_KNOWN_AUTHORITY_HOSTS, check_endpoint_url, is_b2c_host
from tokensmith.entra.instance_discovery import validate_instance
from tokensmith.errors import AuthorityError, ProtocolError
from tokensmith.protocol._wire import json_object, service_error
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["AuthorityMetadata", "discover", "issuer_matches", "metadata_from_document"]

_OPTIONAL_ENDPOINTS = ("device_authorization_endpoint", "jwks_uri", "end_session_endpoint")


class AuthorityMetadata(NamedTuple):
    """What discovery found out about an authority.

    Attributes:
        authorization_endpoint: where the browser goes (RFC 6749 §3.1).
        token_endpoint: where tokens are requested (RFC 6749 §3.2).
        device_authorization_endpoint: RFC 8628 §3.1, when advertised.
        issuer: the ``issuer`` of the document, when present (Entra's ``common``
            document has the ``{tenantid}`` template here).
        jwks_uri: the signing keys, when advertised.
        end_session_endpoint: the logout URL, when advertised.
        tenant: the first path segment of ``token_endpoint`` (MSAL's realm rule):
            ``common``/``organizations`` stay literal, a domain becomes the GUID the
            document carries.
        raw: the whole document, read-only; left out of comparisons and the repr.
    """

    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str | None
    issuer: str | None
    jwks_uri: str | None
    end_session_endpoint: str | None
    tenant: str
    raw: Mapping[str, Any] = MappingProxyType({})

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self[:-1] == other[:-1]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:-1])

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields[:-1], self[:-1], strict=True)
        )
        return f"AuthorityMetadata({shown})"


def discover(spec: AuthoritySpec) -> Flow[AuthorityMetadata]:
    """Find an authority's endpoints: instance validation if needed, then the document.

    Raises:
        AuthorityError: unknown instance; HTTP 4xx on the document ("Unable to get
            authority configuration for ..."); a document that is not a JSON object or
            lacks a usable ``authorization_endpoint``/``token_endpoint``; an issuer
            that does not match an OIDC/dSTS authority.
        MsalServiceError: HTTP 5xx or 429 (retryable), or another unexpected status.
        TransportError: the transport failed (thrown into the flow, not caught).
    """
    url = spec.discovery_url
    if spec.needs_instance_discovery:
        url = yield from validate_instance(spec)
    response = yield HttpRequest("GET", url)
    if response is None:
        raise ProtocolError("the driver answered an HTTP request with no response")
    document = _read_document(spec, url, response)
    metadata = metadata_from_document(document, spec.authority_url)
    if spec.is_oidc and not issuer_matches(metadata.issuer, spec):
        raise AuthorityError(
            f"The issuer {metadata.issuer!r} does not match the authority {spec.authority_url!r} "
            "or a known pattern. With oidc_authority (or a dSTS authority) the issuer from "
            f"{url} must match it. For a known Entra authority (e.g. login.microsoftonline.com) "
            "use the 'authority' parameter instead of 'oidc_authority'."
        )
    logger.debug("Discovered %s: token endpoint %s", spec.canonical_url, metadata.token_endpoint)
    return metadata


def _unavailable(spec: AuthoritySpec, url: str) -> str:
    if spec.kind is AuthorityKind.OIDC:
        return (
            f"Unable to get OIDC authority configuration for {spec.authority_url} because its "
            f"OIDC Discovery endpoint is unavailable at {url}."
        )
    return (
        f"Unable to get authority configuration for {spec.authority_url} (from {url}). "
        "Authority would typically be in a format of https://login.microsoftonline.com/your_tenant "
        "or https://tenant_name.ciamlogin.com "
        "or https://tenant_name.b2clogin.com/tenant.onmicrosoft.com/policy."
    )


def _read_document(spec: AuthoritySpec, url: str, response: HttpResponse) -> dict[str, Any]:
    """Check the status and the JSON shape of a discovery answer."""
    status = response.status_code
    if status >= 500 or status == 429 or (not 200 <= status < 300 and status < 400):
        raise service_error(f"OpenID configuration at {url}", status, None)
    if 400 <= status < 500:
        raise AuthorityError(
            f"{_unavailable(spec, url)} HTTP status {status}. "
            "Also please double check your tenant name or GUID is correct."
        )
    document = json_object(response.text)[0]
    if document is None:
        raise AuthorityError(
            _unavailable(spec, url) + " The answer is not a JSON object (malformed or truncated)."
        )
    return document


def metadata_from_document(
    document: Mapping[str, Any], authority: str = "the authority"
) -> AuthorityMetadata:
    """Build :class:`AuthorityMetadata` from an OpenID configuration document.

    ``authorization_endpoint`` and ``token_endpoint`` are required https URLs (http
    only on loopback). Optional endpoints that are absent or unusable become ``None``.

    Raises:
        AuthorityError: a required endpoint is missing or unusable, or the token
            endpoint has no path segment to take the tenant from.
    """
    try:
        authorization = check_endpoint_url(
            document.get("authorization_endpoint"), "authorization_endpoint"
        )
        token = check_endpoint_url(document.get("token_endpoint"), "token_endpoint")
    except AuthorityError as exc:
        raise AuthorityError(
            f"The OpenID configuration of {authority} is unusable: {exc}"
        ) from None
    tenant = urlsplit(token).path.strip("/").split("/")[0]
    if not tenant:
        raise AuthorityError(f"The token_endpoint of {authority} has no path: {token!r}")
    optional: dict[str, str | None] = {}
    for name in _OPTIONAL_ENDPOINTS:
        value = document.get(name)
        try:
            optional[name] = None if value is None else check_endpoint_url(value, name)
        except AuthorityError as exc:
            logger.warning("Ignoring %s of %s: %s", name, authority, exc)
            optional[name] = None
    issuer = document.get("issuer")
    return AuthorityMetadata(
        authorization_endpoint=authorization,
        token_endpoint=token,
        device_authorization_endpoint=optional["device_authorization_endpoint"],
        issuer=issuer if isinstance(issuer, str) and issuer else None,
        jwks_uri=optional["jwks_uri"],
        end_session_endpoint=optional["end_session_endpoint"],
        tenant=tenant,
        raw=MappingProxyType(dict(document)),
    )


def issuer_matches(issuer: str | None, spec: AuthoritySpec) -> bool:
    """Apply MSAL Python 1.39's issuer rules for OIDC and dSTS authorities.

    The issuer is accepted when it equals the authority (trailing slash ignored), when
    its host is a well-known Microsoft host or ``{region}.{well-known host}`` or
    ``{label}.{authority host}``, when scheme and host[:port] equal the authority's,
    or when its host is a sub-domain of a well-known B2C/CIAM suffix.
    """
    if not issuer:
        return False
    if issuer.rstrip("/") in (spec.authority_url.rstrip("/"), spec.canonical_url):
        return True
    try:
        parts = urlsplit(issuer)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    if not host:
        return False
    if host in WELL_KNOWN_AUTHORITY_HOSTS:
        return True
    label, _, base = host.partition(".")
    if label and base and (base in WELL_KNOWN_AUTHORITY_HOSTS or base == spec.host):
        return True
    netloc = f"[{host}]" if ":" in host else host
    instance = netloc if port is None else f"{netloc}:{port}"
    if parts.scheme.lower() == spec.scheme and instance == spec.instance:
        return True
    return is_b2c_host(host)
