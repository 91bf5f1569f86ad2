"""The managed-identity client tests' environment: no source variable but the IMDS
override, pointed at loopback (never 169.254.169.254)."""

from __future__ import annotations

import pytest

from tokensmith.protocol.managed_identity.sources import ENVIRONMENT_VARIABLES


@pytest.fixture
def imds_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:1")
