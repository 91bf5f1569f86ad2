"""Hostile conditions for SecretServiceStore: layout arguments D-Bus cannot carry (real
gnome-keyring-daemon on a private bus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.cache._helpers import NOW, user_event

from tokensmith.errors import ConfigurationError
from tokensmith.stores import PersistentTokenCache
from tokensmith.stores.secretservice import SecretServiceStore


@pytest.mark.parametrize(
    "layout",
    [
        {"attributes": {"MsalClientID": 1}},
        {"attributes": {"MsalClientID": "\udc80"}},  # a lone surrogate (JSON's \udc80)
        {"attributes": {"MsalClientID": "a\0b"}},
        {"attributes": [("MsalClientID", "x")]},
        {"label": None},
        {"label": "MSAL\0Cache"},
        {"schema_name": 3},
        {"collection": "not/a path"},
        {"collection": 7},
        {"address": 123},
    ],
    ids=[
        "int-value",
        "surrogate",
        "nul-value",
        "pairs",
        "no-label",
        "nul-label",
        "int-schema",
        "bad-path",
        "int-collection",
        "int-address",
    ],
)
def test_a_layout_d_bus_cannot_carry_is_a_configuration_error_at_construction(
    secret_service: str, tmp_path: Path, opened: list[Any], layout: dict[str, Any]
) -> None:
    """It was built, then the first lookup raised a bare TypeError, UnicodeEncodeError or
    ValueError from jeepney (a NUL made the bus drop the connection: "connection lost");
    an int address was a bare AttributeError. allow_unencrypted is no way around it."""
    options = {"address": secret_service, **layout}
    with pytest.raises(ConfigurationError) as caught:
        store = SecretServiceStore(tmp_path / "cache.bin", allow_unencrypted=True, **options)
        opened.append(store)
        PersistentTokenCache(store, clock=lambda: NOW).add(user_event(), now=NOW)
    assert type(caught.value) is ConfigurationError
    assert "\udc80" not in str(caught.value) and "MsalClientID" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing made: no signal file, no plain cache
