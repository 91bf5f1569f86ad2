"""Entra instance discovery: authority validation and cloud alias groups (sans-I/O).

Entra-specific, not part of any RFC. ``GET https://{host}/common/discovery/instance``
answers two questions:

* api-version 1.0 with ``authorization_endpoint=https://{host}/{tenant}/oauth2/v2.0/authorize``:
  is this (unknown) host an Entra instance, and where is its OpenID configuration
  (``tenant_discovery_endpoint``)? An unknown host gets HTTP 400 ``invalid_instance``.
* api-version 1.1 with ``Accept: application/json``: which hosts are aliases of one
  another (the ``metadata`` list).

Which host answers: the authority's own host when it is well known, else
``login.microsoftonline.com`` (see :func:`tokensmith.entra.hosts.instance_discovery_host`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from tokensmith.entra.hosts import (
    BUILTIN_ALIAS_GROUPS,
    AliasGroup,
    check_endpoint_url,
    instance_discovery_host,
)
from tokensmith.errors import AuthorityError, ProtocolError

if TYPE_CHECKING:  # the wire types load with the first discovery request (a cache hit
    # reads only aliases_for, through the application's factory)
    from tokensmith.protocol.effects import Flow
    from tokensmith.protocol.http import HttpResponse


class AuthoritySpec(Protocol):
    """What instance validation reads of a parsed authority
    (:class:`tokensmith.authority.AuthoritySpec` has it)."""

    @property
    def instance_discovery_endpoint(self) -> str | None: ...

    @property
    def authority_url(self) -> str: ...

    @property
    def scheme(self) -> str: ...

    @property
    def instance(self) -> str: ...

    @property
    def tenant(self) -> str | None: ...


__all__ = [
    "AliasGroup",
    "aliases_for",
    "fetch_alias_metadata",
    "parse_alias_metadata",
    "validate_instance",
]


def _reply(response: HttpResponse | None) -> HttpResponse:
    if response is None:  # only a broken driver sends None after a request
        raise ProtocolError("the driver answered an HTTP request with no response")
    return response


def validate_instance(spec: AuthoritySpec) -> Flow[str]:
    """Ask Entra whether ``spec``'s host is a known instance (api-version 1.0).

    Args:
        spec: a parsed authority with an ``instance_discovery_endpoint``.

    Returns:
        The ``tenant_discovery_endpoint``: the URL of the OpenID configuration.

    Raises:
        AuthorityError: the host is unknown (``invalid_instance``, with the advice to
            pass ``instance_discovery=False``), instance discovery is turned off, or
            the answer is not usable.
        MsalServiceError: HTTP 5xx or 429 (retryable).
    """
    endpoint = spec.instance_discovery_endpoint
    if endpoint is None:
        raise AuthorityError(f"instance discovery is turned off for {spec.authority_url}")
    from tokensmith.protocol._wire import json_object, service_error
    from tokensmith.protocol.http import HttpRequest

    request = HttpRequest(
        "GET",
        endpoint,
        params={
            "api-version": "1.0",
            "authorization_endpoint": (
                f"{spec.scheme}://{spec.instance}/{spec.tenant}/oauth2/v2.0/authorize"
            ),
        },
    )
    response = _reply((yield request))
    body = json_object(response.text)[0]
    if body is not None and body.get("error") == "invalid_instance":
        raise AuthorityError(
            f"invalid_instance: The authority you provided, {spec.authority_url}, is not known. "
            "If it is a valid domain name known to you, you can turn off this check by passing "
            "in instance_discovery=False"
        )
    if response.status_code >= 500 or response.status_code == 429:
        raise service_error("Instance discovery", response.status_code, body)
    if not 200 <= response.status_code < 300 or body is None:
        error = body.get("error") if body else None
        raise AuthorityError(
            f"Instance discovery for {spec.authority_url} failed: HTTP {response.status_code}"
            + (f", error {error!r}" if isinstance(error, str) else ", answer is not a JSON object")
        )
    return check_endpoint_url(body.get("tenant_discovery_endpoint"), "tenant_discovery_endpoint")


def fetch_alias_metadata(host: str, endpoint: str | None = None) -> Flow[list[AliasGroup]]:
    """Fetch the alias groups of every cloud (api-version 1.1).

    Args:
        host: the authority host whose aliases are wanted; picks the discovery host.
        endpoint: a custom instance discovery URL (MSAL's ``instance_discovery="..."``).

    Returns:
        The groups of the ``metadata`` list, in the order the service gave them.

    Raises:
        MsalServiceError: the service did not answer 2xx (retryable on 5xx/429).
        ProtocolError: the answer has no well-formed ``metadata`` list.
    """
    from tokensmith.protocol._wire import json_object, service_error
    from tokensmith.protocol.http import HttpRequest

    discovery_host = instance_discovery_host(host)
    request = HttpRequest(
        "GET",
        endpoint or f"https://{discovery_host}/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"https://{discovery_host}/common/oauth2/authorize",
        },
        headers={"Accept": "application/json"},
    )
    response = _reply((yield request))
    body = json_object(response.text)[0]
    if not 200 <= response.status_code < 300:
        raise service_error("Instance metadata discovery", response.status_code, body)
    if body is None:
        raise ProtocolError("instance metadata is not a JSON object")
    return parse_alias_metadata(body.get("metadata"))


def parse_alias_metadata(metadata: object) -> list[AliasGroup]:
    """Turn the ``metadata`` value of an instance discovery answer into groups.

    Host names are lower-cased; a missing ``preferred_network``/``preferred_cache``
    defaults to the first alias.

    Raises:
        ProtocolError: ``metadata`` is not a list of objects with an ``aliases`` list
            of host names.
    """
    if not isinstance(metadata, list):
        raise ProtocolError("instance metadata has no 'metadata' list")
    groups: list[AliasGroup] = []
    for entry in metadata:
        aliases = entry.get("aliases") if isinstance(entry, dict) else None
        if (
            not isinstance(aliases, list)
            or not aliases
            or not all(isinstance(a, str) and a for a in aliases)
        ):
            raise ProtocolError("instance metadata group has no list of alias host names")
        hosts = tuple(a.lower() for a in aliases)
        network = entry.get("preferred_network")
        cache = entry.get("preferred_cache")
        groups.append(
            AliasGroup(
                network.lower() if isinstance(network, str) and network else hosts[0],
                cache.lower() if isinstance(cache, str) and cache else hosts[0],
                hosts,
            )
        )
    return groups


def aliases_for(host: str, groups: Iterable[AliasGroup] | None = None) -> tuple[str, ...]:
    """Return the other hosts of the cloud ``host`` belongs to.

    Looks in ``groups`` (e.g. from :func:`fetch_alias_metadata`) first, then in the
    built-in groups of the public clouds. ``host`` itself is not in the result; an
    unknown host has no aliases.
    """
    host = host.lower()
    for source in (groups or (), BUILTIN_ALIAS_GROUPS):
        for group in source:
            if host in group.aliases:
                return tuple(alias for alias in group.aliases if alias != host)
    return ()
