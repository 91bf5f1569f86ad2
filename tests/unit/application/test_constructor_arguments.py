"""Constructor arguments of the wrong type raise an error naming the argument."""

from __future__ import annotations

from typing import Any

import pytest

import tokensmith
from tokensmith.errors import AuthorityError

AUTHORITY = "https://login.microsoftonline.com/7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"


@pytest.mark.parametrize("value", [5, "login.contoso.example", b"x", object()])
def test_known_authorities_must_be_a_collection(value: Any) -> None:
    with pytest.raises(AuthorityError, match="known_authorities"):
        tokensmith.PublicClientApplication("cid", authority=AUTHORITY, known_authorities=value)


def test_known_authorities_entries_must_be_host_names() -> None:
    with pytest.raises(AuthorityError, match="known_authorities"):
        tokensmith.PublicClientApplication("cid", authority=AUTHORITY, known_authorities=[5])


def test_no_known_authorities_is_none_or_empty() -> None:
    for value in (None, (), []):
        tokensmith.PublicClientApplication("cid", authority=AUTHORITY, known_authorities=value)
