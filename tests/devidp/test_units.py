"""Pure pieces of the dev IdP: redirect URI matching, fault selection, scopes, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.devidp import default_config
from tokensmith.devidp.authorize import redirect_uri_matches
from tokensmith.devidp.errors import OAuthError, error_body
from tokensmith.devidp.faults import Faults
from tokensmith.devidp.scopes import resolve_scopes
from tokensmith.errors import ConfigurationError


@pytest.mark.parametrize(
    ("registered", "requested", "matches"),
    [
        ("http://localhost", "http://localhost:8400", True),
        ("http://localhost/cb", "http://localhost:9/cb", True),
        ("http://127.0.0.1", "http://localhost:8400", False),
        ("http://localhost/cb", "http://localhost:9/other", False),
        ("https://app.example/cb", "https://app.example:444/cb", False),
        ("https://app.example/cb", "https://app.example/CB", False),
        ("http://localhost", "http://localhost:notaport", False),
    ],
)
def test_redirect_uri_matching(registered: str, requested: str, matches: bool) -> None:
    assert redirect_uri_matches(registered, requested) is matches


def test_faults_match_client_then_user_and_count_down() -> None:
    faults = Faults()
    faults.add("bad_token", user="Ada@x", count=2)
    faults.add("throttle", client_id="c1", count=None)
    assert faults.take(client_id="c2", user=None, device=False) is None
    throttle = faults.take(client_id="c1", user=None, device=False)
    assert throttle is not None and throttle.kind == "throttle"
    bad_token = faults.take(client_id="c2", user="ada@x", device=False)
    assert bad_token is not None and bad_token.kind == "bad_token"
    assert faults.take(client_id="c2", user="ada@x", device=False) is not None
    assert faults.take(client_id="c2", user="ada@x", device=False) is None  # used up
    assert [f.kind for f in faults.armed()] == ["throttle"]  # until cleared


def test_device_faults_wait_for_a_device_poll() -> None:
    faults = Faults()
    faults.add("authorization_pending")
    assert faults.take(client_id="c", user=None, device=False) is None
    assert faults.take(client_id="c", user=None, device=True) is not None


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("gremlins", {}),
        ("throttle", {"count": 0}),
        ("server_error", {"status": 404}),
        ("delay", {"seconds": float("nan")}),
        ("delay", {"seconds": -1.0}),
        ("throttle", {"retry_after": -1}),
    ],
)
def test_bad_faults_are_refused(kind: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Faults().add(kind, **options)


def test_scopes_resolve_to_one_resource() -> None:
    config = default_config()
    grant = resolve_scopes(config, "user.read Mail.Read openid offline_access")
    assert grant.permissions == ("User.Read", "Mail.Read")
    assert grant.response_scope() == "User.Read Mail.Read openid"
    mixed = "User.Read api://tokensmith-api-a/access_as_user"
    with pytest.raises(OAuthError) as raised:
        resolve_scopes(config, mixed)
    assert raised.value.code == 700022


def test_error_body_shape() -> None:
    err = OAuthError("invalid_grant", 50076, "MFA.", suberror="basic_action", claims="{}")
    body = error_body(err, trace_id="t", correlation_id="c", now=0.0, base_url="https://h")
    assert body["error_description"] == (
        "AADSTS50076: MFA.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 1970-01-01 00:00:00Z"
    )
    assert body["error_codes"] == [50076] and body["timestamp"] == "1970-01-01 00:00:00Z"
    assert (body["suberror"], body["claims"]) == ("basic_action", "{}")
    assert body["error_uri"] == "https://h/error?code=50076"


def test_outstanding_sign_ins_and_device_codes_are_capped() -> None:
    from tokensmith.devidp.state import MAX_OUTSTANDING, DeviceCode, GrantStore, PendingSignIn

    store = GrantStore()
    first = store.add_pending(PendingSignIn({}, "common", None, expires_at=1e12))
    for _ in range(MAX_OUTSTANDING + 5):
        store.add_pending(PendingSignIn({}, "common", None, expires_at=1e12))
        code = f"dc{_}"
        store.add_device(DeviceCode(code, f"U{_}", "c", "openid", "common", expires_at=1e12))
    assert store.pending(first, now=0) is None  # the oldest was forgotten
    assert len(store._pending) == len(store._devices) == MAX_OUTSTANDING
    assert store.device("dc0") is None and store.device(code) is not None
