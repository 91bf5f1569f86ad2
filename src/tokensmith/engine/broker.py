"""Acquisition through a broker: MSAL Python's routing (reference/msal-python.md §5).

Which calls go to the broker once an app has one (:mod:`tokensmith.broker.policy`):

* ``acquire_token_interactive``: MSAL's emulation of the OpenID prompts with broker
  calls (:func:`acquire_token_interactive`);
* ``acquire_token_silent[_with_error]`` for accounts the broker established (or of
  unknown origin): the app's cache first, then the broker; a broker failure for an
  account of unknown origin falls back to the app's refresh tokens
  (:class:`BrokerSilentRequest`);
* ``acquire_token_by_username_password`` where the backend takes passwords
  (Windows and macOS, as MSAL);
* ``get_accounts`` (the cache's accounts plus the broker's for this client) and
  ``remove_account`` (broker sign-out, then the cache).

Broker calls are :class:`~tokensmith.protocol.effects.BrokerCall` effects. A
:class:`~tokensmith.broker.base.BrokerError` becomes MSAL's ``broker_error`` result:
once a broker is on, a failing request never falls back to the in-process flows.
Broker tokens are cached with the pseudo grant type ``broker`` and never with a
refresh token: the broker keeps those.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from tokensmith._redact import logger
from tokensmith.broker.base import (
    BrokerAccount,
    BrokerError,
    BrokerToken,
    InteractiveRequest,
    TokenRequest,
)
from tokensmith.broker.policy import BrokerSession
from tokensmith.broker.pop import pop_params_of
from tokensmith.broker.results import broker_error_fields, token_response
from tokensmith.engine.accounts import checked_account
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle, metadata_of
from tokensmith.engine.keywords import extra_form_fields
from tokensmith.engine.results import TOKEN_SOURCE_BROKER, Account, TokenResult, error_result
from tokensmith.engine.silent import SilentRequest, scope_list
from tokensmith.engine.token_call import record
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import BrokerCall, Flow

__all__ = [
    "GRANT_TYPE_BROKER",
    "BrokerSilentRequest",
    "acquire_token_silent",
    "attempt",
    "broker_accounts",
    "call",
    "issue",
    "read_account",
    "shape",
    "sign_out",
    "token_request",
]

GRANT_TYPE_BROKER = "broker"
"""The pseudo grant type of broker tokens in the cache (``account_source``)."""

T = TypeVar("T")


def call(operation: str, fn: Callable[[], T], *, interactive: bool = False) -> Flow[T]:
    """One blocking broker call as a flow step."""
    result = yield BrokerCall(operation, fn, interactive)
    return cast(T, result)


def token_request(
    ctx: AppContext,
    session: BrokerSession,
    handle: AuthorityHandle,
    scopes: Sequence[str],
    *,
    claims: str | None = None,
    auth_scheme: Any = None,
    data: Mapping[str, Any] | None = None,
    account: BrokerAccount | None = None,
    hints: Mapping[str, Any] | None = None,
    interactive: Mapping[str, Any] | None = None,
    force_refresh: bool = False,
) -> TokenRequest:
    """The broker request of a call (MSAL's parameters object): undecorated scopes,
    the platform's broker redirect URI, ``claims`` (already merged with the client
    capabilities), the extras as strings."""
    extra = extra_form_fields(data)
    extra.update(extra_form_fields(hints))
    if handle.spec.is_known_to_developer:
        extra["validateAuthority"] = "no"
    base: dict[str, Any] = {
        "client_id": ctx.client_id,
        "authority": f"https://{handle.spec.instance}/{handle.spec.tenant}",
        "scopes": tuple(scopes),
        "redirect_uri": session.redirect_uri,
        "correlation_id": str(uuid.uuid4()),
        "account": account,
        "claims": claims,
        "pop": pop_params_of(auth_scheme),
        "extra": extra,
        "force_refresh": force_refresh,
    }
    if interactive is not None:
        return InteractiveRequest(**base, **interactive)
    return TokenRequest(**base)


def attempt(
    operation: str, fn: Callable[[], BrokerToken], *, interactive: bool = False
) -> Flow[BrokerToken | BrokerError]:
    """One broker token call; its error is returned, not raised."""
    try:
        return (yield from call(operation, fn, interactive=interactive))
    except BrokerError as exc:
        return exc


def issue(
    ctx: AppContext,
    handle: AuthorityHandle,
    operation: str,
    fn: Callable[[], BrokerToken],
    *,
    scopes: Sequence[str],
    data: Mapping[str, Any] | None,
    interactive: bool = False,
) -> Flow[TokenResult]:
    """:func:`attempt` then :func:`shape`."""
    outcome = yield from attempt(operation, fn, interactive=interactive)
    return (yield from shape(ctx, handle, outcome, scopes=scopes, data=data))


def shape(
    ctx: AppContext,
    handle: AuthorityHandle,
    outcome: BrokerToken | BrokerError,
    *,
    scopes: Sequence[str],
    data: Mapping[str, Any] | None,
) -> Flow[TokenResult]:
    """A broker answer as MSAL returns it: a success is cached (no refresh token;
    PoP tokens not at all) and marked ``token_source`` ``"broker"``; a broker error
    is a ``broker_error`` result.

    Raises:
        RedirectUriError: the broker says the app lacks a broker redirect URI.
    """
    if isinstance(outcome, BrokerError):
        fields = broker_error_fields(outcome, ctx.client_id)
        return error_result(fields.pop("error"), fields.pop("error_description"), **fields)
    token = outcome
    response = token_response(token, ctx.clock())
    if token.token_type.lower() == "pop":  # bound to one request: never cached
        result = TokenResult(response)
        result.pop("_account_id", None)
        result["token_source"] = TOKEN_SOURCE_BROKER
        return result
    if handle.metadata is None:
        yield from metadata_of(handle)
    result = record(
        ctx,
        handle,
        response,
        scopes=token.scopes or scopes,
        grant_type=GRANT_TYPE_BROKER,
        data=data,
        _account_id=token.account.account_id,
    )
    if "access_token" in result:
        result["token_source"] = TOKEN_SOURCE_BROKER
        _signed_out(ctx).discard(token.account.home_account_id)
    return result


class BrokerSilentRequest(SilentRequest):
    """A silent request whose fetch asks the broker first (MSAL's rule): a broker
    answer is final when the broker established the account or the call succeeded;
    otherwise (an account of unknown origin) the app's refresh tokens are tried."""

    __slots__ = ("auth_scheme", "session")

    def __init__(
        self, ctx: AppContext, session: BrokerSession, auth_scheme: Any, **fields: Any
    ) -> None:
        super().__init__(ctx, **fields)
        self.session = session
        self.auth_scheme = auth_scheme

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        return self._fetch(realm, reason)

    def _fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        result = yield from self._ask_broker()
        established = self.account.get("account_source") == GRANT_TYPE_BROKER
        if result is not None and (established or "error" not in result):
            return result
        if self.auth_scheme is not None:
            raise ConfigurationError(_POP_NEEDS_BROKER)
        return (yield from super().fetch(realm, reason))

    def _ask_broker(self) -> Flow[TokenResult | None]:
        backend, ctx = self.session.backend, self.ctx
        known = yield from read_account(ctx, self.session, self.account)
        if known is None:  # not an account the broker created
            return None
        request = token_request(
            ctx,
            self.session,
            self.handle,
            self.scopes,
            claims=self.claims,
            auth_scheme=self.auth_scheme,
            data=self.data,
            account=known,
            force_refresh=self.force,
        )
        return (
            yield from issue(
                ctx,
                self.handle,
                "acquire_token_silently",
                lambda: backend.acquire_token_silently(request),
                scopes=self.scopes,
                data=self.data,
            )
        )


_POP_NEEDS_BROKER = (
    "auth_scheme is currently only available from broker. "
    "Enable it with enable_broker_on_windows=True (or _mac, _linux, _wsl); docs/brokers.md"
)


def silent_flow(session: BrokerSession) -> Callable[..., Flow[TokenResult | None]]:
    """The silent flow of an application with ``session`` on (its ``_silent_flow``):
    :func:`acquire_token_silent` with the session; it holds the session, never the
    application."""

    def flow(
        ctx: AppContext,
        scopes: Any,
        account: Mapping[str, Any] | None,
        authority: Any,
        force_refresh: bool,
        claims_challenge: str | None,
        kwargs: Mapping[str, Any],
    ) -> Flow[TokenResult | None]:
        return acquire_token_silent(
            ctx, session, scopes, account, authority, force_refresh, claims_challenge, kwargs
        )

    return flow


def acquire_token_silent(
    ctx: AppContext,
    session: BrokerSession,
    scopes: Any,
    account: Mapping[str, Any] | None,
    authority: Any,
    force_refresh: bool,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult | None]:
    """``acquire_token_silent_with_error`` with a broker on (arguments checked now).

    The cache first unless ``force_refresh``, a claims challenge or an
    ``auth_scheme``; then the broker for accounts it may know.

    Raises:
        ValueError: bad arguments; ``auth_scheme`` where the broker takes no PoP.
    """
    from tokensmith.engine import silent

    auth_scheme = kwargs.get("auth_scheme")
    checked = checked_account(account)
    routed = checked is not None and checked.get("account_source") in (GRANT_TYPE_BROKER, None)
    if auth_scheme is not None and not (routed and session.backend.capabilities.pop):
        raise ConfigurationError(_POP_NEEDS_BROKER)
    if not routed:
        rest = {k: v for k, v in kwargs.items() if k != "auth_scheme"}
        return silent.acquire_token_silent(
            ctx, scopes, account, authority, force_refresh, claims_challenge, rest
        )
    assert checked is not None
    req = BrokerSilentRequest(
        ctx,
        session,
        auth_scheme,
        handle=ctx.handle(authority),
        account=checked,
        scopes=scope_list(scopes),
        exclude=ctx.exclude_scopes,
        force=bool(force_refresh) or bool(claims_challenge) or auth_scheme is not None,
        claims=ctx.claims(claims_challenge),
        data=kwargs.get("data") or {},
    )
    return cache_first(ctx, req, force=req.force)


def broker_accounts(
    ctx: AppContext, session: BrokerSession, cached: list[Account]
) -> Flow[list[Account]]:
    """``get_accounts`` with a broker: the cache's accounts, then those only the
    broker knows for this client (another app signed them in: single sign-on)."""
    backend = session.backend
    correlation_id = str(uuid.uuid4())
    try:
        found = yield from call(
            "get_accounts", lambda: backend.get_accounts(ctx.client_id, correlation_id)
        )
    except BrokerError as exc:
        logger.debug("Broker get_accounts failed: %s", exc.status.name)
        return cached
    known = {a.get("home_account_id") for a in cached} | _signed_out(ctx)
    merged = list(cached)
    for account in found:
        if account.home_account_id and account.home_account_id not in known:
            known.add(account.home_account_id)
            merged.append(_account_view(ctx, account))
    return merged


def _account_view(ctx: AppContext, account: BrokerAccount) -> Account:
    return Account(
        home_account_id=account.home_account_id,
        environment=ctx.default.instance,
        username=account.username,
        account_source=GRANT_TYPE_BROKER,
        authority_type="MSSTS",
        local_account_id=account.account_id,
        realm=account.realm,
    )


def _signed_out(ctx: AppContext) -> set[Any]:
    """Home account ids this app signed out of: ``get_accounts`` lists them no more,
    even where the broker keeps them for the device (MSALRuntime's sign-out on Linux
    never tells the broker)."""
    found: set[Any] = ctx.memo("broker_signed_out", set)
    return found


def read_account(
    ctx: AppContext, session: BrokerSession, account: Mapping[str, Any]
) -> Flow[BrokerAccount | None]:
    """The broker's record of a cached account (its ``local_account_id`` is the
    broker's id); None when the broker did not create it or cannot say (MSAL's
    ``_read_account_by_id``)."""
    account_id = account.get("local_account_id")
    if not isinstance(account_id, str) or not account_id:
        return None
    backend, correlation_id = session.backend, str(uuid.uuid4())
    try:
        return (
            yield from call(
                "read_account",
                lambda: backend.read_account(ctx.client_id, account_id, correlation_id),
            )
        )
    except BrokerError as exc:
        logger.debug("Broker read_account failed: %s", exc.status.name)
        return None


def sign_out(ctx: AppContext, session: BrokerSession, account: Mapping[str, Any]) -> Flow[None]:
    """The broker half of ``remove_account`` (errors are logged only, as MSAL)."""
    _signed_out(ctx).add(account.get("home_account_id"))
    known = yield from read_account(ctx, session, account)
    if known is None:
        return None
    backend, correlation_id = session.backend, str(uuid.uuid4())
    try:
        yield from call("sign_out", lambda: backend.sign_out(ctx.client_id, known, correlation_id))
    except BrokerError as exc:
        logger.debug("Broker sign-out failed: %s", exc.status.name)
    return None
