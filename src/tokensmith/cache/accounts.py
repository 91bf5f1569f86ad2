"""Index-backed account lookups and removals for the application façade.

``forget_account`` and ``remove_app_tokens`` follow MSAL's ``remove_account`` and
``remove_tokens_for_client`` but only touch the entries of one account or one
client (found through the indexes), and remove them through
:meth:`~tokensmith.cache.token_cache.TokenCache.modify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, repeat
from typing import TYPE_CHECKING, Any

from tokensmith.cache.buckets import bucket, norm, norm_env
from tokensmith.cache.lookups import FastLookups, same_env, strings
from tokensmith.cache.schema import CredentialType
from tokensmith.cache.validity import all_usable

if TYPE_CHECKING:  # the sign-out loads with the first one, not for a cache hit
    from tokensmith.cache.sign_out import SignOut

__all__ = ["AccountLookups"]

_CT = CredentialType


class AccountLookups(FastLookups):
    """Accounts, id tokens and sign-out."""

    def find_accounts(
        self,
        *,
        environments: Sequence[str] | None = None,
        username: str | None = None,
        home_account_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Raw Account entries matching every filter given, in insertion order.

        ``username`` compares case-insensitively; ``environments`` is a set of hosts
        (case-insensitive). With no filter at all, every Account entry.
        """
        envs = None if environments is None else strings(environments, "environments")
        user = username.lower() if username is not None else None
        with self._lock:
            self._ensure_index(_CT.ACCOUNT)
            section = self._section(_CT.ACCOUNT)
            ordered = self._account_keys(section, envs, user, home_account_id)
            hosts = None if envs is None else {e.lower() for e in envs}
            if ordered is None and user is None and home_account_id is None:
                every = list(section.values())
                if all_usable(every, _CT.ACCOUNT):  # the usual cache: no entry to vet
                    return _in_hosts(every, hosts)
            entries = section.values() if ordered is None else [section.get(k) for k in ordered]
            found = []
            for entry in entries:
                if not isinstance(entry, dict):
                    continue
                if home_account_id is not None and entry.get("home_account_id") != home_account_id:
                    continue
                if hosts is not None:
                    env = entry.get("environment")  # same_env's rule, inlined: a hot loop
                    if (env.lower() if type(env) is str else norm_env(env)) not in hosts:
                        continue
                name = entry.get("username")
                if user is not None and not (isinstance(name, str) and name.lower() == user):
                    continue
                if self._usable(entry, _CT.ACCOUNT):  # last: only the matches pay for it
                    found.append(entry)
            return found

    def _account_keys(
        self,
        section: dict[str, Any],
        envs: list[str] | None,
        user: str | None,
        home_account_id: str | None,
    ) -> list[str] | None:
        """Candidate Account keys from the indexes, in insertion order (None: the
        whole section)."""
        index = self._index
        if home_account_id is not None:
            keys = index.lookup(index.acct_by_hid, norm(home_account_id))
        elif user is not None:  # (a user has an Account per cloud at most: few keys)
            keys = index.lookup(index.acct_by_user, user)
        elif envs is not None and index.built("acct_by_env"):
            keys = [k for e in envs for k in index.lookup(index.acct_by_env, e.lower())]
        else:  # every account, or all of a cloud (usually the same): the section in order
            index.examined += len(section)
            return None
        return index.in_order(_CT.ACCOUNT, keys)

    def find_id_token(
        self,
        *,
        home_account_id: str,
        environments: Sequence[str],
        realm: str | None,
        client_id: str,
    ) -> dict[str, Any] | None:
        """The IdToken of this account and client; ``realm=None`` accepts any realm.

        Environments are tried in order; within one, the first written entry wins.
        """
        envs = strings(environments, "environments")
        with self._lock:
            self._ensure_index(_CT.ID_TOKEN)
            index = self._index
            section = self._section(_CT.ID_TOKEN)
            for env in envs:
                keys = index.lookup(index.idt_by_account, norm(home_account_id))
                for key in index.in_order(_CT.ID_TOKEN, keys):
                    entry = section.get(key)
                    if (
                        self._usable(entry, _CT.ID_TOKEN)
                        and entry.get("home_account_id") == home_account_id
                        and same_env(entry, env)
                        and entry.get("client_id") == client_id
                        and (realm is None or entry.get("realm") == realm)
                    ):
                        return entry
            return None

    def forget_account(
        self, *, home_account_id: str, environments: Sequence[str], client_id: str
    ) -> None:
        """Sign the account out of this app and forget it (MSAL ``remove_account``):
        the entries :class:`~tokensmith.cache.sign_out.SignOut` states, in each
        environment (its RefreshTokens of this client or of its family, per this
        client's AppMetadata; all its AccessTokens, IdTokens and Account entries)."""
        from tokensmith.cache.sign_out import REMOVED_TYPES, SignOut

        envs = strings(environments, "environments")
        with self._writing():  # the store gets the removals once, after the lock
            self._ensure_index()
            self._note_removal(home_account_id)  # refreshes in flight will not write back
            # memory only: under the lock, a store-backed override would read (or take
            # the store's lock): the caller read the meta partition first
            sign_out = SignOut.of(
                home_account_id,
                client_id,
                envs,
                lambda env: FastLookups.get_app_metadata(
                    self, environment=env, client_id=client_id
                ),
            )
            self._signing_out(sign_out)
            for env in envs:
                for credential_type in REMOVED_TYPES:
                    for entry in self._owned(credential_type, home_account_id, env):
                        if sign_out.removes(
                            credential_type, env, entry.get("client_id"), entry.get("family_id")
                        ):
                            self.modify(credential_type, entry)

    def _signing_out(self, sign_out: SignOut) -> None:
        """Called as :meth:`forget_account` begins removing, under the lock: a cache
        backed by a store hands ``sign_out`` on with the removals; this one keeps
        nothing."""

    def remove_app_tokens(self, *, client_id: str, environments: Sequence[str]) -> None:
        """Remove this client's app-only AccessTokens (MSAL ``remove_tokens_for_client``).

        App-only means no ``home_account_id``; extended (``ext_cache_key``) ones are
        removed too.
        """
        envs = strings(environments, "environments")
        with self._writing():
            self._ensure_index()
            section = self._section(_CT.ACCESS_TOKEN)
            for env in envs:
                app = bucket(env.lower(), client_id)
                keys = self._index.lookup(self._index.at_by_app, app)
                doomed = [
                    entry
                    for key in keys
                    if isinstance(entry := section.get(key), dict)
                    and not entry.get("home_account_id")
                    and entry.get("client_id") == client_id
                    and same_env(entry, env)
                ]
                for entry in doomed:
                    self.modify(_CT.ACCESS_TOKEN, entry)

    def _owned(self, credential_type: str, home_account_id: str, env: str) -> list[dict[str, Any]]:
        """Snapshot of the entries of one account in one environment (any realm).
        (SqliteStore's sign-out restates this match in SQL, on its owner index:
        ``_SELECT_OWNED`` in tokensmith/stores/_sqlite_rows.py.)"""
        index = self._index
        buckets = {
            _CT.REFRESH_TOKEN: index.rt_by_account,
            _CT.ACCESS_TOKEN: index.at_by_account,
            _CT.ID_TOKEN: index.idt_by_account,
        }
        if credential_type == _CT.ACCOUNT:
            keys = index.lookup(index.acct_by_hid, norm(home_account_id))
        else:
            keys = index.lookup(buckets[credential_type], norm(home_account_id))
        section = self._section(credential_type)
        return [
            entry
            for key in index.in_order(credential_type, keys)
            if isinstance(entry := section.get(key), dict)
            and entry.get("home_account_id") == home_account_id
            and same_env(entry, env)
        ]


def _in_hosts(entries: list[dict[str, Any]], hosts: set[str] | None) -> list[dict[str, Any]]:
    """The usable Account ``entries`` whose environment is one of ``hosts`` (None: all),
    filtered at C speed (the loop of :meth:`AccountLookups.find_accounts`, for a whole
    section whose environments are all strings)."""
    if hosts is None:
        return entries
    envs: list[Any] = list(map(dict.get, entries, repeat("environment", len(entries))))
    if None in envs:  # norm_env(None) is "": rare enough for the general loop's rule
        return [e for e, env in zip(entries, envs, strict=True) if norm_env(env) in hosts]
    return list(compress(entries, map(hosts.__contains__, map(str.lower, envs))))
