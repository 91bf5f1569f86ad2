"""Reading the redirect back from the authorization endpoint (RFC 6749 §4.1.2)."""

from __future__ import annotations

import pytest

from tokensmith.errors import ProtocolError
from tokensmith.protocol.authorization_code import parse_authorization_response, state_matches


def test_success_with_parse_qs_lists() -> None:
    response = parse_authorization_response(
        {"code": ["c0de"], "state": ["s"], "client_info": "ci"}, expected_state="s"
    )
    assert (response.code, response.state, response.client_info) == ("c0de", "s", "ci")
    assert response.error is None
    assert "c0de" not in repr(response)


def test_error_response_keeps_only_oauth_error_fields() -> None:
    response = parse_authorization_response(
        {"error": "access_denied", "error_description": "no", "state": "s", "code": "x"},
        expected_state="s",
    )
    assert (response.error, response.error_description, response.code) == (
        "access_denied",
        "no",
        None,
    )


@pytest.mark.parametrize(
    "params",
    [
        {"code": "c", "state": "other"},
        {"code": "c"},
        {"code": "c", "state": ["s", "s"]},
        {"state": "s"},
        {"code": "", "state": "s"},
    ],
)
def test_refused(params: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_authorization_response(params, expected_state="s")
    assert "other" not in str(caught.value)


def test_state_matches() -> None:
    assert state_matches("abc", "abc")
    assert not state_matches("abc", "abd")
    assert not state_matches("abc", None)
    assert state_matches(None, "anything")
