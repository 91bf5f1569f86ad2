"""Username/password for a federated realm: WS-Trust to the federation server, then
the SAML assertion grant at the token endpoint (what MSAL Python 1.39 does when user
realm discovery answers ``account_type: Federated``).

1. ``federation_metadata_url`` given: GET the MEX document, pick the username/password
   endpoint (:mod:`tokensmith.protocol.wstrust.mex`), remembered 24 hours per document
   URL like discovery (process-wide, and in the application's ``http_cache``: MSAL
   keeps successful GETs that long); otherwise the realm's ``federation_active_auth_url``;
2. POST the RST with the user's name and password (:mod:`...wstrust.request`);
3. read the RSTR (:mod:`...wstrust.response`): a SAML 1.1/2.0 assertion, or a fault;
4. redeem the assertion (:mod:`tokensmith.protocol.saml_bearer`) and cache the result.

Errors, as MSAL raises them where it raises on purpose (so ``except`` clauses written
for MSAL keep working): a fault such as a wrong password is a
:class:`~tokensmith.errors.FederationError` (a ``RuntimeError``) with MSAL's message; a
MEX document without a usable endpoint, an unsupported SOAP action, no endpoint at all
are :class:`~tokensmith.errors.ProtocolError` (a ``ValueError``); a MEX document the
server would not serve (HTTP status) or a WS-Trust 5xx that is no fault are
:class:`~tokensmith.errors.MsalServiceError`. A document that is not well-formed XML,
or is refused as hostile (DOCTYPE, entities, size, depth), where MSAL's parser raises
from inside, is an ``invalid_response`` error dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tokensmith.authority.memo import Codec, memoized, mex_memo
from tokensmith.engine.context import AppContext, AuthorityHandle
from tokensmith.engine.results import TokenResult, error_result
from tokensmith.engine.token_call import obtain
from tokensmith.entra import headers as api
from tokensmith.errors import ConfigurationError, FederationError, ProtocolError
from tokensmith.protocol import saml_bearer
from tokensmith.protocol._wire import exchange, service_error
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpResponse
from tokensmith.protocol.wstrust.mex import Endpoint, discover_endpoint
from tokensmith.protocol.wstrust.request import DEFAULT_AUDIENCE, action_for, rst_request
from tokensmith.protocol.wstrust.response import Fault, SamlToken, parse_rstr

__all__ = ["is_federated", "sign_in_federated"]

_NO_MEX_ENDPOINT = (
    "Unable to find wstrust endpoint from MEX. "
    "This typically happens when attempting MSA accounts. "
    "More details available here. "
    "https://github.com/AzureAD/microsoft-authentication-library-for-python/wiki/"
    "Username-Password-Authentication"
)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character outside XML 1.0's ``Char`` production (§2.2): a C0 control, a lone
surrogate, U+FFFE/U+FFFF. The RST could not carry it."""


def is_federated(realm: Mapping[str, Any]) -> bool:
    """Whether user realm discovery answered ``account_type: Federated``."""
    return str(realm.get("account_type", "")).lower() == "federated"


def _str(realm: Mapping[str, Any], name: str) -> str | None:
    value = realm.get(name)
    return value if isinstance(value, str) and value else None


def _unusable(exc: ProtocolError) -> TokenResult:
    return error_result("invalid_response", f"The federation server's answer is unusable: {exc}")


def _decode_endpoint(plain: object) -> Endpoint | None:
    if isinstance(plain, tuple) and len(plain) == 2:
        address, action = plain
        if isinstance(address, str) and address and isinstance(action, (str, type(None))):
            return Endpoint(address, action)
    return None


MEX_CODEC: Codec[Endpoint | None] = Codec(
    "mex", lambda e: None if e is None else (e.address, e.action), _decode_endpoint
)
"""How a MEX document's endpoint goes into an ``http_cache``."""


def _endpoint(ctx: AppContext, realm: Mapping[str, Any]) -> Flow[Endpoint | TokenResult]:
    mex_url = _str(realm, "federation_metadata_url")
    if mex_url is None:  # Entra's fallback: the 2005 usernamemixed endpoint, usually
        return Endpoint(_str(realm, "federation_active_auth_url") or "", None)
    persisted = None if ctx.http_cache is None else (ctx.http_cache, MEX_CODEC)
    try:
        found = yield from memoized(
            mex_memo, mex_url, lambda: discover_endpoint(mex_url), persisted
        )
    except ProtocolError as exc:  # not XML, or refused as hostile
        return _unusable(exc)
    if found is None:
        raise ProtocolError(_NO_MEX_ENDPOINT)
    return found


def _saml_token(response: HttpResponse) -> SamlToken | TokenResult:
    try:
        answer = parse_rstr(response.text)
    except ProtocolError as exc:
        if response.status_code >= 500:  # an error page, not a SOAP fault
            raise service_error("the WS-Trust endpoint", response.status_code, None) from None
        return _unusable(exc)
    if isinstance(answer, Fault):
        raise FederationError(
            f"WsTrust server returned error in RSTR: {answer.as_dict()!r}",
            code=answer.code,
            reason=answer.reason,
        )
    if answer is None:
        raise FederationError(
            "WsTrust server returned error in RSTR: no token and no fault "
            f"(HTTP {response.status_code})"
        )
    return answer


def sign_in_federated(
    ctx: AppContext,
    handle: AuthorityHandle,
    realm: Mapping[str, Any],
    *,
    username: str,
    password: str,
    scopes: list[str],
    claims: str | None,
    data: Mapping[str, str],
) -> Flow[TokenResult]:
    """WS-Trust, then the SAML grant; the result is cached as MSAL caches it.

    Raises:
        ConfigurationError: a username or password XML cannot carry.
        FederationError, ProtocolError, MsalServiceError: see the module doc.
    """
    for name, value in (("username", username), ("password", password)):
        if _NOT_XML.search(value):
            raise ConfigurationError(f"the {name} holds a character XML cannot carry")
    endpoint = yield from _endpoint(ctx, realm)
    if isinstance(endpoint, TokenResult):
        return endpoint
    action = action_for(endpoint.address, endpoint.action)
    request = rst_request(
        username=username,
        password=password,
        audience=_str(realm, "cloud_audience_urn") or DEFAULT_AUDIENCE,
        address=endpoint.address,
        action=action,
        now=ctx.clock(),
    )
    token = _saml_token((yield from exchange(request)))
    if isinstance(token, TokenResult):
        return token
    grant_type = saml_bearer.grant_type_for(token.token_type)
    if grant_type is None:
        raise FederationError(f"RSTR returned unknown token type: {ascii(token.token_type)[:200]}")
    form = saml_bearer.saml_bearer_form(
        client_id=ctx.client_id,
        grant_type=grant_type,
        assertion=token.assertion,
        scopes=scopes,
        claims=claims,
    )
    return (
        yield from obtain(
            ctx,
            handle,
            form,
            api=api.ACQUIRE_TOKEN_BY_USERNAME_PASSWORD,
            scopes=scopes,
            grant_type=grant_type,
            data=data,
            username=username,
        )
    )
