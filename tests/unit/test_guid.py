"""``is_guid`` accepts exactly what the regular expression it replaced matched in full."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith._guid import is_guid

_REFERENCE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_GUID = "5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEFgG-\n ٣", min_size=30, max_size=40))
def test_is_guid_is_the_full_match_of_the_pattern(text: str) -> None:
    assert is_guid(text) == bool(_REFERENCE.fullmatch(text))


@given(st.integers(0, 35), st.sampled_from("-gG \n٣"))
def test_one_character_off_is_not_a_guid(index: int, char: str) -> None:
    text = _GUID[:index] + char + _GUID[index + 1 :]
    assert is_guid(text) == bool(_REFERENCE.fullmatch(text))


@pytest.mark.parametrize("text", [_GUID, _GUID.upper(), "00000000-0000-0000-0000-000000000000"])
def test_guids(text: str) -> None:
    assert is_guid(text)


@pytest.mark.parametrize(
    "text", ["", _GUID + "\n", " " + _GUID, _GUID[:-1], _GUID.replace("-", "")]
)
def test_not_guids(text: str) -> None:
    assert not is_guid(text)
