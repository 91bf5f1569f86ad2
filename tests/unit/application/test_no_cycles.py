"""An application is freed when its last reference goes: no reference cycle makes a
large token cache wait for the cyclic collector (which would then walk all of it)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

import tokensmith
import tokensmith.aio

AUTHORITY = "https://login.microsoftonline.com/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "make",
    [
        lambda: tokensmith.PublicClientApplication("cid", authority=AUTHORITY),
        lambda: tokensmith.ConfidentialClientApplication("cid", "s", authority=AUTHORITY),
        lambda: tokensmith.aio.PublicClientApplication("cid", authority=AUTHORITY),
    ],
)
def test_an_application_and_its_cache_are_freed_by_reference_counting(
    make: object, no_collector: None
) -> None:
    app = make()  # type: ignore[operator]
    cache = weakref.ref(app.token_cache)
    gone = weakref.ref(app)
    del app
    assert gone() is None and cache() is None


def test_the_authority_object_still_resolves_through_its_application() -> None:
    app = tokensmith.PublicClientApplication("cid", authority=AUTHORITY)
    assert app.authority.tenant == "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
