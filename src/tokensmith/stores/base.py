"""What a store offers the persistent cache: the two kinds of store.

An **entry store** (SQLite, Redis) keeps one record per cache entry, grouped in
partitions (:mod:`tokensmith.stores.partition`); the cache reads a partition when a
lookup first needs it, so a short-lived process never loads the whole cache, and
writes only the entries that changed.

A **snapshot store** (a plain file, an msal-extensions persistence, the Secret Service,
the Keychain, DPAPI) keeps the whole cache as MSAL's JSON. Its writes merge the changed
entries into the latest snapshot under a lock, so two processes writing at once lose
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tokensmith.cache.changes import Change

if TYPE_CHECKING:
    from tokensmith.cache.sign_out import SignOut

__all__ = [
    "DROPPED",
    "NO_ANSWER",
    "EntryStore",
    "NotLanded",
    "OnBehalfOfReader",
    "Row",
    "SignOutWriter",
    "SnapshotStore",
    "utf8_encodable",
]

Row = tuple[str, str, dict[str, Any]]
"""``(credential_type, key, entry)``."""


class _NoAnswer(list[Row]):
    """The empty, read-only list of a read the backend did not answer."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("NO_ANSWER is read-only")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


NO_ANSWER: list[Row] = _NoAnswer()
"""What an entry store's ``read``/``read_prefix`` return when the backend could not
answer (Redis unreachable): an empty list to any caller, which the persistent cache
tells from an empty partition (by identity), so it keeps what memory holds. A store
that wraps another must hand this very object on (not a copy or a filtered list):
anything else reads as an empty partition, whose entries memory then forgets."""


class _Dropped:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DROPPED"


DROPPED: object = _Dropped()
"""What an entry store's ``apply`` (or ``replace_all``) returns when it did not persist
the changes and does not raise for that (a Redis store during an outage): memory then
knows the store lacks them, so their absence at the next read is no removal
elsewhere."""


class NotLanded:
    """What an entry store's ``apply`` returns when only some of the changes were
    persisted (and it does not raise): ``changes``, those that were not."""

    __slots__ = ("changes",)

    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = tuple(changes)


@runtime_checkable
class EntryStore(Protocol):
    """One record per entry; reads by partition."""

    def apply(self, changes: Sequence[Change]) -> object:
        """Persist the changes, in order, atomically where the backend allows; the
        versions just before and just after them as a tuple when the store knows them
        (memory that held the version before holds the one after), :data:`DROPPED`
        when none was persisted and no error is raised, :class:`NotLanded` when some
        were not, else None."""

    def read(self, partition: str, *, username: str | None = None) -> list[Row]:
        """The entries of one partition (``username`` narrows ``accounts``; a store
        may ignore it and return more, never fewer); :data:`NO_ANSWER` when the
        backend could not answer."""

    def read_prefix(self, prefix: str) -> list[Row]:
        """The entries of every partition whose name starts with ``prefix``
        (:data:`NO_ANSWER` when the backend could not answer)."""

    def read_all(self) -> dict[str, Any]:
        """The whole cache in MSAL's layout (an export)."""

    def replace_all(self, state: Mapping[str, Any]) -> object | None:
        """Replace the whole content with ``state`` (MSAL's layout: an import); the
        version just after it when the store knows it, :data:`DROPPED` when it did
        not persist it all and no error is raised, else None."""

    def version(self) -> object | None:
        """A token that changes when another process writes; None if unknown."""

    def close(self) -> None:
        """Release connections and files."""


class OnBehalfOfReader(Protocol):
    """An entry store's optional capability, which a sign-out uses when the store has
    it (looked up by name, so a store of the app's own that lacks it still is an
    :class:`EntryStore`): it then removes the account's on-behalf-of tokens from the
    store, not only those memory holds."""

    def read_on_behalf_of(self, home_account_id: str) -> list[Row]:
        """The entries of every on-behalf-of partition (``obo:<user_assertion_hash>``)
        that belong to ``home_account_id`` (their ``home_account_id``; a store may
        return more, never fewer); :data:`NO_ANSWER` when the backend could not
        answer."""


class SignOutWriter(Protocol):
    """An entry store's optional capability, which a sign-out uses when the store has
    it (looked up by name, as :class:`OnBehalfOfReader`): the store then removes every
    entry of the account the sign-out covers, not only those memory read first (an
    entry another process wrote since that read, a row damaged outside tokensmith,
    which reads skip). A store without it gets the removals through ``apply``; one
    that wraps or subclasses a store with it and intercepts ``apply`` intercepts this
    too (a sign-out's batch comes here instead)."""

    def apply_sign_out(self, changes: Sequence[Change], sign_out: SignOut) -> object:
        """As :meth:`EntryStore.apply`, and in the same transaction, before the
        changes, remove every entry the store holds that ``sign_out`` removes
        (:meth:`~tokensmith.cache.sign_out.SignOut.removes`, on what the store can
        read of the entry: a damaged one's family is unknown)."""


@runtime_checkable
class SnapshotStore(Protocol):
    """The whole cache as one MSAL JSON document."""

    snapshot: bool
    """Always True: how the persistent cache tells the two kinds apart."""

    def load(self) -> tuple[object | None, dict[str, Any] | None]:
        """``(version, state)`` of the latest snapshot; ``(None, None)`` if none yet."""

    def version(self) -> object | None:
        """A cheap token that changes whenever the snapshot does (None: none yet)."""

    def apply(self, changes: Sequence[Change]) -> tuple[object | None, object | None]:
        """Merge the changes into the latest snapshot under the lock and save it;
        return the versions before and after."""

    def replace_all(self, state: Mapping[str, Any]) -> tuple[object | None, object | None]:
        """Save ``state`` as the whole snapshot; the versions before and after."""

    def close(self) -> None:
        """Release resources."""


def utf8_encodable(*texts: str) -> bool:
    """True if UTF-8 encodes every text: not a lone surrogate (JSON's ``\\ud800`` escape
    makes one), which sqlite3 and redis-py encode strictly, and raise on."""
    try:
        for text in texts:
            text.encode()
    except UnicodeEncodeError:
        return False
    return True
