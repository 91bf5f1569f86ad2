"""The unified MSAL cache schema: credential types and MSAL Python's key formats.

The JSON layout is five top-level maps (``AccessToken``, ``RefreshToken``,
``IdToken``, ``Account``, ``AppMetadata``), each mapping a key to a flat dict of
string fields. Keys are dash-joined and lower-cased (except AppMetadata keys), with
``None`` written as an empty string; they are byte-for-byte the keys MSAL Python 1.39
writes, so a cache file moves between the two libraries unchanged.

Keys only serve upserts; lookups go through :mod:`tokensmith.cache.index`, which reads
field values, so caches written with other key formats are still found.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith._jwt import b64url_encode
from tokensmith.errors import ConfigurationError

__all__ = [
    "ACCOUNT_ESTABLISHING_GRANTS",
    "SECTIONS",
    "AuthorityType",
    "CredentialType",
    "access_token_key",
    "account_key",
    "app_metadata_key",
    "compute_ext_cache_key",
    "id_token_key",
    "make_key_makers",
    "refresh_token_key",
    "split_token_endpoint",
]


class CredentialType:
    """Section names of the unified cache (and the ``credential_type`` field values)."""

    ACCESS_TOKEN = "AccessToken"
    ACCESS_TOKEN_EXTENDED = "atext"
    """Key segment (not a section) of access tokens that carry an ``ext_cache_key``."""
    REFRESH_TOKEN = "RefreshToken"
    ACCOUNT = "Account"
    ID_TOKEN = "IdToken"
    APP_METADATA = "AppMetadata"


class AuthorityType:
    """Values of an Account's ``authority_type`` field."""

    ADFS = "ADFS"
    MSSTS = "MSSTS"


SECTIONS = (
    CredentialType.ACCESS_TOKEN,
    CredentialType.REFRESH_TOKEN,
    CredentialType.ID_TOKEN,
    CredentialType.ACCOUNT,
    CredentialType.APP_METADATA,
)
"""The sections tokensmith indexes; any other top-level key is kept verbatim."""

ACCOUNT_ESTABLISHING_GRANTS = frozenset(
    {
        "broker",
        "authorization_code",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "user_fic",
    }
)
"""Grants recorded as an Account's ``account_source``; silent refreshes are not."""

_EXT_CACHE_KEY_EXCLUDED = frozenset(
    {
        "client_id",
        "grant_type",
        "scope",
        "claims",
        "username",
        "password",
        "refresh_token",
        "code",
        "redirect_uri",
        "code_verifier",
        "device_code",
        "assertion",
        "requested_token_use",
        "client_assertion",
        "client_assertion_type",
        "client_secret",
        "token_type",
        "req_cnf",
        "key_id",
        "user_federated_identity_credential",
        "user_id",
        "client_info",
    }
)
"""Standard request-body fields that never take part in an extended cache key."""


def _part(value: object) -> str:
    """One key segment: falsy values (``None``, ``""``) become ``""``."""
    return str(value) if value else ""


def access_token_key(**fields: Any) -> str:
    """Key of an AccessToken entry; extended entries use the ``atext`` segment.

    ``{home_account_id}-{environment}-accesstoken-{client_id}-{realm}-{target}``, or
    ``...-atext-...-{target}-{ext_cache_key}`` when ``ext_cache_key`` is set; lower-cased.
    """
    get = fields.get
    home, env, client, realm, target, ext = (
        get("home_account_id"),
        get("environment"),
        get("client_id"),
        get("realm"),
        get("target"),
        get("ext_cache_key"),
    )
    parts = [  # _part(value) of each, inlined: the key of every cache-hit lookup
        str(home) if home else "",
        str(env) if env else "",
        CredentialType.ACCESS_TOKEN_EXTENDED if ext else CredentialType.ACCESS_TOKEN,
        str(client) if client else "",
        str(realm) if realm else "",
        str(target) if target else "",
    ]
    if ext:
        parts.append(str(ext))
    return "-".join(parts).lower()


def refresh_token_key(**fields: Any) -> str:
    """Key of a RefreshToken entry: realm slot empty, target included; lower-cased."""
    return "-".join(
        [
            _part(fields.get("home_account_id")),
            _part(fields.get("environment")),
            CredentialType.REFRESH_TOKEN,
            _part(fields.get("client_id")),
            "",
            _part(fields.get("target")),
        ]
    ).lower()


def id_token_key(**fields: Any) -> str:
    """Key of an IdToken entry, ending with an empty target segment; lower-cased."""
    return "-".join(
        [
            _part(fields.get("home_account_id")),
            _part(fields.get("environment")),
            CredentialType.ID_TOKEN,
            _part(fields.get("client_id")),
            _part(fields.get("realm")),
            "",
        ]
    ).lower()


def account_key(**fields: Any) -> str:
    """Key of an Account entry: ``{home_account_id}-{environment}-{realm}``, lower-cased."""
    return "-".join(
        [
            _part(fields.get("home_account_id")),
            _part(fields.get("environment")),
            _part(fields.get("realm")),
        ]
    ).lower()


def app_metadata_key(**fields: Any) -> str:
    """Key of an AppMetadata entry: ``appmetadata-{environment}-{client_id}``, case kept."""
    return f"appmetadata-{_part(fields.get('environment'))}-{_part(fields.get('client_id'))}"


def make_key_makers() -> dict[str, Callable[..., str]]:
    """Return a fresh ``credential_type -> key function`` map (one per cache, patchable)."""
    return {
        CredentialType.ACCESS_TOKEN: access_token_key,
        CredentialType.REFRESH_TOKEN: refresh_token_key,
        CredentialType.ID_TOKEN: id_token_key,
        CredentialType.ACCOUNT: account_key,
        CredentialType.APP_METADATA: app_metadata_key,
    }


def compute_ext_cache_key(data: Mapping[str, Any] | None) -> str:
    """Extended cache key of a token request body (MSAL 1.37+), or ``""``.

    Every non-empty field outside the standard OAuth/MSAL list takes part: the fields
    are sorted by name and serialized as ``<len(name)>:<name><len(value)>:<value>``
    (UTF-8 byte lengths), hashed with SHA-256, encoded base64url without padding and
    lower-cased.
    """
    if not data:
        return ""
    parts = []
    for name in sorted(k for k, v in data.items() if k not in _EXT_CACHE_KEY_EXCLUDED and v):
        value = str(data[name])
        parts.append(f"{len(name.encode('utf-8'))}:{name}{len(value.encode('utf-8'))}:{value}")
    if not parts:
        return ""
    import hashlib  # OpenSSL loads for the rare keyed token only

    digest = hashlib.sha256("".join(parts).encode("utf-8")).digest()
    return b64url_encode(digest).lower()


def split_token_endpoint(url: str) -> tuple[str, str]:
    """Return ``(environment, realm)``: the lower-cased host and first path segment.

    An app talks to a handful of token endpoints, so answers are remembered.

    A path-less CIAM host (``{tenant}.ciamlogin.com``) yields the realm
    ``{tenant}.onmicrosoft.com``. The port is not part of the environment.

    Raises:
        ConfigurationError: not an http(s) URL with a host and a first path segment.
    """
    if not isinstance(url, str):
        raise ConfigurationError("token_endpoint must be an https URL with a host")
    return _split_token_endpoint(url)


@functools.lru_cache(maxsize=64)
def _split_token_endpoint(url: str) -> tuple[str, str]:
    from urllib.parse import urlparse  # not at import: a cache hit adds no token

    parsed = urlparse(url)
    host = parsed.hostname if parsed and parsed.scheme in ("https", "http") else None
    if not host:
        raise ConfigurationError("token_endpoint must be an https URL with a host")
    segments = parsed.path.split("/")
    first = segments[1] if len(segments) >= 2 else ""
    if first:
        return host, first
    if host.endswith(".ciamlogin.com"):
        return host, host[: -len(".ciamlogin.com")] + ".onmicrosoft.com"
    raise ConfigurationError("token_endpoint must have a tenant segment in its path")
