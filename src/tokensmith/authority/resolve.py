"""Run discovery flows over a transport, through the process-wide memo.

The glue between the sans-I/O flows (:func:`~tokensmith.authority.discovery.discover`,
:func:`~tokensmith.entra.instance_discovery.fetch_alias_metadata`), the sync driver
and :mod:`tokensmith.authority.memo`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tokensmith.authority.authority import Resolver
from tokensmith.authority.discovery import AuthorityMetadata, discover
from tokensmith.authority.memo import MetadataMemo, TtlMemo, alias_memo, metadata_memo
from tokensmith.authority.parse import AuthoritySpec
from tokensmith.drivers.sync import run_flow
from tokensmith.entra.hosts import AliasGroup, instance_discovery_host
from tokensmith.entra.instance_discovery import fetch_alias_metadata
from tokensmith.transport.base import Transport

__all__ = ["alias_groups", "make_resolver"]


def make_resolver(
    transport: Transport,
    *,
    memo: MetadataMemo | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Resolver:
    """Return a resolver that discovers over ``transport``, memoised.

    Args:
        transport: where the discovery requests go.
        memo: defaults to the process-wide :data:`~tokensmith.authority.memo.metadata_memo`.
        sleep: handed to the driver.
    """
    store = metadata_memo if memo is None else memo

    def resolve(spec: AuthoritySpec) -> AuthorityMetadata:
        return store.resolve(spec, lambda: run_flow(discover(spec), transport, sleep))

    return resolve


def alias_groups(
    host: str,
    transport: Transport,
    *,
    endpoint: str | None = None,
    memo: TtlMemo[tuple[AliasGroup, ...]] | None = None,
) -> tuple[AliasGroup, ...]:
    """Return the alias groups Entra reports for ``host``'s discovery host, memoised.

    Raises:
        MsalServiceError, ProtocolError, TransportError: the look-up failed (not
            remembered). Callers that can live without aliases fall back to
            :func:`tokensmith.entra.instance_discovery.aliases_for` with no groups.
    """
    store = alias_memo if memo is None else memo
    key = endpoint or instance_discovery_host(host)
    return store.get_or_resolve(
        key, lambda: tuple(run_flow(fetch_alias_metadata(host, endpoint), transport))
    )
