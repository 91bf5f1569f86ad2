"""``search()`` / ``find()`` follow MSAL's semantics (reference §2.5), checked against
msal 1.39 itself on the same state when it is installed."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache, TokenCache
from tokensmith.errors import ConfigurationError

USER_Q = {"home_account_id": HOME, "environment": ENV, "client_id": CLIENT_ID, "realm": "common"}
APP_Q = {
    "home_account_id": None,
    "environment": ENV,
    "client_id": CLIENT_ID,
    "realm": "contoso.example",
}


def _state() -> str:
    """A varied cache: 3 users, 2 clients, 2 realms, an alias host, FMI and expired ATs."""
    cache = SerializableTokenCache()
    for i, uid in enumerate(["u1", "u2", "u3"]):
        cache.add(user_event(uid=uid, username=f"User{i}@X.example", foci="1"), now=NOW)
        other = user_event(uid=uid, username=f"User{i}@X.example", scope=["Mail.Read", "openid"])
        cache.add(other | {"client_id": "other"}, now=NOW)
    cache.add(
        user_event(uid="u1", token_endpoint="https://login.windows.net/tid/oauth2/v2.0/token"),
        now=NOW,
    )
    cache.add(user_event(uid="u2", scope=["Files.Read"], expires_in=10), now=NOW - 100)
    for n in range(5):
        cache.add(app_event(f"api://r{n}/.default"), now=NOW - 4000 * (n % 2))
    cache.add(app_event("api://r0/.default", data={"fmi_path": "p/1"}), now=NOW)
    cache.add(app_event("api://r0/.default", data={"fmi_path": "p/2"}), now=NOW)
    cache.add(app_event("api://Mixed/.default", tenant="other.example"), now=NOW)
    return cache.serialize()


def _queries() -> list[tuple[str, list[str] | None, dict[str, Any] | None]]:
    u1 = "u1." + HOME.split(".")[1]
    user_q = dict(USER_Q, home_account_id=u1)
    return [
        ("AccessToken", None, None),
        ("AccessToken", ["User.Read"], user_q),
        ("AccessToken", ["openid", "User.Read"], user_q),
        ("AccessToken", ["user.read"], user_q),  # MSAL's scope match is case-sensitive
        ("AccessToken", [], user_q),
        ("AccessToken", ["Mail.Read"], dict(user_q, client_id="other")),
        ("AccessToken", ["User.Read"], dict(user_q, environment="LOGIN.MICROSOFTONLINE.COM")),
        ("AccessToken", ["User.Read"], {"home_account_id": u1, "environment": ENV}),
        ("AccessToken", None, {"home_account_id": u1, "environment": ENV, "client_id": CLIENT_ID}),
        ("AccessToken", ["api://r0/.default"], APP_Q),
        ("AccessToken", ["api://r1/.default"], APP_Q),
        ("AccessToken", ["api://r0/.default"], dict(APP_Q, ext_cache_key="nope")),
        (
            "AccessToken",
            None,
            {"client_id": CLIENT_ID, "environment": ENV, "home_account_id": None},
        ),
        ("AccessToken", ["Files.Read"], None),
        ("RefreshToken", None, {"home_account_id": u1, "environment": ENV}),
        ("RefreshToken", None, {"home_account_id": u1, "environment": ENV, "family_id": "1"}),
        ("RefreshToken", None, {"home_account_id": u1, "environment": ENV, "client_id": "other"}),
        ("RefreshToken", ["Mail.Read"], {"environment": ENV}),
        ("RefreshToken", None, {"family_id": "1"}),
        ("IdToken", None, {"home_account_id": u1, "environment": ENV}),
        ("IdToken", None, dict(user_q)),
        ("Account", None, None),
        ("Account", None, {"environment": ENV}),
        ("Account", None, {"home_account_id": u1}),
        ("Account", None, {"environment": ENV, "username": "User2@X.example"}),
        ("Account", None, {"username": "user2@x.example"}),  # exact, like MSAL
        ("Account", None, {"username": "User2@X.example"}),
        ("AppMetadata", None, {"environment": ENV, "client_id": "other"}),
        ("AppMetadata", None, {"client_id": CLIENT_ID}),
        ("Unknown", None, None),
    ]


def test_search_matches_msal_on_the_same_state() -> None:
    import msal

    state = _state()
    for credential_type, target, query in _queries():
        theirs, ours = msal.SerializableTokenCache(), SerializableTokenCache()
        theirs.deserialize(state)
        ours.deserialize(state)
        expected = list(theirs.search(credential_type, target=target, query=query, now=NOW))
        got = list(ours.search(credential_type, target=target, query=query, now=NOW))
        assert got == expected, (credential_type, target, query)
        # MSAL's scan removes every expired AccessToken it walks over (the whole
        # section); ours only those among the candidates: a subset of MSAL's removals.
        ours_state, theirs_state = json.loads(ours.serialize()), json.loads(theirs.serialize())
        kept_by_us_only = set(ours_state["AccessToken"]) - set(theirs_state["AccessToken"])
        assert set(theirs_state["AccessToken"]) <= set(ours_state["AccessToken"])
        for key in kept_by_us_only:
            assert int(ours_state["AccessToken"][key]["expires_on"]) < NOW
        ours_state.pop("AccessToken"), theirs_state.pop("AccessToken")
        assert ours_state == theirs_state


def test_exact_key_hit_is_yielded_first() -> None:
    cache = TokenCache()
    cache.add(user_event(scope=["A", "B", "openid"]), now=NOW)
    cache.add(user_event(scope=["A", "openid"]), now=NOW)
    found = list(cache.search("AccessToken", ["openid", "A"], USER_Q, now=NOW))
    assert [e["target"] for e in found] == ["A openid", "A B openid"]


def test_expired_tokens_are_skipped_and_removed() -> None:
    cache = TokenCache()
    cache.add(app_event("a", expires_in=100), now=NOW)
    cache.add(app_event("b", expires_in=1000), now=NOW)
    found = list(cache.search("AccessToken", query=APP_Q, now=NOW + 500))
    assert [e["target"] for e in found] == ["b"]
    assert [e["target"] for e in cache._cache["AccessToken"].values()] == ["b"]


def test_extended_entries_only_match_queries_with_an_ext_cache_key() -> None:
    cache = TokenCache()
    cache.add(app_event("a", data={"fmi_path": "x"}), now=NOW)
    ext = next(iter(cache._cache["AccessToken"].values()))["ext_cache_key"]
    assert list(cache.search("AccessToken", ["a"], APP_Q, now=NOW)) == []
    assert (
        len(list(cache.search("AccessToken", ["a"], dict(APP_Q, ext_cache_key=ext), now=NOW))) == 1
    )


def test_search_does_not_hold_the_lock_while_the_caller_iterates() -> None:
    import threading

    cache = TokenCache()
    for n in range(3):
        cache.add(app_event(f"s{n}"), now=NOW)
    iterator = cache.search("AccessToken", query=APP_Q, now=NOW)
    next(iterator)
    done = threading.Event()

    def writer() -> None:
        cache.add(app_event("other"), now=NOW)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert done.wait(5), "a paused search() blocked another thread"
    thread.join()
    assert len(list(iterator)) == 2  # the snapshot taken before the write


def test_find_is_deprecated_but_works() -> None:
    cache = TokenCache()
    cache.add(app_event(), now=NOW)
    with pytest.warns(DeprecationWarning):
        found = cache.find("AccessToken", query=APP_Q, now=NOW)
    assert len(found) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(cache.search("AccessToken", query=APP_Q, now=NOW))) == 1


@pytest.mark.parametrize(("target", "query"), [("User.Read", None), (None, ["not", "a", "dict"])])
def test_bad_search_arguments_raise_configuration_error(target: Any, query: Any) -> None:
    with pytest.raises(ConfigurationError):
        list(TokenCache().search("AccessToken", target=target, query=query))


def test_remove_helpers_check_the_entry_type() -> None:
    cache = TokenCache()
    cache.add(user_event(), now=NOW)
    account = next(iter(cache._cache["Account"].values()))
    at = next(iter(cache._cache["AccessToken"].values()))
    with pytest.raises(ConfigurationError):
        cache.remove_rt(at)
    with pytest.raises(ConfigurationError):
        cache.remove_account(at)
    with pytest.raises(ConfigurationError):
        cache.modify("NoSuchType", at)
    cache.remove_at(at)
    cache.remove_account(account)
    cache.remove_idt(next(iter(cache._cache["IdToken"].values())))
    cache.remove_rt(next(iter(cache._cache["RefreshToken"].values())))
    assert all(not cache._cache[s] for s in ("AccessToken", "Account", "IdToken", "RefreshToken"))
