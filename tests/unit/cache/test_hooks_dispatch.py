"""Caches that override MSAL's hooks are read through ``search`` and written through
``add``/``update_rt``/``remove_*``/``modify`` on every path; plain classes keep the
indexed lookups (tokensmith.cache.hooks).

The same application calls run on three caches: tokensmith's plain
SerializableTokenCache, a tokensmith subclass that overrides every hook (recording
the calls), and the real ``msal.SerializableTokenCache`` (a foreign cache). The
answers and the cache JSON must be the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import msal
import pytest
from tests.unit.application.fake_entra import TENANT, UID, FakeEntra

import tokensmith
from tokensmith._clock import FakeClock
from tokensmith.cache.hooks import HOOKS, HookedCache, cache_access, uses_indexes
from tokensmith.errors import ConfigurationError

READ = ["User.Read"]
HOME = f"{UID}.{TENANT}"


class Recorder(tokensmith.SerializableTokenCache):
    """Overrides every hook, calling tokensmith's, and notes each call's name."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def search(self, credential_type: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(f"search:{credential_type}")
        return super().search(credential_type, **kwargs)

    def add(self, event: Any, now: float | None = None) -> None:
        assert "_removal_generation" not in event  # tokensmith's own extra stays out
        self.calls.append("add")
        super().add(event, now=now)

    def modify(self, credential_type: str, old_entry: Any, new: Any = None) -> None:
        self.calls.append(f"modify:{credential_type}")
        super().modify(credential_type, old_entry, new)

    def update_rt(self, rt_item: Any, new_rt: str) -> None:  # type: ignore[override]
        self.calls.append("update_rt")  # MSAL's signature: no removal_generation
        super().update_rt(rt_item, new_rt)

    def remove_rt(self, rt_item: Any) -> None:
        self.calls.append("remove_rt")
        super().remove_rt(rt_item)

    def remove_at(self, at_item: Any) -> None:
        self.calls.append("remove_at")
        super().remove_at(at_item)

    def remove_idt(self, idt_item: Any) -> None:
        self.calls.append("remove_idt")
        super().remove_idt(idt_item)

    def remove_account(self, account_item: Any) -> None:
        self.calls.append("remove_account")
        super().remove_account(account_item)


@pytest.fixture
def clock() -> FakeClock:
    """Near the system clock, which MSAL's cache reads when ``search`` gets no ``now``."""
    return FakeClock(time.time())


CACHES: dict[str, Callable[[], Any]] = {
    "plain": tokensmith.SerializableTokenCache,
    "subclass": Recorder,
    "msal": msal.SerializableTokenCache,
}


def test_the_plain_classes_keep_the_indexed_path() -> None:
    for cls in (tokensmith.TokenCache, tokensmith.SerializableTokenCache):
        cache = cls()
        assert uses_indexes(cls) and cache_access(cache) is cache

    class Named(tokensmith.SerializableTokenCache):
        def describe(self) -> str:  # not a hook
            return "named"

    assert cache_access(Named()).reads_through_hooks is False


@pytest.mark.parametrize("hook", HOOKS)
def test_any_overridden_hook_sends_every_path_through_the_hooks(hook: str) -> None:
    def passthrough(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(tokensmith.SerializableTokenCache, hook)(self, *args, **kwargs)

    cls = type("Overriding", (tokensmith.SerializableTokenCache,), {hook: passthrough})
    assert not uses_indexes(cls)
    cache = cls()
    access = cache_access(cache)
    assert isinstance(access, HookedCache) and access.cache is cache
    assert cache_access(cache) is access  # one per cache: apps sharing it share its flight


def test_foreign_caches_are_wrapped_and_non_caches_refused() -> None:
    assert not uses_indexes(msal.SerializableTokenCache)
    assert isinstance(cache_access(msal.TokenCache()), HookedCache)
    with pytest.raises(ConfigurationError, match="search"):
        cache_access(object())
    with pytest.raises(ValueError, match="TokenCache"):
        tokensmith.PublicClientApplication("cid", token_cache={"not": "a cache"})


def _user_story(app: Any, entra: FakeEntra, clock: Any) -> list[Any]:
    """Sign in, read, refresh, sign out: what each call answered."""
    seen: list[Any] = []
    signed = app.acquire_token_by_refresh_token("imported-rt", ["User.Read", "Mail.Read"])
    seen.append((signed["access_token"], signed["token_source"]))
    [account] = app.get_accounts()
    seen.append(account)
    seen.append(app.get_accounts(username="ADA@contoso.example") == [account])
    hit = app.acquire_token_silent(READ, account)
    seen.append((hit["access_token"], hit["token_source"]))
    clock.advance(3600 + 1)  # the access token expired: the refresh token is redeemed
    refreshed = app.acquire_token_silent(READ, account)
    seen.append((refreshed["access_token"], refreshed["token_source"]))
    again = app.acquire_token_silent(["user.read"], account)  # scopes case-insensitive
    seen.append((again["access_token"], again["token_source"]))
    seen.append(entra.tokens_posted())
    return seen


@pytest.mark.parametrize("kind", CACHES)
def test_the_same_answers_and_cache_json_on_every_cache(kind: str, clock: Any) -> None:
    answers = {}
    for name in ("plain", kind):
        story_entra = FakeEntra(clock)
        cache = CACHES[name]()
        app = tokensmith.PublicClientApplication(
            "pca-client",
            authority=f"https://login.microsoftonline.com/{TENANT}",
            transport=story_entra.transport,
            clock=clock,
            token_cache=cache,
        )
        start = clock()
        story = _user_story(app, story_entra, clock)
        answers[name] = (story, _comparable(cache.serialize(), clock()))
        clock.advance(start - clock())  # the next story starts at the same time
    assert answers[kind][0] == answers["plain"][0]
    assert answers[kind][1] == answers["plain"][1]


def _comparable(text: str, now: float) -> dict[str, Any]:
    """The cache JSON without ``last_modification_time`` (MSAL's update_rt stamps it
    with the system clock, tokensmith with the injected one) and without expired
    access tokens (``search`` removes them, tokensmith's pure lookups leave them)."""
    state = json.loads(text)
    for entry in state.get("RefreshToken", {}).values():
        entry.pop("last_modification_time", None)
    tokens = state.get("AccessToken", {})
    for key in [k for k, e in tokens.items() if int(e["expires_on"]) <= now]:
        del tokens[key]
    return {name: state.get(name, {}) for name in sorted(state)}


def test_every_read_and_write_goes_through_the_overridden_hooks(make_pca: Any, clock: Any) -> None:
    cache = Recorder()
    app = make_pca(token_cache=cache)
    app.acquire_token_by_refresh_token("imported-rt", ["User.Read"])
    assert cache.calls[0] == "add" and "modify:AccessToken" in cache.calls
    cache.calls.clear()
    [account] = app.get_accounts()
    assert cache.calls == ["search:Account"]
    app.acquire_token_silent(READ, account)
    assert "search:AccessToken" in cache.calls
    clock.advance(3601)
    cache.calls.clear()
    assert app.acquire_token_silent(READ, account)["token_source"] == "identity_provider"
    assert "search:RefreshToken" in cache.calls and "update_rt" in cache.calls
    cache.calls.clear()
    app.remove_account(account)
    for hook in ("remove_rt", "remove_at", "remove_idt", "remove_account"):
        assert hook in cache.calls
    assert app.get_accounts() == [] and json.loads(cache.serialize())["AccessToken"] == {}


def test_get_accounts_is_not_memoized_for_a_hooked_cache(make_pca: Any) -> None:
    """A hooked cache may change behind the app (another process wrote the file)."""
    cache = Recorder()
    app = make_pca(token_cache=cache)
    app.acquire_token_by_refresh_token("imported-rt", ["User.Read"])
    assert len(app.get_accounts()) == 1
    other = tokensmith.SerializableTokenCache()
    other.deserialize(cache.serialize())
    for entry in list(other.search("Account")):
        other.remove_account(entry)
    cache.deserialize(other.serialize())  # as a reload in search() would
    assert app.get_accounts() == []


def test_client_credentials_on_a_foreign_cache(make_cca: Any, entra: FakeEntra) -> None:
    cache = msal.SerializableTokenCache()
    app = make_cca(token_cache=cache)
    first = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    second = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert second["token_source"] == "cache" and second["access_token"] == first["access_token"]
    assert entra.tokens_posted("client_credentials") == 1
    app.remove_tokens_for_client()
    assert json.loads(cache.serialize())["AccessToken"] == {}


def test_a_swapped_cache_is_read_through_its_hooks(make_pca: Any) -> None:
    app = make_pca(token_cache=tokensmith.SerializableTokenCache())
    app.acquire_token_by_refresh_token("imported-rt", ["User.Read"])
    swapped = Recorder()
    swapped.deserialize(app.token_cache.serialize())
    app.token_cache = swapped
    assert app.token_cache is swapped
    [account] = app.get_accounts()
    assert app.acquire_token_silent(READ, account)["token_source"] == "cache"
    assert "search:AccessToken" in swapped.calls


def test_a_sign_out_during_a_refresh_drops_its_write_back() -> None:
    cache = Recorder()
    access = cache_access(cache)
    assert isinstance(access, HookedCache)
    guard = (HOME, access.removal_generation(HOME))
    access.forget_account(
        home_account_id=HOME, environments=["login.microsoftonline.com"], client_id="c"
    )
    event = {
        "client_id": "c",
        "scope": READ,
        "token_endpoint": f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token",
        "response": {"access_token": "late", "expires_in": 3600},
        "_removal_generation": guard,
    }
    access.add(event)
    assert "add" not in cache.calls
    access.add({**event, "_removal_generation": (HOME, access.removal_generation(HOME))})
    assert "add" in cache.calls  # a current guard writes (and is not passed on)


class Reloading(tokensmith.SerializableTokenCache):
    """msal-extensions' pattern over a dict standing in for the file: reload before
    every read and write, save after every write."""

    def __init__(self, disk: dict[str, str]) -> None:
        super().__init__()
        self.disk = disk
        self.synced = ""

    def _reload(self) -> None:
        if self.disk.get("text", "") != self.synced:
            self.deserialize(self.disk["text"])
            self.synced = self.disk["text"]

    def search(self, credential_type: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self._reload()
        return super().search(credential_type, **kwargs)

    def modify(self, credential_type: str, old_entry: Any, new: Any = None) -> None:
        with self._lock:
            self._reload()
            super().modify(credential_type, old_entry, new)
            self.disk["text"] = self.synced = self.serialize()


def test_a_reload_inside_a_write_leaves_no_stale_index(make_pca: Any) -> None:
    """The second app's token response is written after its cache reloaded the first
    app's state (in the first modify of add): the first app's token must stay findable."""
    disk: dict[str, str] = {}
    first, second = make_pca(token_cache=Reloading(disk)), make_pca(token_cache=Reloading(disk))
    got = first.acquire_token_by_refresh_token("imported-rt", ["User.Read"])
    second.acquire_token_by_refresh_token("imported-rt", ["Mail.Read"])
    [account] = second.get_accounts()
    hit = second.acquire_token_silent(READ, account)
    assert hit["token_source"] == "cache" and hit["access_token"] == got["access_token"]
