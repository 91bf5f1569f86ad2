"""``TokenCache.add(event)``: the entries written, field by field (reference §2.2, §2.4)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from tests.unit.cache._helpers import (
    CLIENT_ID,
    ENV,
    GRAPH_DEFAULT,
    HOME,
    NOW,
    UID,
    app_event,
    b64json,
    client_info,
    id_token,
    user_event,
)

from tokensmith._clock import FakeClock
from tokensmith.cache import SerializableTokenCache, TokenCache
from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.errors import ConfigurationError, ProtocolError


def _only(cache: TokenCache, section: str) -> tuple[str, dict[str, Any]]:
    entries = cache._cache[section]
    assert len(entries) == 1, entries
    return next(iter(entries.items()))


def test_user_flow_writes_the_five_entries_of_the_reference_example() -> None:
    cache = TokenCache()
    cache.add(user_event(refresh_in=1800, foci="1"), now=NOW)
    assert list(cache._cache) == [
        "AccessToken",
        "Account",
        "IdToken",
        "RefreshToken",
        "AppMetadata",
    ]
    target = "User.Read offline_access openid profile"

    key, at = _only(cache, "AccessToken")
    assert (
        key
        == f"{HOME}-{ENV}-accesstoken-{CLIENT_ID}-common-user.read offline_access openid profile"
    )
    assert at == {
        "credential_type": "AccessToken",
        "secret": "at-" + UID,
        "home_account_id": HOME,
        "environment": ENV,
        "client_id": CLIENT_ID,
        "target": target,
        "realm": "common",
        "token_type": "Bearer",
        "cached_at": "1700000000",
        "expires_on": "1700003599",
        "extended_expires_on": "1700003599",
        "refresh_on": "1700001800",
    }
    key, account = _only(cache, "Account")
    assert key == f"{HOME}-{ENV}-common"
    assert account == {
        "home_account_id": HOME,
        "environment": ENV,
        "realm": "common",
        "local_account_id": UID,
        "username": "ada@contoso.example",
        "authority_type": "MSSTS",
        "account_source": "authorization_code",
    }
    key, idt = _only(cache, "IdToken")
    assert key == f"{HOME}-{ENV}-idtoken-{CLIENT_ID}-common-"
    assert idt["credential_type"] == "IdToken" and idt["realm"] == "common"
    assert idt["secret"].count(".") == 2 and idt["home_account_id"] == HOME
    key, rt = _only(cache, "RefreshToken")
    assert key == f"{HOME}-{ENV}-refreshtoken-{CLIENT_ID}--user.read offline_access openid profile"
    assert rt == {
        "credential_type": "RefreshToken",
        "secret": "rt-" + UID,
        "home_account_id": HOME,
        "environment": ENV,
        "client_id": CLIENT_ID,
        "target": target,
        "last_modification_time": "1700000000",
        "family_id": "1",
    }
    key, app = _only(cache, "AppMetadata")
    assert key == f"appmetadata-{ENV}-{CLIENT_ID}"
    assert app == {"client_id": CLIENT_ID, "environment": ENV, "family_id": "1"}


def test_client_credentials_writes_an_app_only_token_and_app_metadata() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    assert set(cache._cache) == {"AccessToken", "AppMetadata"}
    key, at = _only(cache, "AccessToken")
    assert key.startswith("-login.microsoftonline.com-accesstoken-")
    assert at["home_account_id"] is None and at["realm"] == "contoso.example"
    assert at["target"] == GRAPH_DEFAULT
    assert "refresh_on" not in at and "ext_cache_key" not in at and "key_id" not in at


def test_adfs_account_comes_from_the_id_token_sub() -> None:
    event = {
        "client_id": "adfs-client",
        "scope": ["openid", "profile"],
        "token_endpoint": "https://fs.contoso.com/adfs/oauth2/token",
        "response": {
            "access_token": "at",
            "expires_in": 3600,
            "id_token": id_token(sub="adfs-sub", upn="ada@contoso.com"),
        },
        "data": {},
        "grant_type": "password",
    }
    cache = TokenCache()
    cache.add(event, now=NOW)
    _, account = _only(cache, "Account")
    assert account == {
        "home_account_id": "adfs-sub",
        "environment": "fs.contoso.com",
        "realm": "adfs",
        "local_account_id": "adfs-sub",
        "username": "ada@contoso.com",
        "authority_type": "ADFS",
        "account_source": "password",
    }
    assert _only(cache, "AccessToken")[1]["home_account_id"] == "adfs-sub"


def test_lifetimes_as_strings_defaults_and_absolute_expires_on() -> None:
    cache = TokenCache()
    cache.add(app_event("a", expires_in="3600", ext_expires_in="7200"), now=NOW)
    cache.add(app_event("b", expires_in=None) | {"response": {"access_token": "x"}}, now=NOW)
    cache.add(app_event("c") | {"response": {"access_token": "y", "expires_on": NOW + 86}}, now=NOW)
    cache.add(app_event("d", refresh_in="60"), now=NOW)
    by_target = {e["target"]: e for e in cache._cache["AccessToken"].values()}
    assert by_target["a"]["expires_on"] == str(NOW + 3600)
    assert by_target["a"]["extended_expires_on"] == str(NOW + 7200)
    assert by_target["b"]["expires_on"] == str(NOW + 600)  # RFC 6749 leaves it open; MSAL: 600
    assert by_target["b"]["extended_expires_on"] == str(NOW + 600)
    assert by_target["c"]["expires_on"] == str(NOW + 86)
    assert by_target["d"]["refresh_on"] == str(NOW + 60)


def test_extended_cache_key_and_key_id_come_from_the_request_body() -> None:
    cache = TokenCache()
    data = {"fmi_path": "a/b", "key_id": "kid-1", "token_type": "ssh-cert"}
    cache.add(app_event(data=data, token_type="ssh-cert"), now=NOW)
    key, at = _only(cache, "AccessToken")
    ext = compute_ext_cache_key(
        {"client_id": CLIENT_ID, "grant_type": "client_credentials", **data}
    )
    assert ext and at["ext_cache_key"] == ext and key.endswith("-" + ext)
    assert "-atext-" in key
    assert at["key_id"] == "kid-1" and at["token_type"] == "ssh-cert"


def test_response_scope_wins_over_the_requested_scopes() -> None:
    cache = TokenCache()
    event = user_event()
    event["scope"] = ["Requested"]
    cache.add(event, now=NOW)
    assert _only(cache, "AccessToken")[1]["target"] == "User.Read offline_access openid profile"
    del event["response"]["scope"]
    cache2 = TokenCache()
    cache2.add(event, now=NOW)
    assert _only(cache2, "AccessToken")[1]["target"] == "Requested"


def test_account_fields_precedence_and_account_source() -> None:
    event = user_event(grant_type="refresh_token")
    event["_account_id"] = "broker-id"
    event["authority_type"] = "CLOUDSHELL"
    del event["response"]["id_token"]
    event["data"]["username"] = "ropc@contoso.example"
    cache = TokenCache()
    cache.add(event, now=NOW)
    _, account = _only(cache, "Account")
    assert account["local_account_id"] == "broker-id"
    assert account["username"] == "ropc@contoso.example"
    assert account["authority_type"] == "CLOUDSHELL"
    assert "account_source" not in account  # refresh_token does not establish an account


def test_username_falls_back_to_upn_then_event_then_empty() -> None:
    for claims, extra, expected in [
        ({"sub": "s", "upn": "u@x"}, {}, "u@x"),
        ({"sub": "s"}, {"username": "fed@x"}, "fed@x"),
        ({"sub": "s"}, {}, ""),
    ]:
        event = user_event(id_token=id_token(**claims))
        event.update(extra)
        cache = TokenCache()
        cache.add(event, now=NOW)
        account = _only(cache, "Account")[1]
        assert account["username"] == expected
        assert account["local_account_id"] == "s"


@pytest.mark.parametrize(
    "grant",
    [
        "authorization_code",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "broker",
        "user_fic",
    ],
)
def test_account_establishing_grants(grant: str) -> None:
    cache = TokenCache()
    cache.add(user_event(grant_type=grant), now=NOW)
    assert _only(cache, "Account")[1]["account_source"] == grant


def test_skip_account_creation() -> None:
    cache = TokenCache()
    cache.add(user_event() | {"skip_account_creation": True}, now=NOW)
    assert "Account" not in cache._cache
    assert len(cache._cache["AccessToken"]) == 1


def test_user_assertion_hash_is_stored_on_access_and_refresh_tokens_only() -> None:
    cache = TokenCache()
    cache.add(user_event() | {"user_assertion_hash": "h1"}, now=NOW)
    assert _only(cache, "AccessToken")[1]["user_assertion_hash"] == "h1"
    assert _only(cache, "RefreshToken")[1]["user_assertion_hash"] == "h1"
    for section in ("Account", "IdToken", "AppMetadata"):
        assert "user_assertion_hash" not in _only(cache, section)[1]


def test_client_info_without_uid_and_no_id_token_creates_no_account() -> None:
    event = app_event()
    event["response"]["client_info"] = b64json({"foo": "bar"})
    cache = TokenCache()
    cache.add(event, now=NOW)
    assert "Account" not in cache._cache
    assert _only(cache, "AccessToken")[1]["home_account_id"] is None


def test_environment_from_event_overrides_the_endpoint_host() -> None:
    event = user_event()
    event["environment"] = "login.windows.net"
    cache = TokenCache()
    cache.add(event, now=NOW)
    assert {e["environment"] for e in cache._cache["AccessToken"].values()} == {"login.windows.net"}
    assert _only(cache, "Account")[1]["realm"] == "common"


def test_upsert_replaces_the_whole_entry() -> None:
    cache = TokenCache()
    cache.add(user_event(foci="1"), now=NOW)
    cache.add(user_event(secret_suffix="-2"), now=NOW + 10)
    assert _only(cache, "AppMetadata")[1] == {"client_id": CLIENT_ID, "environment": ENV}
    rt = _only(cache, "RefreshToken")[1]
    assert rt["secret"] == "rt-" + UID + "-2" and "family_id" not in rt
    assert rt["last_modification_time"] == str(NOW + 10)


def test_now_defaults_to_the_injected_clock() -> None:
    clock = FakeClock(NOW + 0.9)
    cache = TokenCache(clock=clock)
    cache.add(user_event())
    assert _only(cache, "AccessToken")[1]["cached_at"] == str(NOW)
    clock.advance(100)
    rt = _only(cache, "RefreshToken")[1]
    cache.update_rt(rt, "rotated")
    rt = _only(cache, "RefreshToken")[1]
    assert rt["secret"] == "rotated" and rt["last_modification_time"] == str(NOW + 100)


def test_update_rt_with_the_secret_already_stored_writes_nothing() -> None:
    """After a refresh the response's RT is cached already; rotating to it again is a
    no-op (no modify() call for persistence layers to replay)."""
    calls: list[str] = []

    class Counting(TokenCache):
        def modify(self, credential_type: str, old: dict[str, Any], new: Any = None) -> None:
            calls.append(credential_type)
            super().modify(credential_type, old, new)

    cache = Counting()
    cache.add(user_event(), now=NOW)
    rt = _only(cache, "RefreshToken")[1]
    calls.clear()
    cache.update_rt(rt, rt["secret"])
    assert calls == []
    cache.update_rt(rt, "rotated")
    assert calls == ["RefreshToken"]
    assert _only(cache, "RefreshToken")[1]["secret"] == "rotated"


BAD_RESPONSES: list[tuple[str, dict[str, Any]]] = [
    ("id_token not a JWT", {"id_token": "not-a-jwt"}),
    ("id_token payload not JSON", {"id_token": "a." + b64json({"x": 1})[:-3] + "!!.c"}),
    ("id_token payload a list", {"id_token": "a.WzFd.c"}),
    ("id_token not a string", {"id_token": 42}),
    ("client_info garbage", {"client_info": "%%%"}),
    ("client_info not a string", {"client_info": {"uid": "u"}}),
    ("client_info not an object", {"client_info": b64json({"uid": "u"})[:0] + "WzFd"}),
    ("expires_in garbage", {"expires_in": "soon"}),
    ("expires_in bool", {"expires_in": True}),
    ("refresh_in garbage", {"refresh_in": "later"}),
    ("ext_expires_in garbage", {"ext_expires_in": [1]}),
    ("scope not a string", {"scope": ["a"]}),
    ("ADFS id_token without sub", {"client_info": None, "id_token": id_token(upn="x")}),
]


@pytest.mark.parametrize(("why", "patch"), BAD_RESPONSES, ids=[b[0] for b in BAD_RESPONSES])
def test_malformed_response_raises_before_anything_is_written(
    why: str, patch: dict[str, Any]
) -> None:
    cache = SerializableTokenCache()
    cache.add(app_event("existing"), now=NOW)
    cache.serialize()
    before = copy.deepcopy(cache._cache)
    event = user_event()
    event["response"].update(patch)
    if event["response"].get("client_info") is None:
        event["response"].pop("client_info")
    with pytest.raises(ProtocolError) as info:
        cache.add(event, now=NOW)
    assert cache._cache == before
    assert not cache.has_state_changed
    assert "rt-" not in str(info.value) and "at-" not in str(info.value)


@pytest.mark.parametrize(
    "event",
    [
        "not a mapping",
        {"response": {"access_token": "x"}, "token_endpoint": "ftp://host/t"},
        {"response": {"access_token": "x"}, "scope": [1, 2]},
        {"response": {"access_token": "x"}, "data": "nope"},
    ],
)
def test_malformed_event_raises_configuration_error(event: Any) -> None:
    cache = TokenCache()
    with pytest.raises(ConfigurationError):
        cache.add(event, now=NOW)
    assert cache._cache == {}


def test_response_not_a_mapping_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        TokenCache().add({"response": ["x"]}, now=NOW)


def test_debug_log_of_an_event_hides_secrets(caplog: pytest.LogCaptureFixture) -> None:
    cache = TokenCache()
    event = user_event()
    event["data"]["client_secret"] = "hunter2"
    with caplog.at_level("DEBUG", logger="tokensmith"):
        cache.add(event, now=NOW)
    text = caplog.text
    assert "token cache event" in text
    for secret in (
        "hunter2",
        "at-" + UID,
        "rt-" + UID,
        event["response"]["id_token"],
        client_info(),
    ):
        assert secret not in text
    json.dumps(cache._cache)  # everything stored is JSON-serializable
