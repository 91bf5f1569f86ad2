"""Discovery as a step of a flow: answered from the process-wide memo, or discovered
once for every concurrent caller (:func:`~tokensmith.authority.memo.memoized`).

``metadata = yield from resolve_metadata(spec)`` inside any flow; the drivers carry out
the requests, sync or async.
"""

from __future__ import annotations

from tokensmith.authority.discovery import AuthorityMetadata, discover
from tokensmith.authority.memo import (
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

__all__ = ["resolve_alias_groups", "resolve_metadata"]


def resolve_metadata(
    spec: AuthoritySpec, memo: MetadataMemo | None = None
) -> Flow[AuthorityMetadata]:
    """The endpoints of ``spec``: memoised (process-wide by default), discovered once.

    Raises:
        AuthorityError, MsalServiceError, TransportError: discovery failed (not
            remembered).
    """
    store = metadata_memo if memo is None else memo
    return memoized(store, metadata_key(spec), lambda: discover(spec))


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
