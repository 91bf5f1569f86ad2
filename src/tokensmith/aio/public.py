"""The async twin of :mod:`tokensmith.application.public`: the same methods and
parameters, ``async def``, over the asyncio driver and an async transport.

Generated from src/tokensmith/application/public.py by scripts/unasync.py;
do not edit (``make check`` fails when it differs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._lazy import lazy_module
from tokensmith.aio.client_application import ClientApplication
from tokensmith.broker import opted_in_anywhere
from tokensmith.engine import accounts
from tokensmith.engine.results import Account, TokenResult

if TYPE_CHECKING:
    from tokensmith.broker import policy
    from tokensmith.engine import broker, broker_signin, interactive, user_flows
else:  # loaded by the first call that needs them (tokensmith._lazy)
    policy = lazy_module("tokensmith.broker.policy")
    broker = lazy_module("tokensmith.engine.broker")
    broker_signin = lazy_module("tokensmith.engine.broker_signin")
    interactive = lazy_module("tokensmith.engine.interactive")
    user_flows = lazy_module("tokensmith.engine.user_flows")

__all__ = ["PublicClientApplication"]


class PublicClientApplication(ClientApplication):
    """MSAL's public client: device code, interactive sign-in, username/password,
    silent, refresh-token import."""

    CONSOLE_WINDOW_HANDLE = object()
    DEVICE_FLOW_CORRELATION_ID = "_correlation_id"
    """MSAL's key of a device flow's correlation id (the one
    :data:`tokensmith.protocol.device_code.CORRELATION_ID_KEY` reads; a test holds them equal)."""
    _is_public = True

    def __init__(
        self,
        client_id: str,
        client_credential: Any = None,
        *,
        enable_broker_on_windows: bool | None = None,
        enable_broker_on_mac: bool | None = None,
        enable_broker_on_linux: bool | None = None,
        enable_broker_on_wsl: bool | None = None,
        broker_backend: Any = None,
        **kwargs: Any,
    ) -> None:
        """Same parameters as MSAL's; the ``enable_broker_on_*`` opt-ins follow MSAL's
        rules (docs/brokers.md). ``broker_backend`` (tokensmith): ``"dbus"`` (Linux's
        default), ``"pymsalruntime"`` (elsewhere) or a ``BrokerBackend`` object.

        Raises:
            ImportError: a broker is opted in but its package is not installed.
        """
        super().__init__(client_id, client_credential, **kwargs)
        opt_ins = {
            "windows": enable_broker_on_windows,
            "mac": enable_broker_on_mac,
            "linux": enable_broker_on_linux,
            "wsl": enable_broker_on_wsl,
            "allow_broker": kwargs.get("allow_broker"),
        }
        self._broker: policy.BrokerSession | None = None
        if opted_in_anywhere(**opt_ins):  # else the broker modules are never loaded
            self._broker = policy.session_for(self._ctx.default.spec.kind, opt_ins, broker_backend)
        if self._broker is not None:  # broker accounts are refreshed by the broker
            self._silent_flow = broker.silent_flow(self._broker)

    async def close(self) -> None:
        """Close the HTTP connections and the broker's connection."""
        if self._broker is not None:
            self._broker.backend.close()
        await super().close()

    async def is_pop_supported(self) -> bool:
        """True when this app's broker issues PoP (signed HTTP request) tokens."""
        return self._broker is not None and self._broker.backend.capabilities.pop

    # -- the calls a broker takes over (docs/brokers.md); without one, the parent's --

    async def get_accounts(self, username: str | None = None) -> list[Account]:
        """The cache's accounts; with a broker, also those the broker knows for this app."""
        cached = await self._cache_call(
            accounts.get_accounts, self._ctx, username
        )  # the parent's, one call less
        if self._broker is None or username is not None:
            return cached
        return await self._run(broker.broker_accounts(self._ctx, self._broker, cached))

    async def remove_account(self, account: Mapping[str, Any]) -> None:
        """Sign the account out of the broker (if on), then forget it in the cache."""
        if self._broker is not None and account:
            await self._run(broker.sign_out(self._ctx, self._broker, account))
        await super().remove_account(account)

    async def acquire_token_by_username_password(
        self,
        username: str,
        password: str,
        scopes: list[str],
        claims_challenge: str | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """As the parent's; through the broker where it takes passwords (WAM, macOS)."""
        if self._broker is None or not self._broker.backend.capabilities.username_password:
            return await super().acquire_token_by_username_password(
                username, password, scopes, claims_challenge, **kwargs
            )
        call = self._per_call("acquire_token_by_username_password", kwargs)
        flow = broker_signin.acquire_token_by_username_password(
            self._ctx, self._broker, username, password, scopes, claims_challenge, kwargs
        )
        return await self._run(flow, call)

    async def initiate_device_flow(
        self, scopes: list[str] | None = None, *, claims_challenge: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Start a device-code sign-in (RFC 8628 §3.1); show ``flow["message"]`` to the user.

        Raises:
            ValueError: the authority has no device authorization endpoint.
        """
        call = self._per_call("initiate_device_flow", kwargs)
        flow = user_flows.initiate_device_flow(self._ctx, scopes, claims_challenge, kwargs)
        return await self._run(flow, call)

    async def acquire_token_by_device_flow(
        self, flow: dict[str, Any], claims_challenge: str | None = None, **kwargs: Any
    ) -> TokenResult:
        """Poll until the user finished signing in, the code expired, or
        ``flow["expires_at"]`` was set to 0; cache and return the result."""
        call = self._per_call("acquire_token_by_device_flow", kwargs)
        poll = user_flows.acquire_token_by_device_flow(self._ctx, flow, claims_challenge, kwargs)
        return await self._run(poll, call)

    async def acquire_token_interactive(
        self,
        scopes: list[str],
        prompt: str | None = None,
        login_hint: str | None = None,
        domain_hint: str | None = None,
        claims_challenge: str | None = None,
        timeout: float | None = None,
        port: int | None = None,
        extra_scopes_to_consent: list[str] | None = None,
        max_age: int | None = None,
        parent_window_handle: Any = None,
        on_before_launching_ui: Callable[..., object] | None = None,
        auth_scheme: Any = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Sign the user in through the system browser and return the tokens (cached).

        Args:
            scopes: the scopes of the access token.
            prompt, login_hint, domain_hint, claims_challenge, max_age: sent to the
                authorization endpoint as MSAL sends them.
            timeout: seconds to wait for the browser's answer (None: no limit).
            port: the loopback port (default: a free one); the redirect URI is
                ``http://localhost:<port>``.
            extra_scopes_to_consent: more scopes to consent to now, not in this token.
            parent_window_handle: with a broker, required: the app's window, or
                ``CONSOLE_WINDOW_HANDLE`` for a console app.
            on_before_launching_ui: called as ``on_before_launching_ui(ui="browser")``.
            auth_scheme: a ``PopAuthScheme`` (PoP token) needs a broker that takes it.
            **kwargs: MSAL's ``welcome_template``, ``success_template``,
                ``error_template``, ``auth_uri_callback`` (called with the address when
                no browser opened), ``browser_name`` (a name given to
                :func:`webbrowser.register`) and ``data``; tokensmith's
                ``response_mode`` (``"form_post"``, the default, or ``"query"``) and
                ``verify_id_token_signature``.

        Returns:
            The token result, or an error dict (the provider redirected with an error,
            e.g. ``access_denied``, or refused the code).

        Raises:
            BrowserInteractionTimeoutError: no answer within ``timeout``.
            ValueError: bad arguments, or the port cannot be listened on.
            IdTokenError: the id_token failed validation (nonce, issuer, ...).
        """
        call = self._per_call("acquire_token_interactive", kwargs)
        if self._broker is not None:
            return await self._run(
                broker_signin.acquire_token_interactive(
                    self._ctx,
                    self._broker,
                    scopes,
                    prompt=prompt,
                    login_hint=login_hint,
                    claims_challenge=claims_challenge,
                    max_age=max_age,
                    extra_scopes_to_consent=extra_scopes_to_consent,
                    parent_window_handle=parent_window_handle,
                    console=self.CONSOLE_WINDOW_HANDLE,
                    on_before_launching_ui=on_before_launching_ui,
                    auth_scheme=auth_scheme,
                    data=kwargs.get("data"),
                ),
                call,
            )
        flow = interactive.acquire_token_interactive(
            self._ctx,
            scopes,
            prompt=prompt,
            login_hint=login_hint,
            domain_hint=domain_hint,
            claims_challenge=claims_challenge,
            timeout=timeout,
            port=port,
            extra_scopes_to_consent=extra_scopes_to_consent,
            max_age=max_age,
            on_before_launching_ui=on_before_launching_ui,
            auth_scheme=auth_scheme,
            kwargs=kwargs,
        )
        return await self._run(flow, call)
