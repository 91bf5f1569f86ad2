from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.application.fake_entra import TENANT, FakeEntra

import tokensmith
from tokensmith._clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def entra(clock: FakeClock) -> FakeEntra:
    return FakeEntra(clock)


@pytest.fixture
def make_pca(entra: FakeEntra, clock: FakeClock) -> Callable[..., Any]:
    def make(client_id: str = "pca-client", **kwargs: Any) -> Any:
        kwargs.setdefault("authority", f"https://login.microsoftonline.com/{TENANT}")
        return tokensmith.PublicClientApplication(
            client_id, transport=entra.transport, clock=clock, sleep=clock.sleep, **kwargs
        )

    return make


@pytest.fixture
def make_cca(entra: FakeEntra, clock: FakeClock) -> Callable[..., Any]:
    def make(client_id: str = "cca-client", credential: Any = "s3cret", **kwargs: Any) -> Any:
        kwargs.setdefault("authority", f"https://login.microsoftonline.com/{TENANT}")
        return tokensmith.ConfidentialClientApplication(
            client_id,
            credential,
            transport=entra.transport,
            clock=clock,
            sleep=clock.sleep,
            **kwargs,
        )

    return make
