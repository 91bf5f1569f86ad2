"""The authorization code flow for web apps (RFC 6749 §4.1 + PKCE + OIDC nonce), as
MSAL's ``initiate_auth_code_flow`` / ``acquire_token_by_auth_code_flow`` offer it.

:class:`AuthCodeMixin` is a base of :class:`~tokensmith.ClientApplication`, so public
and confidential applications both have these methods. The flow dict handed to the
caller has MSAL's keys; it holds secrets (``code_verifier``, ``nonce``) and belongs in
server-side session storage. Before anything is cached, the id_token that comes back
is checked (:mod:`tokensmith.application.id_tokens`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith.application.acquire import exchange, extra_form_fields, record
from tokensmith.application.headers import request_headers
from tokensmith.application.id_tokens import IdTokenExpectations, JwksMemo, check_id_token
from tokensmith.application.results import TokenResult
from tokensmith.entra.client_info import anchor_mailbox_from_client_info
from tokensmith.errors import ConfigurationError, IdTokenError, ProtocolError
from tokensmith.protocol.authorization_code import (
    GRANT_TYPE,
    authorization_code_form,
    build_authorization_url,
    parse_authorization_response,
)
from tokensmith.protocol.oidc.nonce import new_nonce, nonce_hash
from tokensmith.protocol.pkce import new_pkce

if TYPE_CHECKING:
    from tokensmith.application.context import AppContext, AuthorityHandle

__all__ = ["FORM_POST_ADVICE", "AuthCodeMixin"]

FORM_POST_ADVICE = (
    "response_mode='form_post' is recommended for better security "
    "(RFC 9700 §4.3.1): the code then never appears in a URL"
)


class AppParts:
    """What the façade mixins use of :class:`~tokensmith.ClientApplication` (typing only)."""

    if TYPE_CHECKING:
        client_id: str
        _ctx: AppContext

        def _handle(self, authority: Any) -> AuthorityHandle: ...

        def _decorate(self, scopes: Any) -> list[str]: ...

        def _claims(self, claims_challenge: str | None) -> str | None: ...


class AuthCodeMixin(AppParts):
    """``initiate_auth_code_flow``, ``acquire_token_by_auth_code_flow`` and MSAL's two
    deprecated code methods."""

    def initiate_auth_code_flow(
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
        return self._start_flow(
            self._decorate(scopes),
            redirect_uri=redirect_uri,
            state=state,
            prompt=prompt,
            login_hint=login_hint,
            domain_hint=domain_hint,
            claims_challenge=claims_challenge,
            max_age=max_age,
            response_mode=response_mode,
        )

    def _start_flow(
        self,
        request_scopes: list[str],
        *,
        redirect_uri: str | None,
        state: str | None,
        claims_challenge: str | None,
        max_age: int | None,
        response_mode: str | None,
        **auth_params: Any,
    ) -> dict[str, Any]:
        if response_mode != "form_post":
            warnings.warn(FORM_POST_ADVICE, UserWarning, stacklevel=3)
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
            raise ConfigurationError("max_age must be an integer number of seconds")
        endpoint = self._handle(None).metadata.authorization_endpoint
        pkce, nonce = new_pkce(), new_nonce()
        flow: dict[str, Any] = {
            "state": state or secrets.token_urlsafe(16),
            "redirect_uri": redirect_uri,
            "scope": request_scopes,
        }
        flow["auth_uri"] = build_authorization_url(
            endpoint,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=request_scopes,
            state=flow["state"],
            code_challenge=pkce.code_challenge,
            nonce=nonce_hash(nonce),
            response_mode=response_mode,
            claims=self._claims(claims_challenge),
            max_age=max_age,
            **auth_params,
        )
        flow["code_verifier"] = pkce.code_verifier
        flow["nonce"] = nonce
        flow["claims_challenge"] = claims_challenge
        if max_age is not None:
            flow["max_age"] = max_age
        return flow

    def acquire_token_by_auth_code_flow(
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
        if not isinstance(auth_code_flow, Mapping) or not isinstance(auth_response, Mapping):
            raise TypeError("auth_code_flow and auth_response must be dicts")
        if "redirect_uri" in kwargs and kwargs["redirect_uri"] != auth_code_flow.get(
            "redirect_uri"
        ):
            raise ProtocolError(
                "redirect_uri differs from the auth_code_flow's (RFC 6749 §4.1.3): "
                "the code can only be redeemed with the redirect_uri it was issued for"
            )
        wanted = self._decorate(scopes) if scopes else None
        return self._complete_flow(
            auth_code_flow, auth_response, wanted, kwargs, api="by_authorization_code"
        )

    def _complete_flow(
        self,
        flow: Mapping[str, Any],
        auth_response: Mapping[str, Any],
        wanted: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        api: str,
    ) -> TokenResult:
        if not flow.get("state") or not isinstance(flow["state"], str):
            raise ProtocolError("state missing from auth_code_flow")
        response = parse_authorization_response(auth_response, expected_state=flow["state"])
        raw_scopes = flow.get("scope") or []
        if isinstance(raw_scopes, str) or not all(isinstance(s, str) for s in raw_scopes):
            raise ProtocolError("the auth_code_flow's scope must be a list of strings")
        flow_scopes = list(raw_scopes)
        if wanted and set(wanted) - set(flow_scopes):
            raise ProtocolError(f"scopes must be None or a subset of {flow_scopes}")
        nonce = flow.get("nonce")
        if "openid" in flow_scopes and (not nonce or not isinstance(nonce, str)):
            raise ProtocolError("nonce missing from auth_code_flow (openid was requested)")
        max_age = flow.get("max_age")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
            raise ProtocolError("the auth_code_flow's max_age must be an integer")
        reserved = sorted(_RESERVED_DATA & set(kwargs.get("data") or {}))
        if reserved:
            raise ProtocolError(f"data may not set {reserved}: they come from the flow")
        if response.error:  # only these three keys: never echo the rest of the response
            result = TokenResult(error=response.error)
            for key in ("error_description", "error_uri"):
                if getattr(response, key):
                    result[key] = getattr(response, key)
            return result
        handle, claims = self._handle(None), self._claims(flow.get("claims_challenge"))
        self._used_flows().claim(flow)  # before the code leaves: one redemption per flow
        return self._redeem_code(
            handle,
            code=str(response.code),
            redirect_uri=flow.get("redirect_uri"),
            code_verifier=flow.get("code_verifier"),
            scopes=wanted or flow_scopes,
            claims=claims,
            expected=IdTokenExpectations(
                nonce=nonce_hash(nonce) if nonce else None,
                max_age=max_age,
                verify_signature=bool(kwargs.get("verify_id_token_signature")),
                require_id_token="openid" in flow_scopes,
            ),
            data=kwargs.get("data"),
            client_info=response.client_info,
            api=api,
        )

    def _redeem_code(
        self,
        handle: AuthorityHandle,
        *,
        code: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        scopes: Sequence[str],
        claims: str | None,
        expected: IdTokenExpectations,
        data: Mapping[str, Any] | None,
        client_info: str | None,
        api: str,
    ) -> TokenResult:
        form = extra_form_fields(data)
        form.update(
            authorization_code_form(
                client_id=self.client_id,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
                scopes=scopes,
                claims=claims,
            )
        )
        headers = request_headers(self._ctx.base_headers, api, anchor_mailbox=_anchor(client_info))
        response = self._ctx.run(exchange(self._ctx, handle, form, headers))
        if "error" not in response:
            check_id_token(self._ctx, handle, response, expected, self._jwks_memo())
        return record(self._ctx, handle, response, scopes=scopes, grant_type=GRANT_TYPE, data=data)

    def _used_flows(self) -> _UsedFlows:
        used: _UsedFlows | None = self.__dict__.get("_used_flows_memo")
        if used is None:
            used = self.__dict__.setdefault("_used_flows_memo", _UsedFlows())
        return used

    def _jwks_memo(self) -> JwksMemo:
        memo: JwksMemo | None = self.__dict__.get("_jwks")
        if memo is None:
            memo = self.__dict__.setdefault("_jwks", JwksMemo())
        return memo

    def get_authorization_request_url(
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
        authority = kwargs.pop("authority", None)
        if authority:
            warnings.warn("get_authorization_request_url(authority=...) may go away", stacklevel=2)
        warnings.warn(
            "Change your get_authorization_request_url() to initiate_auth_code_flow()",
            DeprecationWarning,
            stacklevel=2,
        )
        return build_authorization_url(
            self._handle(authority).metadata.authorization_endpoint,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=self._decorate(scopes),
            state=state,
            nonce=nonce,
            prompt=prompt,
            login_hint=login_hint,
            domain_hint=domain_hint,
            claims=self._claims(claims_challenge),
            response_type=response_type,
        )

    def acquire_token_by_authorization_code(
        self,
        code: str,
        scopes: list[str],
        redirect_uri: str | None = None,
        nonce: str | None = None,
        claims_challenge: str | None = None,
        forwarded_client_claims: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Deprecated (as in MSAL): redeem a code obtained by other means.

        ``nonce``, if given, must equal the id_token's ``nonce`` claim verbatim.
        ``forwarded_client_claims`` is accepted for MSAL compatibility and not used.

        Raises:
            ValueError: ``scopes`` is not a list, the code is empty, or the nonce
                does not match.
        """
        if not isinstance(scopes, list):
            raise ConfigurationError("scopes must be a list")
        warnings.warn(
            "Change your acquire_token_by_authorization_code() "
            "to acquire_token_by_auth_code_flow()",
            DeprecationWarning,
            stacklevel=2,
        )
        try:
            form_code = str(code) if code else ""
            return self._redeem_code(
                self._handle(kwargs.get("authority")),
                code=form_code,
                redirect_uri=redirect_uri,
                code_verifier=None,
                scopes=self._decorate(scopes),
                claims=self._claims(claims_challenge),
                expected=IdTokenExpectations(nonce=nonce),
                data=kwargs.get("data"),
                client_info=None,
                api="by_authorization_code",
            )
        except IdTokenError as exc:
            raise ProtocolError(str(exc)) from exc


_RESERVED_DATA = frozenset({"code", "code_verifier", "redirect_uri", "grant_type", "client_id"})


class _UsedFlows:
    """The auth code flows this application has redeemed a code for (SHA-256 of their
    ``state`` and ``code_verifier``, never the values), so that a flow handed back a
    second time (a double-submitted or replayed response) is refused before its code
    is sent again. Per application object and bounded: apps with several processes
    must still drop the flow from their session (``session.pop``)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}
        self._lock = threading.Lock()

    def claim(self, flow: Mapping[str, Any]) -> None:
        digest = hashlib.sha256(
            f"{flow.get('state')}\0{flow.get('code_verifier')}".encode()
        ).hexdigest()
        with self._lock:
            if digest in self._seen:
                raise ProtocolError(
                    "this auth_code_flow was already used: start a new one "
                    "with initiate_auth_code_flow()"
                )
            self._seen[digest] = None
            if len(self._seen) > self.LIMIT:
                del self._seen[next(iter(self._seen))]


def _anchor(client_info: str | None) -> str | None:
    if not client_info:
        return None
    try:
        return anchor_mailbox_from_client_info(client_info)
    except ProtocolError:
        return None
