"""The async twin of :mod:`tokensmith.application.confidential`: the same methods and
parameters, ``async def``, over the asyncio driver and an async transport.

Generated from src/tokensmith/application/confidential.py by scripts/unasync.py;
do not edit (``make check`` fails when it differs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokensmith._lazy import lazy_module
from tokensmith.aio.client_application import ClientApplication
from tokensmith.engine import accounts, client_credentials
from tokensmith.engine.results import TokenResult

if TYPE_CHECKING:
    from tokensmith.engine import on_behalf_of, user_fic
else:  # loaded by the first call that needs them (tokensmith._lazy)
    on_behalf_of = lazy_module("tokensmith.engine.on_behalf_of")
    user_fic = lazy_module("tokensmith.engine.user_fic")

__all__ = ["ConfidentialClientApplication"]


class ConfidentialClientApplication(ClientApplication):
    """MSAL's confidential client: client credentials, on-behalf-of, auth code for web apps."""

    _is_confidential = True

    async def acquire_token_for_client(
        self,
        scopes: list[str],
        claims_challenge: str | None = None,
        fmi_path: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """An app-only token (RFC 6749 §4.4), from the cache when one is usable.

        ``fmi_path`` (a Federated Managed Identity credential path) is sent and keys
        the cached token; ``forwarded_client_claims`` (a JSON object string) is merged
        into ``claims`` and keys the cached token too. Keywords: ``data`` (extra body
        fields), ``authority`` (per request).

        Raises:
            ValueError: ``force_refresh`` or ``auth_scheme`` was given (MSAL refuses
                them here too), ``fmi_path`` is not a string, the forwarded claims are
                not a JSON object string.
            TypeError: any other keyword.
        """
        call = self._per_call("acquire_token_for_client", kwargs) if kwargs else None
        flow = await self._cache_call(
            client_credentials.acquire_token_for_client,
            self._ctx,
            scopes,
            claims_challenge,
            kwargs,
            fmi_path=fmi_path,
            forwarded_client_claims=forwarded_client_claims,
        )
        return await self._run(flow, call)

    async def remove_tokens_for_client(self) -> None:
        """Forget the app-only tokens this client obtained from its authority's cloud."""
        await self._cache_call(accounts.remove_tokens_for_client, self._ctx)

    async def acquire_token_on_behalf_of(
        self,
        user_assertion: str,
        scopes: list[str],
        claims_challenge: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Exchange the user's incoming token for one to a downstream API (OBO).

        Unlike MSAL, which always goes to the network, tokens are served from the cache
        per user assertion (and per ``forwarded_client_claims``, which are merged into
        ``claims``), and refreshed with the refresh token obtained for it. Keywords:
        ``data``, ``authority``.

        Raises:
            ValueError: an empty assertion, bad scopes, forwarded claims that are not
                a JSON object string.
            TypeError: any other keyword.
        """
        call = self._per_call("acquire_token_on_behalf_of", kwargs)
        flow = await self._cache_call(
            on_behalf_of.acquire_token_on_behalf_of,
            self._ctx,
            user_assertion,
            scopes,
            claims_challenge,
            kwargs,
            forwarded_client_claims=forwarded_client_claims,
        )
        return await self._run(flow, call)

    async def acquire_token_by_user_federated_identity_credential(
        self,
        scopes: list[str],
        assertion: str,
        username: str | None = None,
        user_object_id: str | None = None,
        claims_challenge: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """A token of one user (named by ``username`` or ``user_object_id``, not both)
        for a federated identity credential such as an agent's instance token
        (Entra's ``user_fic`` grant); always sent to the provider, then cached as the
        user's sign-in. ``forwarded_client_claims`` (a JSON object string) is merged
        into ``claims`` and keys the cached token. Keywords: ``data``, ``authority``.

        Raises:
            ValueError: an empty assertion, neither or both user names, bad scopes,
                forwarded claims that are not a JSON object string.
            TypeError: any other keyword.
        """
        call = self._per_call("acquire_token_by_user_federated_identity_credential", kwargs)
        flow = user_fic.acquire_token_by_user_fic(
            self._ctx,
            scopes,
            assertion,
            username,
            user_object_id,
            claims_challenge,
            kwargs,
            forwarded_client_claims=forwarded_client_claims,
        )
        return await self._run(flow, call)
