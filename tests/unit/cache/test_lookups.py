"""The façade's typed lookups: what they return and what they remove."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, UTID, app_event, user_event

from tokensmith.cache import TokenCache
from tokensmith.errors import ConfigurationError

ALIAS = "login.windows.net"
TENANT = "contoso.example"


class CountingCache(TokenCache):
    """Records every call to the mutation hook."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bool]] = []

    def modify(
        self, credential_type: str, old_entry: dict[str, Any], new: dict[str, Any] | None = None
    ) -> None:
        self.calls.append((credential_type, bool(new)))
        super().modify(credential_type, old_entry, new)


def _app_at(cache: TokenCache, scopes: Any, **kw: Any) -> dict[str, Any] | None:
    args: dict[str, Any] = dict(
        home_account_id=None,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm=TENANT,
        scopes=scopes,
        now=NOW,
    )
    args.update(kw)
    return cache.find_access_token(**args)


def _user_at(cache: TokenCache, scopes: list[str], **kw: Any) -> dict[str, Any] | None:
    args: dict[str, Any] = dict(
        home_account_id=HOME,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=scopes,
        now=NOW,
    )
    args.update(kw)
    return cache.find_access_token(**args)


def test_access_token_superset_case_insensitive_latest_expiry_wins() -> None:
    cache = TokenCache()
    cache.add(user_event(scope=["User.Read", "Mail.Read"], expires_in=1000), now=NOW)
    cache.add(user_event(scope=["User.Read", "Files.Read"], expires_in=2000), now=NOW)
    cache.add(user_event(scope=["Mail.Read"], expires_in=5000), now=NOW)
    found = _user_at(cache, ["user.READ"])
    assert found is not None and found["target"] == "Files.Read User.Read"
    found = _user_at(cache, ["mail.read", "USER.read"])
    assert found is not None and found["target"] == "Mail.Read User.Read"
    assert _user_at(cache, ["User.Read", "Calendars.Read"]) is None
    assert _user_at(cache, ["User.Read"], realm="other") is None
    assert _user_at(cache, ["User.Read"], client_id="other") is None
    assert _user_at(cache, ["User.Read"], home_account_id="someone.else") is None
    assert _user_at(cache, ["User.Read"], environments=["LOGIN.microsoftonline.com"]) is not None


def test_expired_tokens_are_not_returned_and_the_lookup_writes_nothing() -> None:
    cache = CountingCache()
    cache.add(app_event("a", expires_in=100), now=NOW - 100)  # expires_on == NOW
    cache.add(app_event("b", expires_in=50), now=NOW - 100)
    cache.calls.clear()
    stored = dict(cache._cache["AccessToken"])
    assert _app_at(cache, ["a"]) is None
    assert _app_at(cache, ["b"]) is None
    assert cache.calls == []  # a pure read: no modify(), so nothing reaches a store
    assert cache._cache["AccessToken"] == stored
    assert _app_at(cache, []) is None


def test_environments_are_tried_in_order() -> None:
    cache = TokenCache()
    cache.add(app_event("a") | {"environment": ALIAS}, now=NOW)
    found = _app_at(cache, ["a"], environments=[ENV, ALIAS])
    assert found is not None and found["environment"] == ALIAS
    cache.add(app_event("a", expires_in=10), now=NOW)
    found = _app_at(cache, ["a"], environments=[ENV, ALIAS])
    assert found is not None and found["environment"] == ENV  # first env wins, not latest expiry


def test_on_behalf_of_tokens_are_isolated_by_assertion_hash() -> None:
    cache = TokenCache()
    cache.add(user_event(scope=["api.read"]) | {"user_assertion_hash": "h1"}, now=NOW)
    cache.add(user_event(uid="u2", scope=["api.read"]) | {"user_assertion_hash": "h2"}, now=NOW)
    assert _user_at(cache, ["api.read"]) is None  # never served to a plain user lookup
    found = _user_at(cache, ["api.read"], home_account_id=None, user_assertion_hash="h2")
    assert found is not None and found["home_account_id"] == "u2." + UTID
    assert _user_at(cache, ["api.read"], user_assertion_hash="h3") is None
    assert _user_at(cache, ["api.read"], user_assertion_hash="h1", client_id="x") is None


def test_key_id_and_ext_cache_key_filters() -> None:
    cache = TokenCache()
    cache.add(app_event("a", data={"key_id": "k1"}), now=NOW)
    cache.add(app_event("b", data={"fmi_path": "p"}), now=NOW)
    ext = next(e for e in cache._cache["AccessToken"].values() if e["target"] == "b")[
        "ext_cache_key"
    ]
    assert _app_at(cache, ["a"], key_id="k1") is not None
    assert _app_at(cache, ["a"], key_id="k2") is None
    assert _app_at(cache, ["a"]) is not None  # like MSAL: no key_id asked, none checked
    assert _app_at(cache, ["b"]) is None
    assert _app_at(cache, ["b"], ext_cache_key=ext) is not None
    assert _app_at(cache, ["a"], ext_cache_key=ext) is None


@pytest.mark.parametrize("field", ["scopes", "environments"])
def test_a_bare_string_is_refused(field: str) -> None:
    with pytest.raises(ConfigurationError):
        _app_at(TokenCache(), **({"scopes": ["a"]} | {field: "abc"}))


def test_refresh_tokens_newest_first_with_anded_filters() -> None:
    cache = TokenCache()
    cache.add(user_event(scope=["a"], foci="1"), now=NOW)
    cache.add(user_event(scope=["b"]), now=NOW + 5)
    cache.add(user_event(scope=["c"], foci="1") | {"client_id": "family-app"}, now=NOW + 9)
    cache.add(
        user_event(scope=["d"]) | {"client_id": "x", "user_assertion_hash": "h"}, now=NOW + 20
    )
    cache.add(user_event(scope=["e"]) | {"environment": ALIAS}, now=NOW + 30)
    targets = lambda rts: [rt["target"] for rt in rts]  # noqa: E731
    find = cache.find_refresh_tokens
    assert targets(find(home_account_id=HOME, environments=[ENV])) == ["c", "b", "a"]
    assert targets(find(home_account_id=HOME, environments=[ENV, ALIAS])) == ["c", "b", "a", "e"]
    assert targets(find(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)) == [
        "b",
        "a",
    ]
    assert targets(find(home_account_id=HOME, environments=[ENV], family_id="1")) == ["c", "a"]
    assert targets(
        find(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID, family_id="1")
    ) == ["a"]
    assert find(home_account_id="nobody", environments=[ENV]) == []
    obo = cache.find_obo_refresh_token(user_assertion_hash="h", environments=[ENV], client_id="x")
    assert obo is not None and obo["target"] == "d"
    assert (
        cache.find_obo_refresh_token(
            user_assertion_hash="h", environments=[ENV], client_id=CLIENT_ID
        )
        is None
    )


def test_app_metadata() -> None:
    cache = TokenCache()
    cache.add(user_event(foci="1"), now=NOW)
    assert cache.get_app_metadata(environment="Login.MicrosoftOnline.com", client_id=CLIENT_ID) == {
        "client_id": CLIENT_ID,
        "environment": ENV,
        "family_id": "1",
    }
    assert cache.get_app_metadata(environment=ENV, client_id="other") is None


def test_accounts_and_id_tokens() -> None:
    cache = TokenCache()
    cache.add(user_event(username="Ada@Contoso.example"), now=NOW)
    cache.add(user_event(token_endpoint=f"https://{ENV}/{UTID}/oauth2/v2.0/token"), now=NOW)
    cache.add(
        user_event(uid="u2", username="bob@contoso.example") | {"environment": ALIAS}, now=NOW
    )
    realms = lambda accounts: sorted(a["realm"] for a in accounts)  # noqa: E731
    assert len(cache.find_accounts()) == 3
    assert realms(cache.find_accounts(environments=[ENV])) == [UTID, "common"]
    assert realms(cache.find_accounts(username="ADA@contoso.EXAMPLE")) == [UTID, "common"]
    bobs = cache.find_accounts(environments=[ENV, ALIAS], username="BOB@contoso.example")
    assert [(a["home_account_id"], a["environment"]) for a in bobs] == [("u2." + UTID, ALIAS)]
    assert cache.find_accounts(environments=[ENV], username="bob@contoso.example") == []
    assert realms(cache.find_accounts(home_account_id=HOME, environments=[ALIAS])) == []
    assert cache.find_accounts(home_account_id=HOME, username="nobody") == []
    idt = cache.find_id_token(
        home_account_id=HOME, environments=[ENV], realm=UTID, client_id=CLIENT_ID
    )
    assert idt is not None and idt["realm"] == UTID
    idt = cache.find_id_token(
        home_account_id=HOME, environments=[ENV], realm=None, client_id=CLIENT_ID
    )
    assert idt is not None and idt["realm"] == "common"  # first written
    assert (
        cache.find_id_token(home_account_id=HOME, environments=[ENV], realm=None, client_id="x")
        is None
    )


def test_forget_account_follows_msal_remove_account() -> None:
    cache = CountingCache()
    cache.add(user_event(foci="1"), now=NOW)  # this app, family member
    cache.add(user_event(token_endpoint=f"https://{ENV}/{UTID}/t", scope=["x"]), now=NOW)
    cache.add(user_event(scope=["fam"], foci="1") | {"client_id": "sibling"}, now=NOW)
    cache.add(user_event(scope=["solo"]) | {"client_id": "stranger"}, now=NOW)
    cache.add(user_event(uid="u2"), now=NOW)  # another user
    cache.add(user_event() | {"environment": ALIAS}, now=NOW)  # same user, other host
    cache.add(user_event(scope=["fmi"]) | {"data": {"fmi_path": "p"}}, now=NOW)  # extended AT
    cache.add(user_event(foci="1"), now=NOW)  # restore this app's family membership
    cache.calls.clear()
    cache.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert all(not new for _, new in cache.calls) and cache.calls

    def owned(section: str, env: str = ENV) -> list[dict[str, Any]]:
        return [
            e
            for e in cache._cache[section].values()
            if e["home_account_id"] == HOME and e["environment"] == env
        ]

    assert [rt["client_id"] for rt in owned("RefreshToken")] == ["stranger"]
    assert owned("AccessToken") == [] and owned("IdToken") == [] and owned("Account") == []
    for section in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        assert owned(section, ALIAS), section
        assert any(e["home_account_id"] == "u2." + UTID for e in cache._cache[section].values())


def test_remove_app_tokens_follows_msal_remove_tokens_for_client() -> None:
    cache = TokenCache()
    cache.add(app_event("a"), now=NOW)
    cache.add(app_event("b", tenant="other"), now=NOW)
    cache.add(app_event("c", data={"fmi_path": "p"}), now=NOW)
    cache.add(app_event("d", client_id="other-client"), now=NOW)
    cache.add(app_event("e") | {"environment": ALIAS}, now=NOW)
    cache.add(user_event(), now=NOW)
    cache.remove_app_tokens(client_id=CLIENT_ID, environments=[ENV])
    left = sorted(e["target"] for e in cache._cache["AccessToken"].values())
    assert left == ["User.Read offline_access openid profile", "d", "e"]
