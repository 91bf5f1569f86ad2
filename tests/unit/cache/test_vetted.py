"""The cache remembers which entries passed its validity check (``_vetted``) only while
they are in the cache: a removed or replaced entry is neither remembered nor held."""

from __future__ import annotations

from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, user_event

from tokensmith.cache import TokenCache


def _lookup(cache: TokenCache, uid: str) -> object:
    return cache.find_access_token(
        home_account_id=f"{uid}.tid",
        environments=(ENV,),
        client_id=CLIENT_ID,
        realm="common",
        scopes=["User.Read"],
        now=NOW,
    )


def test_signed_out_accounts_entries_are_not_held_by_the_vetted_memo() -> None:
    # A long-running service signing users in and out kept every entry it had checked
    # (up to 200,000 of them, whole) after they left the cache.
    cache = TokenCache()
    for n in range(50):
        cache.add(user_event(uid=f"u{n}", utid="tid", scope=["User.Read"]), now=NOW)
        assert _lookup(cache, f"u{n}") is not None
        cache.forget_account(home_account_id=f"u{n}.tid", environments=[ENV], client_id=CLIENT_ID)
        assert _lookup(cache, f"u{n}") is None
    held = [
        e
        for e in cache._vetted.values()
        if any(e is v for s in cache._cache.values() for v in s.values())
    ]
    assert len(cache._vetted) == len(held) <= 1


def test_a_replaced_entry_is_not_held_by_the_vetted_memo() -> None:
    cache = TokenCache()
    for n in range(20):  # the same user signing in again: the refresh token replaced
        cache.add(
            user_event(uid="u1", utid="tid", scope=["User.Read"], secret_suffix=f"-{n}"), now=NOW
        )
        found = cache.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
        assert [rt["secret"] for rt in found] == [f"rt-u1-{n}"]  # (vetted by the lookup)
    assert len(cache._vetted) == 1


def test_no_entry_is_taken_for_vetted() -> None:
    # The memo's default answer (None) matched a missing entry: a stale index key whose
    # entry was gone passed the check, and find_refresh_tokens failed on None.get.
    cache = TokenCache()
    assert not cache._usable(None, "RefreshToken")
    assert not cache._usable(None, "AppMetadata")


def test_an_entry_replaced_by_a_store_read_is_not_held_by_the_vetted_memo() -> None:
    # A persistent cache puts what it reads from its store into memory (_absorb), not
    # through modify(): each newer refresh token another process wrote replaced the one
    # the memo had vetted, which the memo kept (whole) until 200,000 of them.
    cache = TokenCache()
    cache.add(user_event(uid="u1", utid="tid", scope=["User.Read"]), now=NOW)
    (key,) = cache._cache["RefreshToken"]
    for n in range(20):
        newer = dict(cache._cache["RefreshToken"][key], secret=f"rt-elsewhere-{n}")
        cache._absorb("RefreshToken", [(key, newer)])
        found = cache.find_refresh_tokens(home_account_id="u1.tid", environments=[ENV])
        assert [rt["secret"] for rt in found] == [f"rt-elsewhere-{n}"]
    assert list(cache._vetted.values()) == [cache._cache["RefreshToken"][key]]
