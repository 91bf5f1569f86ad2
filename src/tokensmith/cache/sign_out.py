"""What one sign-out removes (MSAL's ``remove_account``): the one statement of the rule.

:meth:`~tokensmith.cache.accounts.AccountLookups.forget_account` removes by it the
entries memory holds; an entry store that can (:class:`~tokensmith.stores.base.
SignOutWriter`) applies it to the rows it holds, in the transaction of those removals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tokensmith._readonly import ReadOnly
from tokensmith.cache.schema import CredentialType

__all__ = ["REMOVED_TYPES", "SignOut"]

_CT = CredentialType
REMOVED_TYPES = (_CT.REFRESH_TOKEN, _CT.ACCESS_TOKEN, _CT.ID_TOKEN, _CT.ACCOUNT)
"""The credential types a sign-out removes from, in the order it removes them."""
_ELSEWHERE = object()


class SignOut(ReadOnly):
    """One account signed out of one client, in some environments.

    In each of them it removes the account's entries of any realm: its RefreshTokens
    of this client or of its family (``families``: the family id of this client's
    AppMetadata in each environment, None for none), all its AccessTokens (of any
    client, extended ones included), its IdTokens and its Account entries.

    Args:
        home_account_id: the account.
        client_id: the client signing it out.
        families: the client's family id in each environment (host names, any case;
            of two that differ only in case, the first).
    """

    __slots__ = ("client_id", "families", "home_account_id")

    home_account_id: str
    client_id: str
    families: Mapping[str, object]
    """The client's family id in each environment, by lower-case host name."""

    def __init__(
        self, home_account_id: str, client_id: str, families: Mapping[str, object]
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "home_account_id", home_account_id)
        set_field(self, "client_id", client_id)
        lowered: dict[str, object] = {}
        for env, family in families.items():
            lowered.setdefault(env.lower(), family)
        set_field(self, "families", lowered)

    @classmethod
    def of(
        cls,
        home_account_id: str,
        client_id: str,
        environments: Iterable[str],
        app_metadata: Callable[[str], Mapping[str, Any] | None],
    ) -> SignOut:
        """The sign-out in ``environments``, the client's family in each read from its
        AppMetadata there (``app_metadata(environment)``, None: there is none)."""
        families = {env: (app_metadata(env) or {}).get("family_id") for env in environments}
        return cls(home_account_id, client_id, families)

    def removes(
        self, credential_type: str, environment: str, client_id: object, family_id: object
    ) -> bool:
        """True if the account's entry of ``credential_type`` in ``environment``, of
        ``client_id`` and ``family_id`` (as stored; None when unknown, as for a row
        whose body is damaged), is one this sign-out removes."""
        family = self.families.get(environment.lower(), _ELSEWHERE)
        if family is _ELSEWHERE:
            return False
        if credential_type == _CT.REFRESH_TOKEN:
            return client_id == self.client_id or (bool(family) and family_id == family)
        return credential_type in REMOVED_TYPES

    def __repr__(self) -> str:
        return f"SignOut(client_id={self.client_id!r}, environments={sorted(self.families)})"
