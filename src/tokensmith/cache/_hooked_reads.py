"""The engine's lookups made through MSAL's ``search``, as MSAL 1.39's applications
make them: the read half of :class:`~tokensmith.cache.hooks.HookedCache`.

Each lookup calls ``search(credential_type, query=...)`` (keywords only, as
msal-extensions requires) once per environment and filters what it yields with the
rules the indexed lookups apply (:mod:`tokensmith.cache.lookups`), so the answers are
the same whichever way a cache is read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from tokensmith.cache.lookups import at_fits, owner_fits, same_env, strings
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.validity import int_field, usable

_CT = CredentialType


class HookedReads:
    """Reads of a cache with MSAL's API through its ``search``.

    Attributes:
        cache: the wrapped cache.
    """

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._search_takes_now = _takes_now(cache.search)

    def _search(
        self, credential_type: str, query: dict[str, Any], now: float | None = None
    ) -> Iterable[Any]:
        """``search(credential_type, query=query)``, with the app's clock as ``now``
        (which decides the expired access tokens search removes) when it takes one."""
        if now is not None and self._search_takes_now:
            return self.cache.search(credential_type, query=query, now=now)  # type: ignore[no-any-return]
        return self.cache.search(credential_type, query=query)  # type: ignore[no-any-return]

    # -- reads ---------------------------------------------------------------------

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
        """See :meth:`~tokensmith.cache.lookups.FastLookups.find_access_token`."""
        envs = strings(environments, "environments")
        wanted = frozenset(s.lower() for s in strings(scopes, "scopes"))
        for env in envs:
            query: dict[str, Any] = {"environment": env, "client_id": client_id, "realm": realm}
            if user_assertion_hash:
                query["user_assertion_hash"] = user_assertion_hash
            else:
                query["home_account_id"] = home_account_id
            if ext_cache_key:
                query["ext_cache_key"] = ext_cache_key
            if key_id is not None:
                query["key_id"] = key_id
            best: tuple[int, int, dict[str, Any]] | None = None
            for position, entry in enumerate(self._search(_CT.ACCESS_TOKEN, query, now)):
                if not (
                    usable(entry, _CT.ACCESS_TOKEN)
                    and owner_fits(entry, home_account_id, user_assertion_hash)
                    and at_fits(entry, env, client_id, realm, ext_cache_key, key_id, wanted)
                ):
                    continue
                expires_on = int_field(entry, "expires_on") or 0
                if expires_on > now and (best is None or (expires_on, position) > best[:2]):
                    best = (expires_on, position, entry)
            if best is not None:
                return best[2]
        return None

    def find_refresh_tokens(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        client_id: str | None = None,
        family_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`~tokensmith.cache.lookups.FastLookups.find_refresh_tokens`."""
        found: list[dict[str, Any]] = []
        for env in strings(environments, "environments"):
            query: dict[str, Any] = {"environment": env, "home_account_id": home_account_id}
            if client_id is not None:
                query["client_id"] = client_id
            if family_id is not None:
                query["family_id"] = family_id
            found.extend(
                _newest_first(
                    e
                    for e in self._search(_CT.REFRESH_TOKEN, query)
                    if usable(e, _CT.REFRESH_TOKEN)
                    and same_env(e, env)
                    and not e.get("user_assertion_hash")
                )
            )
        return found

    def find_obo_refresh_token(
        self, *, user_assertion_hash: str, environments: Sequence[str], client_id: str
    ) -> dict[str, Any] | None:
        """See :meth:`~tokensmith.cache.lookups.FastLookups.find_obo_refresh_token`."""
        for env in strings(environments, "environments"):
            query = {
                "environment": env,
                "client_id": client_id,
                "user_assertion_hash": user_assertion_hash,
            }
            matches = _newest_first(
                e
                for e in self._search(_CT.REFRESH_TOKEN, query)
                if usable(e, _CT.REFRESH_TOKEN) and same_env(e, env)
            )
            if matches:
                return matches[0]
        return None

    def get_app_metadata(self, *, environment: str, client_id: str) -> dict[str, Any] | None:
        """See :meth:`~tokensmith.cache.lookups.FastLookups.get_app_metadata`."""
        query = {"environment": environment, "client_id": client_id}
        for entry in self._search(_CT.APP_METADATA, query):
            if usable(entry, _CT.APP_METADATA) and same_env(entry, environment):
                return entry
        return None

    def find_accounts(
        self,
        *,
        environments: Sequence[str] | None = None,
        username: str | None = None,
        home_account_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`~tokensmith.cache.accounts.AccountLookups.find_accounts`."""
        envs = None if environments is None else strings(environments, "environments")
        queries: list[dict[str, Any]] = [{}] if envs is None else [{"environment": e} for e in envs]
        user = username.lower() if username is not None else None
        found: list[dict[str, Any]] = []
        seen: set[int] = set()
        for query in queries:
            if home_account_id is not None:
                query["home_account_id"] = home_account_id
            for entry in self._search(_CT.ACCOUNT, query):
                name = entry.get("username") if isinstance(entry, dict) else None
                if (
                    id(entry) not in seen
                    and usable(entry, _CT.ACCOUNT)
                    and (user is None or (isinstance(name, str) and name.lower() == user))
                ):
                    seen.add(id(entry))
                    found.append(entry)
        return found

    def find_id_token(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        realm: str | None,
        client_id: str,
    ) -> dict[str, Any] | None:
        """See :meth:`~tokensmith.cache.accounts.AccountLookups.find_id_token`."""
        for env in strings(environments, "environments"):
            query = {"environment": env, "home_account_id": home_account_id, "client_id": client_id}
            if realm is not None:
                query["realm"] = realm
            for entry in self._search(_CT.ID_TOKEN, query):
                if usable(entry, _CT.ID_TOKEN) and same_env(entry, env):
                    return entry
        return None


def _takes_now(search: Any) -> bool:
    """True if ``search`` accepts ``now=`` (MSAL's since 1.31, or ``**kwargs`` as
    msal-extensions' ``PersistedTokenCache.search`` has)."""
    import inspect  # (on first use: a process answered from a plain cache never needs it)

    try:
        parameters = inspect.signature(search).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "now" or p.kind is p.VAR_KEYWORD for p in parameters)


def _newest_first(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest ``last_modification_time`` first; among equals, the later written first."""
    ranked = [
        (int_field(e, "last_modification_time") or 0, position, e)
        for position, e in enumerate(entries)
    ]
    ranked.sort(key=lambda r: r[:2], reverse=True)
    return [e for _, _, e in ranked]
