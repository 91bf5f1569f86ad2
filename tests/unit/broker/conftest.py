from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.application.fake_entra import TENANT, FakeEntra
from tests.unit.broker.fake_backend import FakeBroker

import tokensmith
from tokensmith._clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def entra(clock: FakeClock) -> FakeEntra:
    return FakeEntra(clock)


@pytest.fixture
def fake(clock: FakeClock) -> FakeBroker:
    return FakeBroker(clock)


@pytest.fixture
def make_app(entra: FakeEntra, clock: FakeClock, fake: FakeBroker) -> Callable[..., Any]:
    """A public client on Linux with the fake broker opted in (unless told otherwise)."""

    def make(client_id: str = "pca-client", **kwargs: Any) -> Any:
        kwargs.setdefault("authority", f"https://login.microsoftonline.com/{TENANT}")
        kwargs.setdefault("enable_broker_on_linux", True)
        kwargs.setdefault("broker_backend", fake)
        return tokensmith.PublicClientApplication(
            client_id, transport=entra.transport, clock=clock, sleep=clock.sleep, **kwargs
        )

    return make
