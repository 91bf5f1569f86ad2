"""``TokenCache`` and ``SerializableTokenCache``: MSAL Python 1.39's public cache API.

Same names, same ``_cache`` layout (a dict of the five sections, each a dict of
entries), same JSON; lookups answered from secondary indexes instead of scans.
Thread-safe: one re-entrant lock per cache guards every read and write, and
:meth:`TokenCache.search` collects its matches under the lock before yielding, so a
caller iterating slowly never blocks other threads.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tokensmith._redact import DEBUG, logger, redact_mapping
from tokensmith.cache.accounts import AccountLookups
from tokensmith.cache.buckets import gc_paused
from tokensmith.cache.events import entries_from_event
from tokensmith.cache.lookups import strings
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.search import candidate_keys, is_match
from tokensmith.cache.validity import int_field
from tokensmith.errors import ConfigurationError, ProtocolError

__all__ = ["SerializableTokenCache", "TokenCache"]

_AT = CredentialType.ACCESS_TOKEN


class TokenCache(AccountLookups):
    """An in-memory token cache in MSAL's unified schema.

    Args:
        clock: epoch-seconds clock used when a call does not pass ``now``.

    Attributes:
        key_makers: ``credential_type -> key function`` (patchable, as in MSAL).
        single_flight: a :class:`~tokensmith.concurrency.SingleFlight` that
            callers use to refresh one cache key at a time.
    """

    def search(
        self,
        credential_type: str,
        target: Iterable[str] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        now: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the entries matching ``query`` whose target includes ``target``.

        MSAL semantics: an AccessToken stored under the exact key of the query is
        yielded first, then the other matches in insertion order; AccessTokens with
        ``expires_on < now`` are skipped and removed; entries carrying
        ``ext_cache_key`` only match a query carrying one. Matches are collected
        under the lock, then yielded without holding it.

        Raises:
            ConfigurationError: ``target`` is a bare string or ``query`` not a mapping.
        """
        scopes = sorted(strings(target or [], "target"))
        if query is not None and not isinstance(query, Mapping):
            raise ConfigurationError("query must be a mapping")
        yield from self._search_snapshot(credential_type, scopes, query, now)

    def _search_snapshot(
        self,
        credential_type: str,
        scopes: list[str],
        query: Mapping[str, Any] | None,
        now: float | None,
    ) -> list[dict[str, Any]]:
        with self._writing():  # MSAL's search removes the expired AccessTokens it meets
            self._ensure_index(credential_type)
            section = self._section(credential_type)
            now_s = self._now(now)
            found = []
            preferred = self._preferred(credential_type, scopes, query, section)
            if preferred is not None:
                found.append(preferred)
            keys = candidate_keys(self._index, credential_type, query, scopes)
            if keys is None:
                keys = list(section)
                self._index.examined += len(keys)
            elif credential_type in self._index.ordinals:
                keys = self._index.in_order(credential_type, keys)
            expired = []
            for key in keys:
                entry = section.get(key)
                if not self._usable(entry, credential_type):
                    continue
                if credential_type == _AT:
                    expires_on = int_field(entry, "expires_on")
                    if expires_on is None:
                        continue
                    if expires_on < now_s:
                        expired.append(entry)
                        continue
                if preferred is not None and entry == preferred:
                    continue
                if is_match(credential_type, entry, query, scopes):
                    found.append(entry)
            for entry in expired:
                self.modify(_AT, entry)
            return found

    def _preferred(
        self,
        credential_type: str,
        scopes: list[str],
        query: Mapping[str, Any] | None,
        section: dict[str, Any],
    ) -> dict[str, Any] | None:
        """MSAL's O(1) attempt: the AccessToken stored under the query's exact key."""
        fields = ("home_account_id", "environment", "client_id", "realm")
        if credential_type != _AT or not query or not scopes or not all(f in query for f in fields):
            return None
        key = self.key_makers[_AT](
            **{f: query[f] for f in fields},
            target=" ".join(scopes),
            ext_cache_key=query.get("ext_cache_key"),
        )
        entry = section.get(key)
        if isinstance(entry, dict) and is_match("", entry, query, ()):
            return entry
        return None

    def build_indexes(self) -> None:
        """Build every lookup index now. Each is otherwise built by the first lookup
        that needs it; a long-running service may call this after a load so that its
        first requests do not pay for them. Lookups answer the same either way."""
        with self._lock:
            self._ensure_index()
            self._index.build_all()

    def find(
        self,
        credential_type: str,
        target: Iterable[str] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        now: float | None = None,
    ) -> list[dict[str, Any]]:
        """Deprecated: ``list(search(...))``, with a DeprecationWarning as in MSAL."""
        warnings.warn(
            "Use list(search(...)) instead to explicitly get a list.",
            DeprecationWarning,
            stacklevel=2,
        )
        return list(self.search(credential_type, target=target, query=query, now=now))

    def add(self, event: Mapping[str, Any], now: float | None = None) -> None:
        """Store what one token response brought (up to five entries).

        See :mod:`tokensmith.cache.events` for the event fields. Everything is
        decoded before the first write, so a malformed event changes nothing. An
        event carrying ``_removal_generation`` (``(home_account_id, generation)``,
        captured when its refresh started) writes nothing if the account was removed
        since: the account is either fully present or fully absent.

        Raises:
            ConfigurationError: malformed event.
            ProtocolError: malformed response (id_token, client_info, lifetimes).
        """
        writes = entries_from_event(event, self._now(now))
        if logger.isEnabledFor(DEBUG):
            logger.debug("token cache event: %s", redact_mapping(event))
        with self._writing():
            if self._removed_since(event.get("_removal_generation")):
                logger.info("token cache: account removed during its refresh; not cached")
                return
            with self._one_index_check():
                for credential_type, entry in writes:
                    self.modify(credential_type, entry, entry)

    def expired_access_tokens(self, now: float | None = None) -> list[tuple[str, dict[str, Any]]]:
        """``(key, entry)`` of every AccessToken whose ``expires_on`` has passed."""
        now_s = self._now(now)
        with self._lock:
            return [
                (key, entry)
                for key, entry in self._section(_AT).items()
                if isinstance(entry, dict) and (int_field(entry, "expires_on") or 0) < now_s
            ]

    def sweep_expired(self, now: float | None = None) -> int:
        """Remove every expired AccessToken, by the key it is held under (which need
        not be the one its fields make: an imported MSAL-style cache may hold such),
        as a removal a store receives too (an ``EntryDeleted``, like :meth:`modify`'s);
        returns how many were removed. Lookups never remove anything: a long-running
        service calls this now and then, or bounds its memory (``max_entries`` of
        :class:`~tokensmith.stores.PersistentTokenCache`). A subclass that overrides
        MSAL's hooks (msal-extensions' ``PersistedTokenCache``) has each removed through
        its ``modify``, so what it persists sees them."""
        from tokensmith.cache.hooks import uses_indexes  # (hooks imports this module)

        if not uses_indexes(type(self)):
            expired = self.expired_access_tokens(now)
            for _, entry in expired:
                self.modify(_AT, entry)
            with self._lock:
                section = self._section(_AT)
                return sum(1 for key, _ in expired if key not in section)
        with self._writing():  # found and removed under one hold of the lock
            expired = self.expired_access_tokens(now)
            with self._one_index_check():
                for key, entry in expired:
                    self._modify_locked(_AT, key, entry, None)
        return len(expired)

    def remove_rt(self, rt_item: dict[str, Any]) -> None:
        """Remove one RefreshToken entry."""
        _require(rt_item.get("credential_type") == CredentialType.REFRESH_TOKEN, "RefreshToken")
        self.modify(CredentialType.REFRESH_TOKEN, rt_item)

    def update_rt(
        self,
        rt_item: dict[str, Any],
        new_rt: str,
        *,
        removal_generation: tuple[str, int] | None = None,
    ) -> None:
        """Replace a RefreshToken's secret and bump its ``last_modification_time``.

        Nothing is written when the entry already holds ``new_rt`` (the token response
        that brought it was just cached under the same key), nor when
        ``removal_generation`` (see :meth:`add`) shows the account was removed since.
        """
        _require(rt_item.get("credential_type") == CredentialType.REFRESH_TOKEN, "RefreshToken")
        with self._writing():
            if self._removed_since(removal_generation):
                return
            key = self.key_makers[CredentialType.REFRESH_TOKEN](**rt_item)
            stored = self._section(CredentialType.REFRESH_TOKEN).get(key)
            if isinstance(stored, dict) and stored.get("secret") == new_rt:
                return
            changes = {"secret": new_rt, "last_modification_time": str(self._now(None))}
            self.modify(CredentialType.REFRESH_TOKEN, rt_item, changes)

    def remove_at(self, at_item: dict[str, Any]) -> None:
        """Remove one AccessToken entry."""
        _require(at_item.get("credential_type") == _AT, "AccessToken")
        self.modify(_AT, at_item)

    def remove_idt(self, idt_item: dict[str, Any]) -> None:
        """Remove one IdToken entry."""
        _require(idt_item.get("credential_type") == CredentialType.ID_TOKEN, "IdToken")
        self.modify(CredentialType.ID_TOKEN, idt_item)

    def remove_account(self, account_item: dict[str, Any]) -> None:
        """Remove one Account entry."""
        _require("authority_type" in account_item, "Account")
        self.modify(CredentialType.ACCOUNT, account_item)


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ConfigurationError(f"the entry given is not a {what} entry")


class SerializableTokenCache(TokenCache):
    """A :class:`TokenCache` that serializes to and from MSAL's JSON.

    Attributes:
        has_state_changed: True once the state changed since the last
            :meth:`serialize` or :meth:`deserialize`.
    """

    has_state_changed: bool = False

    def add(self, event: Mapping[str, Any], now: float | None = None) -> None:
        """See :meth:`TokenCache.add`; also flags the state as changed."""
        super().add(event, now=now)
        self.has_state_changed = True

    def modify(
        self,
        credential_type: str,
        old_entry: dict[str, Any],
        new_key_value_pairs: dict[str, Any] | None = None,
    ) -> None:
        """See :meth:`TokenCache.modify`; also flags the state as changed."""
        super().modify(credential_type, old_entry, new_key_value_pairs)
        self.has_state_changed = True

    def sweep_expired(self, now: float | None = None) -> int:
        """See :meth:`TokenCache.sweep_expired`; flags the state as changed if it
        removed anything."""
        removed = super().sweep_expired(now)
        if removed:
            self.has_state_changed = True
        return removed

    def deserialize(self, state: str | bytes | None) -> None:
        """Replace the whole state with a previously serialized one.

        ``None`` or empty means an empty cache. Unknown sections and fields are kept;
        non-object sections or entries are kept verbatim but never returned.

        Raises:
            ProtocolError: not JSON, or not a JSON object; the current state is kept.
        """
        if not state:
            loaded: object = {}
        else:
            try:
                with gc_paused():
                    loaded = json.loads(state)
            except json.JSONDecodeError as exc:
                where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
                raise ProtocolError(f"token cache state is not valid JSON ({where})") from exc
            except (ValueError, TypeError, RecursionError) as exc:
                raise ProtocolError("token cache state is not valid JSON") from exc
        if not isinstance(loaded, dict):
            raise ProtocolError("token cache state is not a JSON object")
        with self._lock:
            self._replace_state(loaded)
            self.has_state_changed = False

    def serialize(self) -> str:
        """The whole state as MSAL's JSON (``json.dumps(indent=4)``); clears the flag."""
        with self._lock:
            self.has_state_changed = False
            return json.dumps(self._cache, indent=4)
