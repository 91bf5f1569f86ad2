"""Managed identity: ``ManagedIdentityClient.acquire_token_for_client(resource=...)``
answered from the cache, MSAL's client beside tokensmith's.

Both clients use the VM's IMDS source, pointed at loopback through its environment
override (``AZURE_POD_IDENTITY_AUTHORITY_HOST``; never 169.254.169.254) and answered by
the in-process :class:`bench.fakehttp.FakeImds` given as ``http_client``, so no socket
is opened (:mod:`bench.netguard` stays on). Each client is primed with one miss (one
GET), then timed on cache hits; a GET during the hits is an error, not a figure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from bench.fakehttp import FakeImds
from bench.libs import Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario, expect_token
from bench.timing import Call, measure
from tokensmith.protocol.managed_identity.sources import ENVIRONMENT_VARIABLES

__all__ = ["IMDS_HOST", "MI_HIT", "SCENARIOS", "imds_environment"]

MI_HIT = Row("mi_hit", "managed-identity hit (IMDS source)")
RESOURCE = "https://management.azure.com"
IMDS_HOST = "http://127.0.0.1:9"
"""Where the IMDS source is pointed (loopback's discard port; the fake answers
in-process, nothing connects)."""


@contextmanager
def imds_environment(host: str = IMDS_HOST) -> Iterator[None]:
    """Inside the block, the environment names the VM's IMDS source at ``host`` only
    (every other source's variables removed); the environment is restored after."""
    saved = {name: os.environ.pop(name, None) for name in ENVIRONMENT_VARIABLES}
    os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = host
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mi_hit(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """acquire_token_for_client(resource=...) for a token already in the cache."""
    module = lib.module
    http = FakeImds(IMDS_HOST)
    with imds_environment():

        def factory() -> Call:
            client = module.ManagedIdentityClient(
                module.SystemAssignedManagedIdentity(),
                http_client=http,
                token_cache=module.TokenCache(),
            )
            before = http.get_count
            expect_token(
                client.acquire_token_for_client(resource=RESOURCE), None, "identity_provider"
            )
            expect_token(
                client.acquire_token_for_client(resource=RESOURCE),
                FakeImds.token_for(RESOURCE),
                "cache",
            )
            if http.get_count != before + 1:
                raise BenchCheckError(f"{http.get_count - before} GETs to prime one token")
            return lambda i: client.acquire_token_for_client(resource=RESOURCE)

        primed = http.get_count
        measurement = measure(factory, ctx.settings)
    if http.get_count != primed + 1:
        raise BenchCheckError(f"{http.get_count - primed - 1} token requests during cache hits")
    return {"": Cell.of(measurement)}


SCENARIOS = (Scenario((MI_HIT,), mi_hit, sized=False),)
