"""Applications on the fake Entra of the unit tests, each with its own store-backed cache."""

from __future__ import annotations

from typing import Any

from tests.unit.application.fake_entra import TENANT, FakeEntra

import tokensmith
import tokensmith.aio
from tokensmith._clock import FakeClock

AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
SCOPE = ["https://graph.microsoft.com/.default"]


def cca(entra: FakeEntra, clock: FakeClock, cache: Any, client_id: str = "web-app") -> Any:
    return tokensmith.ConfidentialClientApplication(
        client_id,
        "s3cret",
        authority=AUTHORITY,
        transport=entra.transport,
        clock=clock,
        sleep=clock.sleep,
        token_cache=cache,
    )


def async_cca(entra: FakeEntra, clock: FakeClock, cache: Any, client_id: str = "web-app") -> Any:
    return tokensmith.aio.ConfidentialClientApplication(
        client_id,
        "s3cret",
        authority=AUTHORITY,
        transport=entra.transport,
        clock=clock,
        token_cache=cache,
    )
