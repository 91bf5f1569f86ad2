"""The seeded slice of the hostile-input fuzzing (``make fuzz`` runs the long one).

Each surface gets a few dozen derandomized examples, so the slice is the same on
every run and takes seconds.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from tests.unit.hostile import strategies as s
from tests.unit.hostile import surfaces

from tokensmith.stores import BoundedTokenCache

SLICE = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@SLICE
@given(s.token_answers)
def test_token_response(answer: tuple[Any, int]) -> None:
    surfaces.token_response(answer[0], answer[1])


@SLICE
@given(s.token_answers)
def test_token_response_to_a_silent_refresh(answer: tuple[Any, int]) -> None:
    surfaces.token_response(answer[0], answer[1], silent=True)


@SLICE
@given(s.claims)
def test_id_token_claims(claims: Any) -> None:
    surfaces.id_token_claims(claims)


@SLICE
@given(s.discovery_documents)
def test_discovery_document(document: Any) -> None:
    surfaces.discovery(document)


@SLICE
@given(s.device_answers, s.poll_answers)
def test_device_code(initiate: Any, polls: list[tuple[int, Any]]) -> None:
    surfaces.device_code(initiate, polls)


@SLICE
@given(s.cache_mutations)
def test_cache_json(mutate: Any) -> None:
    surfaces.cache_json(mutate)


@SLICE
@given(s.cache_mutations)
def test_cache_json_in_a_bounded_cache(mutate: Any) -> None:
    surfaces.cache_json(mutate, lambda: BoundedTokenCache(2))  # a bound that evicts


@SLICE
@given(s.authorities)
def test_authority(value: Any) -> None:
    surfaces.authority(value)


@SLICE
@given(s.scope_arguments)
def test_scopes(value: Any) -> None:
    surfaces.scopes(value)


@SLICE
@given(s.account_arguments)
def test_account_argument(value: Any) -> None:
    surfaces.account_argument(value)
