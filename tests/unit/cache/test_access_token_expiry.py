"""``access_token_expiry``: the AccessToken validity rule that also answers the expiry
(every cache hit runs it once), and ``usable`` agreeing with it."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.cache.schema import CredentialType
from tokensmith.cache.validity import access_token_expiry, usable

_DROP = object()
"""A field value that means "leave the field out"."""


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "credential_type": "AccessToken",
        "secret": "at",
        "environment": "login.microsoftonline.com",
        "target": "scope",
        "token_type": "Bearer",
        "expires_on": "1700003600",
        "refresh_on": "1700001800",
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not _DROP}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (_entry(), 1_700_003_600),
        (_entry(expires_on=1_700_003_601), 1_700_003_601),
        (_entry(expires_on="0"), 0),
        (_entry(refresh_on=_DROP), 1_700_003_600),
        (_entry(environment=None, target=None, token_type=None), 1_700_003_600),
        (_entry(expires_on=_DROP), None),
        (_entry(expires_on="soon"), None),
        (_entry(expires_on=True), None),
        (_entry(expires_on="99999999999999"), None),
        (_entry(refresh_on="true"), None),
        (_entry(secret=""), None),
        (_entry(secret=_DROP), None),
        (_entry(target=["scope"]), None),
        (_entry(environment=1), None),
        (_entry(token_type=b"Bearer"), None),
        (_entry(credential_type="RefreshToken"), None),
        (None, None),
        ("AccessToken", None),
    ],
)
def test_the_expiry_of_a_usable_access_token_else_none(entry: object, expected: int | None) -> None:
    assert access_token_expiry(entry) == expected
    assert usable(entry, CredentialType.ACCESS_TOKEN) is (expected is not None)
