"""A sign-out over SqliteStore removes, in the transaction of its batch, every row the
sign-out covers (``SignOut.removes`` on the indexed columns), not only the rows it read:
a sign-in of the same user that another process lands between the sign-out's read and
its batch is removed whole (no tokens left without their Account entry), and so is a
row damaged outside tokensmith, which reads skip. Two caches over two stores on one
file (two connections) stand for the two processes; the interleaving is made by
wrapping the first store's partition read, with no sleep."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.stores._apps import cca
from tests.unit.application.fake_entra import FakeEntra
from tests.unit.cache._helpers import CLIENT_ID, ENV, NOW, user_event

from tokensmith._clock import FakeClock
from tokensmith.cache.changes import Change, EntryPut
from tokensmith.cache.sign_out import SignOut
from tokensmith.stores import PersistentTokenCache, SqliteStore
from tokensmith.stores.base import Row

HOME = "u1.tid"
OTHER_CLIENT = "other-client"

Caches = Callable[[Any], PersistentTokenCache]


@pytest.fixture(params=[None, 6], ids=["unbounded", "bounded"])
def make_cache(request: pytest.FixtureRequest) -> Caches:
    """A cache over ``store``, unbounded or bounded (``max_entries``: fewer than the
    rows of these tests, so partitions are evicted and read again)."""
    return lambda store: PersistentTokenCache(store, clock=lambda: NOW, max_entries=request.param)


def _sign_in(cache: PersistentTokenCache, uid: str = "u1", **extra: Any) -> None:
    cache.add(user_event(uid=uid, utid="tid", username=f"{uid}@contoso.example", **extra), now=NOW)


def _rows_of(path: Path, home: str) -> list[tuple[str, str | None]]:
    """``(credential_type, client_id)`` of every row of ``home`` in the file."""
    db = sqlite3.connect(path)
    try:
        return sorted(
            db.execute(
                "SELECT credential_type, client_id FROM entries WHERE home_account_id = ?", (home,)
            ).fetchall()
        )
    finally:
        db.close()


def _damage(path: Path, credential_type: str, home: str) -> None:
    """Make the body of ``home``'s rows of ``credential_type`` unreadable (its columns
    are left as they are)."""
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE entries SET body = '{not json' WHERE credential_type = ? AND home_account_id = ?",
        (credential_type, home),
    )
    db.commit()
    db.close()


@pytest.fixture
def two_processes(tmp_path: Path, make_cache: Caches) -> Iterator[tuple[Path, Any, Any]]:
    """``(path, here, elsewhere)``: two caches over two stores on one file; u1 is
    signed in to this client and to another one (not of a family), u2 to this one."""
    path = tmp_path / "cache.db"
    here, elsewhere = make_cache(SqliteStore(path)), make_cache(SqliteStore(path))
    _sign_in(here)
    _sign_in(here, client_id=OTHER_CLIENT)
    _sign_in(here, "u2")
    yield path, here, elsewhere
    here.close()
    elsewhere.close()


def _after_read(store: SqliteStore, target: str, then: Callable[[], None]) -> None:
    """Run ``then`` once, right after ``store``'s next read of partition ``target``."""
    real = store.read
    done: list[bool] = []

    def read(partition: str, *, username: str | None = None) -> list[Row]:
        rows = real(partition, username=username)
        if partition == target and not done:
            done.append(True)
            then()
        return rows

    store.read = read  # type: ignore[method-assign]


LEFT_OF_U1 = [("RefreshToken", OTHER_CLIENT)]
"""What a sign-out of u1 from this client leaves: the other client's refresh token
(its access token, id token and the Account go: MSAL removes them for any client)."""


@pytest.mark.parametrize("partition", ["user:u1.tid", "accounts", "meta"])
def test_a_sign_in_elsewhere_between_the_read_and_the_batch_is_removed_whole(
    two_processes: tuple[Path, Any, Any], partition: str
) -> None:
    path, here, elsewhere = two_processes
    u2_before = _rows_of(path, "u2.tid")
    clock = FakeClock(NOW)
    app = cca(FakeEntra(clock), clock, here, CLIENT_ID)
    [account] = [a for a in app.get_accounts() if a["home_account_id"] == HOME]
    # elsewhere signs u1 in again with other scopes: new AccessToken and RefreshToken
    # keys (both hold the scopes), and the same Account and IdToken keys
    _after_read(
        here.store, partition, lambda: _sign_in(elsewhere, scope=["Mail.Read", "offline_access"])
    )
    app.remove_account(account)
    assert _rows_of(path, HOME) == LEFT_OF_U1
    assert _rows_of(path, "u2.tid") == u2_before
    # elsewhere's next refresh reads the store first: the sign-out won there too
    found = elsewhere.find_refresh_tokens(
        home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID
    )
    assert found == []


def test_the_race_is_removed_whole_through_the_cache_api(
    two_processes: tuple[Path, Any, Any],
) -> None:
    path, here, elsewhere = two_processes
    _after_read(here.store, "user:u1.tid", lambda: _sign_in(elsewhere, scope=["Mail.Read"]))
    here.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _rows_of(path, HOME) == LEFT_OF_U1
    _held_in_memory_matches_the_record(here)


def _held_in_memory_matches_the_record(cache: PersistentTokenCache) -> None:
    """No entry of u1 signed out is left in memory, in the bound's record of what each
    partition holds, or in the refresh tokens the store is known to hold."""
    for credential_type in ("AccessToken", "IdToken", "Account"):
        held = cache._section(credential_type).values()
        assert [e for e in held if e.get("home_account_id") == HOME] == []
    rts = cache._section("RefreshToken")
    assert [e["client_id"] for e in rts.values() if e.get("home_account_id") == HOME] in (
        [OTHER_CLIENT],
        [],  # (bounded: the partition may be evicted)
    )
    assert [key for key in cache._stored_rts if key.startswith(HOME) and CLIENT_ID in key] == []
    if cache._lru is not None:
        recorded = cache._lru.members("user:u1.tid") | cache._lru.members("accounts")
        for credential_type, key in recorded:
            assert key in cache._section(credential_type)


@pytest.mark.parametrize("credential_type", ["AccessToken", "RefreshToken", "IdToken", "Account"])
def test_a_damaged_row_of_the_account_goes_with_the_sign_out(
    two_processes: tuple[Path, Any, Any], make_cache: Caches, credential_type: str
) -> None:
    path, _, _ = two_processes
    _damage(path, credential_type, HOME)  # (the other client's rows of that type too)
    fresh = make_cache(SqliteStore(path))  # a process that reads them (and skips them)
    fresh.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    # (the other client's damaged refresh token stays: its client id is not this one's,
    # and its family is unknown)
    assert _rows_of(path, HOME) == LEFT_OF_U1
    fresh.close()


def test_the_rule_of_a_sign_out() -> None:
    """A refresh token of this client or of its family, in one of its environments (a
    damaged one's family is unknown: only the client id decides); the other types of
    the account, whatever their client."""
    sign_out = SignOut(HOME, CLIENT_ID, {ENV: "1"})
    assert sign_out.removes("RefreshToken", ENV.upper(), CLIENT_ID, None)
    assert sign_out.removes("RefreshToken", ENV, OTHER_CLIENT, "1")
    assert not sign_out.removes("RefreshToken", ENV, OTHER_CLIENT, None)
    assert not sign_out.removes("RefreshToken", "login.example", CLIENT_ID, None)
    assert not sign_out.removes("AppMetadata", ENV, CLIENT_ID, None)
    assert sign_out.removes("AccessToken", ENV, OTHER_CLIENT, None)


def test_an_account_memory_finds_nothing_of_is_still_removed_from_the_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.db"
    writer = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    _sign_in(writer)
    for credential_type in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        _damage(path, credential_type, HOME)  # every row of u1 unreadable: no batch
    fresh = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    fresh.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _rows_of(path, HOME) == []
    writer.close()
    fresh.close()


def test_a_family_refresh_token_written_elsewhere_goes_and_a_non_family_one_stays(
    tmp_path: Path, make_cache: Caches
) -> None:
    path = tmp_path / "cache.db"
    store = SqliteStore(path)
    here, elsewhere = make_cache(store), make_cache(SqliteStore(path))
    _sign_in(here, foci="1")  # this client is of family 1

    def sign_in_elsewhere() -> None:
        _sign_in(elsewhere, client_id="family-member", foci="1", secret_suffix="-fam")
        _sign_in(elsewhere, client_id=OTHER_CLIENT, secret_suffix="-other")

    _after_read(store, "meta", sign_in_elsewhere)
    here.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _rows_of(path, HOME) == LEFT_OF_U1
    here.close()
    elsewhere.close()


def test_a_write_after_the_sign_out_in_its_batch_stays(tmp_path: Path) -> None:
    """The store removes what the sign-out covers first, then writes the batch in
    order: a put the batch carries after the removals (another thread's sign-in, made
    once the sign-out's lock was released) is kept."""
    path = tmp_path / "cache.db"
    store = SqliteStore(path)
    PersistentTokenCache(store, clock=lambda: NOW).add(user_event(uid="u1", utid="tid"), now=NOW)
    again = _put(store, "AccessToken")
    store.apply_sign_out([again], SignOut(HOME, CLIENT_ID, {ENV: None}))
    assert _rows_of(path, HOME) == [("AccessToken", CLIENT_ID)]
    store.close()


def _put(store: SqliteStore, credential_type: str) -> EntryPut:
    entry = {
        "credential_type": credential_type,
        "home_account_id": HOME,
        "environment": ENV,
        "client_id": CLIENT_ID,
        "secret": "new",
    }
    return EntryPut(credential_type, f"{HOME}-new-{credential_type}", entry)


class _PlainStore:
    """An entry store of the app's own over SqliteStore, without ``apply_sign_out``."""

    def __init__(self, store: SqliteStore) -> None:
        self.inner = store
        self.batches: list[list[Change]] = []

    def apply(self, changes: Sequence[Change]) -> object:
        self.batches.append(list(changes))
        return self.inner.apply(changes)

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        return self.inner.read(partition, username=username)

    def read_prefix(self, prefix: str) -> list[Row]:
        return self.inner.read_prefix(prefix)

    def read_all(self) -> dict[str, Any]:
        return self.inner.read_all()

    def replace_all(self, state: Mapping[str, Any]) -> object | None:
        return self.inner.replace_all(state)

    def version(self) -> object | None:
        return self.inner.version()

    def close(self) -> None:
        self.inner.close()


def test_a_store_without_the_capability_gets_only_the_removals(tmp_path: Path) -> None:
    # the race as before (docs/persistence.md, "Known limits"): the sign-in elsewhere
    # keeps its new access and refresh tokens (their keys hold the scopes), which
    # memory never read, without their Account
    path = tmp_path / "cache.db"
    plain = _PlainStore(SqliteStore(path))
    here = PersistentTokenCache(plain, clock=lambda: NOW)
    elsewhere = PersistentTokenCache(SqliteStore(path), clock=lambda: NOW)
    _sign_in(here)
    _after_read(plain.inner, "user:u1.tid", lambda: _sign_in(elsewhere, scope=["Mail.Read"]))
    here.forget_account(home_account_id=HOME, environments=[ENV], client_id=CLIENT_ID)
    assert _rows_of(path, HOME) == [("AccessToken", CLIENT_ID), ("RefreshToken", CLIENT_ID)]
    assert [len(b) for b in plain.batches] == [5, 4]  # the sign-in; the sign-out's removals
    here.close()
    elsewhere.close()
