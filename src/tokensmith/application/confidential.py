"""``ConfidentialClientApplication``: daemons and web services that hold a credential."""

from __future__ import annotations

import warnings
from typing import Any

from tokensmith.application.acquire import assertion_hash, exchange, extra_form_fields, record
from tokensmith.application.client_application import ClientApplication, _scope_list
from tokensmith.application.context import AuthorityHandle
from tokensmith.application.headers import request_headers
from tokensmith.application.results import TokenResult, cache_hit_result
from tokensmith.application.silent import USABLE_SECONDS
from tokensmith.cache.schema import compute_ext_cache_key
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.client_credentials import client_credentials_form
from tokensmith.protocol.on_behalf_of import on_behalf_of_form
from tokensmith.protocol.refresh_token import refresh_token_form

__all__ = ["ConfidentialClientApplication"]

_ON_BEHALF_OF_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class ConfidentialClientApplication(ClientApplication):
    """MSAL's confidential client: client credentials, on-behalf-of, auth code for web apps."""

    def acquire_token_for_client(
        self, scopes: list[str], claims_challenge: str | None = None, **kwargs: Any
    ) -> TokenResult:
        """An app-only token (RFC 6749 §4.4), from the cache when one is usable.

        Raises:
            ValueError: ``force_refresh`` was given (MSAL refuses it here too).
        """
        if kwargs.get("force_refresh"):
            raise ConfigurationError(
                "acquire_token_for_client does not take force_refresh; "
                "pass a claims_challenge to bypass the cache"
            )
        handle = self._handle(kwargs.get("authority"))
        if handle.spec.tenant in ("common", "organizations"):
            warnings.warn(
                "Client credentials with /common or /organizations is unreliable; "
                "use a tenant-specific authority",
                DeprecationWarning,
                stacklevel=2,
            )
        scope_list = _scope_list(scopes)
        extra = kwargs.get("data")
        data = extra_form_fields(extra) if extra else {}
        ext_key = (compute_ext_cache_key(data) or None) if data else None
        fallback: TokenResult | None = None
        if not claims_challenge:
            hit = self._app_token(handle, scope_list, data, ext_key)
            if hit is not None:
                refresh_on = hit.get("refresh_on")
                if not refresh_on or refresh_on >= self._ctx.clock():
                    return hit
                fallback = hit
        key = (
            "client",
            handle.instance,
            handle.realm,
            frozenset(s.lower() for s in scope_list),
            ext_key,
            claims_challenge,
        )

        def fetch() -> TokenResult:
            if fallback is None and not claims_challenge:
                again = self._app_token(handle, scope_list, data, ext_key)
                if again is not None:
                    return again
            return self._client_credentials(handle, scope_list, data, claims_challenge)

        result = TokenResult(self.token_cache.single_flight.run(key, fetch))
        if "error" in result and fallback is not None:
            return fallback
        return result

    def _app_token(
        self, handle: AuthorityHandle, scopes: list[str], data: dict[str, str], ext_key: str | None
    ) -> TokenResult | None:
        now = self._ctx.clock()
        entry = self.token_cache.find_access_token(
            home_account_id=None,
            environments=handle.environments,
            client_id=self.client_id,
            realm=handle.realm,
            scopes=scopes,
            now=now,
            ext_cache_key=ext_key,
            key_id=data.get("key_id"),
        )
        if entry is None or int(entry["expires_on"]) - now < USABLE_SECONDS:
            return None
        return cache_hit_result(entry, now)

    def _client_credentials(
        self,
        handle: AuthorityHandle,
        scopes: list[str],
        data: dict[str, str],
        claims_challenge: str | None,
    ) -> TokenResult:
        form = dict(data)
        form.update(
            client_credentials_form(
                client_id=self.client_id, scopes=scopes, claims=self._claims(claims_challenge)
            )
        )
        headers = request_headers(self._ctx.base_headers, "for_client", refresh_reason=2)
        response = self._ctx.run(exchange(self._ctx, handle, form, headers))
        return record(
            self._ctx, handle, response, scopes=scopes, grant_type="client_credentials", data=data
        )

    def remove_tokens_for_client(self) -> None:
        """Forget the app-only tokens this client obtained from its authority's cloud."""
        self.token_cache.remove_app_tokens(
            client_id=self.client_id, environments=self._default.environments
        )

    def acquire_token_on_behalf_of(
        self,
        user_assertion: str,
        scopes: list[str],
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Exchange the user's incoming token for one to a downstream API (OBO).

        Unlike MSAL, which always goes to the network, tokens are served from the cache
        per user assertion, and refreshed with the refresh token obtained for it.
        """
        if not user_assertion or not isinstance(user_assertion, str):
            raise ConfigurationError("user_assertion must be a non-empty string")
        handle = self._handle(kwargs.get("authority"))
        scope_list = _scope_list(scopes)
        decorated = self._decorate(scopes)
        data = extra_form_fields(kwargs.get("data"))
        digest = assertion_hash(user_assertion)
        envs = handle.environments
        if not claims_challenge:
            now = self._ctx.clock()
            entry = self.token_cache.find_access_token(
                home_account_id=None,
                environments=envs,
                client_id=self.client_id,
                realm=handle.realm,
                scopes=scope_list,
                now=now,
                user_assertion_hash=digest,
            )
            if entry is not None and int(entry["expires_on"]) - now >= USABLE_SECONDS:
                return cache_hit_result(entry, now)
        headers = request_headers(self._ctx.base_headers, "on_behalf_of")
        rt = (
            None
            if claims_challenge
            else self.token_cache.find_obo_refresh_token(
                user_assertion_hash=digest, environments=envs, client_id=self.client_id
            )
        )
        if rt is not None:
            form = dict(data)
            form.update(
                refresh_token_form(
                    client_id=self.client_id, refresh_token=rt["secret"], scopes=decorated
                )
            )
            response = self._ctx.run(exchange(self._ctx, handle, form, headers))
            if "error" not in response:
                return record(
                    self._ctx,
                    handle,
                    response,
                    scopes=decorated,
                    grant_type="refresh_token",
                    data=data,
                    user_assertion_hash=digest,
                    skip_account_creation=True,
                )
        form = dict(data)
        form.update(
            on_behalf_of_form(
                client_id=self.client_id,
                assertion=user_assertion,
                scopes=decorated,
                claims=self._claims(claims_challenge),
            )
        )
        response = self._ctx.run(exchange(self._ctx, handle, form, headers))
        return record(
            self._ctx,
            handle,
            response,
            scopes=decorated,
            grant_type=_ON_BEHALF_OF_GRANT,
            data=data,
            user_assertion_hash=digest,
        )
