"""Fixtures of the interop tests: one real OpenID provider (node-oidc-provider over
https on loopback) per test session.

Every test collected under tests/interop is marked ``interop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.interop._provider import OidcProvider, start_provider

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The running provider: issuer, CA path, clients, test account and the person's
    steps (``complete_device_login``, ``authorize_in_http``). Stopped at session end."""
    with start_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider
