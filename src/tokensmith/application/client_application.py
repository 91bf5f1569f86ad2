"""``ClientApplication``: the MSAL-compatible façade shared by public and confidential apps.

The methods here are short delegators: they validate arguments the way MSAL does,
pick the authority (the constructor's, or a per-request override, which MSAL ignores),
and hand the work to :mod:`~tokensmith.application.silent`,
:mod:`~tokensmith.application.acquire` and the sans-I/O grants.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from tokensmith._clock import Clock, system_clock
from tokensmith.application import factory
from tokensmith.application.acquire import exchange, extra_form_fields, record
from tokensmith.application.auth_code import AuthCodeMixin
from tokensmith.application.context import AuthorityHandle
from tokensmith.application.headers import request_headers
from tokensmith.application.results import Account, TokenResult
from tokensmith.application.silent import SilentRequest, silent
from tokensmith.cache import TokenCache
from tokensmith.entra.classification import classify
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.claims import merge_claims
from tokensmith.protocol.refresh_token import refresh_token_form
from tokensmith.protocol.scopes import decorate_scopes, validate_exclude_scopes
from tokensmith.transport.base import Transport

__all__ = ["ClientApplication"]

_App = TypeVar("_App", bound="ClientApplication")

_ACCOUNT_AUTHORITY_TYPES = frozenset({"MSSTS", "ADFS"})


class ClientApplication(AuthCodeMixin):
    """Base class of :class:`PublicClientApplication` and
    :class:`ConfidentialClientApplication` (MSAL Python's ``ClientApplication``)."""

    ACQUIRE_TOKEN_SILENT_ID = "84"
    ACQUIRE_TOKEN_BY_REFRESH_TOKEN = "85"
    ACQUIRE_TOKEN_BY_USERNAME_PASSWORD_ID = "301"
    ACQUIRE_TOKEN_ON_BEHALF_OF_ID = "523"
    ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID = "622"
    ACQUIRE_TOKEN_FOR_CLIENT_ID = "730"
    ACQUIRE_TOKEN_BY_AUTHORIZATION_CODE_ID = "832"
    ACQUIRE_TOKEN_INTERACTIVE = "169"
    GET_ACCOUNTS_ID = "902"
    REMOVE_ACCOUNT_ID = "903"
    ATTEMPT_REGION_DISCOVERY = True
    DISABLE_MSAL_FORCE_REGION = False

    _is_public = False

    def __init__(
        self,
        client_id: str,
        client_credential: Any = None,
        authority: Any = None,
        validate_authority: bool = True,
        token_cache: TokenCache | None = None,
        http_client: Any = None,
        verify: bool | str = True,
        proxies: Any = None,
        timeout: Any = None,
        client_claims: Mapping[str, Any] | None = None,
        app_name: str | None = None,
        app_version: str | None = None,
        client_capabilities: Sequence[str] | None = None,
        azure_region: Any = None,
        exclude_scopes: Sequence[str] | None = None,
        http_cache: Any = None,
        instance_discovery: bool | str | None = None,
        allow_broker: bool | None = None,
        enable_pii_log: bool | None = None,
        oidc_authority: str | None = None,
        *,
        known_authorities: Collection[str] = (),
        transport: Transport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Build the application. No network I/O happens here (discovery is lazy).

        Beyond MSAL's parameters: ``known_authorities`` (hosts trusted without instance
        discovery), ``transport`` (any :class:`~tokensmith.transport.Transport`), and
        ``clock`` (epoch-seconds callable) and ``sleep`` (both for tests).

        Raises:
            ValueError: a parameter is not acceptable (``ConfigurationError``, or
                ``AuthorityError`` for the authority).
        """
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id must be a non-empty string")
        if allow_broker and not self._is_public:
            raise ConfigurationError("allow_broker is only for PublicClientApplication")
        self.client_id = client_id
        self.client_credential = client_credential
        self.token_cache: TokenCache = token_cache if token_cache is not None else TokenCache()
        self.http_client = http_client
        self.app_name = app_name
        self.app_version = app_version
        self._client_capabilities = list(client_capabilities or [])
        self._exclude_scopes = frozenset(validate_exclude_scopes(exclude_scopes or []))
        self._azure_region = azure_region
        self._http_cache = http_cache
        self._accounts_memo: tuple[int, list[Account]] | None = None
        clock = clock or system_clock
        self._ctx, default_spec = factory.build_context(
            client_id=client_id,
            client_credential=client_credential,
            authority=authority,
            oidc_authority=oidc_authority,
            validate_authority=validate_authority,
            instance_discovery=instance_discovery,
            known_authorities=known_authorities,
            cache=self.token_cache,
            http_client=http_client,
            transport=transport,
            verify=verify,
            proxies=proxies,
            timeout=timeout,
            client_claims=dict(client_claims) if client_claims else None,
            headers=factory.base_headers(app_name, app_version),
            clock=clock,
            sleep=sleep or time.sleep,
            is_public=self._is_public,
        )
        self._default = self._ctx.handle_for_spec(default_spec)
        self.authority = factory.public_authority(self._default)

    # -- helpers ---------------------------------------------------------------------

    def _handle(self, authority: Any) -> AuthorityHandle:
        return self._ctx.handle(None if authority is None else str(authority), self._default)

    def _decorate(self, scopes: Any) -> list[str]:
        return decorate_scopes(scopes, exclude_scopes=self._exclude_scopes)

    def _claims(self, claims_challenge: str | None) -> str | None:
        return merge_claims(claims_challenge, self._client_capabilities)

    def close(self) -> None:
        """Close the HTTP connections this application opened."""
        self._ctx.close()

    def __enter__(self: _App) -> _App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        authority = self._default.spec.canonical_url
        return f"{type(self).__name__}(client_id={self.client_id!r}, authority={authority!r})"

    # -- accounts --------------------------------------------------------------------

    def get_accounts(self, username: str | None = None) -> list[Account]:
        """Accounts that signed in before (one dict per home account), optionally
        only those whose username matches ``username`` case-insensitively."""
        if username is not None:
            for env in self._default.environments:
                entries = self.token_cache.find_accounts(environments=(env,), username=username)
                if entries:
                    return _group_accounts(entries)
            return []
        # The grouped view is rebuilt only when an Account entry changed; its accounts
        # are read-only, so handing out the same objects again is safe.
        generation = self.token_cache.account_generation
        memo = self._accounts_memo
        if memo is None or memo[0] != generation:
            view: list[Account] = []
            for env in self._default.environments:
                view = _group_accounts(self.token_cache.find_accounts(environments=(env,)))
                if view:
                    break
            memo = self._accounts_memo = (generation, view)
        return list(memo[1])

    def remove_account(self, account: Mapping[str, Any]) -> None:
        """Forget the account's tokens in this environment (MSAL's sign-out)."""
        home = account.get("home_account_id") if account else None
        if not home:
            return
        self.token_cache.forget_account(
            home_account_id=home, environments=self._default.environments, client_id=self.client_id
        )

    # -- silent ----------------------------------------------------------------------

    def acquire_token_silent(
        self,
        scopes: list[str],
        account: Mapping[str, Any] | None,
        authority: Any = None,
        force_refresh: bool = False,
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult | None:
        """A token from the cache, refreshed when needed; None on any failure."""
        result = self.acquire_token_silent_with_error(
            scopes, account, authority, force_refresh, claims_challenge, **kwargs
        )
        return result if result and "error" not in result else None

    def acquire_token_silent_with_error(
        self,
        scopes: list[str],
        account: Mapping[str, Any] | None,
        authority: Any = None,
        force_refresh: bool = False,
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult | None:
        """Like :meth:`acquire_token_silent`, but a failed refresh returns its error
        dict (with MSAL's ``classification``). ``authority`` is honoured per request."""
        if not account:
            return None
        if kwargs.get("auth_scheme") is not None:
            raise ConfigurationError("auth_scheme (PoP) needs a broker, which is not enabled")
        req = SilentRequest(
            handle=self._handle(authority),
            account=account,
            scopes=_scope_list(scopes),
            exclude=self._exclude_scopes,
            force=bool(force_refresh) or bool(claims_challenge),
            claims=self._claims(claims_challenge),
            data=kwargs.get("data") or {},
        )
        result = silent(self._ctx, req)
        if result is not None and "error" in result:
            classification = classify(result)
            if classification is not None:
                result["classification"] = classification
        return result

    # -- grants shared by both kinds of application ----------------------------------

    def acquire_token_by_refresh_token(
        self, refresh_token: str, scopes: list[str], **kwargs: Any
    ) -> TokenResult:
        """Redeem a refresh token obtained elsewhere and cache what comes back."""
        if not refresh_token or not isinstance(refresh_token, str):
            raise ConfigurationError("refresh_token must be a non-empty string")
        handle = self._handle(kwargs.pop("authority", None))
        decorated = self._decorate(scopes)
        form = extra_form_fields(kwargs.get("data"))
        form.update(
            refresh_token_form(
                client_id=self.client_id,
                refresh_token=refresh_token,
                scopes=decorated,
                claims=self._claims(kwargs.get("claims_challenge")),
            )
        )
        headers = request_headers(self._ctx.base_headers, "by_refresh_token", refresh_reason=1)
        response = self._ctx.run(exchange(self._ctx, handle, form, headers))
        return record(
            self._ctx,
            handle,
            response,
            scopes=decorated,
            grant_type="refresh_token",
            data=kwargs.get("data"),
        )

    def acquire_token_by_username_password(
        self,
        username: str,
        password: str,
        scopes: list[str],
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Resource-owner password grant (managed accounts; deprecated for public clients)."""
        from tokensmith.application import password_flow

        if self._is_public:
            warnings.warn(
                "The username/password flow is deprecated for public clients; "
                "use device code or interactive sign-in.",
                DeprecationWarning,
                stacklevel=2,
            )
        return password_flow.acquire(self, username, password, scopes, claims_challenge, kwargs)


def _scope_list(scopes: Any) -> list[str]:
    if not isinstance(scopes, (list, set, tuple)):
        raise ConfigurationError("The input scopes should be a list, tuple, or set")
    return [str(s) for s in scopes]


def _group_accounts(entries: Sequence[Mapping[str, Any]]) -> list[Account]:
    grouped: dict[Any, Account] = {}
    for a in entries:
        if a.get("authority_type") not in _ACCOUNT_AUTHORITY_TYPES:
            continue
        grouped[a.get("home_account_id")] = Account(
            home_account_id=a.get("home_account_id"),
            environment=a.get("environment"),
            username=a.get("username"),
            account_source=a.get("account_source"),
            authority_type=a.get("authority_type"),
            local_account_id=a.get("local_account_id"),
            realm=a.get("realm"),
        )
    return list(grouped.values())
