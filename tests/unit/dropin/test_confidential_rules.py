"""The small rules behind items 1 and 2 of issue 9, checked against MSAL 1.39's own
functions on generated input (derandomized: the same examples every run): region
names, the deep merge of claims requests, and the extended cache key of request data.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msal import region as msal_region  # type: ignore[import-untyped]
from msal import token_cache as msal_cache

from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.entra.region import valid_region
from tokensmith.protocol.claims import merge_claims_objects

_REGIONISH = st.text(alphabet="abcxyz019-_. AZ", max_size=70)
_NAMES = st.sampled_from(["access_token", "id_token", "xms_cc", "acrs", "values", "a", "b"])
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4))
_CLAIMS = st.recursive(
    _LEAF, lambda inner: st.dictionaries(_NAMES, inner, max_size=3), max_leaves=8
)
_OBJECTS = st.dictionaries(_NAMES, _CLAIMS, max_size=3)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(_REGIONISH | st.sampled_from(["westus2", "a", "a" * 63, "a" * 64, "x-", "-x", "9a"]))
def test_region_names_are_those_msal_takes(name: str) -> None:
    assert valid_region(name) == msal_region._validate_region(name)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_OBJECTS, _OBJECTS)
def test_claims_merge_as_msal_merges(first: dict[str, Any], second: dict[str, Any]) -> None:
    a, b = json.dumps(first) if first else None, json.dumps(second) if second else None
    ours, theirs = merge_claims_objects(a, b), msal_cache._merge_claims(a, b)
    assert (json.loads(ours) if ours else None) == (json.loads(theirs) if theirs else None)


@pytest.mark.parametrize("bad", ["[1]", "null", "{", "1"])
def test_a_claims_side_that_is_not_an_object_is_refused_by_both(bad: str) -> None:
    with pytest.raises(ValueError):
        msal_cache._merge_claims(bad, '{"a": 1}')
    with pytest.raises(ValueError):
        merge_claims_objects(bad, '{"a": 1}')


_FIELDS = st.sampled_from(
    ["fmi_path", "client_claims", "claims", "scope", "key_id", "token_type", "x", "ünï"]
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.dictionaries(_FIELDS, st.one_of(st.text(max_size=6), st.integers(0, 3)), max_size=5))
def test_the_extended_cache_key_is_msals(data: dict[str, Any]) -> None:
    assert compute_ext_cache_key(data) == msal_cache._compute_ext_cache_key(data)
