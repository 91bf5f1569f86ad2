"""The async twin of :mod:`tokensmith.application.client_application`: the same methods and
parameters, ``async def``, over the asyncio driver and an async transport.

Generated from src/tokensmith/application/client_application.py by scripts/unasync.py;
do not edit (``make check`` fails when it differs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from tokensmith._lazy import lazy_module
from tokensmith.application.core import AsyncRunner
from tokensmith.engine import accounts, silent
from tokensmith.engine.results import Account, TokenResult
from tokensmith.entra import headers as api
from tokensmith.protocol.effects import Flow

if TYPE_CHECKING:
    from tokensmith.engine import auth_code, auth_code_deprecated, user_flows
else:  # loaded by the first call that needs them (tokensmith._lazy)
    auth_code = lazy_module("tokensmith.engine.auth_code")
    auth_code_deprecated = lazy_module("tokensmith.engine.auth_code_deprecated")
    user_flows = lazy_module("tokensmith.engine.user_flows")

__all__ = ["ClientApplication"]

if TYPE_CHECKING:  # (a string bound at run time would be compiled: see SingleFlight's W)
    _App = TypeVar("_App", bound="ClientApplication")


class ClientApplication(AsyncRunner):
    """Base class of :class:`PublicClientApplication` and
    :class:`ConfidentialClientApplication` (MSAL Python's ``ClientApplication``)."""

    ACQUIRE_TOKEN_SILENT_ID = api.ACQUIRE_TOKEN_SILENT
    ACQUIRE_TOKEN_BY_REFRESH_TOKEN = api.ACQUIRE_TOKEN_BY_REFRESH_TOKEN
    ACQUIRE_TOKEN_BY_USERNAME_PASSWORD_ID = api.ACQUIRE_TOKEN_BY_USERNAME_PASSWORD
    ACQUIRE_TOKEN_ON_BEHALF_OF_ID = api.ACQUIRE_TOKEN_ON_BEHALF_OF
    ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID = api.ACQUIRE_TOKEN_BY_DEVICE_FLOW
    ACQUIRE_TOKEN_FOR_CLIENT_ID = api.ACQUIRE_TOKEN_FOR_CLIENT
    ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE_ID = api.ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE
    ACQUIRE_TOKEN_INTERACTIVE = api.ACQUIRE_TOKEN_INTERACTIVE
    ACQUIRE_TOKEN_BY_USER_FIC_ID = api.ACQUIRE_TOKEN_BY_USER_FIC
    GET_ACCOUNTS_ID = api.GET_ACCOUNTS
    REMOVE_ACCOUNT_ID = api.REMOVE_ACCOUNT
    ATTEMPT_REGION_DISCOVERY = True
    DISABLE_MSAL_FORCE_REGION = False

    _silent_flow: Callable[..., Flow[TokenResult | None]] = staticmethod(
        silent.acquire_token_silent
    )
    """The silent flow (a public client with a broker puts the broker's here, per
    instance: a plain function, so no reference cycle through the application)."""

    async def close(self) -> None:
        """Close the HTTP connections this application opened."""
        await self._close()

    async def __aenter__(self: _App) -> _App:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def is_pop_supported(self) -> bool:
        """Whether this app can get proof-of-possession tokens. MSAL answers True only
        with a broker on Windows or macOS; no broker is wired here: False."""
        return False

    # -- accounts --------------------------------------------------------------------

    async def get_accounts(self, username: str | None = None) -> list[Account]:
        """Accounts that signed in before (one dict per home account), optionally
        only those whose username matches ``username`` case-insensitively."""
        return await self._cache_call(accounts.get_accounts, self._ctx, username)

    async def remove_account(self, account: Mapping[str, Any]) -> None:
        """Forget the account's tokens in this environment (MSAL's sign-out)."""
        await self._cache_call(accounts.remove_account, self._ctx, account)

    # -- silent ----------------------------------------------------------------------

    async def acquire_token_silent(
        self,
        scopes: list[str],
        account: Mapping[str, Any] | None,
        authority: Any = None,
        force_refresh: bool = False,
        claims_challenge: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult | None:
        """A token from the cache, refreshed when needed; None on any failure.
        ``forwarded_client_claims`` (a JSON object string) key the cached token and go
        out merged into ``claims`` on a refresh, as in MSAL."""
        if forwarded_client_claims is not None:
            kwargs["forwarded_client_claims"] = forwarded_client_claims
        call = self._per_call("acquire_token_silent", kwargs) if kwargs else None
        flow = await self._cache_call(
            self._silent_flow,
            self._ctx,
            scopes,
            account,
            authority,
            force_refresh,
            claims_challenge,
            kwargs,
        )
        return silent.without_error(await self._run(flow, call))

    async def acquire_token_silent_with_error(
        self,
        scopes: list[str],
        account: Mapping[str, Any] | None,
        authority: Any = None,
        force_refresh: bool = False,
        claims_challenge: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult | None:
        """Like :meth:`acquire_token_silent`, but a failed refresh returns its error
        dict (with MSAL's ``classification``). ``authority`` is honoured per request."""
        if forwarded_client_claims is not None:
            kwargs["forwarded_client_claims"] = forwarded_client_claims
        call = self._per_call("acquire_token_silent_with_error", kwargs) if kwargs else None
        flow = await self._cache_call(
            self._silent_flow,
            self._ctx,
            scopes,
            account,
            authority,
            force_refresh,
            claims_challenge,
            kwargs,
        )
        return await self._run(flow, call)

    # -- grants shared by both kinds of application ----------------------------------

    async def acquire_token_by_refresh_token(
        self, refresh_token: str, scopes: list[str], **kwargs: Any
    ) -> TokenResult:
        """Redeem a refresh token obtained elsewhere and cache what comes back."""
        call = self._per_call("acquire_token_by_refresh_token", kwargs)
        flow = user_flows.acquire_token_by_refresh_token(self._ctx, refresh_token, scopes, kwargs)
        return await self._run(flow, call)

    async def acquire_token_by_username_password(
        self,
        username: str,
        password: str,
        scopes: list[str],
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Resource-owner password grant (managed accounts; deprecated for public clients)."""
        call = self._per_call("acquire_token_by_username_password", kwargs)
        flow = user_flows.acquire_token_by_username_password(
            self._ctx, username, password, scopes, claims_challenge, kwargs
        )
        return await self._run(flow, call)

    # -- the authorization code flow for web apps ------------------------------------

    async def initiate_auth_code_flow(
        self,
        scopes: list[str],
        redirect_uri: str | None = None,
        state: str | None = None,
        prompt: str | None = None,
        login_hint: str | None = None,
        domain_hint: str | None = None,
        claims_challenge: str | None = None,
        max_age: int | None = None,
        response_mode: str | None = None,
    ) -> dict[str, Any]:
        """Start a sign-in: the returned dict's ``auth_uri`` is where the browser goes.

        Keep the whole dict (server-side session) and hand it back, with the
        parameters the browser brought to ``redirect_uri``, to
        :meth:`acquire_token_by_auth_code_flow`. Warns (``UserWarning``) unless
        ``response_mode="form_post"``, as MSAL does.

        Raises:
            ValueError: bad scopes or claims; the authority cannot be discovered.
        """
        flow = auth_code.initiate_auth_code_flow(
            self._ctx,
            scopes,
            redirect_uri,
            state,
            claims_challenge,
            max_age,
            response_mode,
            prompt=prompt,
            login_hint=login_hint,
            domain_hint=domain_hint,
        )
        return await self._run(flow)

    async def acquire_token_by_auth_code_flow(
        self,
        auth_code_flow: Mapping[str, Any],
        auth_response: Mapping[str, Any],
        scopes: list[str] | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Check the browser's response against the flow, then redeem the code.

        Args:
            auth_code_flow: the dict :meth:`initiate_auth_code_flow` returned.
            auth_response: the parameters that reached the redirect URI (query or
                form body), as a dict.
            scopes: optionally a subset of the flow's scopes for this access token.
            **kwargs: ``data`` (extra token request fields); tokensmith's
                ``verify_id_token_signature=True`` also checks the id_token's
                signature against the provider's JWKS.

        Returns:
            The token result (cached), or ``{"error", "error_description"?,
            "error_uri"?}`` when the provider redirected with an error or refused the
            code (e.g. a replayed one: ``invalid_grant``).

        Raises:
            TypeError: the flow or the response is not a dict.
            ValueError: state mismatch (CSRF or a stale response), scopes not in the
                flow, or a response without ``code`` or ``error``.
            IdTokenError: (a ``RuntimeError``) the id_token's nonce, ``auth_time``
                (with ``max_age``), issuer, audience, times or signature are wrong.
        """
        call = self._per_call("acquire_token_by_auth_code_flow", kwargs)
        flow = auth_code.acquire_token_by_auth_code_flow(
            self._ctx, auth_code_flow, auth_response, scopes, kwargs
        )
        return await self._run(flow, call)

    async def get_authorization_request_url(
        self,
        scopes: list[str],
        login_hint: str | None = None,
        state: str | None = None,
        redirect_uri: str | None = None,
        response_type: str = "code",
        prompt: str | None = None,
        nonce: str | None = None,
        domain_hint: str | None = None,
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Deprecated (as in MSAL): build an authorization URL without PKCE.

        Use :meth:`initiate_auth_code_flow`. ``authority=`` is honoured, with a warning.
        """
        flow = auth_code_deprecated.get_authorization_request_url(
            self._ctx,
            scopes,
            kwargs,
            login_hint=login_hint,
            state=state,
            redirect_uri=redirect_uri,
            response_type=response_type,
            prompt=prompt,
            nonce=nonce,
            domain_hint=domain_hint,
            claims_challenge=claims_challenge,
        )
        return await self._run(flow)

    async def acquire_token_by_authorization_code(
        self,
        code: str,
        scopes: list[str],
        redirect_uri: str | None = None,
        nonce: str | None = None,
        claims_challenge: str | None = None,
        forwarded_client_claims: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Deprecated (as in MSAL): redeem a code obtained by other means.

        ``nonce``, if given, must equal the id_token's ``nonce`` claim verbatim.
        ``forwarded_client_claims`` (a JSON object string) is merged into ``claims``
        and keys the cached access token, as in MSAL.

        Raises:
            ValueError: ``scopes`` is not a list, the code is empty, the nonce does
                not match, or the forwarded claims are not a JSON object string.
            TypeError: a keyword other than ``data`` and ``authority``.
        """
        call = self._per_call("acquire_token_by_authorization_code", kwargs)
        flow = auth_code_deprecated.acquire_token_by_authorization_code(
            self._ctx,
            code,
            scopes,
            redirect_uri,
            nonce,
            claims_challenge,
            kwargs,
            forwarded_client_claims=forwarded_client_claims,
        )
        return await self._run(flow, call)
