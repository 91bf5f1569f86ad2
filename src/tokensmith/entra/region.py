"""Entra's regional token service (ESTS-R) for client credentials, as MSAL Python 1.39
uses it.

Where the region comes from (:func:`configured_region`), checked once, when the
application is built:

* ``azure_region="westus2"``: that region (a lower-case DNS label, else ``ValueError``);
* ``azure_region=True`` (``ATTEMPT_REGION_DISCOVERY``): detected on first need
  (:func:`detect_region`): the ``REGION_NAME`` environment variable, else the
  ``location`` of the VM's IMDS compute metadata; nothing found means the global
  endpoint;
* ``azure_region=None`` (the default): the ``MSAL_FORCE_REGION`` environment variable
  if set (validated like ``azure_region``), for an application with a credential;
* ``azure_region=False`` (``DISABLE_MSAL_FORCE_REGION``): no region.

A region only changes where an app-only token request is sent
(:func:`regional_token_endpoint`): ``{region}.login.microsoft.com`` for the public
cloud's hosts, ``{region}.{host}`` for the others (sovereign clouds). The cache keeps
the authority's own environment, as MSAL's does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tokensmith.entra.hosts import is_region_name, regional_host
from tokensmith.errors import ConfigurationError

if TYPE_CHECKING:  # the wire types load with the first IMDS request, not with the app
    from tokensmith.protocol.effects import Flow

__all__ = [
    "IMDS_API_VERSION",
    "IMDS_COMPUTE_ENDPOINT",
    "REGION_MEMO",
    "RegionChoice",
    "configured_region",
    "detect_region",
    "regional_token_endpoint",
    "valid_region",
]

IMDS_COMPUTE_ENDPOINT = "http://169.254.169.254/metadata/instance/compute"
"""The VM's instance metadata, whose ``location`` names its region."""
IMDS_API_VERSION = "2021-02-01"
REGION_MEMO = "entra.region"
"""Name of the application memo (``AppContext.memos``) holding its :class:`RegionChoice`."""


def valid_region(value: object) -> str | None:
    """``value`` if it is a region name (a lower-case DNS label of at most 63
    characters, starting with a letter), else None."""
    return value if is_region_name(value) else None


def _explicit(value: str, name: str) -> str:
    if valid_region(value) is None:
        raise ConfigurationError(
            f"Invalid {name}={value!r}. It must be a lowercase DNS label that starts with a "
            "letter, contains only letters, digits, and internal hyphens, and is at most "
            "63 characters."
        )
    return value


def configured_region(
    azure_region: object, *, has_credential: bool, environ: Mapping[str, str]
) -> str | bool:
    """The region choice of an application: a region name, ``True`` (detect it), or
    ``False`` (none).

    Raises:
        ValueError: ``azure_region`` or ``MSAL_FORCE_REGION`` is not a region name, or
            ``azure_region`` is not a string, a bool or None (``ConfigurationError``).
    """
    if isinstance(azure_region, str):
        region = _explicit(azure_region, "azure_region")
        return region if has_credential else False
    if azure_region is None:
        forced = environ.get("MSAL_FORCE_REGION") if has_credential else None
        return False if forced is None else _explicit(forced, "MSAL_FORCE_REGION")
    if isinstance(azure_region, bool):
        return azure_region and has_credential
    raise ConfigurationError(
        "azure_region must be a region name, True (detect it), False or None, "
        f"not {type(azure_region).__name__}"
    )


def detect_region(endpoint: str, environ: Mapping[str, str]) -> Flow[str | None]:
    """The region this machine runs in: ``REGION_NAME``, else IMDS's ``location``;
    None when neither names a valid region (IMDS unreachable outside Azure, or its
    answer malformed)."""
    named = environ.get("REGION_NAME", "")
    if named:
        return valid_region(named)
    from tokensmith.protocol.http import HttpRequest

    request = HttpRequest(
        "GET", endpoint, params={"api-version": IMDS_API_VERSION}, headers={"Metadata": "true"}
    )
    try:
        response = yield request
    except Exception:  # a probe: any failure (MSAL-style clients raise their own) means none
        return None
    try:
        location = json.loads(response.text).get("location")
    except (ValueError, AttributeError, TypeError, RecursionError):
        return None
    return valid_region(location)


class RegionChoice:
    """One application's region: configured, or detected once on first need.

    Args:
        configured: what :func:`configured_region` returned.
        endpoint: the IMDS compute endpoint to ask (tests point it at a stand-in).
        environ: where ``REGION_NAME`` is read.
    """

    __slots__ = ("_detected", "configured", "endpoint", "environ")

    def __init__(self, configured: str | bool, endpoint: str, environ: Mapping[str, str]) -> None:
        self.configured = configured
        self.endpoint = endpoint
        self.environ = environ
        self._detected: tuple[str | None] | None = None

    def region(self) -> Flow[str | None]:
        """The region to use, or None for the global endpoint."""
        if self.configured is False:
            return None
        if isinstance(self.configured, str):
            return self.configured
        if self._detected is None:
            self._detected = ((yield from detect_region(self.endpoint, self.environ)),)
        return self._detected[0]


def regional_token_endpoint(token_endpoint: str, host: str, region: str) -> str:
    """``token_endpoint`` (the authority's, from discovery) on the regional host of
    ``host`` (the authority's host); path and query kept."""
    from urllib.parse import urlsplit, urlunsplit  # only where a region is set

    parts = urlsplit(token_endpoint)
    return urlunsplit(parts._replace(netloc=regional_host(region, host)))
