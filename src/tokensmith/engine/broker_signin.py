"""Sign-ins through a broker: ``acquire_token_interactive`` and the username/password
grant, as MSAL Python 1.39 sends them (reference/msal-python.md §5.4).

The interactive call emulates the OpenID prompts with broker calls:

1. a ``login_hint`` (without ``prompt="select_account"``) naming exactly one cached
   account: a silent call for it; a success is the answer;
2. no prompt, or ``prompt="none"``: the device's default account, silently; a
   different account than the hint counts as "wrong account"; with ``"none"`` that
   is the answer; otherwise only "interaction required", "account unusable" or a
   wrong account go on;
3. ``on_before_launching_ui(ui="broker")``, then the broker's sign-in UI (the hint is
   dropped with ``select_account``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith._redact import logger
from tokensmith.broker.base import BrokerError, BrokerToken
from tokensmith.broker.policy import BrokerSession
from tokensmith.engine import accounts
from tokensmith.engine.broker import attempt, read_account, shape, token_request
from tokensmith.engine.context import AppContext
from tokensmith.engine.results import TokenResult, error_result
from tokensmith.engine.silent import scope_list
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_by_username_password", "acquire_token_interactive"]

WINDOW_REQUIRED = (
    "parent_window_handle is required when you opted into using broker. "
    "You need to provide the window handle of your GUI application, "
    "or use PublicClientApplication.CONSOLE_WINDOW_HANDLE "
    "when and only when your application is a console app."
)
_WRONG_ACCOUNT = 'prompt="none" will not work for login_hint="non-default-user"'


def acquire_token_interactive(
    ctx: AppContext,
    session: BrokerSession,
    scopes: Any,
    *,
    prompt: str | None,
    login_hint: str | None,
    claims_challenge: str | None,
    max_age: int | None,
    extra_scopes_to_consent: Any,
    parent_window_handle: Any,
    console: object,
    on_before_launching_ui: Callable[..., object] | None,
    auth_scheme: Any,
    data: Mapping[str, Any] | None,
) -> Flow[TokenResult]:
    """The interactive flow through the broker (arguments checked now).

    Raises:
        ValueError: no ``parent_window_handle``; ``auth_scheme`` where the broker
            takes no PoP; bad scopes.
    """
    if auth_scheme is not None and not session.backend.capabilities.pop:
        raise ConfigurationError(f"PoP is not supported by the {session.backend.name} broker")
    if parent_window_handle is None:
        raise ConfigurationError(WINDOW_REQUIRED)
    if extra_scopes_to_consent:
        logger.warning(
            "Ignoring parameter extra_scopes_to_consent, which is not supported by broker"
        )
    window = None if parent_window_handle is console else parent_window_handle
    if prompt == "select_account" and login_hint:
        logger.warning(
            "Using both select_account and login_hint is ambiguous. Ignoring login_hint."
        )
    elif prompt not in (None, "none", "select_account"):
        logger.warning("prompt=%s is not supported by the broker", prompt)
    plan = _Plan(
        ctx,
        session,
        scope_list(scopes),
        claims=ctx.claims(claims_challenge),
        auth_scheme=auth_scheme,
        data=data or {},
        hints={"max_age": max_age},
    )
    return plan.run(prompt, login_hint, window, on_before_launching_ui)


class _Plan:
    """The three steps of the interactive emulation over one set of parameters."""

    def __init__(
        self,
        ctx: AppContext,
        session: BrokerSession,
        scopes: list[str],
        *,
        claims: str | None,
        auth_scheme: Any,
        data: Mapping[str, Any],
        hints: Mapping[str, Any],
    ) -> None:
        self.ctx, self.session, self.scopes = ctx, session, scopes
        self.claims, self.auth_scheme, self.data, self.hints = claims, auth_scheme, data, hints
        self.handle = ctx.default

    def request(self, **more: Any) -> Any:
        return token_request(
            self.ctx,
            self.session,
            self.handle,
            self.scopes,
            claims=self.claims,
            auth_scheme=self.auth_scheme,
            data=self.data,
            hints=self.hints,
            **more,
        )

    def finish(self, outcome: BrokerToken | BrokerError) -> Flow[TokenResult]:
        return shape(self.ctx, self.handle, outcome, scopes=self.scopes, data=self.data)

    def run(
        self,
        prompt: str | None,
        login_hint: str | None,
        window: Any,
        on_before_launching_ui: Callable[..., object] | None,
    ) -> Flow[TokenResult]:
        backend = self.session.backend
        if login_hint and prompt != "select_account":
            found = yield from self._silent_for_hint(login_hint)
            if found is not None:
                return found
        if prompt in (None, "none"):
            request = self.request()
            outcome = yield from attempt(
                "sign_in_silently", lambda: backend.sign_in_silently(request)
            )
            wrong = (
                isinstance(outcome, BrokerToken)
                and bool(login_hint)
                and (outcome.account.username or "").lower() != str(login_hint).lower()
            )
            if prompt == "none":
                if wrong:
                    return error_result("broker_error", _WRONG_ACCOUNT)
                return (yield from self.finish(outcome))
            recoverable = isinstance(outcome, BrokerError) and (
                outcome.status.recoverable_by_interaction
            )
            if not (wrong or recoverable):
                return (yield from self.finish(outcome))
        if on_before_launching_ui is not None:
            on_before_launching_ui(ui="broker")
        hint = None if prompt == "select_account" else login_hint
        interactive = self.request(
            interactive={"login_hint": hint, "prompt": prompt, "parent_window": window}
        )
        outcome = yield from attempt(
            "sign_in_interactively",
            lambda: backend.sign_in_interactively(interactive),
            interactive=True,
        )
        return (yield from self.finish(outcome))

    def _silent_for_hint(self, login_hint: str) -> Flow[TokenResult | None]:
        cached = accounts.get_accounts(self.ctx, username=login_hint)
        if len(cached) != 1:
            return None
        backend = self.session.backend
        known = yield from read_account(self.ctx, self.session, cached[0])
        if known is None:
            return None
        request = self.request(account=known)
        outcome = yield from attempt(
            "acquire_token_silently", lambda: backend.acquire_token_silently(request)
        )
        if isinstance(outcome, BrokerError):
            return None
        return (yield from self.finish(outcome))


def acquire_token_by_username_password(
    ctx: AppContext,
    session: BrokerSession,
    username: Any,
    password: Any,
    scopes: Any,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The password grant through a broker that takes passwords (MSAL sends it to
    WAM and the macOS broker as ``MSALRuntime_Username`` / ``MSALRuntime_Password``).

    Raises:
        ValueError: bad scopes, username or password.
    """
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise ConfigurationError("username and password must be non-empty strings")
    warnings.warn(
        "The username/password flow is deprecated for public clients; "
        "use device code or interactive sign-in.",
        DeprecationWarning,
        stacklevel=3,
    )
    data = kwargs.get("data") or {}
    plan = _Plan(
        ctx,
        session,
        scope_list(scopes),
        claims=ctx.claims(claims_challenge),
        auth_scheme=kwargs.get("auth_scheme"),
        data=data,
        hints={"MSALRuntime_Username": username, "MSALRuntime_Password": password},
    )
    request = plan.request()
    backend = session.backend
    return _password(plan, lambda: backend.sign_in_silently(request))


def _password(plan: _Plan, fn: Callable[[], BrokerToken]) -> Flow[TokenResult]:
    outcome = yield from attempt("sign_in_silently", fn)
    return (yield from plan.finish(outcome))
