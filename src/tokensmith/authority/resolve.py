"""Discovery as a step of a flow: answered from the process-wide memo, or discovered
once for every concurrent caller (:func:`~tokensmith.authority.memo.memoized`).

``metadata = yield from resolve_metadata(spec)`` inside any flow; the drivers carry out
the requests, sync or async. Given the application's ``http_cache``, the metadata is
persisted there too (:data:`METADATA_CODEC`: the document and what was read from it,
as plain data).
"""

from __future__ import annotations

import json
from types import MappingProxyType

from tokensmith._http_cache import HttpCache
from tokensmith.authority.discovery import AuthorityMetadata, discover
from tokensmith.authority.memo import (
    Codec,
    MetadataMemo,
    TtlMemo,
    alias_memo,
    memoized,
    metadata_key,
    metadata_memo,
)
from tokensmith.authority.parse import AuthoritySpec
from tokensmith.entra.hosts import AliasGroup, instance_discovery_host
from tokensmith.entra.instance_discovery import fetch_alias_metadata
from tokensmith.protocol.effects import Flow

__all__ = ["METADATA_CODEC", "resolve_alias_groups", "resolve_metadata"]

_REQUIRED = ("authorization_endpoint", "token_endpoint", "tenant")
_OPTIONAL = ("device_authorization_endpoint", "issuer", "jwks_uri", "end_session_endpoint")


def _encode(metadata: AuthorityMetadata) -> object:
    plain: dict[str, object] = {name: getattr(metadata, name) for name in _REQUIRED + _OPTIONAL}
    plain["raw"] = json.dumps(dict(metadata.raw))
    return plain


def _decode(plain: object) -> AuthorityMetadata | None:
    if not isinstance(plain, dict) or not isinstance(plain.get("raw"), str):
        return None
    if not all(isinstance(plain.get(name), str) and plain[name] for name in _REQUIRED):
        return None
    if not all(isinstance(plain.get(name), (str, type(None))) for name in _OPTIONAL):
        return None
    raw = json.loads(plain["raw"])
    if not isinstance(raw, dict):
        return None
    fields = {name: plain[name] for name in _REQUIRED + _OPTIONAL}
    return AuthorityMetadata(**fields, raw=MappingProxyType(raw))


METADATA_CODEC: Codec[AuthorityMetadata] = Codec("discovery", _encode, _decode)
"""How discovery results go into an ``http_cache``."""


def resolve_metadata(
    spec: AuthoritySpec,
    memo: MetadataMemo | None = None,
    *,
    http_cache: HttpCache | None = None,
) -> Flow[AuthorityMetadata]:
    """The endpoints of ``spec``: memoised (process-wide by default, and in
    ``http_cache`` when given), discovered once.

    Raises:
        AuthorityError, MsalServiceError, TransportError: discovery failed (not
            remembered).
    """
    store = metadata_memo if memo is None else memo
    persisted = None if http_cache is None else (http_cache, METADATA_CODEC)
    return memoized(store, metadata_key(spec), lambda: discover(spec), persisted)


def resolve_alias_groups(
    host: str,
    *,
    endpoint: str | None = None,
    memo: TtlMemo[tuple[AliasGroup, ...]] | None = None,
) -> Flow[tuple[AliasGroup, ...]]:
    """The alias groups Entra reports for ``host``'s discovery host, memoised.

    Raises:
        MsalServiceError, ProtocolError, TransportError: the look-up failed (not
            remembered). Callers that can live without aliases fall back to
            :func:`tokensmith.entra.instance_discovery.aliases_for` with no groups.
    """
    store = alias_memo if memo is None else memo
    key = endpoint or instance_discovery_host(host)
    return memoized(store, key, lambda: _groups(host, endpoint))


def _groups(host: str, endpoint: str | None) -> Flow[tuple[AliasGroup, ...]]:
    return tuple((yield from fetch_alias_metadata(host, endpoint)))
