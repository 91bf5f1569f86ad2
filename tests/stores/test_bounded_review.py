"""A review of BoundedTokenCache's count under threads: a write is in memory before
the bound counts it (its changes are counted after the cache lock is released), and
whatever replaces or forgets memory meanwhile (``deserialize``, the shrink's sweep of
expired tokens) must leave the count equal to what memory holds (docs/persistence.md,
"Bounded memory"). Interleavings are forced with events at two points of a write
(its changes not yet taken for counting; taken, not yet counted), never with sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from tests.unit.cache._helpers import NOW, app_event, user_event, user_token

from tokensmith.cache.changes import Change
from tokensmith.cache.schema import CredentialType
from tokensmith.stores import BoundedTokenCache
from tokensmith.stores.bounded import _partition

_COUNTED = (
    CredentialType.ACCESS_TOKEN,
    CredentialType.REFRESH_TOKEN,
    CredentialType.ID_TOKEN,
    CredentialType.ACCOUNT,
)
_WAIT = 10  # seconds: a bound on every wait, so a broken interleaving fails, not hangs


class _Paused(BoundedTokenCache):
    """A bounded cache that can stop one named thread at one point of its write:
    ``"flush"`` (its changes are in memory, not yet taken for counting) or ``"note"``
    (taken, about to be counted)."""

    def __init__(self, max_entries: int) -> None:
        self.pauses: dict[tuple[str, str], tuple[threading.Event, threading.Event]] = {}
        super().__init__(max_entries, clock=lambda: NOW)

    def _pause(self, point: str) -> None:
        gate = self.pauses.pop((point, threading.current_thread().name), None)
        if gate is not None:
            reached, go = gate
            reached.set()
            assert go.wait(_WAIT)

    def _flush(self, ticket: Any = None) -> None:
        self._pause("flush")
        super()._flush(ticket)

    def _note(self, changes: Sequence[Change]) -> None:
        self._pause("note")
        super()._note(changes)


class _Writer:
    """A thread running ``write`` on ``cache``, stopped at ``point`` until :meth:`go`."""

    def __init__(self, cache: _Paused, name: str, point: str, write: Callable[[], object]) -> None:
        self.errors: list[BaseException] = []
        reached, self._go = threading.Event(), threading.Event()
        cache.pauses[(point, name)] = (reached, self._go)
        self._thread = threading.Thread(target=self._run, args=(write,), name=name)
        self._thread.start()
        assert reached.wait(_WAIT)

    def _run(self, write: Callable[[], object]) -> None:
        try:
            write()
        except BaseException as exc:  # reported by join
            self.errors.append(exc)

    def go(self) -> None:
        self._go.set()

    def join(self) -> None:
        self._thread.join(_WAIT)
        assert not self._thread.is_alive() and not self.errors


def _run(write: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _sign_in(cache: BoundedTokenCache, uid: str) -> None:
    cache.add(user_event(uid=uid, utid="tid", scope=["User.Read"], username=f"{uid}@x"), now=NOW)


def _assert_count_is_memory(cache: BoundedTokenCache) -> None:
    """The bound records exactly the counted entries memory holds, each in its
    partition."""
    held = 0
    for credential_type in _COUNTED:
        for key, entry in cache._section(credential_type).items():
            name = _partition(credential_type, entry)
            assert name is not None
            assert (credential_type, key) in cache._lru.members(name)
            held += 1
    assert cache._lru.size == held


def _account_of(cache: BoundedTokenCache, uid: str) -> dict[str, Any]:
    return next(a for a in cache.find_accounts() if a["home_account_id"] == f"{uid}.tid")


_WRITES: dict[str, Callable[[BoundedTokenCache], object]] = {
    "add": lambda cache: _sign_in(cache, "u1"),
    "remove_account": lambda cache: cache.remove_account(_account_of(cache, "u0")),
    "sweep_expired": lambda cache: cache.sweep_expired(now=NOW),
}


@pytest.mark.parametrize("point", ["flush", "note"])
@pytest.mark.parametrize("write", sorted(_WRITES))
def test_an_import_between_a_write_and_its_counting_leaves_the_count_equal_to_memory(
    point: str, write: str
) -> None:
    cache = _Paused(100)
    _sign_in(cache, "u0")
    cache.add(app_event(tenant="old.example", expires_in=10), now=NOW - 100)  # expired
    state = cache.serialize()
    writer = _Writer(cache, "writer", point, lambda: _WRITES[write](cache))
    cache.deserialize(state)  # memory no longer holds the write (a removal: holds it again)
    late = _run(lambda: _sign_in(cache, "u2"))  # written after the import: counted
    writer.go()
    writer.join()
    late.join(_WAIT)
    assert not late.is_alive()
    assert user_token(cache, "u2") is not None
    _assert_count_is_memory(cache)


def test_a_write_the_shrink_sweeps_before_it_is_counted_is_not_counted() -> None:
    cache = _Paused(4)
    _sign_in(cache, "u0")  # 4 entries: at the bound
    over = _Writer(cache, "over", "note", lambda: _sign_in(cache, "u1"))  # 8: will shrink
    expired = _Writer(
        cache,
        "expired",
        "flush",
        lambda: cache.add(app_event(tenant="old.example", expires_in=10), now=NOW - 100),
    )  # in memory, not counted; its counting waits for the shrink
    over.go()  # the shrink sweeps the expired token out of memory, then evicts u0
    expired.go()
    over.join()
    expired.join()
    _assert_count_is_memory(cache)
    assert user_token(cache, "u1") is not None  # 4 entries held: nothing more to evict
    assert cache.evicted == 1
