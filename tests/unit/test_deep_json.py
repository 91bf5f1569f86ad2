"""JSON nested deeper than the parser's recursion limit is bad input, not a crash.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on such text; every place
that parses untrusted JSON turns it into the documented error.
"""

from __future__ import annotations

import pytest

from tokensmith._jwt import b64url_encode, decode_jwt_claims
from tokensmith.cache import SerializableTokenCache
from tokensmith.errors import ProtocolError
from tokensmith.protocol.claims import merge_claims

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_jwt_payload_is_a_protocol_error() -> None:
    token = f"{b64url_encode(b'{}')}.{b64url_encode(DEEP.encode())}.sig"
    with pytest.raises(ProtocolError):
        decode_jwt_claims(token)


def test_a_deeply_nested_cache_state_is_refused_and_the_cache_kept() -> None:
    cache = SerializableTokenCache()
    cache.deserialize('{"AccessToken": {}, "Mine": 1}')
    with pytest.raises(ProtocolError):
        cache.deserialize(DEEP)
    assert '"Mine": 1' in cache.serialize()


def test_a_deeply_nested_claims_challenge_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        merge_claims(DEEP, ["CP1"])


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_constants_in_a_jwt_are_a_protocol_error(constant: str) -> None:
    payload = ('{"exp": ' + constant + ', "aud": "a"}').encode()
    token = f"{b64url_encode(b'{}')}.{b64url_encode(payload)}.sig"
    with pytest.raises(ProtocolError):
        decode_jwt_claims(token)
