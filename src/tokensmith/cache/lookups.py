"""Typed, index-backed cache lookups for the application façade.

Each call costs O(1) plus the entries of one account or one scope group, never the
size of the cache. Entries returned are the cache's own dicts: read-only by contract
(write through :meth:`~tokensmith.cache.token_cache.TokenCache.modify`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from tokensmith.cache._base import CacheBase
from tokensmith.cache.buckets import bucket, norm, norm_env
from tokensmith.cache.index import at_group_key
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.validity import access_token_expiry, int_field
from tokensmith.errors import ConfigurationError

__all__ = ["FastLookups", "at_fits", "int_field", "owner_fits", "same_env", "strings"]

_AT = CredentialType.ACCESS_TOKEN
_MEMO_SIZE = 4096
"""Remembered AccessToken answers per cache; cleared when full (cheap to refill)."""
_RT = CredentialType.REFRESH_TOKEN


def strings(value: object, name: str) -> list[str]:
    """``value`` as a list of strings; a bare string is refused (it would iterate chars).

    Raises:
        ConfigurationError: not a collection of strings.
    """
    if (
        type(value) is not list
        and type(value) is not tuple
        and (  # (no ABC check for these)
            isinstance(value, (str, bytes)) or not isinstance(value, Iterable)
        )
    ):
        raise ConfigurationError(f"{name} must be a collection of strings")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError(f"{name} must be a collection of strings")
    return items


def same_env(entry: dict[str, Any], environment: str) -> bool:
    """True if the entry's environment is ``environment`` (hosts are case-insensitive)."""
    host = entry.get("environment")
    return (host.lower() if type(host) is str else norm_env(host)) == environment.lower()


class FastLookups(CacheBase):
    """The façade's lookups; all run under the cache lock."""

    reads_through_hooks = False
    """A plain cache answers from its indexes (see :mod:`tokensmith.cache.hooks`)."""
    store_backed = False
    """True for a cache whose lookups may read a store (:mod:`tokensmith.cache.store_io`)."""

    def find_access_token(
        self,
        *,
        home_account_id: str | None,
        environments: Sequence[str],
        client_id: str,
        realm: str,
        scopes: Collection[str],
        now: float,
        ext_cache_key: str | None = None,
        key_id: str | None = None,
        user_assertion_hash: str | None = None,
    ) -> dict[str, Any] | None:
        """The unexpired AccessToken covering ``scopes``: the one stored under the
        query's exact key (MSAL's first answer) when it matches, else the one with the
        latest ``expires_on``.

        Scopes compare case-insensitively; an entry matches when its target includes
        them all and ``expires_on > now``. Environments are tried in order; the first
        one with a match wins. A pure read: expired entries are skipped, never removed
        (a lookup writes nothing, so it never reaches a store). With
        ``user_assertion_hash``, ``home_account_id`` is ignored and only entries
        carrying that hash match; without it, entries carrying a hash never match.
        ``key_id``, when given, must equal the entry's. Entries with an
        ``ext_cache_key`` only match the same ``ext_cache_key``.
        """
        memo_key: tuple[object, ...] | None
        memo: tuple[int, str, dict[str, Any], object, int] | None
        try:
            memo_key = (
                home_account_id,
                tuple(environments),
                client_id,
                realm,
                tuple(scopes),
                ext_cache_key,
                key_id,
                user_assertion_hash,
            )
            memo = self._at_memo.get(memo_key)
        except TypeError:  # unhashable input: the checks below name the problem
            memo_key = memo = None
        if memo is not None:
            with self._lock:
                remembered_generation, remembered_key, remembered, text, remembered_expiry = memo
                stored: object = self._section(_AT).get(remembered_key)
                # Same generation: nothing was written through modify() since. The
                # entry must still be stored under its key (so a removal or reload
                # behind the cache's back is noticed) and still be unexpired; its
                # expiry is parsed again only if the field is another object now.
                if remembered_generation == self.generation and stored is remembered:
                    current = remembered.get("expires_on")
                    if current is not text:
                        remembered_expiry = int_field(remembered, "expires_on") or 0
                    if remembered_expiry > now:
                        return remembered
        envs = strings(environments, "environments")
        wanted = frozenset(map(str.lower, strings(scopes, "scopes")))
        owner = (home_account_id, user_assertion_hash)
        fits = (client_id, realm, ext_cache_key, key_id, wanted)
        with self._lock:
            section = self._section(_AT)
            best: tuple[int, str, dict[str, Any]] | None = None
            entry: Any  # a stored value: a dict once _answer_expiry has accepted it
            for env in envs:
                exact = None
                if not user_assertion_hash:  # MSAL's O(1) attempt: its answer wins
                    try:  # the query's fields and its scopes, sorted, as the target
                        exact = self.key_makers[_AT](
                            home_account_id=home_account_id,
                            environment=env,
                            client_id=client_id,
                            realm=realm,
                            target=" ".join(sorted(scopes)),
                            ext_cache_key=ext_cache_key,
                        )
                    except (TypeError, AttributeError, KeyError):  # patched maker, odd input
                        exact = None
                if exact is not None:
                    entry = section.get(exact)
                    expires_on = _answer_expiry(entry, env, now, owner, fits)
                    if expires_on is not None:
                        best = (expires_on, exact, entry)
                        break
                self._ensure_index(_AT)  # (not before: an exact-key hit needs no index)
                for key in self._at_candidates(env, owner, fits):
                    entry = section.get(key)
                    expires_on = _answer_expiry(entry, env, now, owner, fits)
                    if expires_on is None:
                        continue
                    if best is None or expires_on > best[0] or self._later(key, best, expires_on):
                        best = (expires_on, key, entry)
                if best is not None:
                    break
            if best is None:
                return None
            if memo_key is not None:
                if len(self._at_memo) >= _MEMO_SIZE:
                    self._at_memo.clear()
                entry = best[2]
                self._at_memo[memo_key] = (
                    self.generation,
                    best[1],
                    entry,
                    entry.get("expires_on"),
                    best[0],
                )
            return best[2]

    def _at_candidates(self, env: str, owner: _Owner, fits: _Fits) -> list[str]:
        """Keys that may answer the query in ``env``.

        Until the scope groups are built, a user's tokens are found by a scan that
        compares only ``home_account_id`` (the first few lookups after a load, see
        :meth:`~tokensmith.cache.index.CacheIndex.take_scan`: a process that loads a
        cache and asks once never builds them); then from the groups.
        """
        index = self._index
        hid, user_assertion_hash = owner
        client_id, realm, ext_cache_key, _, wanted = fits
        if user_assertion_hash:
            return index.lookup(index.at_by_uah, norm(user_assertion_hash))
        if hid and not index.groups_built() and index.take_scan():
            section = self._section(_AT)
            index.examined += len(section)
            return [
                k for k, e in section.items() if type(e) is dict and e.get("home_account_id") == hid
            ]
        group = at_group_key(hid, env, client_id, realm, ext_cache_key)
        return index.at_supersets(group, wanted)

    def _later(self, key: str, best: tuple[int, str, dict[str, Any]], expires_on: int) -> bool:
        """Ties on ``expires_on`` go to the later-written token (MSAL's scan order)."""
        if expires_on != best[0]:
            return False
        ordinals = self._index.ordinals[_AT]
        return ordinals.get(key, -1) > ordinals.get(best[1], -1)

    def find_refresh_tokens(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        client_id: str | None = None,
        family_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """RefreshTokens of one account, newest ``last_modification_time`` first.

        ``client_id`` and ``family_id`` filters are ANDed when both are given.
        Results are grouped by environment in the order given. RefreshTokens obtained
        on behalf of a user (carrying ``user_assertion_hash``) are not returned.
        """
        envs = strings(environments, "environments")
        with self._lock:
            self._ensure_index(_RT)
            section = self._section(_RT)
            found: list[dict[str, Any]] = []
            for env in envs:
                keys = self._index.lookup(self._index.rt_by_account, norm(home_account_id))
                matches = [
                    (key, entry)
                    for key in keys
                    if self._usable(entry := section.get(key), _RT)
                    and entry.get("home_account_id") == home_account_id
                    and same_env(entry, env)
                    and (client_id is None or entry.get("client_id") == client_id)
                    and (family_id is None or entry.get("family_id") == family_id)
                    and not entry.get("user_assertion_hash")
                ]
                found.extend(self._newest_first(_RT, matches))
            return found

    def find_obo_refresh_token(
        self, *, user_assertion_hash: str, environments: Sequence[str], client_id: str
    ) -> dict[str, Any] | None:
        """The newest RefreshToken stored for this on-behalf-of user assertion."""
        envs = strings(environments, "environments")
        with self._lock:
            self._ensure_index(_RT)
            section = self._section(_RT)
            keys = self._index.lookup(self._index.rt_by_uah, norm(user_assertion_hash))
            for env in envs:
                matches = [
                    (key, entry)
                    for key in keys
                    if self._usable(entry := section.get(key), _RT)
                    and entry.get("user_assertion_hash") == user_assertion_hash
                    and entry.get("client_id") == client_id
                    and same_env(entry, env)
                ]
                if matches:
                    return self._newest_first(_RT, matches)[0]
            return None

    def get_app_metadata(self, *, environment: str, client_id: str) -> dict[str, Any] | None:
        """The AppMetadata entry of this client in this environment, if any."""
        with self._lock:
            self._ensure_index(CredentialType.APP_METADATA)
            section = self._section(CredentialType.APP_METADATA)
            app = bucket(environment.lower(), client_id)
            keys = self._index.lookup(self._index.app_by_client, app)
            for key in self._index.in_order(CredentialType.APP_METADATA, keys):
                entry = section.get(key)
                if (
                    self._usable(entry, CredentialType.APP_METADATA)
                    and entry.get("client_id") == client_id
                    and same_env(entry, environment)
                ):
                    return entry
            return None

    def _newest_first(
        self, credential_type: str, matches: list[tuple[str, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        if len(matches) < 2:  # the usual answer: no order to find (nor ordinals to make)
            return [entry for _, entry in matches]
        ordinals = self._index.ordinals[credential_type]
        matches.sort(
            key=lambda m: (int_field(m[1], "last_modification_time") or 0, ordinals.get(m[0], -1)),
            reverse=True,
        )
        return [entry for _, entry in matches]


_Owner = tuple[str | None, str | None]
"""An AccessToken query's owner: ``(home_account_id, user_assertion_hash)``."""
_Fits = tuple[str, str, str | None, str | None, frozenset[str]]
"""The rest of the query :func:`at_fits` checks: ``(client_id, realm, ext_cache_key,
key_id, wanted scopes)``."""


def _answer_expiry(entry: Any, env: str, now: float, owner: _Owner, fits: _Fits) -> int | None:
    """``expires_on`` of ``entry`` if it answers the query in ``env`` at ``now``, else
    None (absent, not usable, expired or not matching)."""
    expires_on = access_token_expiry(entry)
    if (
        expires_on is None
        or expires_on <= now
        or not owner_fits(entry, *owner)
        or not at_fits(entry, env, *fits)
    ):
        return None
    return expires_on


def at_fits(
    entry: dict[str, Any],
    environment: str,
    client_id: str,
    realm: str,
    ext_cache_key: str | None,
    key_id: str | None,
    wanted: frozenset[str],
) -> bool:
    """Exact re-check of an AccessToken candidate (the index may be wider).

    ``key_id``, when given, must equal the entry's; without one, a DPoP- or PoP-bound
    entry never fits (it is served only to a caller holding its key, never as Bearer).
    """
    if ext_cache_key:
        if entry.get("ext_cache_key") != ext_cache_key:
            return False
    elif "ext_cache_key" in entry:
        return False
    # same_env, the binding test and scope_tokens, inlined: every cache hit runs this
    host, token_type, target = (
        entry.get("environment"),
        entry.get("token_type"),
        entry.get("target"),
    )
    return (
        (host.lower() if type(host) is str else norm_env(host)) == environment.lower()
        and entry.get("client_id") == client_id
        and entry.get("realm") == realm
        and (
            entry.get("key_id") == key_id
            if key_id is not None
            else token_type is None
            or token_type == "Bearer"
            or str(token_type).lower() not in _BOUND_TYPES
        )
        and wanted.issubset(target.lower().split() if isinstance(target, str) else ())
    )


_BOUND_TYPES = frozenset({"dpop", "pop"})
"""``token_type`` values (lower-cased) of tokens bound to a key: never served as Bearer."""


def owner_fits(
    entry: dict[str, Any], home_account_id: str | None, user_assertion_hash: str | None
) -> bool:
    if user_assertion_hash:
        return bool(entry.get("user_assertion_hash") == user_assertion_hash)
    if entry.get("user_assertion_hash"):
        return False
    return (entry.get("home_account_id") or "") == (home_account_id or "")
